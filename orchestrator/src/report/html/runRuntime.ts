import type { RuntimeCell } from "../../analysis/runtimeCells.js";
import { memoryVsOff, throughputVsOff } from "../../analysis/runtimeSignificance.js";
import type { Significance } from "../../analysis/significance.js";
import type { Mode } from "../../guest/modes.js";
import type { RunRecord } from "../../record/runRecord.js";
import { barChart } from "./barChart.js";
import { esc, fmtNum, isNum } from "./escape.js";
import { MODE_LEGEND, MODE_ORDER, MODE_TONE, pct, signed, sortModes, spread } from "./figures.js";
import { figure, table, type Column } from "./page.js";
import { RUNTIME_SIGNIFICANCE_NOTE } from "../significanceText.js";
import { workloadNames } from "./runReadAll.js";

/**
 * The runtime part of report.html: the containers' memory per workload and
 * mode, the throughput of each load step against sharing off (the cost of
 * the sharing path), and both as tables.
 */

/** One load step of one container, its figures per mode side by side. */
interface LoadRow {
  workload: string;
  container: string;
  step: string;
  unit: string;
  byMode: Map<Mode, RuntimeCell["load"][number]>;
}

function loadRows(cells: RuntimeCell[]): LoadRow[] {
  const rows: LoadRow[] = [];
  for (const c of sortModes(cells)) {
    for (const l of c.load) {
      let r = rows.find((x) => x.workload === c.workload && x.container === l.container && x.step === l.step);
      if (!r) {
        r = { workload: c.workload, container: l.container, step: l.step, unit: l.unit, byMode: new Map() };
        rows.push(r);
      }
      r.byMode.set(c.mode, l);
    }
  }
  return rows;
}

/** A figure against off with whether the difference is beyond noise under it. */
function withSignificance(figure: string, significance: Significance | undefined): string {
  return significance ? `${figure}<span class="rng">${esc(significance)}</span>` : figure;
}

/** Throughput of `m` against off, as a change in percent; undefined without both. */
function change(r: LoadRow, m: Mode): number | undefined {
  const base = r.byMode.get("off")?.throughput.median;
  const v = r.byMode.get(m)?.throughput.median;
  return isNum(base) && isNum(v) && base > 0 ? (v / base) * 100 - 100 : undefined;
}

function loadSignificance(
  cells: RuntimeCell[],
  r: LoadRow,
  m: Mode,
  accel: string | undefined,
  alone: boolean,
): Significance | undefined {
  const cell = cells.find((c) => c.workload === r.workload && c.mode === m);
  const load = r.byMode.get(m);
  return cell && load ? throughputVsOff(cells, cell, load, accel, alone) : undefined;
}

function throughputChart(loads: LoadRow[], modes: Mode[], reps: number): string {
  const groups = loads
    .map((r) => ({
      label: `${r.workload} · ${r.container} · ${r.step}`,
      bars: modes
        .filter((m) => m !== "off" && r.byMode.has(m))
        .map((m) => ({ label: m, value: change(r, m), tone: MODE_TONE[m] })),
    }))
    .filter((g) => g.bars.some((b) => isNum(b.value)));
  if (!groups.length) return "";
  const chart = barChart({
    id: "runtime-throughput",
    title: "Throughput change against sharing off",
    desc: "Median throughput of each container's load step with sharing on and split, as a change in percent against the same step with sharing off (0). Below 0 is a cost of the sharing path.",
    unit: "% throughput change vs sharing off",
    groups,
    legend: MODE_LEGEND.filter((l) => l.label !== "off"),
  });
  const noise = reps < 2 ? " One boot per mode: nothing here tells noise from effect." : "";
  return figure(
    "Throughput change vs sharing off (%)",
    chart,
    `0 is the throughput with sharing off; below 0 is slower.${noise}`,
  );
}

/** Throughput median [min–max], and the average latency under it (one column per mode keeps the table narrow). */
function loadFigures(l: RuntimeCell["load"][number] | undefined): string {
  if (!l) return "n/a";
  const latency =
    l.latencyAvgMs && isNum(l.latencyAvgMs.median)
      ? `<span class="rng">avg ${esc(l.latencyAvgMs.median.toFixed(2))} ms</span>`
      : "";
  return spread(l.throughput) + latency;
}

