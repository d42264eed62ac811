import { exitOnInterrupt, interrupted } from "../pipeline/interrupt.js";
import { runNightly, type NightOptions } from "../pipeline/night.js";
import { runMatrixNight, type MatrixNightOptions } from "../pipeline/nightMatrix.js";
import type { RunFolder } from "../pipeline/runFolder.js";
import type { JobInput, JobSpec } from "../record/jobSpec.js";
import { renderComparison } from "../report/comparison.js";
import { renderNight } from "../report/night.js";
import { EXIT } from "../util/exitStatus.js";
import { Progress } from "../util/progress.js";
import { printRun, runSummary } from "./output.js";

/** One job's night: run, judge, print; exit 3 on a regression, 1 when the run did not complete. */
export async function nightlyCommand(job: JobSpec, night: NightOptions, json: boolean): Promise<number> {
  let folder: RunFolder | undefined;
  exitOnInterrupt(() => folder);
  const result = await runNightly(job, night, new Progress(), (f) => (folder = f));
  if (interrupted()) return new Promise<number>(() => undefined);
  folder = result.folder;
  if (result.error) process.stderr.write(result.error + "\n");
  if (json) {
    process.stdout.write(JSON.stringify({ ...(folder ? runSummary(folder.dir, folder.record) : {}), nightly: result.comparison, note: result.note, error: result.error }, null, 2) + "\n");
  } else {
    if (folder) printRun(folder.dir, folder.record);
    process.stdout.write("\n" + (result.comparison ? renderComparison(result.comparison) : `${result.note ?? ""}\n`));
  }
  if (result.comparison?.regressions) return EXIT.regression;
  return result.error || !folder || folder.record.status !== "complete" ? EXIT.error : EXIT.ok;
}

/** Every job of the matrix (`npm run nightly`): the night's summary, and its one exit status. */
export async function matrixNightCommand(cli: JobInput, opts: MatrixNightOptions, json: boolean): Promise<number> {
  let folder: RunFolder | undefined;
  exitOnInterrupt(() => folder);
  const summary = await runMatrixNight(cli, opts, new Progress(), (f) => (folder = f));
  process.stdout.write(json ? JSON.stringify(summary, null, 2) + "\n" : renderNight(summary));
  return summary.exitStatus;
}
