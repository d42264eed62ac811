import { describe, expect, it } from "vitest";
import { parseGuestOutput } from "../../../src/guest/protocol.js";
import { runtimeTiming } from "../../../src/guest/runtimeTiming.js";
import { renderTimeSpent } from "../../../src/report/timeSpent.js";
import { runRecord } from "../../helpers/runRecord.js";

const meminfo = "Cached: 1000 kB\nShmem: 0 kB\n";
const sample = (point: string, ms: number, up: number) => ({
  t: "sample",
  point,
  path: "runtime",
  tries: 2,
  stable: true,
  meminfo,
  readings: [1000],
  vmstat: "",
  ms,
  up,
});
const timeline = (container: string, marks: Array<[string, number]>) => ({
  t: "output",
  container,
  step: "timeline.out",
  text: marks.map(([l, s]) => `${l} ${s.toFixed(2)}`).join("\n") + "\n",
});

/** What a runtime guest sends: boot at 1.4 s, containers A then B, each with a server, a readiness wait and one load step. */
const guest = [
  { t: "hello", release: "7.3.4", mode: "on", rep: 1, up: 1400 },
  sample("baseline", 600, 2500),
  timeline("A", [
    ["begin", 2.7],
    ["start", 3.2],
    ["ready", 9.0],
    ["load:ops", 30.0],
    ["check:ops", 30.5],
  ]),
  sample("after-A", 800, 32000),
  timeline("B", [
    ["begin", 32.3],
    ["start", 32.9],
    ["ready", 38.0],
    ["load:ops", 58.0],
    ["check:ops", 58.4],
  ]),
  sample("after-B", 700, 60000),
  { t: "dmesg", text: "", up: 60400 },
]
  .map((l) => JSON.stringify(l))
  .join("\n");

describe("where a runtime boot's time goes", () => {
  it("splits the boot into its steps on the guest's clock, and QEMU's time outside it", () => {
    const steps = runtimeTiming(parseGuestOutput(guest, "guest"), 62000)!;
    const of = (kind: string, container?: string) =>
      steps.filter((s) => s.kind === kind && s.container === container).map((s) => Math.round(s.ms));
    expect(of("boot")).toEqual([1400]);
    expect(of("prepare")).toEqual([1100]);
    expect(of("launch", "A")).toEqual([200]);
    expect(of("start", "A")).toEqual([500]);
    expect(of("ready", "A")).toEqual([5800]);
    expect(of("load", "A")).toEqual([21000]);
    expect(of("check", "A")).toEqual([500]);
    // status seen and outputs copied before the settle after A began (31.2 s)
    expect(of("wait", "A")).toEqual([700]);
    expect(of("settle", "A")).toEqual([800]);
    expect(of("launch", "B")).toEqual([300]);
    expect(of("finish")).toEqual([400]);
    expect(of("qemu")).toEqual([1600]);
    // the steps tile the boot: nothing counted twice, nothing lost
    expect(Math.round(steps.reduce((s, x) => s + x.ms, 0))).toBe(62000);
  });

  it("has no timeline for a guest that never said when it ended", () => {
    const cut = guest.split("\n").slice(0, -1).join("\n");
    expect(runtimeTiming(parseGuestOutput(cut, "guest"), 62000)).toBeUndefined();
  });

  it("shows the steps per workload and each load step's median in the report", () => {
    const timing = runtimeTiming(parseGuestOutput(guest, "guest"), 62000)!;
    const m = {
      workload: "redis",
      mode: "on" as const,
      rep: 1,
      accel: "tcg" as const,
      bootDir: "/b",
      wallMs: 62000,
      ok: true,
      pageCache: { afterAKiB: 0, afterBKiB: 0 },
      cgroups: {},
      load: [],
      timing,
    };
    const md = renderTimeSpent(runRecord({ boots: [], runtime: [m, { ...m, rep: 2 }] })).join("\n");
    expect(md).toContain("## Where the time went");
    expect(md).toMatch(
      /\| redis \| 2 \| 2\.8 \| 2\.2 \| 1\.0 \| 2\.2 \| 21\.8 \| 82\.0 \| 1\.8 \| 3\.2 \| 3\.0 \| 0\.8 \| 3\.2 \| 124\.0 \|/,
    );
    expect(md).toMatch(/\| redis \| ops \| 21\.0 \| 20\.0 \|/);
  });
});
