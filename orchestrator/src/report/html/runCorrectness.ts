import { resultWithRate } from "../../analysis/correctnessVerdicts.js";
import { isFailed, type CheckResult } from "../../guest/checks.js";
import { esc } from "./escape.js";
import { badge, table } from "./page.js";

/** The correctness checks of report.html, one row per result. */

/** One line of the correctness table. */
export interface CorrectnessCheck {
  check: string;
  series?: string;
  result: CheckResult;
  /** How many runs of the check failed, when it ran more than once. */
  boots?: { of: number; failed: number };
  reason: string;
  /** What a pass of this check shows. */
  proves: string;
}

export const failedChecks = (checks: CorrectnessCheck[]): CorrectnessCheck[] =>
  checks.filter((c) => isFailed(c.result));

const RESULT_TONE: Record<CheckResult, "ok" | "bad" | "warn" | "muted"> = {
  pass: "ok",
  fail: "bad",
  oops: "bad",
  na: "muted",
  finding: "warn",
  error: "muted",
};

export function correctnessSection(rows: CorrectnessCheck[]): string {
  if (!rows.length) return "";
  const count = (r: string) => rows.filter((x) => x.result === r).length;
  const summary = (["pass", "fail", "oops", "finding", "na", "error"] as const)
    .filter((r) => count(r))
    .map((r) => `${count(r)} ${r}`)
    .join(", ");
  return (
    `<section id="correctness"><h2>Correctness</h2><p>${esc(summary)}.</p>` +
    table(
      "Correctness checks",
      [
        { head: "check", cell: (r) => esc(r.check), wrap: true },
        { head: "series", cell: (r) => esc(r.series ?? "") },
        {
          head: "result",
          cell: (r) => badge(r.result === "na" ? "n/a" : resultWithRate(r), RESULT_TONE[r.result] ?? "muted"),
        },
        { head: "reason", cell: (r) => esc(r.reason), wrap: true },
        { head: "what a pass proves", cell: (r) => esc(r.proves), wrap: true },
      ],
      rows,
      (r) => (isFailed(r.result) ? "regression" : undefined),
    ) +
    `</section>`
  );
}
