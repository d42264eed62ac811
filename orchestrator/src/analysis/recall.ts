/**
 * The recall table: upstream's own later changes as the known answer. For
 * each change a series lacked and mainline has, the verdicts of the checks
 * that see it on a run of the series and on a run of mainline. A change is
 * recalled when a check tells the two apart the right way round: not a pass
 * on the series, a pass on mainline.
 */

export interface CheckOutcome {
  name: string;
  result: string;
  reason: string;
}

export interface LaterChange {
  change: string;
  landed: string;
  observable: string;
  seenBy: string[];
  unseen?: string;
}

export type RecallStatus = "recalled" | "missed" | "mainline-fails" | "not-run" | "unseen";

export interface RecallRow {
  change: string;
  landed: string;
  observable: string;
  /** One per check that sees it: its verdict on each kernel ("not run" when the run has no such result). */
  checks: Array<{ name: string; series: CheckOutcome | null; mainline: CheckOutcome | null }>;
  status: RecallStatus;
  /** Why no check sees it, for an unseen change. */
  unseen?: string;
}

const NOT_PASS = new Set(["fail", "oops", "finding"]);

function statusOf(checks: RecallRow["checks"]): RecallStatus {
  if (!checks.length) return "unseen";
  if (checks.some((c) => !c.series || !c.mainline || c.series.result === "error" || c.mainline.result === "error"))
    return "not-run";
  if (checks.some((c) => NOT_PASS.has(c.mainline!.result) && c.mainline!.result !== "finding")) return "mainline-fails";
  return checks.some((c) => NOT_PASS.has(c.series!.result) && c.mainline!.result === "pass") ? "recalled" : "missed";
}

export function recallRows(changes: LaterChange[], series: CheckOutcome[], mainline: CheckOutcome[]): RecallRow[] {
  const find = (list: CheckOutcome[], name: string) => list.find((r) => r.name === name) ?? null;
  return changes.map((c) => {
    const checks = c.seenBy.map((name) => ({ name, series: find(series, name), mainline: find(mainline, name) }));
    return {
      change: c.change,
      landed: c.landed,
      observable: c.observable,
      checks,
      status: statusOf(checks),
      ...(c.unseen ? { unseen: c.unseen } : {}),
    };
  });
}

/** "4 of 11 upstream changes recalled; 5 seen by no check" */
export function recallSummary(rows: RecallRow[]): { recalled: number; seen: number; unseen: number; total: number } {
  const seen = rows.filter((r) => r.status !== "unseen").length;
  return {
    recalled: rows.filter((r) => r.status === "recalled").length,
    seen,
    unseen: rows.length - seen,
    total: rows.length,
  };
}