export function runtimeSection(run: RunRecord): string {
  const cells = run.runtimeCells;
  if (!cells.length) return "";
  const names = workloadNames(run).filter((w) => cells.some((c) => c.workload === w));
  const modes = MODE_ORDER.filter((m) => cells.some((c) => c.mode === m));
  const memChart = barChart({
    id: "runtime-memory",
    title: "Runtime memory per workload and mode",
    desc: `Median of ${run.runtimeBasis || "the runtime memory figure"}, in MiB, with sharing off, on and split, per workload.`,
    unit: "MiB memory.current (sum)",
    groups: names.map((w) => ({
      label: w,
      bars: sortModes(cells.filter((c) => c.workload === w)).map((c) => ({
        label: c.mode,
        value: c.memory.median,
        tone: MODE_TONE[c.mode],
      })),
    })),
    legend: MODE_LEGEND,
  });
  const loads = loadRows(cells);
  const memCols: Array<Column<RuntimeCell>> = [
    { head: "workload", cell: (c) => esc(c.workload) },
    { head: "mode", cell: (c) => esc(c.mode) },
    { head: "boots", cell: (c) => esc(c.memory.n), num: true },
    { head: "memory MiB", cell: (c) => spread(c.memory, 1), num: true },
    {
      head: "vs off %",
      cell: (c) => (c.mode === "off" ? "–" : withSignificance(pct(c.reductionPct), memoryVsOff(cells, c))),
      num: true,
    },
    { head: "vs split %", cell: (c) => (c.mode === "on" ? pct(c.reductionVsSplitPct) : ""), num: true },
    { head: "page cache MiB", cell: (c) => fmtNum(c.pageCache.median), num: true },
    { head: "file MiB", cell: (c) => fmtNum(c.file.median), num: true },
    { head: "anon MiB", cell: (c) => fmtNum(c.anon.median), num: true },
    { head: "shmem MiB", cell: (c) => fmtNum(c.shmem.median), num: true },
    { head: "failed", cell: (c) => (c.failures.length ? `<strong>${c.failures.length}</strong>` : "0"), num: true },
  ];
  const loadCols: Array<Column<LoadRow>> = [
    { head: "workload", cell: (r) => esc(r.workload) },
    { head: "container", cell: (r) => esc(r.container) },
    // the unit under the step: one column less keeps the table inside a laptop's width
    { head: "step", cell: (r) => `${esc(r.step)}<span class="rng">${esc(r.unit)}</span>` },
    ...modes
      .filter((m) => m !== "off")
      .map(
        (m): Column<LoadRow> => ({
          head: `${m} vs off %`,
          cell: (r) =>
            withSignificance(
              signed(change(r, m)),
              loadSignificance(cells, r, m, run.accel?.accel, run.scheduling?.runtimeAlone ?? true),
            ),
          num: true,
        }),
      ),
    ...modes.map(
      (m): Column<LoadRow> => ({ head: `${m} throughput`, cell: (r) => loadFigures(r.byMode.get(m)), num: true }),
    ),
  ];
  const byWorkload = sortModes(cells).sort((a, b) => names.indexOf(a.workload) - names.indexOf(b.workload));
  return (
    `<section id="runtime"><h2>Runtime phase</h2>` +
    `<p class="note">Memory: ${esc(run.runtimeBasis)}. “vs split” compares on with split: the saving from sharing across images alone, with the sharing code path in both. ${esc(RUNTIME_SIGNIFICANCE_NOTE.replace('"vs off significance"', "Under each change against off"))}</p>` +
    `<div class="charts">${figure("Runtime memory (MiB)", memChart)}${throughputChart(loads, modes, run.plan.reps)}</div>` +
    table("Runtime memory per workload and mode", memCols, byWorkload) +
    (loads.length
      ? table("Load per container and step: throughput median [min–max], average latency", loadCols, loads)
      : "") +
    `</section>`
  );
}
