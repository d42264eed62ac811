import { describe, expect, it } from "vitest";
import type { RunRecord } from "../../../src/record/runRecord.js";
import {
  bootMeasurement,
  cell,
  comparison,
  correctnessResult,
  imageRecord,
  runRecord,
  runtimeCell,
  SETTLED_DECISION,
  SHARING,
} from "../../helpers/runRecord.js";
import { buildCells, compare } from "../../../src/analysis/cells.js";
import { buildRuntimeCells } from "../../../src/analysis/runtimeCells.js";
import type { Mode } from "../../../src/guest/modes.js";
import type { BootMeasurement } from "../../../src/guest/readAll.js";
import { renderCoverLetter } from "../../../src/report/coverLetter.js";
import { renderCsv } from "../../../src/report/csv.js";
import { renderMarkdown } from "../../../src/report/markdown.js";

const boot = (mode: Mode, afterBMiB: number): BootMeasurement =>
  bootMeasurement({
    mode,
    afterAKiB: 80,
    afterBKiB: afterBMiB * 1024,
    verifiedFiles: 1,
    hashedFiles: 1,
    shareBannerSeen: true,
    readMs: { A: 1, B: 1 },
  });

function run(): RunRecord {
  const analyses = new Map([["redis", SHARING]]);
  const boots = [boot("off", 241), boot("on", 163), boot("split", 240)];
  const cells = buildCells(boots, analyses);
  const rc = (mode: Mode, memoryMiB: number) => ({
    workload: "redis",
    mode,
    ok: true,
    memoryMiB,
    pageCache: { afterBKiB: 0 },
    cgroups: {},
    load: [],
  });
  const base = runRecord();
  return runRecord({
    plan: { ...base.plan, reps: 1 },
    workloads: [{ ...base.workloads[0]!, versions: "7.2.4 & 7.2.5", sharing: SHARING }],
    boots,
    cells,
    comparisons: compare(cells, analyses),
    runtimeCells: buildRuntimeCells([rc("off", 34.9), rc("on", 33.6)]),
    stageTimes: [{ stage: "kernel build", seconds: 360, reused: false }],
  });
}

