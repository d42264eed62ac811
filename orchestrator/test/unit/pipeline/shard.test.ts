import { describe, expect, it } from "vitest";
import { buildCells, compare } from "../../../src/analysis/cells.js";
import type { Mode } from "../../../src/guest/modes.js";
import type { BootMeasurement } from "../../../src/guest/readAll.js";
import { mergeRecords } from "../../../src/tasks/merge.js";
import { readAllGroup } from "../../../src/pipeline/phases.js";
import { assignShards, inShard, parseShard } from "../../../src/pipeline/shard.js";
import { bootMeasurement, imageRecord, runRecord, SETTLED_DECISION, SHARING } from "../../helpers/runRecord.js";

const groups = Array.from({ length: 17 }, (_, i) => ({ key: `g${i}`, cost: 10 + ((i * 37) % 23) * 5 }));

describe("shards", () => {
  it("reads K/N and refuses anything else", () => {
    expect(parseShard("2/4")).toEqual({ index: 2, count: 4 });
    for (const bad of ["0/2", "3/2", "2", "a/b", "1/0"]) expect(() => parseShard(bad)).toThrow(/is not K\/N/);
  });

  it("puts every group in exactly one shard, balanced, the same way every time", () => {
    for (const n of [1, 2, 3, 5]) {
      const a = assignShards(groups, n);
      expect([...a.keys()].sort()).toEqual(groups.map((g) => g.key).sort());
      const load = Array.from({ length: n }, (_, i) =>
        groups.filter((g) => a.get(g.key) === i + 1).reduce((s, g) => s + g.cost, 0),
      );
      expect(Math.max(...load) - Math.min(...load)).toBeLessThanOrEqual(Math.max(...groups.map((g) => g.cost)));
      expect(assignShards([...groups].reverse(), n)).toEqual(a);
    }
  });

  it("keeps every mode and rep of a (workload, path) together", () => {
    const manifest = { entries: [{ path: "f", type: "file" as const, size: 1 << 20, mode: 0o644, sha256: "x" }] };
    const cells = ["w1", "w2"].flatMap((w) =>
      [1, 2, 3].flatMap((rep) =>
        ["read", "mmap"].flatMap((p) =>
          (["off", "on", "split"] as const).map((mode) => ({
            pair: { workload: w, imageA: "", imageB: "", manifestA: manifest, manifestB: manifest },
            path: p,
            rep,
            mode,
          })),
        ),
      ),
    );
    const parts = [1, 2, 3].map((index) => inShard(cells, readAllGroup, { index, count: 3 }));
    expect(parts.flat()).toHaveLength(cells.length);
    for (const part of parts) {
      // whether a group needs another rep is decided from all its boots, so they are all in one shard
      for (const c of part)
        expect(part.filter((x) => x.pair.workload === c.pair.workload && x.path === c.path)).toHaveLength(9);
    }
  });
});

