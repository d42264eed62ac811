import { barChart } from "./barChart.js";
import { esc, fmtNum, isNum } from "./escape.js";
import { pct } from "./figures.js";
import { badge, figure, table } from "./page.js";

/**
 * Parts of report.html whose figures the run record does not hold yet: the
 * correctness checks and the gap between measured and 100% efficiency. A
 * caller that has them passes them beside the record; without them the
 * sections are left out.
 */

/** One line of the correctness table. */
export interface CorrectnessCheck {
  check: string;
  series?: string;
  result: "pass" | "fail" | "oops" | "na" | "finding";
  reason: string;
  /** What a pass of this check shows. */
  proves: string;
}

/** Why identical content was not shared, per workload (the gap between measured and 100% efficiency). */
export interface GapAnalysis {
  workload: string;
  identicalNotSharedMiB: number;
  causes: Array<{ cause: string; MiB: number }>;
}

export interface RunChecks {
  correctness?: CorrectnessCheck[];
  gap?: GapAnalysis[];
}

export const failedChecks = (checks: RunChecks): CorrectnessCheck[] => (checks.correctness ?? []).filter((c) => c.result === "fail" || c.result === "oops");

export function gapSection(gap: GapAnalysis, index: number): string {
  const attributed = gap.causes.reduce((s, c) => s + (isNum(c.MiB) ? c.MiB : 0), 0);
  const rest = isNum(gap.identicalNotSharedMiB) ? gap.identicalNotSharedMiB - attributed : NaN;
  // what the causes do not account for is shown, so the bars add up to the gap
  const rows = [...gap.causes, ...(isNum(rest) && Math.abs(rest) >= 0.05 ? [{ cause: "not attributed", MiB: rest }] : [])];
  const chart = barChart({
    id: `w${index}-gap`,
    title: `${gap.workload}: identical content not shared, by cause`,
    desc: `MiB of page cache holding content that also exists in the other image but was not shared, split by cause. Total ${fmtNum(gap.identicalNotSharedMiB)} MiB.`,
    unit: "MiB",
    groups: [{ label: "", bars: rows.map((r) => ({ label: r.cause, value: r.MiB, tone: r.cause === "not attributed" ? ("neutral" as const) : ("split" as const) })) }],
  });
  const share = (v: number) => (isNum(gap.identicalNotSharedMiB) && gap.identicalNotSharedMiB > 0 ? pct((v / gap.identicalNotSharedMiB) * 100) : "n/a");
  return (
    `<h3>Gap to 100%</h3><p>Identical content not shared: <strong>${fmtNum(gap.identicalNotSharedMiB)} MiB</strong>.</p>` +
    `<div class="charts">${figure("Identical content not shared, by cause (MiB)", chart)}</div>` +
    table(`${gap.workload}: gap to 100% by cause`, [
      { head: "cause", cell: (r) => esc(r.cause), wrap: true },
      { head: "MiB", cell: (r) => fmtNum(r.MiB), num: true },
      { head: "share of gap %", cell: (r) => share(r.MiB), num: true },
    ], rows)
  );
}

const RESULT_TONE: Record<CorrectnessCheck["result"], "ok" | "bad" | "warn" | "muted"> = { pass: "ok", fail: "bad", oops: "bad", na: "muted", finding: "warn" };

export function correctnessSection(checks: RunChecks): string {
  const rows = checks.correctness ?? [];
  if (!rows.length) return "";
  const count = (r: string) => rows.filter((x) => x.result === r).length;
  const summary = (["pass", "fail", "oops", "finding", "na"] as const).filter((r) => count(r)).map((r) => `${count(r)} ${r}`).join(", ");
  return (
    `<section id="correctness"><h2>Correctness</h2><p>${esc(summary)}.</p>` +
    table("Correctness checks", [
      { head: "check", cell: (r) => esc(r.check), wrap: true },
      { head: "series", cell: (r) => esc(r.series ?? "") },
      { head: "result", cell: (r) => badge(r.result === "na" ? "n/a" : r.result, RESULT_TONE[r.result] ?? "muted") },
      { head: "reason", cell: (r) => esc(r.reason), wrap: true },
      { head: "what a pass proves", cell: (r) => esc(r.proves), wrap: true },
    ], rows, (r) => (r.result === "fail" || r.result === "oops" ? "regression" : undefined)) +
    `</section>`
  );
}
