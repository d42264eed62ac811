import { failedChecks } from "../analysis/correctness.js";
import { failedCells } from "../analysis/failures.js";
import type { JobSpec } from "../record/jobSpec.js";
import { endRunEarly, runBench } from "../pipeline/run.js";
import type { RunFolder } from "../pipeline/runFolder.js";
import { describeError } from "../util/errors.js";
import { Progress } from "../util/progress.js";
import { EXIT } from "../util/exitStatus.js";
import { exitOnInterrupt, interrupted } from "../pipeline/interrupt.js";
import { printRun, runSummary } from "./output.js";

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
    if (json) process.stdout.write(JSON.stringify({ ...(folder ? runSummary(folder.dir, folder.record) : {}), error: describeError(e) }, null, 2) + "\n");
    return EXIT.error;
  }
  if (json) process.stdout.write(JSON.stringify(runSummary(folder.dir, folder.record), null, 2) + "\n");
  else printRun(folder.dir, folder.record);
  return failedCells(folder.record).length || failedChecks(folder.record).length ? EXIT.failedBoots : EXIT.ok;
}
