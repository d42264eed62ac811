import { esc } from "./escape.js";
import { badge, table } from "./page.js";

/**
 * The correctness checks of report.html. The run record does not hold them
 * yet: a caller that has them passes them beside the record, and without
 * them the section is left out.
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

export const failedChecks = (checks: CorrectnessCheck[]): CorrectnessCheck[] => checks.filter((c) => c.result === "fail" || c.result === "oops");

const RESULT_TONE: Record<CorrectnessCheck["result"], "ok" | "bad" | "warn" | "muted"> = { pass: "ok", fail: "bad", oops: "bad", na: "muted", finding: "warn" };

export function correctnessSection(rows: CorrectnessCheck[]): string {
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
