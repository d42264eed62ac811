import { describe, expect, it } from "vitest";
import type { RunRecord } from "../src/record/runRecord.js";
import { runRecord } from "./helpers/runRecord.js";
import { buildCells, compare } from "../src/analysis/cells.js";
import { buildRuntimeCells } from "../src/analysis/runtimeCells.js";
import type { Mode } from "../src/guest/modes.js";
import type { BootMeasurement } from "../src/guest/readAll.js";
import { renderCoverLetter } from "../src/report/coverLetter.js";
import { renderCsv } from "../src/report/csv.js";
import { renderMarkdown } from "../src/report/markdown.js";
import { analyseSharing } from "../src/analysis/sharing.js";

const file = (sha: string) => ({ path: "f", type: "file" as const, size: 40 * 4096, mode: 0o644, sha256: sha });
const sharing = analyseSharing({ entries: [file("x")] }, { entries: [file("x")] });
const boot = (mode: Mode, afterBMiB: number): BootMeasurement => ({
  workload: "redis", mode, path: "read", rep: 1, accel: "tcg", release: "7.3.4", bootDir: "", wallMs: 1,
  afterAKiB: 80, afterBKiB: afterBMiB * 1024, baselineKiB: 0, stable: true, reclaim: { pgscan: 0, pgsteal: 0 }, verifiedFiles: 1, hashedFiles: 1, digest: "xxh64", shareBannerSeen: true, readMs: { A: 1, B: 1 },
});

function run(): RunRecord {
  const analyses = new Map([["redis", sharing]]);
  const boots = [boot("off", 241), boot("on", 163), boot("split", 240)];
  const cells = buildCells(boots, analyses);
  const rc = (mode: Mode, memoryMiB: number) => ({
    workload: "redis", mode, ok: true, memoryMiB, pageCache: { afterBKiB: 0 }, cgroups: {}, load: [],
  });
  const base = runRecord();
  return runRecord({
    plan: { ...base.plan, reps: 1 },
    workloads: [{ ...base.workloads[0]!, versions: "7.2.4 & 7.2.5", sharing }],
    boots, cells, comparisons: compare(cells, analyses),
    runtimeCells: buildRuntimeCells([rc("off", 34.9), rc("on", 33.6)]),
    stageTimes: [{ stage: "kernel build", seconds: 360, reused: false }],
  });
}

describe("reports", () => {
  it("puts a read-all and a runtime table in the cover letter, with the seed layout", () => {
    const text = renderCoverLetter(run());
    expect(text).toContain("|                   |        No        |      241     |       -       |");
    expect(text).toContain("|       redis       +------------------+--------------+---------------+");
    expect(text).toContain("|   7.2.4 & 7.2.5   |        Yes       |      163     |      32%      |");
    expect(text).toContain("|                   |        No        |     34.9     |       -       |");
    expect(text).toContain("|   7.2.4 & 7.2.5   |        Yes       |     33.6     |       4%      |");
    expect(text).toContain("Series mainline on Linux 7.3.4, QEMU TCG.");
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
    r.failedBoots = [{
      phase: "read-all", workload: "redis", mode: "on", path: "mmap", rep: 1, bootDir: "/b",
      failure: "redis on/mmap rep 1: guest kernel panicked; BUG: kernel NULL pointer dereference, address: 0000000000000060 at erofs_read_begin+0x31/0x6b\n    <- erofs_readahead+0x27/0x44",
    }];
    const text = renderCoverLetter(r);
    expect(text).toContain("Boots that failed (their cells are left out or measured from the other boots):");
    expect(text).toContain("  redis read-all on/mmap: 1 of 1 failed: guest kernel panicked; BUG: kernel NULL pointer dereference, address: 0000000000000060 at erofs_read_begin+0x31/0x6b");
    const md = renderMarkdown(r);
    expect(md).toContain("### redis read-all on/mmap: 1 of 1 failed");
    expect(md).toContain("    <- erofs_readahead+0x27/0x44");
    // a run without failures says nothing about them
    expect(renderCoverLetter(run())).not.toContain("Boots that failed");
  });

  it("marks a figure from fewer boots than planned and says why under the table", () => {
    const analyses = new Map([["redis", sharing]]);
    const unsettled = "page cache did not settle at after-B (50 readings, last 9, 170, 330 KiB)";
    const boots = [
      boot("off", 241), { ...boot("off", 241), rep: 2 }, { ...boot("off", 241), rep: 3 },
      boot("on", 163), { ...boot("on", 150), rep: 2, stable: false, excluded: unsettled }, { ...boot("on", 163), rep: 3 },
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

  it("says where the read-all boots' time went, per workload and in all", () => {
    const timing = { bootMs: 1500, settleMs: 2000, readAMs: 3000, readBMs: 3500, residentMs: 500, guestOtherMs: 700, verifyMs: 100, qemuOutsideMs: 800 };
    const r = { ...run(), scheduling: { parallel: 2, why: "2 host core(s)", runtimeAlone: true } };
    r.boots = r.boots.map((b) => ({ ...b, wallMs: 12_100, timing }));
    const md = renderMarkdown(r);
    expect(md).toContain("## Where the time went");
    expect(md).toContain("2 guest(s) at once (2 host core(s)); runtime boots ran alone");
    expect(md).toContain("| redis | 3 | 4.5 | 6.0 | 9.0 | 10.5 | 1.5 | 2.1 | 0.3 | 2.4 | 36.3 |");
    expect(md).toContain("| **all** | 3 |");
  });
});
