import { failedChecks } from "../analysis/correctnessVerdicts.js";
import { failedCells } from "../analysis/failures.js";
import { exitOnInterrupt, interrupted } from "../pipeline/interrupt.js";
import { KNOWN_ANSWER_DEFAULTS } from "../tasks/knownAnswer.js";
import { endRunEarly, runBench } from "../pipeline/run.js";
import type { RunFolder } from "../pipeline/runFolder.js";
import type { JobSpec } from "../record/jobSpec.js";
import { BenchError, describeError } from "../util/errors.js";
import { EXIT } from "../util/exitStatus.js";
import { Progress } from "../util/progress.js";
import {
  addJobOptions,
  addMatrixOptions,
  HOST_OPTIONS,
  jobInput,
  matrixJob,
  MEASURED_JOB_OPTIONS,
  specOf,
} from "./jobOptions.js";
import { printRun, runSummary } from "./output.js";
import { defaultKnownAnswerDir, validateCommand } from "./validate.js";
import { addJsonOption, Verb } from "./verb.js";

/** One run: the pipeline, then its tables (or --json); exit 4 when boots or correctness checks failed. */
export async function benchCommand(opts: JobSpec, json: boolean): Promise<number> {
  let folder: RunFolder | undefined;
  exitOnInterrupt(() => folder);
  try {
    folder = await runBench(opts, new Progress(), (f) => (folder = f));
  } catch (e) {
    // the interrupt handler ends the run and the process
    if (interrupted()) return new Promise<number>(() => undefined);
    process.stderr.write(describeError(e) + "\n");
    if (folder) {
      await endRunEarly(folder, "failed", e instanceof Error ? e.message : String(e));
      process.stderr.write(`what was done is recorded in ${folder.runJson}\n`);
    }
    if (json)
      process.stdout.write(
        JSON.stringify({ ...(folder ? runSummary(folder.dir, folder.record) : {}), error: describeError(e) }, null, 2) +
          "\n",
      );
    return EXIT.error;
  }
  if (json) process.stdout.write(JSON.stringify(runSummary(folder.dir, folder.record), null, 2) + "\n");
  else printRun(folder.dir, folder.record);
  return failedCells(folder.record).length || failedChecks(folder.record).length ? EXIT.failedBoots : EXIT.ok;
}

/** `run` (the verb when none is named): one job measured into its run folder. */
export function runVerb(argv: string[]): Verb {
  const v = new Verb("run")
    .summary("measure a job into a run folder (the verb when none is named)")
    .description(
      "Apply a series, build the kernel, boot it in QEMU, read two images with sharing off, on and split across domains, and write cover-letter tables of the page cache each used into a run folder. Exit 4 when boots or checks failed.",
    ) as Verb;
  // --build-only is listed with the kernel's options: --help groups them by what they are about
  addJobOptions(v, [...MEASURED_JOB_OPTIONS, "buildOnly", ...HOST_OPTIONS, "shard", "artifacts", "out"]);
  addMatrixOptions(v, "with --job, measure that job");
  addJsonOption(v);
  return v.runs(async (_args, o: { matrix?: string; job?: string; out?: string; json?: boolean }) => {
    const input = jobInput(v, argv);
    const job = await matrixJob(o);
    if (job?.kind === "known-answer") {
      if (input.shard || input.artifacts || input.buildOnly)
        throw new BenchError(
          `job ${job.name} is a known-answer run: it builds and measures its mutants in one go`,
          "drop --shard, --artifacts and --build-only for it",
        );
      return validateCommand(
        specOf(input, job, o.matrix, KNOWN_ANSWER_DEFAULTS),
        o.out ?? defaultKnownAnswerDir(),
        job.mutants,
        Boolean(o.json),
      );
    }
    return benchCommand(specOf(input, job, o.matrix), Boolean(o.json));
  });
}
