import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { stat } from "../../../src/analysis/stats.js";
import type { RawSample } from "../../../src/guest/readAll.js";
import { writeReports } from "../../../src/pipeline/runFolder.js";
import { inCoverLetterOrder, renderCoverLetter } from "../../../src/report/coverLetter.js";
import { renderSamplesCsv, type SAMPLE_COLUMNS } from "../../../src/report/samples.js";
import { formatMiB, formatReduction } from "../../../src/report/table.js";
import { fixtureRun } from "../../helpers/runFixture.js";

type Row = Record<(typeof SAMPLE_COLUMNS)[number], string>;

/** What samples.jsonl holds for a boot: the settling readings of each point. */
function rawOf(run: ReturnType<typeof fixtureRun>): RawSample[] {
  return run.boots.flatMap((b) =>
    (["baseline", "after-A", "after-B"] as const).map((point, i) => ({
      workload: b.workload,
      mode: b.mode,
      path: b.path,
      rep: b.rep,
      point,
      pageCacheKiB: b.baselineKiB + i,
      tries: 2 + i,
      stable: true,
      readings: [b.baselineKiB + i - 40, b.baselineKiB + i],
      meminfo: { Cached: 1 },
      vmstat: { pgscan_kswapd: 0 },
    })),
  );
}

const rowsOf = (csv: string): Row[] => parse(csv, { columns: true, skip_empty_lines: true }) as Row[];

/** A median of what samples.csv says, from its text alone. */
function medianOf(rows: Row[], where: (r: Row) => boolean): { median: number; n: number } {
  const s = stat(rows.filter((r) => where(r) && r.in_median === "yes").map((r) => Number(r.mib)));
  return { median: s.median, n: s.n };
}

/** The figures of the cover letter's tables in the order they stand: per table, off then on of each image. */
function coverLetterFigures(text: string): string[][] {
  return text
    .split(/\n(?=Page cache after reading|Runtime memory in MiB)/)
    .filter((t) => /^(Page cache after|Runtime memory)/.test(t))
    .map((table) =>
      [...table.matchAll(/\|\s*(?:No|Yes)\s*\|\s*([0-9.]+\**)\s*\|\s*([^|]*?)\s*\|/g)].flatMap((m) => [
        m[1]!.replace(/\*+$/, ""),
        m[2]!,
      ]),
    );
}

