import { exitOnInterrupt } from "../pipeline/interrupt.js";
import { measureParallel } from "../tasks/measureParallel.js";
import type { RunFolder } from "../pipeline/runFolder.js";
import type { JobSpec } from "../record/jobSpec.js";
import path from "node:path";
import { loadRunRecord } from "../record/runRecord.js";
import { renderSpeed } from "../report/speedTable.js";
import { EXIT } from "../util/exitStatus.js";
import {
  addJobOptions,
  addMatrixOptions,
  jobInput,
  MEASURED_JOB_OPTIONS,
  plainMatrixJob,
  specOf,
} from "./jobOptions.js";
import { addJsonOption, commaList, positiveInt, Verb } from "./verb.js";

/** The speed benchmark: prints each guest count's phases, wall time against the boots' own work, and figures against a reference run. */
async function measureParallelCommand(
  job: JobSpec,
  counts: number[],
  referenceDir?: string,
  json = false,
): Promise<number> {
  // a wrong reference folder is refused before any boot
  const reference = referenceDir
    ? { dir: path.resolve(referenceDir), run: await loadRunRecord(path.resolve(referenceDir)) }
    : undefined;
  let folder: RunFolder | undefined;
  exitOnInterrupt(() => folder);
  const rows = await measureParallel(job, counts, (f) => (folder = f), reference);
  process.stdout.write(json ? JSON.stringify(rows, null, 2) + "\n" : renderSpeed(rows));
  return EXIT.ok;
}

/** `measure-parallel 1,2`: the job once per guest count. */
export function measureParallelVerb(argv: string[]): Verb {
  const v = new Verb("measure-parallel")
    .summary("speed benchmark: measure the job once per guest count, each phase's wall against the boots' own work")
    .description(
      "Speed benchmark: measure the job once per guest count (each into a folder of its own) and print, per phase, its wall time, the sum of its boots' own wall times, their ratio and the median boot to /init; " +
        "with --reference, how far every figure moved from an earlier run of the same job (npm run bench -- speed prints the same for finished runs).",
    )
    .argument("<counts>", "guest counts, comma-separated (1,2)", (value: string) => commaList(value).map(positiveInt))
    .option("--reference <run-dir>", "an earlier run of the same job to compare every figure with") as Verb;
  addJobOptions(v, [...MEASURED_JOB_OPTIONS, "accel", "tcgThread", "runtimeShared"]);
  addMatrixOptions(v, "with --job, measure that job");
  addJsonOption(v);
  return v.runs(async ([counts], o: { matrix?: string; job?: string; reference?: string; json?: boolean }) => {
    const job = await plainMatrixJob(o);
    return measureParallelCommand(
      specOf(jobInput(v, argv), job, o.matrix),
      counts as number[],
      o.reference,
      Boolean(o.json),
    );
  });
}
