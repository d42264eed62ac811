import { appendFile, mkdir, readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { compareRuns, RunComparisonSchema, type RunComparison, type Thresholds } from "../analysis/compareRuns.js";
import type { BenchOptions } from "../pipeline/options.js";
import { endRunEarly, runBench } from "../pipeline/run.js";
import type { RunFolder } from "../pipeline/runFolder.js";
import { loadRunRecord, RUN_STATUSES, type RunRecord } from "../record/runRecord.js";
import { renderComparison } from "../report/comparison.js";
import { describeError } from "../util/errors.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/fsx.js";
import { Progress } from "../util/progress.js";
import { EXIT } from "./exitCodes.js";
import { exitOnInterrupt, interrupted } from "./interrupt.js";
import { printRun, runSummary } from "./output.js";

/** nightly.json: the verdict each nightly run leaves in its folder beside run.json. */
export const NightlyVerdictSchema = z.object({
  regressions: z.number().int(),
  baseline: z.string().nullable(),
  note: z.string().nullable(),
  comparison: RunComparisonSchema.nullable(),
});
export type NightlyVerdict = z.infer<typeof NightlyVerdictSchema>;

/** One line of <history>/nightly.jsonl per night. */
export const NightLineSchema = z.object({
  runId: z.string(),
  startedAt: z.string(),
  status: z.enum(RUN_STATUSES),
  kernel: z.string().nullable(),
  baseline: z.string().nullable(),
  regressions: z.number().int(),
});

function samePlan(a: RunRecord, b: RunRecord): boolean {
  const p = (r: RunRecord) => JSON.stringify([r.series.name, [...r.plan.workloads].sort(), [...r.plan.modes].sort(), [...r.plan.paths].sort(), [...r.plan.phases].sort(), r.plan.quick]);
  return p(a) === p(b);
}

/**
 * The last good run in `historyDir` to judge `current` against: complete,
 * same series and plan, older, and not itself judged a regression (so a
 * regression does not become tomorrow's baseline). Folders this version
 * cannot read (another schema, damaged) are passed over.
 */
export async function findBaseline(historyDir: string, current: RunRecord): Promise<{ dir: string; run: RunRecord } | null> {
  const entries = await readdir(historyDir, { withFileTypes: true }).catch(() => []);
  const candidates: Array<{ dir: string; run: RunRecord }> = [];
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const dir = path.join(historyDir, e.name);
    const run = await loadRunRecord(dir).catch(() => null);
    if (!run || run.runId === current.runId || run.status !== "complete" || !samePlan(run, current)) continue;
    if (run.startedAt >= current.startedAt) continue;
    const verdict = await readFile(path.join(dir, "nightly.json"), "utf8")
      .then((t) => NightlyVerdictSchema.safeParse(JSON.parse(t)))
      .catch(() => null);
    if (verdict?.success && verdict.data.regressions > 0) continue;
    candidates.push({ dir, run });
  }
  candidates.sort((a, b) => b.run.startedAt.localeCompare(a.run.startedAt));
  return candidates[0] ?? null;
}

export interface NightlyResult {
  folder?: RunFolder;
  comparison: RunComparison | null;
  /** Why there is no comparison (first night, no compatible baseline). */
  note?: string;
  error?: string;
}

/**
 * One night: the benchmark into `<history>/<run-id>`, then the comparison
 * with the last good night, written as nightly.md / nightly.json in the run
 * folder and one line in `<history>/nightly.jsonl`. A run that fails is
 * itself a regression; what it measured is still compared.
 */
export async function runNightly(
  opts: BenchOptions & { history: string; thresholds?: Thresholds },
  progress: Progress,
  onFolder?: (f: RunFolder) => void,
): Promise<NightlyResult> {
  const history = path.resolve(opts.history);
  await mkdir(history, { recursive: true });
  let folder: RunFolder | undefined;
  let error: string | undefined;
  try {
    folder = await runBench({ ...opts, out: undefined, outRoot: history }, progress, (f) => {
      folder = f;
      onFolder?.(f);
    });
  } catch (e) {
    error = describeError(e);
    if (folder && !interrupted()) await endRunEarly(folder, "failed", e instanceof Error ? e.message : String(e));
  }
  if (!folder) return { comparison: null, error: error ?? "the run did not start" };

  const judged = await judgeRun(folder.dir, folder.record, history, opts.thresholds, progress);
  return { folder, comparison: judged.comparison, note: judged.note, error };
}

/**
 * A finished run, judged against the last good one in `history`: the
 * comparison in nightly.md / nightly.json beside its run.json and one line
 * in `<history>/nightly.jsonl`. A run that did not complete counts as a
 * regression.
 */
export async function judgeRun(
  dir: string,
  current: RunRecord,
  history: string,
  thresholds: Thresholds | undefined,
  progress: Progress,
): Promise<{ comparison: RunComparison | null; note?: string; regressions: number }> {
  const baseline = await findBaseline(history, current);
  let comparison: RunComparison | null = null;
  let note: string | undefined;
  if (baseline) {
    comparison = compareRuns(baseline.run, current, { baseline: baseline.dir, current: dir }, thresholds);
    await writeFileAtomic(path.join(dir, "nightly.md"), renderComparison(comparison));
    progress.info(`nightly: compared with ${baseline.run.runId}: ${comparison.regressions} regression(s)`);
  } else {
    note = `no earlier complete run of series ${current.series.name} with the same plan in ${history}: this run is the first baseline`;
    progress.info(`nightly: ${note}`);
  }
  const regressions = comparison?.regressions ?? (current.status === "complete" ? 0 : 1);
  const verdict: NightlyVerdict = { regressions, baseline: baseline?.dir ?? null, note: note ?? null, comparison };
  await writeJsonAtomic(path.join(dir, "nightly.json"), NightlyVerdictSchema.parse(verdict));
  const line = NightLineSchema.parse({
    runId: current.runId, startedAt: current.startedAt, status: current.status, kernel: current.kernel?.release ?? null, baseline: baseline?.run.runId ?? null, regressions,
  });
  await appendFile(path.join(history, "nightly.jsonl"), JSON.stringify(line) + "\n");
  return { comparison, note, regressions };
}

/** --nightly HISTORY: run, judge, print; exit 3 on a regression, 1 when the run did not complete. */
export async function nightlyCommand(opts: BenchOptions & { history: string; thresholds?: Thresholds }, json: boolean): Promise<number> {
  let folder: RunFolder | undefined;
  exitOnInterrupt(() => folder);
  const night = await runNightly(opts, new Progress(), (f) => (folder = f));
  if (interrupted()) return new Promise<number>(() => undefined);
  folder = night.folder;
  if (night.error) process.stderr.write(night.error + "\n");
  if (json) {
    process.stdout.write(JSON.stringify({ ...(folder ? runSummary(folder.dir, folder.record) : {}), nightly: night.comparison, note: night.note, error: night.error }, null, 2) + "\n");
  } else {
    if (folder) printRun(folder.dir, folder.record);
    process.stdout.write("\n" + (night.comparison ? renderComparison(night.comparison) : `${night.note ?? ""}\n`));
  }
  if (night.comparison?.regressions) return EXIT.regression;
  return night.error || !folder || folder.record.status !== "complete" ? EXIT.error : EXIT.ok;
}
