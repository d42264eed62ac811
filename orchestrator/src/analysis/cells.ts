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
    cells.push({
      workload: first.workload,
      phase: "read-all",
      path: first.path,
      mode: first.mode,
      afterA: stat(g.map((m) => m.afterAKiB / KIB_PER_MIB)),
      afterB: stat(g.map((m) => m.afterBKiB / KIB_PER_MIB)),
      expectedAfterB: an ? an.expected[first.mode].afterB : NaN,
    });
  }
  for (const c of cells) {
    if (c.mode === "off") continue;
    const off = cells.find((o) => o.workload === c.workload && o.path === c.path && o.mode === "off");
    if (off && off.afterB.median > 0) c.reductionPct = ((off.afterB.median - c.afterB.median) / off.afterB.median) * 100;
  }
  return cells;
}

/** Split saving more than this share of what sharing across domains would save means the domains leaked. */
export const SPLIT_LEAK_FRACTION = 0.25;

/**
 * Split mode still shares identical files within one image (one domain), so
 * it is judged against its own expectation: page cache well below that is
 * content shared across the two domains.
 */
export function splitLeaked(split: Cell, an: SharingAnalysis | undefined): boolean {
  if (!an) return false;
  const crossDomain = an.expected.split.afterB - an.expected.on.afterB;
  const below = an.expected.split.afterB - split.afterB.median;
  return crossDomain > 0 && below > Math.max(crossDomain * SPLIT_LEAK_FRACTION, an.expected.off.afterB * 0.02);
}

export function compare(cells: Cell[], analyses: Map<string, SharingAnalysis>): Comparison[] {
  const keys = [...new Set(cells.map((c) => `${c.workload}\0${c.path}`))];
  return keys.map((k) => {
    const [workload, p] = k.split("\0") as [string, AccessPath];
    const get = (mode: Mode) => cells.find((c) => c.workload === workload && c.path === p && c.mode === mode);
    const off = get("off");
    const on = get("on");
    const split = get("split");
    const expected = analyses.get(workload)?.expectedReductionPct ?? NaN;
    const effect = off && on ? Math.abs(off.afterB.median - on.afterB.median) : NaN;
    const spread = Math.max(off ? off.afterB.max - off.afterB.min : 0, on ? on.afterB.max - on.afterB.min : 0);
    const efficiencyPct = on?.reductionPct !== undefined && expected > 0 ? (on.reductionPct / expected) * 100 : undefined;
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
      splitShared: split ? splitLeaked(split, analyses.get(workload)) : false,
      noisy: Number.isFinite(effect) && spread > effect,
      sharingInactive: expected >= 1 && efficiencyPct !== undefined && efficiencyPct < INACTIVE_EFFICIENCY_PCT,
    };
  });
}
