import { describe, expect, it } from "vitest";
import { buildCells, compare } from "../../../src/analysis/cells.js";
import { stat } from "../../../src/analysis/stats.js";
import type { Mode } from "../../../src/guest/modes.js";
import type { BootMeasurement } from "../../../src/guest/readAll.js";
import { analyseSharing } from "../../../src/analysis/sharing.js";
import { fileEntry } from "../../helpers/manifest.js";
import { bootMeasurement } from "../../helpers/runRecord.js";

function boot(mode: Mode, rep: number, afterBMiB: number, excluded?: string): BootMeasurement {
  return bootMeasurement({
    workload: "w",
    mode,
    rep,
    release: "7.2",
    afterAKiB: afterBMiB * 512,
    afterBKiB: afterBMiB * 1024,
    stable: !excluded,
    excluded,
  });
}

// A: 50 MiB of x, B: the same 50 MiB, so half is shareable and split should stay at 100 MiB
const big = (sha: string) => fileEntry("f", 50 * 2 ** 20, sha);
const analyses = new Map([["w", analyseSharing({ entries: [big("x")] }, { entries: [big("x")] })]]);

describe("aggregation", () => {
  it("takes median, min and max", () => {
    expect(stat([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, n: 3 });
    expect(stat([4, 1, 2, 3]).median).toBe(2.5);
  });

  it("computes reduction on medians, efficiency against the expectation, and flags a split that shared", () => {
    const ms = [
      boot("off", 1, 100),
      boot("off", 2, 102),
      boot("off", 3, 98),
      boot("on", 1, 50),
      boot("on", 2, 51),
      boot("on", 3, 52),
      boot("split", 1, 60),
    ];
    const cells = buildCells(ms, analyses);
    const [c] = compare(cells, analyses);
    expect(c?.off?.afterB.median).toBe(100);
    expect(c?.reductionPct).toBeCloseTo(49);
    expect(c?.expectedReductionPct).toBeCloseTo(50);
    expect(c?.efficiencyPct).toBeCloseTo(98);
    expect(c?.splitReductionPct).toBeCloseTo(40);
    expect(c?.splitShared).toBe(true);
    expect(c?.noisy).toBe(false);
    expect(c?.sharingInactive).toBe(false);
  });

  it("calls a path that saves under a tenth of the expected reduction inactive", () => {
    const inactive = compare(buildCells([boot("off", 1, 100), boot("on", 1, 99.9)], analyses), analyses)[0];
    expect(inactive?.sharingInactive).toBe(true);
    const weak = compare(buildCells([boot("off", 1, 100), boot("on", 1, 90)], analyses), analyses)[0];
    expect(weak?.efficiencyPct).toBeCloseTo(20);
    expect(weak?.sharingInactive).toBe(false);
    // nothing to share: no verdict on sharing
    const none = new Map([["w", analyseSharing({ entries: [big("x")] }, { entries: [big("y")] })]]);
    expect(compare(buildCells([boot("off", 1, 100), boot("on", 1, 100)], none), none)[0]?.sharingInactive).toBe(false);
  });

  it("does not flag a split that stayed apart, and flags spread larger than the effect", () => {
    const ms = [boot("off", 1, 100), boot("off", 2, 80), boot("on", 1, 95), boot("split", 1, 99)];
    const [c] = compare(buildCells(ms, analyses), analyses);
    expect(c?.splitShared).toBe(false);
    expect(c?.noisy).toBe(true);
  });

  it("leaves a boot that could be wrong out of the median, and says so", () => {
    const ms = [
      boot("off", 1, 100),
      boot("off", 2, 40, "page cache did not settle at after-B (50 readings, last 1, 2, 3 KiB)"),
      boot("off", 3, 102),
    ];
    const [cell] = buildCells(ms, analyses);
    expect(cell?.afterB).toEqual({ median: 101, min: 100, max: 102, n: 2 });
    expect(cell?.excluded).toEqual([
      { rep: 2, reason: "page cache did not settle at after-B (50 readings, last 1, 2, 3 KiB)" },
    ]);
  });
});

describe("split against what off measured", () => {
  const offs = [boot("off", 1, 100), boot("off", 2, 98), boot("off", 3, 102)];
  const splitAt = (mib: number, an = analyses) =>
    compare(buildCells([...offs, boot("split", 1, mib)], an), an)[0]!.splitShared;

  it("holds split within 1% of off when the images share nothing inside themselves", () => {
    expect(splitAt(100)).toBe(false);
    expect(splitAt(99.05)).toBe(false);
    expect(splitAt(98.95)).toBe(true);
    expect(splitAt(60)).toBe(true);
  });

  it("lowers the floor by what sharing inside each image saves", () => {
    // A holds its 50 MiB twice under two names: split may share that within A (50 MiB less)
    const dup = (p: string) => ({ ...big("x"), path: p });
    const within = new Map([["w", analyseSharing({ entries: [dup("f"), dup("g")] }, { entries: [big("x")] })]]);
    const offs2 = [boot("off", 1, 150), boot("off", 2, 150)];
    const at = (mib: number) => compare(buildCells([...offs2, boot("split", 1, mib)], within), within)[0]!.splitShared;
    expect(at(100)).toBe(false);
    expect(at(98.6)).toBe(false);
    expect(at(98.4)).toBe(true);
  });

  it("widens the band to split's own spread", () => {
    const ms = [...offs, boot("split", 1, 96), boot("split", 2, 99), boot("split", 3, 100)];
    // median 99, spread 4: floor 100 - 4 = 96 holds it
    expect(compare(buildCells(ms, analyses), analyses)[0]!.splitShared).toBe(false);
  });
});
