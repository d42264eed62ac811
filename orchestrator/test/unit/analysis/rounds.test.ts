import { describe, expect, it } from "vitest";
import { SETTLE_RULES, type RepetitionDecision } from "../../../src/analysis/repetitions.js";
import { measureInRounds } from "../../../src/pipeline/rounds.js";

/** Boots whose figure each group's script gives, rep by rep; the rounds runner decides how many it gets. */
function harness(script: Record<string, number[]>, cap: number, fixed = false) {
  const measured: Array<{ key: string; rep: number; round: number }> = [];
  const values = new Map<string, number[]>();
  const decisions: RepetitionDecision[] = [];
  const run = measureInRounds({
    phase: "read-all",
    groups: Object.keys(script).map((key) => ({ key, workload: key, path: "read" })),
    cap,
    fixed,
    rule: SETTLE_RULES.readall,
    measure: async (items, round) => {
      for (const { group, rep } of items) {
        measured.push({ key: group.key, rep, round });
        values.set(group.key, [...(values.get(group.key) ?? []), script[group.key]![rep - 1]!]);
      }
    },
    cellsOf: (g) => [{ name: "on after A+B", values: values.get(g.key) ?? [] }],
    decided: async (d) => void decisions.push(d),
  });
  return { run, measured, decisions };
}

describe("repetitions in rounds", () => {
  it("stops a group at two boots that agree, and gives one that does not more, up to the cap", async () => {
    const h = harness({ steady: [48.5, 48.55, 0, 0], wobbly: [48.5, 49.4, 48.6, 48.55], never: [40, 45, 50, 55] }, 4);
    await h.run;
    const reps = (k: string) => h.measured.filter((m) => m.key === k).map((m) => m.rep);
    expect(reps("steady")).toEqual([1, 2]);
    expect(reps("wobbly")).toEqual([1, 2, 3, 4]);
    expect(reps("never")).toEqual([1, 2, 3, 4]);
    // the first round holds every group's first two reps, so guests stay busy
    expect(h.measured.filter((m) => m.round === 1)).toHaveLength(6);
    const d = Object.fromEntries(h.decisions.map((x) => [x.workload, x]));
    expect(d.steady).toMatchObject({ boots: 2, settled: true, path: "read", fixed: false });
    expect(d.wobbly).toMatchObject({ boots: 4, settled: false });
    expect(d.never!.why).toMatch(
      /^not settled at the cap of 4 boots: on after A\+B spread 15\.00 MiB > band 0\.25 MiB/,
    );
  });

  it("settles a group that agreed after a third boot", async () => {
    const h = harness({ late: [48.5, 49.4, 49.35, 0] }, 5);
    await h.run;
    // spread of [48.5, 49.4, 49.35] is still 0.9: the early outlier keeps it open to the cap
    expect(h.decisions[0]).toMatchObject({ boots: 5, settled: false });
  });

  it("gives every group the cap with --fixed-reps, and one boot when the cap is one", async () => {
    const fixed = harness({ steady: [48.5, 48.5, 48.5] }, 3, true);
    await fixed.run;
    expect(fixed.measured.map((m) => m.rep)).toEqual([1, 2, 3]);
    expect(fixed.decisions[0]).toMatchObject({ boots: 3, fixed: true, settled: false });
    const one = harness({ steady: [48.5] }, 1);
    await one.run;
    expect(one.measured).toHaveLength(1);
    expect(one.decisions[0]).toMatchObject({
      boots: 1,
      settled: false,
      fixed: true,
      why: "1 boot(s) per cell: too few to settle",
    });
  });
});