describe("samples.csv", () => {
  const run = fixtureRun();
  const rows = rowsOf(renderSamplesCsv(run, rawOf(run)));

  it("recomputes every median and reduction of the cover letter from its rows alone", () => {
    const expected: string[][] = [];
    for (const p of run.plan.paths) {
      const comps = inCoverLetterOrder(run.comparisons.filter((c) => c.path === p && c.off && c.on));
      if (!comps.length) continue;
      expected.push(
        comps.flatMap((c) => {
          const at = (mode: string) =>
            medianOf(
              rows,
              (r) =>
                r.phase === "read-all" &&
                r.workload === c.workload &&
                r.path === p &&
                r.mode === mode &&
                r.point === "after-B",
            );
          const off = at("off");
          const on = at("on");
          // the same figure the record's cell holds, to the last bit
          expect(off.median).toBe(c.off!.afterB.median);
          expect(on.median).toBe(c.on!.afterB.median);
          return [
            formatMiB(off.median, 0),
            "-",
            formatMiB(on.median, 0),
            formatReduction(((off.median - on.median) / off.median) * 100),
          ];
        }),
      );
    }
    const runtime = inCoverLetterOrder(run.runtimeCells.filter((c) => c.mode === "off"));
    expected.push(
      runtime.flatMap((c) => {
        const at = (mode: string) =>
          medianOf(
            rows,
            (r) => r.phase === "runtime" && r.workload === c.workload && r.mode === mode && r.point === "memory",
          );
        const off = at("off");
        const on = at("on");
        expect(off.median).toBe(c.memory.median);
        return [
          formatMiB(off.median, 1),
          "-",
          formatMiB(on.median, 1),
          formatReduction(((off.median - on.median) / off.median) * 100),
        ];
      }),
    );
    const printed = coverLetterFigures(renderCoverLetter(run));
    expect(printed.flat().length).toBeGreaterThan(20);
    expect(printed).toEqual(expected);
  });

  it("keeps a boot left out of its median, with why, and that boot would have moved the median", () => {
    const left = rows.filter((r) => r.status === "excluded");
    expect(left.map((r) => [r.workload, r.mode, r.path, r.rep, r.point])).toEqual([
      ["synthetic", "off", "sendfile", "3", "baseline"],
      ["synthetic", "off", "sendfile", "3", "after-A"],
      ["synthetic", "off", "sendfile", "3", "after-B"],
    ]);
    expect(left.every((r) => r.in_median !== "yes" && r.why_not.startsWith("reclaim during the read"))).toBe(true);
    // the guard: counted in, the excluded boot gives another median than the report's
    const cellRows = rows.filter(
      (r) => r.workload === "synthetic" && r.mode === "off" && r.path === "sendfile" && r.point === "after-B",
    );
    const cell = run.cells.find((c) => c.workload === "synthetic" && c.mode === "off" && c.path === "sendfile")!;
    expect(stat(cellRows.map((r) => Number(r.mib))).median).not.toBe(cell.afterB.median);
    expect(medianOf(rows, (r) => cellRows.includes(r)).median).toBe(cell.afterB.median);
  });

  it("has a row for every failed boot, read-all and runtime, with its failure", () => {
    const failed = rows.filter((r) => r.status === "failed" && r.point === "");
    expect(failed.map((r) => [r.phase, r.workload, r.mode, r.path, r.rep])).toEqual([
      ["read-all", "redis", "on", "mmap", "2"],
      ["runtime", "redis", "split", "", "3"],
    ]);
    expect(failed[0]!.why_not).toMatch(
      /^redis on\/mmap rep 2: guest kernel panicked; BUG: kernel NULL pointer dereference/,
    );
    expect(failed[0]!.why_not).not.toContain("\n");
    expect(failed[1]!.why_not).toBe("redis split rep 3: container B exited 137 (OOM?); log tail:");
  });

  it("has one row per boot and reading: every read-all point with its settling readings, every container and load step", () => {
    expect(rows.filter((r) => r.phase === "read-all" && r.status !== "failed")).toHaveLength(run.boots.length * 3);
    const b = run.boots[0]!;
    const at = (point: string) =>
      rows.find(
        (r) =>
          r.workload === b.workload &&
          r.mode === b.mode &&
          r.path === b.path &&
          r.rep === String(b.rep) &&
          r.point === point,
      )!;
    expect(at("baseline")).toMatchObject({
      kib: String(b.baselineKiB),
      settle_tries: "2",
      settle_stable: "yes",
      settle_readings_kib: `${b.baselineKiB - 40} ${b.baselineKiB}`,
      boot_dir: path.posix.join("boots", path.basename(b.bootDir)),
    });
    // each point its own readings: after-B is the third sample of the boot
    expect(at("after-B")).toMatchObject({
      kib: String(b.afterBKiB),
      mib: String(b.afterBKiB / 1024),
      settle_tries: "4",
      settle_readings_kib: `${b.baselineKiB + 2 - 40} ${b.baselineKiB + 2}`,
    });
    const ok = run.runtime.filter((m) => m.ok);
    expect(rows.filter((r) => r.point === "load")).toHaveLength(ok.reduce((s, m) => s + m.load.length, 0));
    expect(rows.filter((r) => r.point === "cgroup").map((r) => r.container)).toEqual(ok.flatMap(() => ["A", "B"]));
    // throughput medians recompute as well
    const loadCell = run.runtimeCells
      .find((c) => c.workload === "redis" && c.mode === "on")!
      .load.find((l) => l.container === "B" && l.step === "GET")!;
    const thr = stat(
      rows
        .filter(
          (r) =>
            r.point === "load" && r.mode === "on" && r.container === "B" && r.step === "GET" && r.in_median === "yes",
        )
        .map((r) => Number(r.throughput)),
    );
    expect(thr.median).toBe(loadCell.throughput.median);
    expect(rows.find((r) => r.point === "load")!.throughput_unit).toBe("req/s");
  });

  it("is written beside results.csv from run.json and samples.jsonl, a torn last line passed over", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "esb-samples-"));
    const raw = rawOf(run);
    await writeFile(
      path.join(dir, "samples.jsonl"),
      raw.map((s) => JSON.stringify(s)).join("\n") + '\n{"workload":"synth',
    );
    await writeReports(dir, run);
    const written = rowsOf(await readFile(path.join(dir, "samples.csv"), "utf8"));
    expect(written).toEqual(rows);
    expect(await readFile(path.join(dir, "results.csv"), "utf8")).toContain("workload");
  });
});
