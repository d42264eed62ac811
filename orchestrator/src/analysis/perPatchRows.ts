import { z } from "zod";
import { INACTIVE_EFFICIENCY_PCT } from "./cells.js";
import { resultWithRate } from "./correctnessVerdicts.js";

/**
 * The per-patch table of a series: one row per prefix (its first k patches),
 * what it measured, and for each column the first patch where it changed.
 */

/** How a path shares on a prefix: fully (at least FULL_EFFICIENCY_PCT of what identical files allow), partly, not at all, or across domains. */
const SHARING_STATES = ["full", "partial", "none", "LEAK", "-"] as const;
type SharingState = (typeof SHARING_STATES)[number];
const FULL_EFFICIENCY_PCT = 90;

export const PerPatchRowSchema = z.object({
  index: z.number().int(),
  total: z.number().int(),
  subject: z.string(),
  commit: z.string().optional(),
  /** "measured", or why not: it does not build, or lacks the feature, or the run failed. */
  status: z.enum(["measured", "does not build", "lacks the feature", "failed"]),
  reason: z.string().optional(),
  runDir: z.string(),
  /** Per access path: the sharing state and its efficiency (measured / expected reduction). */
  paths: z.record(z.string(), z.object({ state: z.enum(SHARING_STATES), efficiencyPct: z.number().optional() })),
  /** Per correctness result: "pass", "fail 2/2 boots", ... */
  checks: z.record(z.string(), z.string()),
  /** The objects the prefix's build compiled on the whole series' build, and its seconds. */
  compiled: z.number().int().optional(),
  buildSeconds: z.number().optional(),
});
export type PerPatchRow = z.infer<typeof PerPatchRowSchema>;

/** The parts of a run record a row is read from. */
interface PrefixRun {
  comparisons: Array<{
    workload: string;
    path: string;
    efficiencyPct?: number;
    splitShared: boolean;
    sharingInactive: boolean;
  }>;
  correctness: Array<{ name: string; result: string; boots?: { of: number; failed: number } }>;
}

export function sharingState(c: PrefixRun["comparisons"][number] | undefined): {
  state: SharingState;
  efficiencyPct?: number;
} {
  if (!c || c.efficiencyPct === undefined) return { state: "-" };
  const e = c.efficiencyPct;
  if (c.splitShared) return { state: "LEAK", efficiencyPct: e };
  if (c.sharingInactive || e < INACTIVE_EFFICIENCY_PCT) return { state: "none", efficiencyPct: e };
  return { state: e >= FULL_EFFICIENCY_PCT ? "full" : "partial", efficiencyPct: e };
}

/** What a measured prefix shows, per path and per check. */
export function rowFigures(
  run: PrefixRun,
  workload: string,
  paths: readonly string[],
): Pick<PerPatchRow, "paths" | "checks"> {
  return {
    paths: Object.fromEntries(
      paths.map((p) => [p, sharingState(run.comparisons.find((c) => c.workload === workload && c.path === p))]),
    ),
    checks: Object.fromEntries(run.correctness.map((c) => [c.name, resultWithRate(c)])),
  };
}

/** A column's value on a row, as the table prints it: what a prefix that was not measured shows is its status. */
export function cellOf(row: PerPatchRow, column: string): string {
  if (row.status !== "measured") return "-";
  if (column in row.paths) return row.paths[column]!.state;
  return row.checks[column] ?? "-";
}

/**
 * For each column, every patch where it changed from the prefix before
 * (before patch 1 the tree has no feature: every column is "-"), in order:
 * the first is where the column appeared, the last where it took its final
 * value. Prefixes that were not measured change nothing.
 */
export function columnChanges(
  rows: PerPatchRow[],
  columns: readonly string[],
): Array<{ column: string; changes: Array<{ index: number; from: string; to: string }> }> {
  return columns.map((column) => {
    let prev = "-";
    const changes: Array<{ index: number; from: string; to: string }> = [];
    for (const r of rows) {
      if (r.status !== "measured") continue;
      const v = cellOf(r, column);
      if (v !== prev) changes.push({ index: r.index, from: prev, to: v });
      prev = v;
    }
    return { column, changes };
  });
}
