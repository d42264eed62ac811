import { ACCESS_PATHS, MODES } from "../guest/modes.js";
import type { JobSpec } from "../record/jobSpec.js";
import { CHECKS_WORKLOAD } from "./buildArtefacts.js";

/**
 * The runs a task (bisect, per-patch, known-answer) makes one after another:
 * each a whole run of its own in a folder of its own, whatever the command
 * line said about shards, exports or a pair of the user's.
 */
export function taskRun(bench: JobSpec, out: string): JobSpec {
  return {
    ...bench,
    out,
    images: undefined,
    buildOnly: false,
    shard: undefined,
    export: undefined,
    artifacts: undefined,
  };
}

/**
 * A task's run of the checks' pair, the same for every kernel it compares:
 * read-all on every access path and mode (one boot each) and every
 * correctness check.
 */
export function checksPairRun(bench: JobSpec, out: string): JobSpec {
  return {
    ...taskRun(bench, out),
    workloads: [CHECKS_WORKLOAD],
    reps: 1,
    modes: [...MODES],
    paths: [...ACCESS_PATHS],
    phases: ["readall", "correctness"],
    checks: undefined,
    checkReps: 1,
  };
}
