import type { RunRecord } from "../record/runRecord.js";
import type { Cell, Comparison } from "../analysis/cells.js";
import type { RuntimeCell } from "../analysis/runtimeCells.js";
import { failedCells } from "../analysis/failures.js";
import { bootsPlanned, MIN_REPS } from "../analysis/repetitions.js";
import type { AccessPath } from "../guest/modes.js";
import { renderCorrectnessText } from "./correctnessText.js";
import { pairNotAnUpdate } from "../images/pairs.js";
import { imageInputLines } from "./imageInputs.js";
import { formatMiB, formatReduction, renderCoverLetterTable } from "./table.js";

export const PATH_TITLES: Record<AccessPath, string> = {
  read: "read(2)",
  mmap: "mmap, every page touched",
  sendfile: "sendfile(2) into a pipe",
};

/**
 * The row order of the seed cover letter, with synthetic after its rows, so
 * a table reads line by line against the mail. A presentation order, not the
 * list of workloads (workloads/*.yaml is): a workload not named here needs no
 * entry, and comes after these in run order.
 */
export const COVER_LETTER_ORDER = ["redis", "postgres", "tensorflow", "mysql", "nginx", "tomcat", "synthetic"];

/** Sorts rows by COVER_LETTER_ORDER, keeping run order among workloads it does not name. */
export function inCoverLetterOrder<T extends { workload: string }>(rows: T[]): T[] {
  const rank = (w: string) =>
    COVER_LETTER_ORDER.includes(w) ? COVER_LETTER_ORDER.indexOf(w) : COVER_LETTER_ORDER.length;
  return [...rows].sort((x, y) => rank(x.workload) - rank(y.workload));
}

function labelsOf(run: RunRecord, workload: string): { image: string; versions: string } {
  const w = run.workloads.find((x) => x.name === workload);
  return { image: w?.image ?? workload, versions: w?.versions ?? "" };
}

function completePairs(run: RunRecord, p: AccessPath): Comparison[] {
  return run.comparisons.filter((c) => c.path === p && c.off && c.on);
}

/**
 * A table's figures are medians of the planned repetitions; a figure from
 * fewer boots (some failed, or were left out as untrustworthy) carries a
 * mark, and a note under the table says how many boots it is and why.
 */
function countedMiB(
  v: number,
  n: number,
  planned: number,
  decimals: 0 | 1,
  notes: string[],
  note: () => string,
): string {
  const text = formatMiB(v, decimals);
  if (n >= planned) return text;
  notes.push(note());
  return `${text}${"*".repeat(notes.length)}`;
}

/** A table, the notes its marks point to, and what its images are made of. */
function withNotes(title: string, table: string, notes: string[], inputs: string[]): string[] {
  const below = [...notes.map((n, i) => `${"*".repeat(i + 1)} ${n}`), ...inputs];
  return [title, "", table, ...below, ...(below.length ? [""] : [])];
}

/**
 * Sharing can keep out of the page cache at most the files both images hold
 * identically. A runtime saving beyond that comes from something else (the
 * sharing code path reading less ahead, a server that did less work): the
 * figure is true, but calling it the effect of sharing would not be.
 */
function savingBeyondSharing(
  off: RuntimeCell,
  on: RuntimeCell,
  split: RuntimeCell | undefined,
  sharedBytes: number | undefined,
): string | undefined {
  if (sharedBytes === undefined || !off.pageCache.n || !on.pageCache.n) return undefined;
  const saved = off.pageCache.median - on.pageCache.median;
  const common = sharedBytes / 2 ** 20;
  if (saved <= common + Math.max(1, off.pageCache.median * 0.01)) return undefined;
  const bySplit = split?.pageCache.n
    ? `; split, which shares nothing across the images, grew ${formatMiB(off.pageCache.median - split.pageCache.median, 1)} MiB less than off`
    : "";
  return (
    `${on.workload} on: the page cache grew ${formatMiB(saved, 1)} MiB less than off, more than the ${formatMiB(common, 1)} MiB of files both images hold identically, ` +
    `so sharing alone does not explain this saving${bySplit} (report.md: "Where a runtime saving comes from")`
  );
}

