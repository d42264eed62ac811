import {
  addJobOptions,
  addMatrixOptions,
  BUILD_OPTIONS,
  jobInput,
  PAIR_OPTIONS,
  plainMatrixJob,
  specOf,
  TREE_OPTIONS,
} from "./jobOptions.js";
import { benchCommand } from "./run.js";
import { addJsonOption, Verb } from "./verb.js";

/** `export DIR`: a job built once, for shards to measure on other machines. */
export function exportVerb(argv: string[]): Verb {
  const v = new Verb("export")
    .summary("build a job's kernel, initramfs and images once, for `run --artifacts` on other machines")
    .description(
      "Build the job's kernel, guest initramfs and images and write them to <dir> with their digests, measuring nothing; `run --artifacts DIR --shard K/N` measures a part of the job from them on each machine, and `merge` joins the parts.",
    )
    .argument("<dir>", "where the artefacts go") as Verb;
  addJobOptions(v, [...TREE_OPTIONS, ...BUILD_OPTIONS, ...PAIR_OPTIONS, "out"]);
  addMatrixOptions(v, "with --job, build that job");
  addJsonOption(v);
  return v.runs(async ([dir], o: { matrix?: string; job?: string; json?: boolean }) => {
    const job = await plainMatrixJob(o);
    return benchCommand(specOf({ ...jobInput(v, argv), export: dir as string }, job, o.matrix), Boolean(o.json));
  });
}
