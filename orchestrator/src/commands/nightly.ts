import type { Thresholds } from "../analysis/compareRuns.js";
import { exitOnInterrupt, interrupted } from "../pipeline/interrupt.js";
import { type NightOptions, runNightly } from "../tasks/night.js";
import { comparisonExitStatus } from "../analysis/nightJudgement.js";
import { type MatrixNightOptions, runMatrixNight } from "../tasks/nightMatrix.js";
import type { RunFolder } from "../pipeline/runFolder.js";
import type { JobInput, JobSpec } from "../record/jobSpec.js";
import { renderComparison } from "../report/comparison.js";
import { renderNight } from "../report/nightSummary.js";
import { BenchError } from "../util/errors.js";
import { EXIT } from "../util/exitStatus.js";
import { Progress } from "../util/progress.js";
import { addJobOptions, addMatrixOptions, HOST_OPTIONS, jobInput, MEASURED_JOB_OPTIONS, specOf } from "./jobOptions.js";
import { printRun, runSummary } from "./output.js";
import { addJsonOption, addThresholdOption, Verb } from "./verb.js";

/** One job's night: run, judge, print; exit 3 on a regression, 1 when the run did not complete. */
async function nightlyCommand(job: JobSpec, night: NightOptions, json: boolean): Promise<number> {
  let folder: RunFolder | undefined;
  exitOnInterrupt(() => folder);
  const result = await runNightly(job, night, new Progress(), (f) => (folder = f));
  if (interrupted()) return new Promise<number>(() => undefined);
  folder = result.folder;
  if (result.error) process.stderr.write(result.error + "\n");
  if (json) {
    process.stdout.write(
      JSON.stringify(
        {
          ...(folder ? runSummary(folder.dir, folder.record) : {}),
          nightly: result.comparison,
          note: result.note,
          error: result.error,
        },
        null,
        2,
      ) + "\n",
    );
  } else {
    if (folder) printRun(folder.dir, folder.record);
    process.stdout.write("\n" + (result.comparison ? renderComparison(result.comparison) : `${result.note ?? ""}\n`));
  }
  if (result.comparison?.regressions) return EXIT.regression;
  if (result.error || !folder || folder.record.status !== "complete") return EXIT.error;
  return comparisonExitStatus(result.comparison);
}

/** Every job of the matrix (`npm run nightly`): the night's summary, and its one exit status. */
async function matrixNightCommand(cli: JobInput, opts: MatrixNightOptions, json: boolean): Promise<number> {
  let folder: RunFolder | undefined;
  exitOnInterrupt(() => folder);
  const summary = await runMatrixNight(cli, opts, new Progress(), (f) => (folder = f));
  process.stdout.write(json ? JSON.stringify(summary, null, 2) + "\n" : renderNight(summary));
  return summary.exitStatus;
}

/** `nightly --history DIR [--matrix FILE]`: a night, judged against the last good one. */
export function nightlyVerb(argv: string[]): Verb {
  const v = new Verb("nightly")
    .summary("run a job, or every job of a matrix, and judge each against its last good night")
    .description(
      "Run into the history folder (<history>/<run-id>; with --matrix every job of it into <history>/<job>/), then judge each run against the last good one there. Exit 3 on a regression, 4 when boots failed, 1 when a job could not run, 6 when images moved since the baseline (their rows are not judged; the next night judges them).",
    )
    .requiredOption("--history <dir>", "the history folder the nights are kept in") as Verb;
  addJobOptions(v, [...MEASURED_JOB_OPTIONS, ...HOST_OPTIONS]);
  addMatrixOptions(v, "run every job of it (or the one --job names), each into <history>/<job>");
  addThresholdOption(v);
  v.option(
    "--auto-bisect",
    "bisect the first regressed row a bisection can judge right away, into the night's folder (needs both nights' kernels to be commits of one git tree)",
  );
  addJsonOption(v);
  return v.runs(
    async (
      _args,
      o: {
        history: string;
        matrix?: string;
        job?: string;
        threshold?: Thresholds;
        autoBisect?: boolean;
        json?: boolean;
      },
    ) => {
      const input = jobInput(v, argv);
      const night = { history: o.history, thresholds: o.threshold, autoBisect: Boolean(o.autoBisect) };
      if (o.matrix) return matrixNightCommand(input, { ...night, matrix: o.matrix, only: o.job }, Boolean(o.json));
      if (o.job) throw new BenchError("--job names a job of a matrix", "--matrix nightly.yaml --job NAME");
      return nightlyCommand(specOf(input, undefined, undefined), night, Boolean(o.json));
    },
  );
}