describe("reports", () => {
  it("puts the correctness checks after the memory tables, one line each, and what each proves in report.md", () => {
    const results = [
      correctnessResult("private-write", "pass"),
      correctnessResult("trust-same-domain", "finding", "same domain: read A first -> A served own bytes\nsecond line"),
      correctnessResult(
        "corrupt",
        "oops",
        "in case fp-len-huge: BUG: kernel NULL pointer dereference at erofs_xattr_iter+0x12/0x80",
      ),
      correctnessResult("reclaim", "na", "no reclaim happened in the group (pgsteal 0): nothing was proven", {
        ms: undefined,
      }),
    ];
    const r = { ...run(), correctness: results };
    const text = renderCoverLetter(r);
    const at = text.indexOf(
      "Correctness of page cache sharing (synthetic, series mainline), one boot per check: 1 FAILED:",
    );
    expect(at).toBeGreaterThan(text.indexOf("Runtime memory"));
    expect(text).toContain("  private-write      PASS     all verified\n");
    expect(text).toContain("  trust-same-domain  FINDING  same domain: read A first -> A served own bytes\n");
    expect(text).toContain(
      "  corrupt            OOPS     in case fp-len-huge: BUG: kernel NULL pointer dereference at erofs_xattr_iter+0x12/0x80\n",
    );
    const md = renderMarkdown(r);
    expect(md).toContain("## Correctness");
    expect(md).toContain(
      "| corrupt | **OOPS** | what corrupt proves | in case fp-len-huge: BUG: kernel NULL pointer dereference at erofs_xattr_iter+0x12/0x80 | 7.5 s / 40.0 s |",
    );
    expect(md).toContain(
      "| reclaim | na | what reclaim proves | no reclaim happened in the group (pgsteal 0): nothing was proven | - / 40.0 s |",
    );
    // a run of the correctness phase alone still has a cover letter to paste
    const only = renderCoverLetter(runRecord({ correctness: results }));
    expect(only).toMatch(/^Correctness of page cache sharing/);
  });

  it("puts a read-all and a runtime table in the cover letter, with the seed layout", () => {
    const text = renderCoverLetter(run());
    expect(text).toContain("|                   |        No        |      241     |       -       |");
    expect(text).toContain("|       redis       +------------------+--------------+---------------+");
    expect(text).toContain("|   7.2.4 & 7.2.5   |        Yes       |      163     |      32%      |");
    expect(text).toContain("|                   |        No        |     34.9     |       -       |");
    expect(text).toContain("|   7.2.4 & 7.2.5   |        Yes       |     33.6     |       4%      |");
    expect(text).toContain("Series mainline on Linux 7.3.4, QEMU TCG.");
  });

  it("marks a runtime saving larger than the files both images hold identically, and only then", () => {
    const rc = (mode: Mode, memoryMiB: number, pageCacheMiB: number) => ({
      workload: "redis",
      mode,
      ok: true,
      memoryMiB,
      pageCache: { afterBKiB: pageCacheMiB * 1024 },
      cgroups: {},
      load: [],
    });
    // the pair has 0.16 MiB in common: saving 174 MiB of page cache is not sharing's doing
    const r = {
      ...run(),
      runtimeCells: buildRuntimeCells([rc("off", 550.6, 314.1), rc("on", 372.1, 140.4), rc("split", 400, 150.1)]),
    };
    const text = renderCoverLetter(r);
    expect(text).toContain("|        Yes       |    372.1*    |");
    expect(text).toContain(
      "* redis on: the page cache grew 173.7 MiB less than off, more than the 0.2 MiB of files both images hold identically, so sharing alone does not explain this saving; " +
        'split, which shares nothing across the images, grew 164.0 MiB less than off (report.md: "Where a runtime saving comes from")',
    );
    const within = { ...run(), runtimeCells: buildRuntimeCells([rc("off", 34.9, 10), rc("on", 33.6, 9.9)]) };
    expect(renderCoverLetter(within)).not.toContain("sharing alone does not explain");
  });

  it("lists expected vs measured and efficiency in the markdown, and one csv row per cell", () => {
    const r = run();
    const md = renderMarkdown(r);
    expect(md).toContain("| read | on | ");
    expect(md).toMatch(/\| read \| on \| .* \| 32\.4 \| 50\.0 \| 64\.7 \|/);
    const csv = renderCsv(r).trim().split("\n");
    expect(csv[0]).toContain("workload,phase,path,mode");
    expect(csv).toHaveLength(1 + 3 + 2);
  });

  it("names failed boots under the cover-letter tables and in the markdown, with the oops headline", () => {
    const r = run();
    r.failedBoots = [
      {
        phase: "read-all",
        workload: "redis",
        mode: "on",
        path: "mmap",
        rep: 1,
        bootDir: "/b",
        failure:
          "redis on/mmap rep 1: guest kernel panicked; BUG: kernel NULL pointer dereference, address: 0000000000000060 at erofs_read_begin+0x31/0x6b\n    <- erofs_readahead+0x27/0x44",
      },
    ];
    const text = renderCoverLetter(r);
    expect(text).toContain("Boots that failed (their cells are left out or measured from the other boots):");
    expect(text).toContain(
      "  redis read-all on/mmap: 1 of 1 failed: guest kernel panicked; BUG: kernel NULL pointer dereference, address: 0000000000000060 at erofs_read_begin+0x31/0x6b",
    );
    const md = renderMarkdown(r);
    expect(md).toContain("### redis read-all on/mmap: 1 of 1 failed");
    expect(md).toContain("    <- erofs_readahead+0x27/0x44");
    // a run without failures says nothing about them
    expect(renderCoverLetter(run())).not.toContain("Boots that failed");
  });

  it("marks a figure from fewer boots than planned and says why under the table", () => {
    const analyses = new Map([["redis", SHARING]]);
    const unsettled = "page cache did not settle at after-B (50 readings, last 9, 170, 330 KiB)";
    const boots = [
      boot("off", 241),
      { ...boot("off", 241), rep: 2 },
      { ...boot("off", 241), rep: 3 },
      boot("on", 163),
      { ...boot("on", 150), rep: 2, stable: false, excluded: unsettled },
      { ...boot("on", 163), rep: 3 },
    ];
    const cells = buildCells(boots, analyses);
    const base = runRecord();
    const r = runRecord({ plan: { ...base.plan, reps: 3 }, boots, cells, comparisons: compare(cells, analyses) });
    const text = renderCoverLetter(r);
    expect(text).toContain("median of 3 boot(s):");
    expect(text).toContain("|        Yes       |     163*     |");
    expect(text).toContain(`* redis on: median of 2 of 3 boots (rep 2 left out: ${unsettled})`);
    expect(text).toContain("|        No        |      241     |");
    expect(renderMarkdown(r)).toContain(`median of 2 of 3 boots, rep 2 left out: ${unsettled}`);
  });

  it("counts a cell of a group that settled early against the boots its group got, not the cap", () => {
    const analyses = new Map([["redis", SHARING]]);
    const boots = [
      boot("off", 241),
      { ...boot("off", 241), rep: 2 },
      boot("on", 163),
      { ...boot("on", 163), rep: 2, stable: false, excluded: "page cache did not settle" },
    ];
    const cells = buildCells(boots, analyses);
    const base = runRecord();
    const r = runRecord({
      plan: { ...base.plan, reps: 3, paths: ["read"] },
      repetitions: [SETTLED_DECISION],
      boots,
      cells,
      comparisons: compare(cells, analyses),
    });
    const text = renderCoverLetter(r);
    expect(text).toContain("median of 2 boot(s) (they agreed; up to 3):");
    // off settled at 2 of a cap of 3: no mark; on lost one of its 2
    expect(text).toContain("|        No        |      241     |");
    expect(text).toContain("* redis on: median of 1 of 2 boots (rep 2 left out: page cache did not settle)");
    expect(renderMarkdown(r)).toContain("median of 1 of 2 boots");
    expect(renderMarkdown(r)).not.toContain("of 3 boots");
  });

  it("says where the read-all boots' time went, per workload and in all", () => {
    const timing = {
      bootMs: 1500,
      settleMs: 2000,
      readAMs: 3000,
      readBMs: 3500,
      residentMs: 500,
      guestOtherMs: 700,
      verifyMs: 100,
      qemuOutsideMs: 800,
    };
    const r = { ...run(), scheduling: { parallel: 2, why: "2 host core(s)", runtimeAlone: true } };
    r.boots = r.boots.map((b) => ({ ...b, wallMs: 12_100, timing }));
    const md = renderMarkdown(r);
    expect(md).toContain("## Where the time went");
    expect(md).toContain("2 guest(s) at once (2 host core(s)); runtime boots ran alone");
    expect(md).toContain("| redis | 3 | 4.5 | 6.0 | 9.0 | 10.5 | 1.5 | 2.1 | 0.3 | 2.4 | 36.3 |");
    expect(md).toContain("| **all** | 3 |");
  });
});

