import { describe, expect, it } from "vitest";
import { compareRuns } from "../../../src/analysis/compareRuns.js";
import { buildRuntimeCells } from "../../../src/analysis/runtimeCells.js";
import { memoryVsOff, throughputVsOff } from "../../../src/analysis/runtimeSignificance.js";
import {
  PAGE_CACHE_RESOLUTION_MIB,
  reductionRange,
  separation,
  throughputSignificance,
  widened,
} from "../../../src/analysis/significance.js";
import type { Mode } from "../../../src/guest/modes.js";
import { renderComparison } from "../../../src/report/comparison.js";
import { renderComparisonHtml } from "../../../src/report/html/comparePage.js";
import { renderMarkdown } from "../../../src/report/markdown.js";
import { fixtureRun } from "../../helpers/runFixture.js";
import { runRecord } from "../../helpers/runRecord.js";

const r = (min: number, max: number, n = 3) => ({ min, max, n });
const dirs = { baseline: "/b", current: "/c" };

describe("significance rule", () => {
  it("calls ranges apart significant and touching or overlapping ones not", () => {
    expect(separation(r(10, 11), r(11.001, 12))).toBe("significant");
    expect(separation(r(11.001, 12), r(10, 11))).toBe("significant");
    expect(separation(r(10, 11), r(11, 12))).toBe("not significant");
    expect(separation(r(10, 12), r(11, 13))).toBe("not significant");
    // every boot the same figure on each side, the figures different: as far apart as boots can be
    expect(separation(r(10, 10), r(10.5, 10.5))).toBe("significant");
  });

  it("gives no verdict below 3 boots a side, however far apart", () => {
    expect(separation(r(10, 11, 2), r(50, 60, 5))).toBe("not enough boots");
    expect(separation(r(10, 11, 5), r(50, 60, 2))).toBe("not enough boots");
    expect(separation(r(10, 11, 3), r(50, 60, 3))).toBe("significant");
    expect(separation(r(NaN, NaN, 0), r(50, 60, 3))).toBe("not enough boots");
  });

  it("needs page cache cells further apart than a reading resolves, each way", () => {
    const res = PAGE_CACHE_RESOLUTION_MIB;
    expect(separation(widened(r(32, 32), res), widened(r(32 + 2 * res, 32 + 2 * res), res))).toBe("not significant");
    expect(separation(widened(r(32, 32), res), widened(r(32 + 2 * res + 0.001, 33), res))).toBe("significant");
  });

  it("gives a reduction the range every pair of its off and on boots allows", () => {
    const red = reductionRange(r(100, 110), r(50, 55));
    expect(red.min).toBeCloseTo(45);
    expect(red.max).toBeCloseTo((1 - 50 / 110) * 100);
    expect(reductionRange(r(100, 110, 5), r(50, 55, 2)).n).toBe(2);
  });

  it("never calls throughput under TCG significant, and judges it by its boots under KVM only when they ran alone", () => {
    expect(throughputSignificance("tcg", r(100, 101), r(500, 501), true)).toBe("emulation noise");
    expect(throughputSignificance("kvm", r(100, 101), r(500, 501), true)).toBe("significant");
    expect(throughputSignificance("kvm", r(100, 600), r(500, 501), true)).toBe("not significant");
    expect(throughputSignificance("kvm", r(100, 101), r(500, 501), false)).toBe("neighbour noise");
  });
});

