import { describe, expect, it } from "vitest";
import type { BootMeasurement } from "../src/guest/readAll.js";
import { conclusions } from "../src/pipeline/conclusions.js";
import { runRecord } from "./helpers/runRecord.js";

const boot = (name: string, over: Partial<BootMeasurement> = {}) =>
  ({
    workload: "synthetic", mode: "off", path: "sendfile", rep: 1, accel: "tcg", release: "7.0.0", bootDir: `/r/boots/${name}`, wallMs: 9_000,
    baselineKiB: 0, afterAKiB: 24_000, afterBKiB: 48_000, stable: true, reclaim: null, verifiedFiles: 118, hashedFiles: 118, digest: "xxh64", shareBannerSeen: false, readMs: { A: 1, B: 1 },
    ...over,
  }) as BootMeasurement;

describe("what a finished job says about its boots", () => {
  it("names every boot that stalled before init and the line the kernel stopped at", () => {
    const stalled = { wallMs: 90_000, lastLine: "acpi PNP0A03:00: fail to add MMCONFIG information" };
    const out = conclusions(runRecord({ boots: [boot("synthetic-off-read-r1"), boot("synthetic-off-sendfile-r1", { earlyHangs: [stalled] })] }));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^1 boot\(s\) stalled or died before init and were started again \(synthetic-off-sendfile-r1\); first stopped at: acpi PNP0A03:00: fail to add MMCONFIG information\./);
  });

  it("says nothing of stalls when no boot stalled", () => {
    expect(conclusions(runRecord({ boots: [boot("synthetic-off-read-r1")] }))).toEqual([]);
  });
});