describe("cover letter row order", () => {
  // the order the run measured them in, scrambled on purpose
  const measured = ["custom", "synthetic", "tomcat", "nginx", "mysql", "tensorflow", "postgres", "redis", "another"];
  const seedOrder = ["redis", "postgres", "tensorflow", "mysql", "nginx", "tomcat", "synthetic", "custom", "another"];

  function runOf(): RunRecord {
    const base = runRecord();
    return runRecord({
      plan: { ...base.plan, reps: 3, workloads: measured },
      workloads: measured.map((name) => ({
        name,
        image: `img-${name}`,
        versions: "A & B",
        imageA: imageRecord("aa".repeat(32)),
        imageB: imageRecord("bb".repeat(32)),
        sharing: SHARING,
      })),
      cells: measured.flatMap((w) => [cell(w, "read", "off", 200), cell(w, "read", "on", 100, 50)]),
      comparisons: measured.map((w) =>
        comparison({
          workload: w,
          path: "read",
          off: cell(w, "read", "off", 200),
          on: cell(w, "read", "on", 100, 50),
          reductionPct: 50,
        }),
      ),
      runtimeCells: measured.flatMap((w) => [
        runtimeCell(w, "off", 40),
        runtimeCell(w, "on", 30, { reductionPct: 25 }),
      ]),
    });
  }

  /** Image names in the order a table shows them. */
  function rowsOf(table: string): string[] {
    return [...table.matchAll(/img-([a-z]+)/g)].map((m) => m[1]!);
  }

  it("lists workloads in the seed's order, synthetic after them and any other after that, in both tables", () => {
    const text = renderCoverLetter(runOf());
    const [readAll, runtime] = text.split("Runtime memory in MiB") as [string, string];
    expect(rowsOf(readAll)).toEqual(seedOrder);
    expect(rowsOf(runtime)).toEqual(seedOrder);
  });
});

describe("report.md load table", () => {
  it("shows every measured load step of a workload: postgres's pgbench and sysbench", () => {
    const load = [
      { container: "A", step: "pgbench", throughput: 410, throughputUnit: "tps", latencyMs: { avg: 9.7 } },
      {
        container: "A",
        step: "sysbench oltp_read_write",
        throughput: 120,
        throughputUnit: "transactions/s",
        latencyMs: { avg: 33 },
      },
    ];
    const rc = (mode: Mode, memoryMiB: number) => ({
      workload: "postgres",
      mode,
      ok: true,
      memoryMiB,
      pageCache: { afterBKiB: 0 },
      cgroups: {},
      load,
    });
    const md = renderMarkdown(runRecord({ runtimeCells: buildRuntimeCells([rc("off", 300), rc("on", 250)]) }));
    expect(md).toContain("| postgres | on | A | pgbench | 410.0 tps [410.0-410.0] | emulation noise | 9.7 |");
    expect(md).toContain(
      "| postgres | on | A | sysbench oltp_read_write | 120.0 transactions/s [120.0-120.0] | emulation noise | 33.0 |",
    );
  });
});
