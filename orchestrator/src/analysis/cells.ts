import { z } from "zod";
import { ACCESS_PATHS, MODES, type AccessPath, type Mode } from "../guest/modes.js";
import type { BootMeasurement } from "../guest/readAll.js";
import { figure } from "../util/schema.js";
import type { SharingAnalysis } from "./sharing.js";
import { KIB_PER_MIB, stat, StatSchema } from "./stats.js";

export const CellSchema = z.object({
  workload: z.string(),
  phase: z.literal("read-all"),
  path: z.enum(ACCESS_PATHS),
  mode: z.enum(MODES),
  /** Page cache MiB after reading A, and after reading A and B. */
  afterA: StatSchema,
  afterB: StatSchema,
  expectedAfterB: figure,
  /** (off - this) / off on medians, percent; absent for off itself. */
  reductionPct: z.number().optional(),
  /** Boots measured but left out of the median, and why (an unsettled sample, reclaim during the read). */
  excluded: z.array(z.object({ rep: z.number().int(), reason: z.string() })),
});
export type Cell = z.infer<typeof CellSchema>;

export const ComparisonSchema = z.object({
  workload: z.string(),
  path: z.enum(ACCESS_PATHS),
  off: CellSchema.optional(),
  on: CellSchema.optional(),
  split: CellSchema.optional(),
  reductionPct: z.number().optional(),
  expectedReductionPct: figure,
  /** measured / expected reduction, percent. */
  efficiencyPct: z.number().optional(),
  splitReductionPct: z.number().optional(),
  /** The security boundary failed: images in different domains shared page cache. */
  splitShared: z.boolean(),
  /** The spread of off or on is larger than the effect. */
  noisy: z.boolean(),
  /** on saved under INACTIVE_EFFICIENCY_PCT of what the analysis expects: this path does not share at all. */
  sharingInactive: z.boolean(),
});
export type Comparison = z.infer<typeof ComparisonSchema>;

/** Below this efficiency the saving is measurement noise, not sharing. */
export const INACTIVE_EFFICIENCY_PCT = 10;

export function buildCells(ms: BootMeasurement[], analyses: Map<string, SharingAnalysis>): Cell[] {
  const groups = new Map<string, BootMeasurement[]>();
  for (const m of ms) {
    const k = `${m.workload}\0${m.path}\0${m.mode}`;
    groups.set(k, [...(groups.get(k) ?? []), m]);
  }
  const cells: Cell[] = [];
  for (const g of groups.values()) {
    const first = g[0]!;
    const an = analyses.get(first.workload);
    // a figure that could be wrong never enters a median; the cell says which boots it left out
    const used = g.filter((m) => !m.excluded);
    cells.push({
      workload: first.workload,
      phase: "read-all",
      path: first.path,
      mode: first.mode,
      afterA: stat(used.map((m) => m.afterAKiB / KIB_PER_MIB)),
      afterB: stat(used.map((m) => m.afterBKiB / KIB_PER_MIB)),
      expectedAfterB: an ? an.expected[first.mode].afterB : NaN,
      excluded: g.filter((m) => m.excluded).map((m) => ({ rep: m.rep, reason: m.excluded! })),
    });
  }
  for (const c of cells) {
    if (c.mode === "off") continue;
    const off = cells.find((o) => o.workload === c.workload && o.path === c.path && o.mode === "off");
    if (off && off.afterB.median > 0)
      c.reductionPct = ((off.afterB.median - c.afterB.median) / off.afterB.median) * 100;
  }
  return cells;
}

/** The band below which split counts as shared across domains: this share of off, or split's own spread if larger. */
const SPLIT_BAND_FRACTION = 0.01;

/**
 * Split mode still shares identical files within each image (each is its own
 * domain), so it must sit at off minus that within-image saving, judged
 * against what off measured. Page cache below that, by more than the band,
 * is content shared across the two domains: the feature's security
 * boundary failed. Without an off cell the model's off figure stands in.
 */
function splitFloor(
  split: Cell,
  off: Cell | undefined,
  an: SharingAnalysis,
): { floorMiB: number; bandMiB: number; leaked: boolean } {
  const offMiB = off?.afterB.n ? off.afterB.median : an.expected.off.afterB;
  const withinImage = an.expected.off.afterB - an.expected.split.afterB;
  const floorMiB = offMiB - withinImage;
  const bandMiB = Math.max(SPLIT_BAND_FRACTION * offMiB, split.afterB.max - split.afterB.min);
  return { floorMiB, bandMiB, leaked: split.afterB.n > 0 && split.afterB.median < floorMiB - bandMiB };
}

export function compare(cells: Cell[], analyses: Map<string, SharingAnalysis>): Comparison[] {
  const keys = [...new Set(cells.map((c) => `${c.workload}\0${c.path}`))];
  return keys.map((k) => {
    const [workload, p] = k.split("\0") as [string, AccessPath];
    const get = (mode: Mode) => cells.find((c) => c.workload === workload && c.path === p && c.mode === mode);
    const off = get("off");
    const on = get("on");
    const split = get("split");
    const an = analyses.get(workload);
    const expected = an?.expectedReductionPct ?? NaN;
    const effect = off && on ? Math.abs(off.afterB.median - on.afterB.median) : NaN;
    const spread = Math.max(off ? off.afterB.max - off.afterB.min : 0, on ? on.afterB.max - on.afterB.min : 0);
    const efficiencyPct =
      on?.reductionPct !== undefined && expected > 0 ? (on.reductionPct / expected) * 100 : undefined;
    return {
      workload,
      path: p,
      off,
      on,
      split,
      reductionPct: on?.reductionPct,
      expectedReductionPct: expected,
      efficiencyPct,
      splitReductionPct: split?.reductionPct,
      splitShared: split && an ? splitFloor(split, off, an).leaked : false,
      noisy: Number.isFinite(effect) && spread > effect,
      sharingInactive: expected >= 1 && efficiencyPct !== undefined && efficiencyPct < INACTIVE_EFFICIENCY_PCT,
    };
  });
}
