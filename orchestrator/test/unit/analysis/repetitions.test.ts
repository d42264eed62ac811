import { describe, expect, it } from "vitest";
import { bandOf, cellSettled, nextRound, SETTLE_RULES } from "../../../src/analysis/repetitions.js";
import { renderRepetitions } from "../../../src/report/repetitionsTable.js";
import { runRecord, SETTLED_DECISION } from "../../helpers/runRecord.js";

const rule = SETTLE_RULES.readall;

describe("repetitions that stop when a figure is settled", () => {
  it("sets the band by the larger of a floor and a share of the median", () => {
    expect(bandOf([12.1, 12.2], rule)).toBeCloseTo(0.25, 6);
    expect(bandOf([48.5, 48.6], rule)).toBeCloseTo(0.25, 6);
    expect(bandOf([1036, 1035], rule)).toBeCloseTo(0.51775, 4);
    expect(bandOf([300, 310], SETTLE_RULES.runtime)).toBeCloseTo(6.1, 6);
  });

  it("calls a cell settled only with two boots that agree within the band", () => {
    expect(cellSettled([48.53], rule).settled).toBe(false);
    expect(cellSettled([48.53, 48.56], rule)).toMatchObject({ settled: true });
    expect(cellSettled([48.53, 48.9], rule).settled).toBe(false);
    expect(cellSettled([1035.5, 1035.9], rule).settled).toBe(true);
    expect(cellSettled([1035.5, 1039.9], rule).settled).toBe(false);
  });

  it("stops a group when every cell is settled, goes on while one is not, and stops at the cap saying why", () => {
    const off = { name: "off", values: [48.53, 48.55] };
    const on = { name: "on", values: [32.3, 32.34] };
    expect(nextRound([off, on], rule, 1, 3)).toMatchObject({ more: true, why: "1 of at least 2 boots" });
    expect(nextRound([off, on], rule, 2, 3)).toEqual({
      more: false,
      settled: true,
      why: "settled after 2 boots (every cell within its band)",
    });
    const wobbly = { name: "split", values: [48.5, 49.4] };
    expect(nextRound([off, on, wobbly], rule, 2, 3)).toEqual({
      more: true,
      settled: false,
      why: "one more boot: split spread 0.90 MiB > band 0.25 MiB",
    });
    expect(nextRound([off, on, { name: "split", values: [48.5, 49.4, 47.9] }], rule, 3, 3)).toEqual({
      more: false,
      settled: false,
      why: "not settled at the cap of 3 boots: split spread 1.50 MiB > band 0.25 MiB",
    });
    // a cell that lost a boot is named as short of boots
    expect(nextRound([off, { name: "on", values: [32.3] }], rule, 2, 3)).toEqual({
      more: true,
      settled: false,
      why: "one more boot: on has 1 usable boot(s)",
    });
    // a cap of one boot is honoured: no verdict on settling, one boot
    expect(nextRound([{ name: "off", values: [48.5] }], rule, 1, 1)).toMatchObject({ more: false });
  });
});

describe("the report's repetitions table", () => {
  it("says which groups settled, and shouts about the ones that did not", () => {
    const open = {
      ...SETTLED_DECISION,
      path: "mmap",
      boots: 3,
      settled: false,
      why: "not settled at the cap of 3 boots: on after A+B spread 0.90 MiB > band 0.25 MiB",
    };
    const md = renderRepetitions(runRecord({ repetitions: [SETTLED_DECISION, open] })).join("\n");
    expect(md).toContain("read-all: max - min of a cell's boots within 0.25 MiB or 0.05% of its median");
    expect(md).toContain("**1 group(s) did not settle by the cap**");
    expect(md).toContain("| read-all | redis | mmap | 3 | **no** | not settled at the cap of 3 boots");
    expect(renderRepetitions(runRecord({ repetitions: [SETTLED_DECISION] })).join("\n")).not.toContain(
      "did not settle",
    );
  });

  it("has nothing to say about a run made before repetitions were recorded", () => {
    expect(renderRepetitions(runRecord({}))).toEqual([]);
  });
});
