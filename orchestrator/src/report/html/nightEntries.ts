import { stat } from "node:fs/promises";
import path from "node:path";
import { inputsOf } from "../../analysis/compareRuns.js";
import { loadHistory, type Night } from "../../record/nightHistory.js";
import { isNum, urlPath } from "./escape.js";

/** What nightly.html shows of each night, taken from its run.json and nightly.json. */

interface NightCell {
  workload: string;
  path: string;
  efficiencyPct: number | null;
  offMiB: number | null;
  onMiB: number | null;
}

interface NightRuntime {
  workload: string;
  /** "on" or "split": the reduction of memory.current against off. */
  mode: string;
  reductionPct: number | null;
}

/** A metric the night's comparison judged a regression. */
export interface NightRegression {
  /** A workload, or "*" for the run as a whole (a failed run). */
  workload: string;
  /** "read-all read", "read-all on/mmap", "runtime on", "run". */
  where: string;
  metric: string;
  note?: string;
}

export interface NightEntry {
  /** The night's folder in the history folder (the run id, as nightly names it). */
  folder: string;
  runId: string;
  startedAt: string;
  status: string;
  /** nightly.json's count; null when the night has no verdict. */
  regressions: number | null;
  regressed: NightRegression[];
  /** Run id of the night it was judged against; null for a first baseline. */
  baseline: string | null;
  kernelRelease: string | null;
  mkfsVersion: string | null;
  /** Per workload: versions and image digests ("7.2.4 & 7.2.5 (1a2b3c4d, 5e6f7a8b)"). */
  images: Record<string, string>;
  cells: NightCell[];
  runtime: NightRuntime[];
  /** Links relative to the history folder; null when the night has no such page. Undefined report: `<folder>/report.html`. */
  report?: string | null;
  comparison?: string | null;
  /** Bisections the night ran for its regressions (--auto-bisect): the row and its bisect.md, relative to the history folder. */
  bisections?: Array<{ row: string; href: string }>;
  /** Sides whose images moved since the baseline: their rows were not judged. */
  imagesMoved?: string[];
}

const num = (v: number | undefined): number | null => (isNum(v) ? v : null);

/** A night as nightly.html shows it; `links` are the night's pages, relative to the history folder. */
function nightEntryOf(night: Night, links: { report?: string | null; comparison?: string | null } = {}): NightEntry {
  const { run, verdict } = night;
  const inputs = inputsOf(run);
  const images: Record<string, string> = {};
  for (const w of run.workloads) images[w.name] = inputs[`${w.name} images`] ?? w.versions;
  return {
    folder: night.folder,
    runId: run.runId,
    startedAt: run.startedAt,
    status: run.status,
    regressions: verdict ? verdict.regressions : null,
    regressed: (verdict?.comparison?.rows ?? [])
      .filter((r) => r.verdict === "regression")
      .map((r) => ({ workload: r.workload, where: r.where, metric: r.metric, ...(r.note ? { note: r.note } : {}) })),
    baseline: verdict?.comparison?.baseline.runId ?? (verdict?.baseline ? path.basename(verdict.baseline) : null),
    bisections: (verdict?.bisect ?? [])
      .filter((h) => h.dir)
      .map((h) => ({ row: h.row, href: `${night.folder}/${h.dir}/bisect.md` })),
    imagesMoved: verdict?.imagesMoved ?? [],
    kernelRelease: run.kernel?.release ?? null,
    mkfsVersion: run.erofsUtils?.version ?? null,
    images,
    cells: run.comparisons.map((c) => ({
      workload: c.workload,
      path: c.path,
      efficiencyPct: num(c.efficiencyPct),
      offMiB: num(c.off?.afterB.median),
      onMiB: num(c.on?.afterB.median),
    })),
    runtime: run.runtimeCells
      .filter((c) => c.mode !== "off")
      .map((c) => ({ workload: c.workload, mode: c.mode, reductionPct: num(c.reductionPct) })),
    ...links,
  };
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/** The first of a night's pages that exists, as a link relative to the history folder. */
async function linkTo(night: Night, ...names: string[]): Promise<string | null> {
  for (const name of names) if (await exists(path.join(night.dir, name))) return urlPath(night.folder, name);
  return null;
}

/** Every night of a history folder as nightly.html shows it, oldest first, with notes on what was passed over. */
export async function loadNightEntries(historyDir: string): Promise<{ nights: NightEntry[]; notes: string[] }> {
  const { nights, notes } = await loadHistory(historyDir);
  const entries: NightEntry[] = [];
  for (const n of nights) {
    entries.push(
      nightEntryOf(n, {
        report: await linkTo(n, "report.html", "report.md"),
        comparison: await linkTo(n, "comparison.html", "nightly.md"),
      }),
    );
  }
  return { nights: entries, notes };
}
