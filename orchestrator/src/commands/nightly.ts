import { appendFile, mkdir, readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { endRunEarly, runBench, type BenchOptions } from "../pipeline/run.js";
import type { RunFolder } from "../record/runRecord.js";
import { compareRuns, loadRunSummary, renderComparison, type RunComparison, type RunSummary, type Thresholds } from "../analysis/compareRuns.js";
import { describeError } from "../util/errors.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/fsx.js";
import type { Progress } from "../util/progress.js";

/** What each nightly run leaves in its folder beside run.json. */
const NightlyVerdictSchema = z.object({ regressions: z.number(), baseline: z.string().nullable() });

function samePlan(a: RunSummary, b: RunSummary): boolean {
  const p = (r: RunSummary) => JSON.stringify([r.series.name, [...r.plan.workloads].sort(), [...r.plan.modes].sort(), [...r.plan.paths].sort(), [...r.plan.phases].sort(), r.plan.quick]);
  return p(a) === p(b);
}

/**
 * The last good run in `historyDir` to judge `current` against: complete,
 * same series and plan, older, and not itself judged a regression (so a
 * regression does not become tomorrow's baseline).
 */
export async function findBaseline(historyDir: string, current: RunSummary): Promise<{ dir: string; run: RunSummary } | null> {
  const entries = await readdir(historyDir, { withFileTypes: true }).catch(() => []);
  const candidates: Array<{ dir: string; run: RunSummary }> = [];
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const dir = path.join(historyDir, e.name);
    const run = await loadRunSummary(dir).catch(() => null);
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
export async function runNightly(opts: BenchOptions & { history: string; thresholds?: Thresholds }, progress: Progress): Promise<NightlyResult> {
  const history = path.resolve(opts.history);
  await mkdir(history, { recursive: true });
  let folder: RunFolder | undefined;
  let error: string | undefined;
  try {
    folder = await runBench({ ...opts, out: undefined, outRoot: history }, progress, (f) => (folder = f));
  } catch (e) {
    error = describeError(e);
    if (folder) await endRunEarly(folder, "failed", e instanceof Error ? e.message : String(e));
  }
  if (!folder) return { comparison: null, error: error ?? "the run did not start" };

  const current = await loadRunSummary(folder.dir);
  const baseline = await findBaseline(history, current);
  let comparison: RunComparison | null = null;
  let note: string | undefined;
  if (baseline) {
    comparison = compareRuns(baseline.run, current, { baseline: baseline.dir, current: folder.dir }, opts.thresholds);
    await writeFileAtomic(path.join(folder.dir, "nightly.md"), renderComparison(comparison));
    progress.info(`nightly: compared with ${baseline.run.runId}: ${comparison.regressions} regression(s)`);
  } else {
    note = `no earlier complete run of series ${current.series.name} with the same plan in ${history}: this run is the first baseline`;
    progress.info(`nightly: ${note}`);
  }
  const regressions = comparison?.regressions ?? (current.status === "complete" ? 0 : 1);
  await writeJsonAtomic(path.join(folder.dir, "nightly.json"), { regressions, baseline: baseline?.dir ?? null, note: note ?? null, comparison });
  await appendFile(
    path.join(history, "nightly.jsonl"),
    JSON.stringify({ runId: current.runId, startedAt: current.startedAt, status: current.status, kernel: current.kernel?.release ?? null, baseline: baseline?.run.runId ?? null, regressions }) + "\n",
  );
  return { folder, comparison, note, error };
}
