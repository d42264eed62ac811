import { z } from "zod";
import { stat } from "./stats.js";

/**
 * Repetitions that stop when a figure is settled: a cell gets at least
 * MIN_REPS boots and at most the plan's --reps; after each round it stops
 * when its boots agree within its band, and gets one more while they do not.
 * A group of cells measured side by side (the modes of one workload and
 * access path, or of one runtime workload) goes on while any of its cells is
 * unsettled, so its modes stay side by side in time.
 */
export const MIN_REPS = 2;

/** The band a cell's boots must agree within: the larger of a floor (MiB) and a share of its median. */
const SettleRuleSchema = z.object({ floorMiB: z.number(), fraction: z.number() });
export type SettleRule = z.infer<typeof SettleRuleSchema>;

/**
 * Read-all page cache is read to 64 KiB (the guest's settle tolerance), and
 * boots of one cell agree to a few hundredths of a MiB: a quarter MiB, or
 * 0.05% of a large figure, keeps a settled median within half a MiB of what
 * more boots would give. Runtime memory.current moves with what a server
 * does in its own time: 1 MiB or 2%.
 */
export const SETTLE_RULES: Record<"readall" | "runtime", SettleRule> = {
  readall: { floorMiB: 0.25, fraction: 0.0005 },
  runtime: { floorMiB: 1, fraction: 0.02 },
};

export function bandOf(values: number[], rule: SettleRule): number {
  const m = stat(values).median;
  return Math.max(rule.floorMiB, Number.isFinite(m) ? Math.abs(m) * rule.fraction : 0);
}

/** Whether a cell's boots agree: at least MIN_REPS of them, spread (max - min) within the band. */
export function cellSettled(values: number[], rule: SettleRule): { settled: boolean; spread: number; band: number } {
  const s = stat(values);
  const spread = values.length ? s.max - s.min : NaN;
  const band = bandOf(values, rule);
  return { settled: values.length >= MIN_REPS && spread <= band, spread, band };
}

/** What a group does next: stop (every cell settled, or the cap reached) or measure one more round, and why. */
export function nextRound(
  cells: Array<{ name: string; values: number[] }>,
  rule: SettleRule,
  rounds: number,
  cap: number,
): { more: boolean; settled: boolean; why: string } {
  const min = Math.min(MIN_REPS, cap);
  if (rounds < min) return { more: true, settled: false, why: `${rounds} of at least ${min} boots` };
  const open = cells.map((c) => ({ c, s: cellSettled(c.values, rule) })).filter((x) => !x.s.settled);
  if (!open.length)
    return { more: false, settled: true, why: `settled after ${rounds} boots (every cell within its band)` };
  // a cell short of boots (lost to a failure or left out) is named as such, not by a spread it does not have
  const worst = open
    .map((x) =>
      x.c.values.length < MIN_REPS
        ? `${x.c.name} has ${x.c.values.length} usable boot(s)`
        : `${x.c.name} spread ${x.s.spread.toFixed(2)} MiB > band ${x.s.band.toFixed(2)} MiB`,
    )
    .join(", ");
  if (rounds >= cap) return { more: false, settled: false, why: `not settled at the cap of ${cap} boots: ${worst}` };
  return { more: true, settled: false, why: `one more boot: ${worst}` };
}

/** What one group of cells got, as run.json records it. */
export const RepetitionDecisionSchema = z.object({
  phase: z.enum(["read-all", "runtime"]),
  /** The group's workload, and its access path for read-all. */
  workload: z.string(),
  path: z.string().optional(),
  /** Boots each of the group's cells got (the rounds measured). */
  boots: z.number().int(),
  settled: z.boolean(),
  why: z.string(),
  rule: SettleRuleSchema,
  /** --fixed-reps: every cell got the cap, settled or not. */
  fixed: z.boolean(),
});
export type RepetitionDecision = z.infer<typeof RepetitionDecisionSchema>;

/**
 * How many boots a cell was meant to get: what its group's decision says
 * (a settled group stops before the cap), else the plan's --reps. A cell
 * with fewer usable boots than this lost some to a failure or exclusion.
 */
export function bootsPlanned(
  run: { plan: { reps: number }; repetitions?: RepetitionDecision[] },
  phase: RepetitionDecision["phase"],
  workload: string,
  path?: string,
): number {
  const d = run.repetitions?.find(
    (x) => x.phase === phase && x.workload === workload && (phase === "runtime" || x.path === path),
  );
  return d?.boots ?? run.plan.reps;
}
