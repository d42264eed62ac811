import { appendFile, mkdir, readFile } from "node:fs/promises";
import { renderBisectHints, type BisectHint } from "../analysis/bisectHint.js";
import { parseBisectRow } from "../analysis/bisectRule.js";
import { RESULT_NAMES } from "../guest/checks.js";
import { ACCESS_PATHS } from "../guest/modes.js";
import { runBisect } from "../pipeline/bisect.js";
import path from "node:path";
import type { RunComparison, Thresholds } from "../analysis/compareRuns.js";
import { findBaseline, judgeNight } from "../analysis/night.js";
import type { JobSpec } from "../record/jobSpec.js";
import { endRunEarly, runBench } from "../pipeline/run.js";
import type { RunFolder } from "../pipeline/runFolder.js";
import { loadHistory, NightLineSchema, NightlyVerdictSchema, type NightlyVerdict } from "../record/nightly.js";
import type { RunRecord } from "../record/runRecord.js";
import { renderComparison } from "../report/comparison.js";
import { loadNightEntries } from "../report/html/nightEntries.js";
import { renderNightlyHtml } from "../report/html/nightlyPage.js";
import { describeError } from "../util/errors.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/fsx.js";
import { Progress } from "../util/progress.js";
import { writeComparisonHtml } from "./compare.js";
import { EXIT } from "../util/exitStatus.js";
import { exitOnInterrupt, interrupted } from "./interrupt.js";
import { printRun, runSummary } from "./output.js";

export interface NightlyResult {
  folder?: RunFolder;
  comparison: RunComparison | null;
  /** Why there is no comparison (first night, no compatible baseline). */
  note?: string;
  error?: string;
}

/** <history>/nightly.html, rewritten from every night the folder holds (a night that failed to write it is caught up by the next). */
export async function writeNightlyHtml(history: string): Promise<{ file: string; notes: string[] }> {
  const { nights, notes } = await loadNightEntries(history);
  const file = path.join(history, "nightly.html");
  await writeFileAtomic(file, renderNightlyHtml(nights, { notes }));
  return { file, notes };
}

/**
 * One night: the benchmark into `<history>/<run-id>`, then the comparison
 * with the last good night (judgeRun). A run that fails is itself a
 * regression; what it measured is still compared.
 */
export async function runNightly(
  opts: JobSpec & { history: string; thresholds?: Thresholds; autoBisect?: boolean },
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
  if (opts.autoBisect) await bisectTonight(folder, judged.hints, opts, progress);
  return { folder, comparison: judged.comparison, note: judged.note, error };
}

/**
 * --auto-bisect: the first regressed row a bisection can judge is bisected
 * right away, into the night's folder; nightly.json and nightly.html then
 * link to it. A bisection that cannot run says why in its hint.
 */
async function bisectTonight(folder: RunFolder, hints: BisectHint[], opts: JobSpec, progress: Progress): Promise<void> {
  const h = hints.find((x) => x.command);
  if (!h) return;
  const range = /--bisect (\S+)\.\.(\S+)/.exec(h.command!)!;
  const src = folder.record.kernel!.source as { repo?: string };
  const dir = path.join(folder.dir, `bisect-${h.row.replace(/[^a-z0-9-]+/gi, "-")}`);
  const profile = folder.record.series.name.replace(/-tree$/, "");
  try {
    progress.info(`nightly: bisecting ${h.row} over ${range[1]}..${range[2]} into ${dir}`);
    await runBisect({ bench: { ...opts, kernelSrc: src.repo, profile, series: profile }, good: range[1]!, bad: range[2]!, row: parseBisectRow(h.row, RESULT_NAMES, ACCESS_PATHS), out: dir, cap: 4 }, progress);
    h.dir = path.basename(dir);
  } catch (e) {
    h.note = `the bisection did not finish: ${describeError(e).split("\n")[0]}`;
    h.dir = path.basename(dir);
  }
  const file = path.join(folder.dir, "nightly.json");
  const verdict = NightlyVerdictSchema.parse(JSON.parse(await readFile(file, "utf8")));
  await writeJsonAtomic(file, { ...verdict, bisect: hints });
  await writeNightlyHtml(path.dirname(folder.dir));
}

/**
 * A finished run, judged against the last good one in `history`: the
 * comparison in nightly.md / comparison.html / nightly.json beside its
 * run.json, one line in `<history>/nightly.jsonl`, and
 * `<history>/nightly.html` rewritten. A run that did not complete counts as
 * a regression.
 */
export async function judgeRun(
  dir: string,
  current: RunRecord,
  history: string,
  thresholds: Thresholds | undefined,
  progress: Progress,
): Promise<{ comparison: RunComparison | null; note?: string; regressions: number; hints: BisectHint[] }> {
  const baseline = findBaseline((await loadHistory(history)).nights, current);
  const { comparison, note, regressions, hints } = judgeNight(current, dir, baseline, history, thresholds);
  for (const h of hints) progress.info(`nightly: ${h.row}: ${h.command ?? h.note}`);
  if (comparison) {
    await writeFileAtomic(path.join(dir, "nightly.md"), renderComparison(comparison) + renderBisectHints(hints));
    await writeComparisonHtml(path.join(dir, "comparison.html"), comparison);
    progress.info(`nightly: compared with ${baseline!.run.runId}: ${comparison.regressions} regression(s)`);
  } else {
    progress.info(`nightly: ${note}`);
  }
  const verdict: NightlyVerdict = { regressions, baseline: baseline?.dir ?? null, note: note ?? null, comparison, bisect: hints };
  await writeJsonAtomic(path.join(dir, "nightly.json"), NightlyVerdictSchema.parse(verdict));
  const line = NightLineSchema.parse({
    runId: current.runId, startedAt: current.startedAt, status: current.status, kernel: current.kernel?.release ?? null, baseline: baseline?.run.runId ?? null, regressions,
  });
  await appendFile(path.join(history, "nightly.jsonl"), JSON.stringify(line) + "\n");
  const page = await writeNightlyHtml(history);
  const passedOver = page.notes.length ? ` (${page.notes.length} note(s) on what it passed over, at the top of the page)` : "";
  progress.info(`nightly: ${page.file}${passedOver}`);
  return { comparison, note, regressions, hints };
}

/** --nightly HISTORY: run, judge, print; exit 3 on a regression, 1 when the run did not complete. */
export async function nightlyCommand(opts: JobSpec & { history: string; thresholds?: Thresholds; autoBisect?: boolean }, json: boolean): Promise<number> {
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
