import { MIN_REPS, nextRound, type RepetitionDecision, type SettleRule } from "../analysis/repetitions.js";

/**
 * Boots in rounds, for repetitions that stop when a figure is settled: the
 * first round measures every group's first MIN_REPS reps (one long list, so
 * the scheduler keeps every guest slot busy); each later round one more rep
 * of the groups still unsettled, up to the cap. With `fixed` every group
 * gets the cap in the first round.
 */
interface RoundGroup {
  key: string;
  workload: string;
  path?: string;
}

interface RoundsOptions<G extends RoundGroup> {
  phase: RepetitionDecision["phase"];
  groups: G[];
  cap: number;
  fixed: boolean;
  rule: SettleRule;
  /** Measures these (group, rep) pairs, every mode of each. */
  measure: (items: Array<{ group: G; rep: number }>, round: number) => Promise<void>;
  /** The group's cells and the figures their usable boots gave so far. */
  cellsOf: (group: G) => Array<{ name: string; values: number[] }>;
  /** Told each group's decision as it is made (to record and show it). */
  decided: (decision: RepetitionDecision, group: G) => Promise<void>;
  /** Told when a group gets another round, and why. */
  onMore?: (group: G, why: string) => void;
}

export async function measureInRounds<G extends RoundGroup>(o: RoundsOptions<G>): Promise<void> {
  // below MIN_REPS boots there is nothing to settle: the cap is what every cell gets
  const fixed = o.fixed || o.cap < MIN_REPS;
  const first = fixed ? o.cap : MIN_REPS;
  let open = o.groups.map((group) => ({ group, reps: first }));
  await o.measure(
    o.groups.flatMap((group) => Array.from({ length: first }, (_, i) => ({ group, rep: i + 1 }))),
    1,
  );
  for (let round = 2; open.length; round++) {
    const going: typeof open = [];
    for (const g of open) {
      const next = fixed
        ? {
            more: false,
            settled: false,
            why: o.fixed ? `fixed at ${o.cap} boots (--fixed-reps)` : `${o.cap} boot(s) per cell: too few to settle`,
          }
        : nextRound(o.cellsOf(g.group), o.rule, g.reps, o.cap);
      if (next.more) {
        o.onMore?.(g.group, next.why);
        going.push({ group: g.group, reps: g.reps + 1 });
        continue;
      }
      await o.decided(
        {
          phase: o.phase,
          workload: g.group.workload,
          ...(g.group.path ? { path: g.group.path } : {}),
          boots: g.reps,
          settled: next.settled,
          why: next.why,
          rule: o.rule,
          fixed,
        },
        g.group,
      );
    }
    open = going;
    if (open.length)
      await o.measure(
        open.map((g) => ({ group: g.group, rep: g.reps })),
        round,
      );
  }
}
