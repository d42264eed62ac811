import { describe, expect, it } from "vitest";
import { buildRuntimeCells, type RuntimeInput } from "../../../src/analysis/runtimeCells.js";
import { loadFigures } from "../../../src/guest/runtime.js";
import { emptyGuestReport, type GuestReport } from "../../../src/guest/protocol.js";

function m(mode: "off" | "on", memoryMiB: number, ok = true): RuntimeInput {
  const c = { fileKiB: 1024, anonKiB: 2048, shmemKiB: 0 };
  return {
    workload: "redis",
    mode,
    ok,
    failure: ok ? undefined : "container A: failed: start",
    memoryMiB: ok ? memoryMiB : undefined,
    pageCache: { afterBKiB: memoryMiB * 512 },
    cgroups: ok ? { A: c, B: c } : {},
    load: ok
      ? [
          {
            container: "A",
            step: "bench",
            throughput: memoryMiB * 10,
            throughputUnit: "requests/s",
            latencyMs: { avg: 1 },
          },
        ]
      : [],
  };
}

describe("runtime cells", () => {
  it("reduces on the median of the summed container memory and keeps failures apart", () => {
    const cells = buildRuntimeCells([
      m("off", 50),
      m("off", 54),
      m("off", 52),
      m("on", 35),
      m("on", 34),
      m("on", 0, false),
    ]);
    const off = cells.find((c) => c.mode === "off")!;
    const on = cells.find((c) => c.mode === "on")!;
    expect(off.memory).toEqual({ median: 52, min: 50, max: 54, n: 3 });
    expect(on.memory.n).toBe(2);
    expect(on.failures).toEqual(["container A: failed: start"]);
    expect(on.reductionPct).toBeCloseTo(((52 - 34.5) / 52) * 100);
    expect(off.file.median).toBe(2);
    expect(on.load[0]).toMatchObject({
      container: "A",
      step: "bench",
      unit: "requests/s",
      throughput: { median: 345 },
    });
  });
});

describe("load figures from the guest", () => {
  it("parses each container's load step output and reports a step that never ran", () => {
    const report: GuestReport = {
      ...emptyGuestReport(),
      complete: true,
      outputs: [
        {
          t: "output" as const,
          container: "A",
          step: "load-pgbench.out",
          text: "tps = 512.5 (without initial connection time)\nlatency average = 7.8 ms\n",
        },
      ],
    };
    const rt = {
      setup: "",
      start: "",
      ready: "",
      readyTimeoutS: 1,
      logs: [],
      params: {},
      quick: {},
      load: [{ name: "pgbench", cmd: "", parser: "pgbench" as const }],
    };
    const figs = loadFigures(report, rt);
    expect(figs[0]).toMatchObject({ container: "A", throughput: 512.5, latencyMs: { avg: 7.8 } });
    expect(figs[1]).toMatchObject({ container: "B", error: "no output (step did not run)" });
  });
});