describe("significance in compare and nightly", () => {
  it("finds no difference beyond noise between two runs of the same kernel", () => {
    const cmp = compareRuns(fixtureRun({ runId: "b" }, { seed: 1 }), fixtureRun({ runId: "c" }, { seed: 2 }), dirs);
    const judged = cmp.rows.filter((x) => x.significance);
    expect(judged.length).toBe(
      cmp.rows.filter((x) => x.baseline !== undefined && x.current !== undefined && x.unit !== "count").length,
    );
    // cells with a failed or left-out boot have 2 boots: no verdict; the others are all alike
    expect(new Set(judged.map((x) => x.significance))).toEqual(new Set(["not significant", "not enough boots"]));
    expect(
      judged.filter((x) => x.significance === "not enough boots").map((x) => `${x.workload} ${x.where} ${x.metric}`),
    ).toEqual([
      "synthetic read-all sendfile sharing efficiency (measured / expected reduction)",
      "synthetic read-all sendfile reduction on vs off",
      "synthetic read-all sendfile page cache, sharing off",
      "redis read-all mmap sharing efficiency (measured / expected reduction)",
      "redis read-all mmap reduction on vs off",
      "redis runtime split memory reduction vs off (memory.current)",
    ]);
  });

  it("says where a kernel changed a figure, and only there", () => {
    const mainline = fixtureRun({ runId: "b" }, { seed: 1 });
    const changed = fixtureRun(
      { runId: "c" },
      { seed: 2, efficiency: (w, p) => (w === "redis" && p === "read" ? 0.8 : undefined) },
    );
    const cmp = compareRuns(mainline, changed, dirs);
    const significant = cmp.rows
      .filter((x) => x.significance === "significant")
      .map((x) => `${x.workload} ${x.where} ${x.metric}`);
    expect(significant).toEqual([
      "redis read-all read sharing efficiency (measured / expected reduction)",
      "redis read-all read reduction on vs off",
    ]);
    // 86% of the expected saving down to 80%: past the 3-point threshold, and beyond noise
    expect(cmp.rows.find((x) => x.significance === "significant")!.verdict).toBe("regression");
    const text = renderComparison(cmp);
    expect(text).toContain("| significance | verdict |");
    expect(text).toMatch(
      /\| redis \| read-all read \| sharing efficiency[^\n]*\| significant \| \*\*REGRESSION\*\* \|/,
    );
    expect(text).toMatch(/\| redis \| read-all mmap \| page cache, sharing off[^\n]*\| not significant \| ok \|/);
    expect(renderComparisonHtml(cmp)).toContain('<span class="badge warn">significant</span>');
  });

  it("reads a nightly.json written before the column existed", () => {
    const cmp = compareRuns(fixtureRun({ runId: "b" }), fixtureRun({ runId: "c" }), dirs);
    for (const row of cmp.rows) delete row.significance;
    expect(renderComparison(cmp)).toMatch(/\| ok \|/);
  });
});

describe("significance in the runtime tables", () => {
  const load = (throughput: number) => [
    { container: "A", step: "GET", throughput, throughputUnit: "req/s", latencyMs: { avg: 0.3 } },
  ];
  const boots = (mode: Mode, memory: number[], thr: number[]) =>
    memory.map((m, i) => ({
      workload: "redis",
      mode,
      ok: true,
      memoryMiB: m,
      pageCache: { afterBKiB: 0 },
      cgroups: {},
      load: load(thr[i]!),
    }));

  it("judges memory and throughput against off, throughput as emulation noise under TCG", () => {
    const cells = buildRuntimeCells([
      ...boots("off", [60, 61, 62], [1000, 1010, 1020]),
      ...boots("on", [45, 46, 47], [900, 905, 910]),
      ...boots("split", [59, 61.5, 63], [1000, 990, 1100]),
    ]);
    const on = cells.find((c) => c.mode === "on")!;
    const split = cells.find((c) => c.mode === "split")!;
    expect(memoryVsOff(cells, on)).toBe("significant");
    expect(memoryVsOff(cells, split)).toBe("not significant");
    expect(memoryVsOff(cells, cells.find((c) => c.mode === "off")!)).toBeUndefined();
    expect(throughputVsOff(cells, on, on.load[0]!, "kvm", true)).toBe("significant");
    expect(throughputVsOff(cells, on, on.load[0]!, "kvm", false)).toBe("neighbour noise");
    expect(throughputVsOff(cells, on, on.load[0]!, "tcg", true)).toBe("emulation noise");
    expect(throughputVsOff(cells, split, split.load[0]!, "kvm", true)).toBe("not significant");
  });

  it("says 'not enough boots' in report.md with two boots a mode", () => {
    const cells = buildRuntimeCells([...boots("off", [60, 61], [1000, 1010]), ...boots("on", [45, 46], [900, 905])]);
    const md = renderMarkdown(runRecord({ accel: { accel: "kvm", reason: "test" }, runtimeCells: cells }));
    expect(md).toContain("| redis | on | 45.5 [45.0-46.0] | 24.8 | not enough boots |");
    expect(md).toContain("| redis | on | A | GET | 902.5 req/s [900.0-905.0] | not enough boots | 0.3 |");
    expect(md).toContain('"vs off significance"');
  });
});