describe("merging shards", () => {
  const boot = (mode: Mode, rep: number, mib: number): BootMeasurement =>
    bootMeasurement({
      mode,
      rep,
      bootDir: `/s/boots/redis-${mode}-read-r${rep}`,
      wallMs: 1000,
      afterAKiB: mib * 512,
      afterBKiB: mib * 1024,
      verifiedFiles: 2,
      hashedFiles: 2,
      shareBannerSeen: true,
      readMs: { A: 1, B: 1 },
    });
  const all = [1, 2].flatMap((rep) => [
    boot("off", rep, 200 + rep),
    boot("on", rep, 100 + rep),
    boot("split", rep, 200 + rep),
  ]);
  const plan = { ...runRecord().plan, reps: 2 };
  const shardRec = (index: number, boots: BootMeasurement[], over = {}) => ({
    dir: `/runs/s${index}`,
    record: runRecord({ runId: `s${index}`, plan, boots, shard: { index, count: 2 }, ...over }),
  });

  it("gives the cells an unsharded run of the same boots gives", () => {
    const merged = mergeRecords(
      [
        shardRec(
          2,
          all.filter((b) => b.rep === 2),
        ),
        shardRec(
          1,
          all.filter((b) => b.rep === 1),
        ),
      ],
      "m",
    );
    const analyses = new Map([["redis", SHARING]]);
    expect(merged.cells).toEqual(buildCells(all, analyses));
    expect(merged.comparisons).toEqual(compare(buildCells(all, analyses), analyses));
    expect(merged.status).toBe("complete");
    expect(merged.mergedFrom).toEqual(["/runs/s1", "/runs/s2"]);
    expect(merged.shard).toBeUndefined();
  });

  it("keeps the pair the first shard's checks booted", () => {
    const checksPair = { ...runRecord().workloads[0]!, name: "synthetic" };
    const merged = mergeRecords(
      [
        shardRec(
          2,
          all.filter((b) => b.rep === 2),
        ),
        shardRec(
          1,
          all.filter((b) => b.rep === 1),
          { checksPair },
        ),
      ],
      "m",
    );
    expect(merged.checksPair?.name).toBe("synthetic");
  });

  it("refuses shards whose inputs differ, naming the input and the shard", () => {
    const other = runRecord().workloads.map((w) => ({ ...w, imageB: imageRecord("cc".repeat(32)) }));
    expect(() =>
      mergeRecords([shardRec(1, all.slice(0, 3)), shardRec(2, all.slice(3), { workloads: other })], "m"),
    ).toThrow(
      /^shard 2\/2 \(\/runs\/s2\) differs from shard 1\/2 \(\/runs\/s1\) in images: redis aaaaaaaaaaaa cccccccccccc vs redis aaaaaaaaaaaa bbbbbbbbbbbb$/,
    );
    const kernel = { ...runRecord().kernel!, buildKey: "k2" };
    expect(() => mergeRecords([shardRec(1, all.slice(0, 3)), shardRec(2, all.slice(3), { kernel })], "m")).toThrow(
      /in kernel build: k2 vs k1/,
    );
  });

  it("refuses a missing shard, a shard given twice, a folder that is no shard, and boots measured twice", () => {
    expect(() => mergeRecords([shardRec(1, all)], "m")).toThrow("shard 2/2 missing from the merge");
    expect(() => mergeRecords([shardRec(1, all), shardRec(1, all)], "m")).toThrow("shard 1/2 is given twice");
    expect(() => mergeRecords([{ dir: "/x", record: runRecord() }], "m")).toThrow("/x is not a shard");
    expect(() => mergeRecords([shardRec(1, all), shardRec(2, all.slice(0, 1))], "m")).toThrow(
      "the shards measured redis off/read rep 1 more than once",
    );
  });

  it("marks the merged run failed when a shard did not complete or boots are missing", () => {
    const merged = mergeRecords(
      [shardRec(1, all.slice(0, 3)), shardRec(2, [], { status: "interrupted", error: "interrupted by SIGTERM" })],
      "m",
    );
    expect(merged.status).toBe("failed");
    expect(merged.error).toBe("shard 2/2 interrupted: interrupted by SIGTERM");
  });

  it("expects of a group only the boots its shard decided it needed", () => {
    const cap3 = { ...runRecord().plan, reps: 3, paths: ["read" as const] };
    const rec = (index: number, boots: BootMeasurement[], over = {}) => ({
      dir: `/runs/s${index}`,
      record: runRecord({ runId: `s${index}`, plan: cap3, boots, shard: { index, count: 2 }, ...over }),
    });
    const settled = mergeRecords([rec(1, all, { repetitions: [SETTLED_DECISION] }), rec(2, [])], "m");
    expect(settled.status).toBe("complete");
    expect(settled.repetitions).toEqual([SETTLED_DECISION]);
    // without the decision, the third rep the cap allows is missing
    const undecided = mergeRecords([rec(1, all), rec(2, [])], "m");
    expect(undecided.status).toBe("failed");
    expect(undecided.error).toMatch(/^boots missing from the shards: redis off\/read rep 3/);
  });
});
