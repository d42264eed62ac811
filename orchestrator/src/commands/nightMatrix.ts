import { appendFile, cp } from "node:fs/promises";
import path from "node:path";
import { failedCells } from "../analysis/failures.js";
import { nightExitStatus } from "../analysis/night.js";
import type { Thresholds } from "../analysis/compareRuns.js";
import type { JobInput, JobSpec } from "../record/jobSpec.js";
import { newRunId, type RunFolder } from "../pipeline/runFolder.js";
import { NightSummarySchema, type NightJob, type NightSummary } from "../record/nightly.js";
import { loadRunRecord } from "../record/runRecord.js";
import { renderComparison } from "../report/comparison.js";
import { describeError } from "../util/errors.js";
import { BAD_VERDICTS } from "../analysis/knownAnswer.js";
import { KNOWN_ANSWER_DEFAULTS, runKnownAnswer, SIGNALS } from "../pipeline/knownAnswer.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/fsx.js";
import { Progress } from "../util/progress.js";
import { EXIT } from "../util/exitStatus.js";
import { exitOnInterrupt, interrupted } from "./interrupt.js";
import { matrixJobSpec, plannedJobs } from "../record/matrix.js";
import { judgeRun, runNightly } from "./nightly.js";

export function renderNight(s: NightSummary): string {
  const verdict = s.regressions ? `REGRESSION (${s.regressions})` : "no regression";
  const lines = [`# Night ${s.night}: ${verdict}`, "", `Matrix ${s.matrix}, ${s.startedAt} to ${s.finishedAt}; exit status ${s.exitStatus}.`, ""];
  lines.push("| job | status | regressions | failed boots | run | baseline |", "|---|---|---:|---:|---|---|");
  for (const j of s.jobs) {
    lines.push(`| ${j.job} | ${j.status}${j.reason ? ` (${j.reason})` : ""} | ${j.regressions} | ${j.failedBoots} | ${j.runDir ?? "-"} | ${j.baseline ?? "-"} |`);
  }
  return lines.join("\n") + "\n";
}

export interface MatrixNightOptions {
  matrix: string;
  history: string;
  /** Only this job of the matrix. */
  only?: string;
  thresholds?: Thresholds;
  autoBisect?: boolean;
  json: boolean;
}

/**
 * `npm run nightly`: every job of the matrix, one after another, each judged
 * against its own last good night in <history>/<job>; then one summary of
 * the night (markdown and JSON) and one exit status.
 */
export async function matrixNightCommand(cli: JobInput, opts: MatrixNightOptions): Promise<number> {
  let folder: RunFolder | undefined;
  exitOnInterrupt(() => folder);
  const matrix = path.resolve(opts.matrix);
  const planned = await plannedJobs(matrix, opts.only);
  const history = path.resolve(opts.history);
  const night = newRunId();
  const startedAt = new Date().toISOString();
  const progress = new Progress();
  const jobs: Array<NightJob> = [];
  for (const { job, skipped } of planned) {
    if (skipped) {
      progress.info(`nightly: job ${job.name} skipped: ${skipped}`);
      jobs.push({ job: job.name, status: "skipped", reason: skipped, regressions: 0, failedBoots: 0, baseline: null });
      continue;
    }
    progress.info(`nightly: job ${job.name}`);
    if (job.kind === "known-answer") {
      jobs.push(await knownAnswerNight(job.name, matrixJobSpec(job, matrix, { ...KNOWN_ANSWER_DEFAULTS, ...cli }), path.join(history, job.name, night), job.mutants, progress, (f) => (folder = f)));
      if (interrupted()) return new Promise<number>(() => undefined);
      continue;
    }
    const result = await runNightly({ ...matrixJobSpec(job, matrix, cli), history: path.join(history, job.name), thresholds: opts.thresholds, autoBisect: opts.autoBisect }, progress, (f) => (folder = f));
    if (interrupted()) return new Promise<number>(() => undefined);
    const rec = result.folder?.record;
    jobs.push({
      job: job.name,
      status: rec?.status ?? "error",
      reason: result.error?.split("\n")[0],
      runDir: result.folder?.dir,
      regressions: result.comparison?.regressions ?? (rec && rec.status !== "complete" ? 1 : 0),
      failedBoots: rec ? failedCells(rec).reduce((s, f) => s + f.count, 0) : 0,
      baseline: result.comparison?.baseline.runId ?? null,
    });
  }
  const summary: NightSummary = {
    night, matrix, startedAt, finishedAt: new Date().toISOString(), jobs,
    regressions: jobs.reduce((s, j) => s + j.regressions, 0), exitStatus: nightExitStatus(jobs),
  };
  await writeNight(history, summary);
  process.stdout.write(opts.json ? JSON.stringify(summary, null, 2) + "\n" : renderNight(summary));
  return summary.exitStatus;
}

/**
 * A known-answer job of the night: every cell not as expected (a mutant not
 * caught, mainline failing, a check that could not judge) counts as a
 * regression of the tool itself, so the night says so.
 */
async function knownAnswerNight(name: string, bench: JobSpec, out: string, mutants: string[] | undefined, progress: Progress, onFolder: (f: RunFolder) => void): Promise<NightJob> {
  try {
    const record = await runKnownAnswer({ bench, out, mutants }, progress, onFolder);
    const bad = record.targets.reduce((n, t) => n + SIGNALS.filter((s) => BAD_VERDICTS.includes(t.verdicts[s]!)).length, 0);
    return { job: name, status: record.status, runDir: out, regressions: bad, failedBoots: 0, baseline: null, ...(bad ? { reason: record.problems[0] } : {}) };
  } catch (e) {
    return { job: name, status: "error", reason: describeError(e).split("\n")[0], runDir: out, regressions: 0, failedBoots: 0, baseline: null };
  }
}

async function writeNight(history: string, summary: NightSummary): Promise<void> {
  const dir = path.join(history, "nights");
  await writeJsonAtomic(path.join(dir, `${summary.night}.json`), NightSummarySchema.parse(summary));
  await writeFileAtomic(path.join(dir, `${summary.night}.md`), renderNight(summary));
  await appendFile(path.join(history, "nights.jsonl"), JSON.stringify({ night: summary.night, regressions: summary.regressions, exitStatus: summary.exitStatus }) + "\n");
}

/**
 * --judge DIR --nightly HISTORY: a run measured elsewhere (the merge of a
 * job's shards) judged against the last good one, the way a night judges
 * its own run; the folder is copied into the history first, so it can be
 * tomorrow's baseline.
 */
export async function judgeCommand(runDir: string, history: string, thresholds: Thresholds | undefined, json: boolean): Promise<number> {
  const src = path.resolve(runDir);
  const record = await loadRunRecord(src);
  const hist = path.resolve(history);
  const dest = path.dirname(src) === hist ? src : path.join(hist, record.runId);
  if (dest !== src) await cp(src, dest, { recursive: true, errorOnExist: true, force: false });
  const judged = await judgeRun(dest, record, hist, thresholds, new Progress());
  process.stdout.write(json ? JSON.stringify({ runDir: dest, ...judged }, null, 2) + "\n" : judged.comparison ? renderComparison(judged.comparison) : `${judged.note ?? ""}\n`);
  if (judged.regressions) return EXIT.regression;
  return failedCells(record).length ? EXIT.failedBoots : EXIT.ok;
}
