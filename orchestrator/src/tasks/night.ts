import { appendFile, cp, mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { renderBisectHints, type BisectHint } from "../analysis/bisectHint.js";
import { parseBisectRow } from "../analysis/bisectRule.js";
import type { RunComparison, Thresholds } from "../analysis/compareRuns.js";
import { findBaseline, judgeNight, type NightJudgement } from "../analysis/nightJudgement.js";
import { RESULT_NAMES } from "../guest/checks.js";
import { ACCESS_PATHS } from "../guest/modes.js";
import type { JobSpec } from "../record/jobSpec.js";
import { loadHistory, NightLineSchema, NightlyVerdictSchema, type NightlyVerdict } from "../record/nightHistory.js";
import { loadRunRecord, type RunRecord } from "../record/runRecord.js";
import { renderComparison } from "../report/comparison.js";
import { loadNightEntries } from "../report/html/nightEntries.js";
import { renderNightlyHtml } from "../report/html/nightlyPage.js";
import { describeError } from "../util/errors.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/fsx.js";
import type { Progress } from "../util/progress.js";
import { DEFAULT_BISECT_CAP, runBisect } from "./bisect.js";
import { writeComparisonHtml } from "./comparisonPage.js";
import { interrupted } from "../pipeline/interrupt.js";
import { endRunEarly, runBench } from "../pipeline/run.js";
import type { RunFolder } from "../pipeline/runFolder.js";

/**
 * A night: a job run into its history folder and judged against the last
 * good night there (analysis/nightJudgement.ts), its verdict written beside its
 * run.json and into the history's files.
 */

/** How a night judges: the history it belongs to, what counts as a regression, whether to bisect one. */
export interface NightOptions {
  history: string;
  thresholds?: Thresholds;
  autoBisect?: boolean;
}

interface NightlyResult {
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
 * One night: the job into `<history>/<run-id>`, then judged against the
 * last good night (judgeInHistory). A run that fails is itself a
 * regression; what it measured is still compared.
 */
export async function runNightly(
  job: JobSpec,
  night: NightOptions,
  progress: Progress,
  onFolder?: (f: RunFolder) => void,
): Promise<NightlyResult> {
  const history = path.resolve(night.history);
  await mkdir(history, { recursive: true });
  let folder: RunFolder | undefined;
  let error: string | undefined;
  try {
    folder = await runBench({ ...job, out: undefined, outRoot: history }, progress, (f) => {
      folder = f;
      onFolder?.(f);
    });
  } catch (e) {
    error = describeError(e);
    if (folder && !interrupted()) await endRunEarly(folder, "failed", e instanceof Error ? e.message : String(e));
  }
  if (!folder) return { comparison: null, error: error ?? "the run did not start" };

  const judged = await judgeInHistory(folder.dir, folder.record, history, night.thresholds, progress);
  if (night.autoBisect) await bisectTonight(folder, judged.hints, job, progress);
  return { folder, comparison: judged.comparison, note: judged.note, error };
}

/**
 * --auto-bisect: the first regressed row a bisection can judge is bisected
 * right away, into the night's folder; nightly.json and nightly.html then
 * link to it. A bisection that cannot run says why in its hint.
 */
async function bisectTonight(folder: RunFolder, hints: BisectHint[], job: JobSpec, progress: Progress): Promise<void> {
  const h = hints.find((x) => x.command);
  if (!h) return;
  const [, good, bad] = /\bbisect (\S+)\.\.(\S+)/.exec(h.command!)! as unknown as [string, string, string];
  const src = folder.record.kernel!.source as { repo?: string };
  const dir = path.join(folder.dir, `bisect-${h.row.replace(/[^a-z0-9-]+/gi, "-")}`);
  const profile = folder.record.series.name.replace(/-tree$/, "");
  try {
    progress.info(`nightly: bisecting ${h.row} over ${good}..${bad} into ${dir}`);
    await runBisect(
      {
        bench: { ...job, kernelSrc: src.repo, profile, series: profile },
        good,
        bad,
        row: parseBisectRow(h.row, RESULT_NAMES, ACCESS_PATHS),
        out: dir,
        cap: DEFAULT_BISECT_CAP,
      },
      progress,
    );
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
 * A finished run in `dir`, judged against the last good one in `history`:
 * the comparison in nightly.md / comparison.html / nightly.json beside its
 * run.json, one line in `<history>/nightly.jsonl`, and
 * `<history>/nightly.html` rewritten. A run that did not complete counts as
 * a regression.
 */
async function judgeInHistory(
  dir: string,
  current: RunRecord,
  history: string,
  thresholds: Thresholds | undefined,
  progress: Progress,
): Promise<NightJudgement> {
  const baseline = findBaseline((await loadHistory(history)).nights, current);
  const judged = judgeNight(current, dir, baseline, history, thresholds);
  const { comparison, note, regressions, hints } = judged;
  for (const h of hints) progress.info(`nightly: ${h.row}: ${h.command ?? h.note}`);
  if (comparison) {
    await writeFileAtomic(path.join(dir, "nightly.md"), renderComparison(comparison) + renderBisectHints(hints));
    await writeComparisonHtml(path.join(dir, "comparison.html"), comparison);
    progress.info(`nightly: compared with ${baseline!.run.runId}: ${comparison.regressions} regression(s)`);
  } else {
    progress.info(`nightly: ${note}`);
  }
  const imagesMoved = (comparison?.imagesMoved ?? []).map((m) => `${m.workload} ${m.side}: ${m.detail}`);
  if (imagesMoved.length)
    progress.info(
      `nightly: images moved since ${baseline!.run.runId}, so ${comparison!.unjudged} row(s) are not judged: ${imagesMoved.join("; ")}`,
    );
  const verdict: NightlyVerdict = {
    regressions,
    baseline: baseline?.dir ?? null,
    note: note ?? null,
    comparison,
    bisect: hints,
    imagesMoved,
    unjudged: comparison?.unjudged ?? 0,
  };
  await writeJsonAtomic(path.join(dir, "nightly.json"), NightlyVerdictSchema.parse(verdict));
  const line = NightLineSchema.parse({
    runId: current.runId,
    startedAt: current.startedAt,
    status: current.status,
    kernel: current.kernel?.release ?? null,
    baseline: baseline?.run.runId ?? null,
    regressions,
    imagesMoved,
  });
  await appendFile(path.join(history, "nightly.jsonl"), JSON.stringify(line) + "\n");
  const page = await writeNightlyHtml(history);
  const passedOver = page.notes.length
    ? ` (${page.notes.length} note(s) on what it passed over, at the top of the page)`
    : "";
  progress.info(`nightly: ${page.file}${passedOver}`);
  return judged;
}

/**
 * A run measured elsewhere (the merge of a job's shards), judged the way a
 * night judges its own run; the folder is copied into the history first, so
 * it can be tomorrow's baseline.
 */
export async function judgeRunFolder(
  runDir: string,
  history: string,
  thresholds: Thresholds | undefined,
  progress: Progress,
): Promise<NightJudgement & { runDir: string; record: RunRecord }> {
  const src = path.resolve(runDir);
  const record = await loadRunRecord(src);
  const hist = path.resolve(history);
  const dest = path.dirname(src) === hist ? src : path.join(hist, record.runId);
  if (dest !== src) await cp(src, dest, { recursive: true, errorOnExist: true, force: false });
  return { runDir: dest, record, ...(await judgeInHistory(dest, record, hist, thresholds, progress)) };
}
