import { appendFile } from "node:fs/promises";
import path from "node:path";
import type { Thresholds } from "../analysis/compareRuns.js";
import { failedCells } from "../analysis/failures.js";
import { BAD_VERDICTS } from "../analysis/knownAnswerVerdicts.js";
import { nightExitStatus } from "../analysis/nightJudgement.js";
import type { JobInput, JobSpec } from "../record/jobSpec.js";
import { matrixJobSpec, plannedJobs } from "../record/matrix.js";
import { NightSummarySchema, type NightJob, type NightSummary } from "../record/nightHistory.js";
import { renderNight } from "../report/nightSummary.js";
import { describeError } from "../util/errors.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/fsx.js";
import type { Progress } from "../util/progress.js";
import { interrupted } from "../pipeline/interrupt.js";
import { KNOWN_ANSWER_DEFAULTS, runKnownAnswer, SIGNALS } from "./knownAnswer.js";
import { runNightly } from "./night.js";
import { newRunId, type RunFolder } from "../pipeline/runFolder.js";

export interface MatrixNightOptions {
  matrix: string;
  history: string;
  /** Only this job of the matrix. */
  only?: string;
  thresholds?: Thresholds;
  autoBisect?: boolean;
}

/**
 * A night of the matrix: every job of it, one after another, each judged
 * against its own last good night in <history>/<job>; then one summary of
 * the night (<history>/nights/<night>.md and .json) with one exit status.
 * `cli` is what the command line says over every job's own keys.
 */
export async function runMatrixNight(
  cli: JobInput,
  opts: MatrixNightOptions,
  progress: Progress,
  onFolder: (f: RunFolder) => void,
): Promise<NightSummary> {
  const matrix = path.resolve(opts.matrix);
  const planned = await plannedJobs(matrix, opts.only);
  const history = path.resolve(opts.history);
  const night = newRunId();
  const startedAt = new Date().toISOString();
  const jobs: NightJob[] = [];
  for (const { job, skipped } of planned) {
    if (skipped) {
      progress.info(`nightly: job ${job.name} skipped: ${skipped}`);
      jobs.push({
        job: job.name,
        status: "skipped",
        reason: skipped,
        regressions: 0,
        failedBoots: 0,
        baseline: null,
        imagesMoved: [],
      });
      continue;
    }
    progress.info(`nightly: job ${job.name}`);
    if (job.kind === "known-answer") {
      jobs.push(
        await knownAnswerNight(
          job.name,
          matrixJobSpec(job, matrix, { ...KNOWN_ANSWER_DEFAULTS, ...cli }),
          path.join(history, job.name, night),
          job.mutants,
          progress,
          onFolder,
        ),
      );
      // the interrupt handler ends the process
      if (interrupted()) return new Promise<NightSummary>(() => undefined);
      continue;
    }
    const result = await runNightly(
      matrixJobSpec(job, matrix, cli),
      { history: path.join(history, job.name), thresholds: opts.thresholds, autoBisect: opts.autoBisect },
      progress,
      onFolder,
    );
    if (interrupted()) return new Promise<NightSummary>(() => undefined);
    const rec = result.folder?.record;
    jobs.push({
      job: job.name,
      status: rec?.status ?? "error",
      reason: result.error?.split("\n")[0],
      runDir: result.folder?.dir,
      regressions: result.comparison?.regressions ?? (rec && rec.status !== "complete" ? 1 : 0),
      failedBoots: rec ? failedCells(rec).reduce((s, f) => s + f.count, 0) : 0,
      baseline: result.comparison?.baseline.runId ?? null,
      imagesMoved: (result.comparison?.imagesMoved ?? []).map((m) => `${m.workload} ${m.side}: ${m.detail}`),
    });
  }
  const summary: NightSummary = {
    night,
    matrix,
    startedAt,
    finishedAt: new Date().toISOString(),
    jobs,
    regressions: jobs.reduce((s, j) => s + j.regressions, 0),
    exitStatus: nightExitStatus(jobs),
  };
  await writeNight(history, summary);
  return summary;
}

/**
 * A known-answer job of the night: every cell not as expected (a mutant not
 * caught, mainline failing, a check that could not judge) counts as a
 * regression of the tool itself, so the night says so.
 */
async function knownAnswerNight(
  name: string,
  bench: JobSpec,
  out: string,
  mutants: string[] | undefined,
  progress: Progress,
  onFolder: (f: RunFolder) => void,
): Promise<NightJob> {
  try {
    const record = await runKnownAnswer({ bench, out, mutants }, progress, onFolder);
    const bad = record.targets.reduce(
      (n, t) => n + SIGNALS.filter((s) => BAD_VERDICTS.includes(t.verdicts[s]!)).length,
      0,
    );
    return {
      job: name,
      status: record.status,
      runDir: out,
      regressions: bad,
      failedBoots: 0,
      baseline: null,
      imagesMoved: [],
      ...(bad ? { reason: record.problems.find((p) => /: (MISSED|UNEXPECTED|INCONCLUSIVE):/.test(p)) } : {}),
    };
  } catch (e) {
    return {
      job: name,
      status: "error",
      reason: describeError(e).split("\n")[0],
      runDir: out,
      regressions: 0,
      failedBoots: 0,
      baseline: null,
      imagesMoved: [],
    };
  }
}

async function writeNight(history: string, summary: NightSummary): Promise<void> {
  const dir = path.join(history, "nights");
  await writeJsonAtomic(path.join(dir, `${summary.night}.json`), NightSummarySchema.parse(summary));
  await writeFileAtomic(path.join(dir, `${summary.night}.md`), renderNight(summary));
  await appendFile(
    path.join(history, "nights.jsonl"),
    JSON.stringify({ night: summary.night, regressions: summary.regressions, exitStatus: summary.exitStatus }) + "\n",
  );
}
