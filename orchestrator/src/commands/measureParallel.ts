import { exitOnInterrupt } from "../pipeline/interrupt.js";
import { measureParallel } from "../pipeline/measureParallel.js";
import type { RunFolder } from "../pipeline/runFolder.js";
import type { JobSpec } from "../record/jobSpec.js";
import { renderParallelTable } from "../report/parallelTable.js";
import { BenchError } from "../util/errors.js";
import { EXIT } from "../util/exitStatus.js";
import { addJobOptions, addMatrixOptions, BUILD_OPTIONS, jobInput, matrixJob, MEASURE_OPTIONS, PAIR_OPTIONS, specOf, TREE_OPTIONS } from "./jobOptions.js";
import { commaList, positiveInt, Verb } from "./verb.js";

/** The parallel benchmark: prints each guest count's wall time against the boots' own work. */
export async function measureParallelCommand(job: JobSpec, counts: number[]): Promise<number> {
  let folder: RunFolder | undefined;
  exitOnInterrupt(() => folder);
  process.stdout.write(renderParallelTable(await measureParallel(job, counts, (f) => (folder = f))));
  return EXIT.ok;
}

/** `measure-parallel 1,2`: the job once per guest count. */
export function measureParallelVerb(argv: string[]): Verb {
  const v = new Verb("measure-parallel")
    .summary("benchmark: measure the job once per guest count, wall time against the boots' own work")
    .description("Benchmark: measure the job once per guest count (each into a folder of its own) and print wall time against the boots' own work.")
    .argument("<counts>", "guest counts, comma-separated (1,2)", (value: string) => commaList(value).map(positiveInt)) as Verb;
  addJobOptions(v, [...TREE_OPTIONS, ...BUILD_OPTIONS, ...PAIR_OPTIONS, ...MEASURE_OPTIONS, "accel", "tcgThread", "runtimeShared"]);
  addMatrixOptions(v, "with --job, measure that job");
  return v.runs(async ([counts], o: { matrix?: string; job?: string }) => {
    const job = await matrixJob(o);
    if (job?.kind === "known-answer") throw new BenchError(`job ${job.name} is a known-answer run: it builds and measures its mutants in one go`, `npm run bench -- run --matrix ${o.matrix} --job ${job.name}`);
    return measureParallelCommand(specOf(jobInput(v, argv), job, o.matrix), counts as number[]);
  });
}
