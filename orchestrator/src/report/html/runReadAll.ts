import { bootsPlanned } from "../../analysis/repetitions.js";
import type { Cell, Comparison } from "../../analysis/cells.js";
import type { RunRecord } from "../../record/runRecord.js";
import { PATH_TITLES } from "../coverLetter.js";
import { barChart } from "./barChart.js";
import { esc, fmtNum } from "./escape.js";
import { mib, MODE_LEGEND, MODE_TONE, pct, sortModes, spread } from "./figures.js";
import { badge, figure, table, type Column } from "./page.js";

/**
 * The read-all part of report.html: the sharing efficiency of every cell,
 * then one section per workload with page cache after A+B per access path
 * (off / on / split beside what the sharing analysis expects) and the same
 * figures as a table.
 */

/** Workloads in plan order, then any the results name beyond the plan. */
export function workloadNames(run: RunRecord): string[] {
  const names = [...run.plan.workloads];
  for (const x of [...run.workloads.map((w) => ({ workload: w.name })), ...run.comparisons, ...run.runtimeCells]) {
    if (!names.includes(x.workload)) names.push(x.workload);
  }
  return names;
}

/** A workload's comparisons in plan order of the access paths. */
function comparisonsOf(run: RunRecord, workload: string): Comparison[] {
  const order = (c: Comparison) => run.plan.paths.indexOf(c.path) + 1 || 99;
  return run.comparisons.filter((c) => c.workload === workload).sort((a, b) => order(a) - order(b));
}

function flagBadges(c: Comparison): string {
  const out: string[] = [];
  if (c.splitShared) out.push(badge("SHARED ACROSS DOMAINS", "bad"));
  if (c.sharingInactive) out.push(badge("no sharing", "warn"));
  if (c.noisy) out.push(badge("spread > effect", "muted"));
  return out.join(" ");
}

export function efficiencySection(run: RunRecord): string {
  if (!run.comparisons.length) return "";
  const groups = workloadNames(run)
    .map((w) => ({
      label: w,
      bars: comparisonsOf(run, w).map((c) => ({
        label: c.path,
        value: c.efficiencyPct,
        reference: 100,
        tone: c.splitShared ? ("bad" as const) : ("on" as const),
      })),
    }))
    .filter((g) => g.bars.length);
  const chart = barChart({
    id: "efficiency",
    title: "Sharing efficiency per cell",
    desc: "Measured reduction of page cache (on vs off) as a percentage of the reduction the sharing analysis expects, per workload and access path. 100 means every identical page was shared.",
    unit: "% of expected reduction",
    groups,
    referenceLabel: "100%",
  });
  const cols: Array<Column<Comparison>> = [
    // the verdict first: on a phone the columns past the screen's edge need a scroll
    { head: "workload", cell: (c) => esc(c.workload) },
    { head: "path", cell: (c) => esc(c.path) },
    { head: "efficiency %", cell: (c) => `<strong>${pct(c.efficiencyPct)}</strong>`, num: true },
    { head: "reduction %", cell: (c) => pct(c.reductionPct), num: true },
    { head: "expected %", cell: (c) => pct(c.expectedReductionPct), num: true },
    { head: "off MiB", cell: (c) => spread(c.off?.afterB, 1), num: true },
    { head: "on MiB", cell: (c) => spread(c.on?.afterB, 1), num: true },
    { head: "flags", cell: flagBadges },
  ];
  return (
    `<section id="efficiency"><h2>Sharing efficiency</h2>` +
    `<p class="note">Page cache after reading every file of image A, then image B (median [min–max] over boots). Efficiency is the measured on-vs-off reduction divided by the reduction the sharing analysis expects from identical file content.</p>` +
    `<div class="charts">${figure("Efficiency per workload and access path", chart)}</div>` +
    table(
      "Sharing efficiency per cell (read-all phase)",
      cols,
      workloadNames(run).flatMap((w) => comparisonsOf(run, w)),
    ) +
    `</section>`
  );
}

