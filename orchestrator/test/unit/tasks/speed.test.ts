import { rm } from "node:fs/promises";
import { afterAll, describe, expect, it, vi } from "vitest";
import { differenceFrom, RunSpeedSchema, speedOf } from "../../../src/record/runSpeed.js";
import { speedCommand } from "../../../src/commands/speed.js";
import { RunFolder } from "../../../src/pipeline/runFolder.js";
import { tempDir } from "../../helpers/gitSeries.js";
import type { BootMeasurement } from "../../../src/guest/readAll.js";
import type { RuntimeMeasurement } from "../../../src/guest/runtime.js";
import { renderSpeed } from "../../../src/report/speedTable.js";
import {
  bootMeasurement,
  cell,
  correctnessResult,
  imageRecord,
  runRecord,
  runtimeCell,
} from "../../helpers/runRecord.js";

function boot(rep: number, wallMs: number, bootMs: number): BootMeasurement {
  return bootMeasurement({
    rep,
    bootDir: `/r/boots/${rep}`,
    wallMs,
    timing: {
      bootMs,
      settleMs: 0,
      readAMs: 0,
      readBMs: 0,
      residentMs: 0,
      guestOtherMs: 0,
      verifyMs: 0,
      qemuOutsideMs: 0,
    },
  });
}

function runtimeBoot(rep: number, wallMs: number, bootMs: number): RuntimeMeasurement {
  return {
    workload: "redis",
    mode: "on",
    rep,
    accel: "tcg",
    bootDir: `/r/boots/rt${rep}`,
    wallMs,
    ok: true,
    pageCache: { afterAKiB: 0, afterBKiB: 0 },
    cgroups: {},
    load: [],
    timing: [{ kind: "boot", ms: bootMs }],
  } as RuntimeMeasurement;
}

