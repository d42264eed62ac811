import { z } from "zod";

/**
 * Is a difference beyond noise? With 1-5 boots per side there is no
 * distribution to fit, so the rule is the one a rank test gives on so few
 * boots: a difference is significant when every boot of one side lies beyond
 * every boot of the other (complete separation of the two [min, max]
 * ranges), each side has at least MIN_BOOTS_PER_SIDE boots, and the gap
 * between the ranges is larger than what the instrument can resolve.
 *
 * Complete separation is the most extreme outcome of a Mann-Whitney U test;
 * if both sides came from one distribution it happens by chance with
 * probability 2 / C(n1 + n2, n1): 10% for 3 against 3, 5.7% for 3 against 4,
 * 2.9% for 4 against 4, 0.8% for 5 against 5. Below 3 boots a side no
 * outcome is rarer than 1 in 3 (2 against 2), so there is no verdict at all.
 */

const SIGNIFICANCE = [
  "significant",
  "not significant",
  "not enough boots",
  "emulation noise",
  "neighbour noise",
] as const;
export type Significance = (typeof SIGNIFICANCE)[number];
export const SignificanceSchema = z.enum(SIGNIFICANCE);

/** Fewer boots than this on either side: "not enough boots", never a verdict. */
export const MIN_BOOTS_PER_SIDE = 3;

/**
 * The guest takes a page cache reading once two readings in a row agree
 * within 64 KiB: a read-all figure is known to that much and no better, so
 * two cells must be further apart than that, each way, to differ.
 */
export const PAGE_CACHE_RESOLUTION_MIB = 64 / 1024;

/** The boots of one side: their smallest and largest figure and how many there were. */
export interface BootRange {
  min: number;
  max: number;
  n: number;
}

const finite = (r: BootRange) => Number.isFinite(r.min) && Number.isFinite(r.max);

/** A range widened by the instrument's resolution on both ends. */
export function widened(r: BootRange, resolution: number): BootRange {
  return { min: r.min - resolution, max: r.max + resolution, n: r.n };
}

/** The rule above, for two ranges already widened by whatever resolution applies. */
export function separation(baseline: BootRange, current: BootRange): Significance {
  if (baseline.n < MIN_BOOTS_PER_SIDE || current.n < MIN_BOOTS_PER_SIDE || !finite(baseline) || !finite(current))
    return "not enough boots";
  return baseline.max < current.min || current.max < baseline.min ? "significant" : "not significant";
}

/**
 * The range of (off - on) / off in percent over every pair of values the two
 * ranges allow: a saving computed from two cells is as uncertain as both.
 * Its n is the smaller side's, since that side limits what can be told.
 */
export function reductionRange(off: BootRange, on: BootRange): BootRange {
  const n = Math.min(off.n, on.n);
  if (!(off.min > 0)) return { min: NaN, max: NaN, n };
  return { min: (1 - on.max / off.min) * 100, max: (1 - on.min / off.max) * 100, n };
}

/** A range scaled by a positive factor (reduction to efficiency: divided by the expected reduction). */
export function scaled(r: BootRange, factor: number): BootRange {
  return factor > 0 && Number.isFinite(factor)
    ? { min: r.min * factor, max: r.max * factor, n: r.n }
    : { min: NaN, max: NaN, n: r.n };
}

/**
 * Throughput measured under TCG is the speed of QEMU translating guest code
 * on a host that also runs other guests and builds: it says nothing about
 * the kernel's cost, whatever the ranges do. Under KVM it does, but only
 * when each boot had the host alone: a neighbour guest takes cores from it.
 */
export function throughputSignificance(
  accel: string | undefined,
  baseline: BootRange,
  current: BootRange,
  alone: boolean,
): Significance {
  if (accel === "tcg") return "emulation noise";
  if (!alone) return "neighbour noise";
  return separation(baseline, current);
}