/** What a cell's row says besides its figures: the comparison's flags and boots the median lacks. */
function cellFlags(c: Comparison, cell: Cell, planned: number): string {
  const out: string[] = [];
  if (cell.mode === "split" && c.splitShared) out.push(badge("SHARED ACROSS DOMAINS", "bad"));
  if (cell.mode === "on" && c.sharingInactive) out.push(badge("no sharing", "warn"));
  if (cell.mode === "on" && c.noisy) out.push(badge("spread > effect", "muted"));
  if (cell.afterB.n < planned) out.push(badge(`${cell.afterB.n} of ${planned} boots`, "warn"));
  // why is in the problems at the top; the row stays one line high
  for (const x of cell.excluded) out.push(badge(`rep ${x.rep} left out`, "muted"));
  return out.join(" ");
}

/** One workload: what the sharing analysis expects, the chart of page cache per access path, the figures. */
export function workloadSection(run: RunRecord, w: string, index: number, extra = ""): string {
  const rec = run.workloads.find((x) => x.name === w);
  const comps = comparisonsOf(run, w);
  const out: string[] = [
    `<section id="w${index}"><h2>${esc(w)}${rec ? `: ${esc(rec.image)} ${esc(rec.versions)}` : ""}</h2>`,
  ];
  const s = rec?.sharing;
  if (s) {
    out.push(
      `<p>Image A: ${esc(s.a.files)} files, ${mib(s.a.bytes)} MiB; image B: ${esc(s.b.files)} files, ${mib(s.b.bytes)} MiB; ` +
        `identical content: ${esc(s.sharedFiles)} files, ${mib(s.sharedBytes)} MiB. ` +
        `Expected page cache after A+B: off ${fmtNum(s.expected.off.afterB)}, on ${fmtNum(s.expected.on.afterB)}, split ${fmtNum(s.expected.split.afterB)} MiB ` +
        `(expected reduction ${pct(s.expectedReductionPct)}%).</p>`,
    );
  }
  if (!comps.length) {
    out.push(`<p class="note">No read-all cells for this workload.</p>`, extra, `</section>`);
    return out.join("\n");
  }
  const cells = (c: Comparison) => sortModes([c.off, c.on, c.split].filter((x): x is Cell => Boolean(x)));
  const chart = barChart({
    id: `w${index}-readall`,
    title: `${w}: page cache after reading A and B, per access path`,
    desc:
      `Median page cache growth in MiB after reading every file of both images, with sharing off, on, and split into two domains, per access path. ` +
      `The dark tick on each bar is what the sharing analysis expects for that mode.`,
    unit: "MiB page cache after A+B",
    groups: comps.map((c) => ({
      label: PATH_TITLES[c.path],
      bars: cells(c).map((cell) => ({
        label: cell.mode,
        value: cell.afterB.median,
        reference: cell.expectedAfterB,
        tone: MODE_TONE[cell.mode],
      })),
    })),
    legend: MODE_LEGEND,
    referenceLabel: "expected",
  });
  out.push(
    `<div class="charts">${figure("Page cache after A+B (MiB)", chart, "Bars: measured median. Tick: expected from the sharing analysis.")}</div>`,
  );
  const rows = comps.flatMap((c) => cells(c).map((cell) => ({ c, cell })));
  const on = (r: { cell: Cell }, v: string) => (r.cell.mode === "on" ? v : "");
  out.push(
    table(
      `${w}: read-all figures`,
      [
        { head: "path", cell: (r) => esc(r.c.path) },
        { head: "mode", cell: (r) => esc(r.cell.mode) },
        { head: "after A+B MiB", cell: (r) => spread(r.cell.afterB, 1), num: true },
        { head: "expected MiB", cell: (r) => fmtNum(r.cell.expectedAfterB), num: true },
        { head: "reduction %", cell: (r) => (r.cell.mode === "off" ? "–" : pct(r.cell.reductionPct)), num: true },
        { head: "expected %", cell: (r) => on(r, pct(r.c.expectedReductionPct)), num: true },
        { head: "efficiency %", cell: (r) => on(r, pct(r.c.efficiencyPct)), num: true },
        { head: "after A MiB", cell: (r) => spread(r.cell.afterA, 1), num: true },
        { head: "boots", cell: (r) => esc(r.cell.afterB.n), num: true },
        {
          head: "flags",
          cell: (r) => cellFlags(r.c, r.cell, bootsPlanned(run, "read-all", r.cell.workload, r.cell.path)),
        },
      ],
      rows,
      (r) => (r.cell.mode === "split" && r.c.splitShared ? "regression" : undefined),
    ),
  );
  out.push(extra, `</section>`);
  return out.filter(Boolean).join("\n");
}