describe("the speed of a finished run", () => {
  const run = runRecord({
    startedAt: "2026-12-04T10:00:00.000Z",
    finishedAt: "2026-12-04T10:30:00.000Z",
    scheduling: { parallel: 2, why: "test", runtimeAlone: false },
    stageTimes: [
      { stage: "kernel build", seconds: 60, reused: false },
      { stage: "read-all phase (all boots)", seconds: 100, reused: false },
      { stage: "runtime phase (all boots)", seconds: 300, reused: false },
      { stage: "correctness phase (all boots)", seconds: 50, reused: false },
    ],
    // four read-all boots of 50 s each in 100 s: two guests side by side all along
    boots: [boot(1, 50_000, 1300), boot(2, 50_000, 1400), boot(3, 50_000, 1500), boot(4, 50_000, 1600)],
    runtime: [runtimeBoot(1, 300_000, 1700)],
    // trust reports two results from one boot; fadvise was booted three times
    correctness: [
      correctnessResult("trust-same-domain", "finding", "x", {
        wallMs: 10_000,
        timing: { bootMs: 1200, refsMs: 1, checkMs: 1, qemuOutsideMs: 1 },
      }),
      correctnessResult("trust-cross-domain", "pass", "x", {
        wallMs: 10_000,
        timing: { bootMs: 1200, refsMs: 1, checkMs: 1, qemuOutsideMs: 1 },
      }),
      correctnessResult("fadvise", "fail", "x", {
        wallMs: 20_000,
        boots: { of: 3, failed: 3, results: ["fail", "fail", "fail"] },
        timing: { bootMs: 1000, refsMs: 1, checkMs: 1, qemuOutsideMs: 1 },
      }),
    ],
  });

  it("sets each phase's wall against its boots' own work, with the median boot to /init", () => {
    const s = speedOf("/r", run);
    expect(s).toMatchObject({ parallel: 2, runtimeAlone: false, runWallMs: 30 * 60_000, prepareMs: 60_000 });
    expect(s.phases).toEqual([
      { phase: "read-all", wallMs: 100_000, boots: 4, bootWallSumMs: 200_000, ratio: 0.5, bootToInitMedianMs: 1450 },
      { phase: "runtime", wallMs: 300_000, boots: 1, bootWallSumMs: 300_000, ratio: 1, bootToInitMedianMs: 1700 },
      {
        phase: "correctness",
        wallMs: 50_000,
        boots: 4,
        bootWallSumMs: 70_000,
        ratio: 50 / 70,
        bootToInitMedianMs: 1100,
      },
    ]);
    const text = renderSpeed([s]);
    expect(text).toContain("/r: 2 guest(s) at once, runtime boots side by side; whole run 30m00s (preparing 1m00s)");
    expect(text).toMatch(/\n {2}read-all +4 +1m40s +3m20s +0\.50 +1\.45 s\n/);
  });

  it("counts preparing as the time until its last stage ended when its stages ran side by side", () => {
    // the images (40 s) were made while the kernel compiled (from 5 s to 65 s)
    const overlapped = runRecord({
      ...run,
      stageTimes: [
        { stage: "kernel source", seconds: 5, reused: false, startedS: 0 },
        { stage: "image synthetic A", seconds: 40, reused: false, startedS: 1 },
        { stage: "kernel build", seconds: 60, reused: false, startedS: 5 },
        { stage: "read-all phase (all boots)", seconds: 100, reused: false, startedS: 66 },
      ],
    });
    expect(speedOf("/r", overlapped).prepareMs).toBe(65_000);
  });

  it("says which figures moved outside the band their own boots settle within, and which inputs differ", () => {
    const reference = runRecord({
      cells: [cell("redis", "read", "off", 272.6), cell("redis", "read", "on", 138.1)],
      runtimeCells: [runtimeCell("redis", "off", 52.9), runtimeCell("redis", "on", 25.9)],
      correctness: [correctnessResult("fadvise", "pass")],
    });
    const moved = runRecord({
      // off after A+B +0.1 (band 0.25): inside; on after A+B +0.3: outside; runtime on +0.9 (band 1): inside
      cells: [
        cell("redis", "read", "off", 272.7),
        cell("redis", "read", "on", 138.4),
        cell("redis", "mmap", "on", 100),
      ],
      runtimeCells: [runtimeCell("redis", "off", 52.9), runtimeCell("redis", "on", 26.8)],
      correctness: [correctnessResult("fadvise", "fail")],
      workloads: [{ ...reference.workloads[0]!, versions: "a & c", imageB: imageRecord("cc".repeat(32)) }],
    });
    const d = differenceFrom("/ref", reference, moved);
    expect(d.largest).toMatchObject({ figure: "redis runtime on memory" });
    expect(d.largest!.diffMiB).toBeCloseTo(0.9);
    expect(d.outsideBand.map((m) => m.figure)).toEqual(["redis read-all read on after A+B"]);
    expect(d.outsideBand[0]!.bandMiB).toBe(0.25);
    expect(d.unmatched).toEqual([
      "redis read-all mmap on after A (only in this run)",
      "redis read-all mmap on after A+B (only in this run)",
    ]);
    expect(d.inputsDiffer).toEqual(["redis images (8.0.2-3+deb13u2 & 8.0.2-3+deb13u3 then a & c)"]);
    expect(d.verdicts).toEqual([{ check: "synthetic fadvise", reference: "pass", this: "fail" }]);
    // the same run against itself: nothing moved
    const same = differenceFrom("/ref", reference, reference);
    expect(same).toMatchObject({ outsideBand: [], unmatched: [], inputsDiffer: [], verdicts: [] });
    expect(same.largest!.diffMiB).toBe(0);
  });
});

describe("speed, the verb", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it("reads finished run folders and prints their speed and figures against the reference as JSON", async () => {
    const [ref, cur] = [await tempDir("esb-speed-ref-"), await tempDir("esb-speed-cur-")];
    dirs.push(ref, cur);
    await new RunFolder(ref, runRecord({ cells: [cell("redis", "read", "on", 138.1)] })).save();
    await new RunFolder(
      cur,
      runRecord({
        cells: [cell("redis", "read", "on", 138.2)],
        stageTimes: [{ stage: "read-all phase (all boots)", seconds: 10, reused: false }],
      }),
    ).save();
    let out = "";
    const write = vi.spyOn(process.stdout, "write").mockImplementation((t) => {
      out += String(t);
      return true;
    });
    try {
      expect(await speedCommand([cur], ref, true)).toBe(0);
    } finally {
      write.mockRestore();
    }
    const [speed] = RunSpeedSchema.array().parse(JSON.parse(out));
    expect(speed!.phases.map((p) => [p.phase, p.wallMs])).toEqual([["read-all", 10_000]]);
    expect(speed!.reference).toMatchObject({ referenceDir: ref, compared: 2, outsideBand: [] });
    expect(speed!.reference!.largest!.diffMiB).toBeCloseTo(0.1);
  });
});