/** The tables to paste into a cover letter: one per access path (read-all), runtime, then the correctness checks. */
export function renderCoverLetter(run: RunRecord): string {
  const parts: string[] = [];
  const planned = run.plan.reps;
  // a settled group stops before the cap: the title gives the range, a cell is marked only when it lost boots
  const medianOf = (phase: "read-all" | "runtime") => {
    const got = [...new Set(run.repetitions.filter((d) => d.phase === phase && !d.fixed).map((d) => d.boots))];
    if (!got.some((n) => n < planned)) return `median of ${planned} boot(s)`;
    return got.length === 1
      ? `median of ${got[0]} boot(s) (they agreed; up to ${planned})`
      : `median of ${MIN_REPS}-${planned} boots (fewer when they agreed)`;
  };
  for (const p of run.plan.paths as AccessPath[]) {
    const comps = inCoverLetterOrder(completePairs(run, p));
    if (!comps.length) continue;
    const notes: string[] = [];
    const fig = (cell: Cell) => {
      const meant = bootsPlanned(run, "read-all", cell.workload, p);
      return countedMiB(cell.afterB.median, cell.afterB.n, meant, 0, notes, () => {
        const why = cell.excluded.map((x) => `rep ${x.rep} left out: ${x.reason}`);
        const failed = meant - cell.afterB.n - cell.excluded.length;
        if (failed > 0) why.push(`${failed} boot(s) failed`);
        return `${cell.workload} ${cell.mode}: median of ${cell.afterB.n} of ${meant} boots (${why.join("; ")})`;
      });
    };
    const rows = comps.map((c) => ({
      ...labelsOf(run, c.workload),
      off: fig(c.off!),
      on: fig(c.on!),
      reduction: formatReduction(c.reductionPct),
    }));
    const inputs = imageInputLines(
      run,
      comps.map((c) => c.workload),
    );
    parts.push(
      ...withNotes(
        `Page cache after reading every file of both images (${PATH_TITLES[p]}), ${medianOf("read-all")}:`,
        renderCoverLetterTable(rows, { unit: "MiB" }),
        notes,
        inputs,
      ),
    );
  }
  const notes: string[] = [];
  const runtimeFig = (c: RuntimeCell) => {
    const meant = bootsPlanned(run, "runtime", c.workload);
    return countedMiB(
      c.memory.median,
      c.memory.n,
      meant,
      1,
      notes,
      () => `${c.workload} ${c.mode}: median of ${c.memory.n} of ${meant} boots (${meant - c.memory.n} failed)`,
    );
  };
  const workloads = inCoverLetterOrder(run.runtimeCells.map((c) => ({ workload: c.workload }))).map((c) => c.workload);
  const runtime = workloads
    .filter((w, i, all) => all.indexOf(w) === i)
    .flatMap((w) => {
      const off = run.runtimeCells.find((c) => c.workload === w && c.mode === "off");
      const on = run.runtimeCells.find((c) => c.workload === w && c.mode === "on");
      if (!off?.memory.n || !on?.memory.n) return [];
      const split = run.runtimeCells.find((c) => c.workload === w && c.mode === "split");
      const beyond = savingBeyondSharing(off, on, split, run.workloads.find((x) => x.name === w)?.sharing.sharedBytes);
      let onFig = runtimeFig(on);
      if (beyond && onFig.endsWith("*")) notes[notes.length - 1] += `; ${beyond}`;
      else if (beyond) {
        notes.push(beyond);
        onFig += "*".repeat(notes.length);
      }
      return [{ ...labelsOf(run, w), off: runtimeFig(off), on: onFig, reduction: formatReduction(on.reductionPct) }];
    });
  if (runtime.length) {
    const inputs = imageInputLines(
      run,
      workloads.filter((w, i, all) => all.indexOf(w) === i),
    );
    parts.push(
      ...withNotes(
        `Runtime memory in MiB (${run.runtimeBasis}), ${medianOf("runtime")}:`,
        renderCoverLetterTable(runtime, { unit: "MiB" }),
        notes,
        inputs,
      ),
    );
  }
  const notUpdates = run.workloads.flatMap((w) => pairNotAnUpdate(w) ?? []);
  if (notUpdates.length)
    parts.push(
      "Pairs that are not an update (their reduction is the most sharing can give):",
      ...notUpdates.map((n) => `  ${n}`),
      "",
    );
  parts.push(...renderCorrectnessText(run.correctness, run.checksKernel));
  const failed = failedCells(run);
  if (failed.length) {
    parts.push("Boots that failed (their cells are left out or measured from the other boots):");
    for (const f of failed) parts.push(`  ${f.workload} ${f.where}: ${f.count} of ${f.of} failed: ${f.first}`);
    parts.push("");
  }
  const kernel = run.kernel?.release ? `Linux ${run.kernel.release}` : "the kernel under test";
  if (run.cells.length) {
    parts.push(
      "Read-all memory is page cache in MiB (Cached - Shmem from /proc/meminfo, growth after reading",
      "image A then image B, caches dropped before).",
    );
  }
  parts.push(`Series ${run.series.name} on ${kernel}, QEMU ${run.accel?.accel.toUpperCase() ?? "?"}.`);
  const own = run.kernel?.patch;
  if (own)
    parts.push(
      `With a patch that is not part of the series on top (--patch): ${own.file ?? own.mutant} (sha256 ${own.patchSha256.slice(0, 12)}, changes ${own.files.join(", ")}).`,
    );
  return parts.join("\n") + "\n";
}
