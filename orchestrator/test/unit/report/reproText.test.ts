import { describe, expect, it } from "vitest";
import { renderReproMail, renderReproReadme, type ReproReport, wrap } from "../../../src/report/reproText.js";
import { functionsOf, scenarioSummary } from "../../../src/tasks/reproEvidence.js";

const TRACE = [
  "BUG: kernel NULL pointer dereference, address: 0000000000000038",
  "  at erofs_map_dev+0x8f/0x120 (task esbcheck)",
  "  <- ? erofs_iomap_begin.constprop.0+0xf1/0x177",
  "  <- ? erofs_readahead+0x64/0x7a",
  "  <- ? do_syscall_64+0x6b/0x1a3",
].join("\n");

function report(over: Partial<ReproReport["record"]> = {}): ReproReport {
  return {
    record: {
      finding: "check umount-race",
      scenario: "umount-race",
      reason: "2 of 400 unmounts of A found its inodes busy while B read the shared file (first at cycle 266)",
      run: { dir: "/r", id: "20261208T0149Z-x", series: "mainline", rate: { failed: 19, of: 20 } },
      kernel: {
        release: "7.3.4",
        identity: ["base: Debian linux-source-7.3 7.3.4-1", "series: mainline"],
        bzImageSha256: "b".repeat(64),
        configSha256: "c".repeat(64),
      },
      test: { runs: 20, reproduced: 20, notReproduced: 0, noVerdict: 0 },
      ...over,
    },
    finding: {
      proves: "Unmounting never finds inodes busy.",
      defaultRuns: 20,
      boot: { memoryMiB: 512, cpus: 2, accel: { accel: "tcg" } },
      disks: [{ name: "A.erofs" }, { name: "B.erofs" }],
      defines: { REPRO_FILE: '"usr/lib/x.bin"' },
    },
    reports: [{ text: TRACE, boots: 2 }],
    definitions: { erofs_map_dev: "fs/erofs/data.c:197" },
    introducedBy: [],
    scenarioText: scenarioSummary(
      "/*\n * umount-race: image A is mounted,\n * reads the shared file.\n */\nstatic void f(void) {}",
    ),
  };
}

describe("the report mail", () => {
  it("is plain text for a list: subject naming erofs and the failure, body at 72 columns but for the trace, rate, the bundle's command, Reported-by left empty", () => {
    const mail = renderReproMail(report());
    const lines = mail.split("\n");
    expect(lines[0]).toBe(
      "Subject: [BUG] erofs: VFS: Busy inodes after unmount (use-after-free) with inode_share (7.3.4)",
    );
    expect(lines[1]).toBe("");
    const prose = lines.slice(2).filter((l) => !/^\s/.test(l) && l.includes(" "));
    expect(prose.filter((l) => l.length > 72)).toEqual([]);
    expect(mail.replace(/\s+/g, " ")).toContain(
      "Rate: 19 of 20 boots under QEMU (TCG, 2 vCPUs, 512 MiB). The bundle itself reproduced it in 20 of 20 run(s)",
    );
    expect(mail).toContain("  umount-race: image A is mounted, reads the shared file.");
    expect(mail).toContain(
      "  BUG: kernel NULL pointer dereference, address: 0000000000000038\n    at erofs_map_dev+0x8f/0x120",
    );
    expect(mail).toContain("Frames marked ? are addresses found on the stack");
    expect(mail).toMatch(/ {2}erofs_map_dev +fs\/erofs\/data\.c:197/);
    expect(mail).toContain("  ./run.sh -k ~/bzImage");
    expect(lines.at(-2)).toBe("Reported-by: ");
  });

  it("says when the bundle was never run, and names the series' patches for a series finding", () => {
    const r = report({ test: undefined, run: { dir: "/r", id: "x", series: "v8", rate: { failed: 4, of: 4 } } });
    r.introducedBy = ["erofs_map_dev (fs/erofs/data.c): [3/10] erofs: introduce page cache share <m@x>"];
    const mail = renderReproMail(r);
    expect(mail.replace(/\s+/g, " ")).toContain("The bundle was not run after it was made.");
    expect(mail.replace(/\s+/g, " ")).toContain("(the series v8)");
    expect(mail).toContain("The series' patches that brought that code:\n\n  erofs_map_dev (fs/erofs/data.c): [3/10]");
  });
  it("names the series' patch by its subject when the failure printed no trace", () => {
    const r = report({ run: { dir: "/r", id: "x", series: "v8", rate: { failed: 4, of: 4 } } });
    r.reports = [];
    r.definitions = {};
    r.introducedBy = ["by its subject: [9/9] erofs: implement .fadvise for page cache share <m@x>"];
    const mail = renderReproMail(r);
    expect(mail).toContain("The failing boots printed no kernel report");
    expect(mail).toContain(
      "The series' patches that brought that code:\n\n  by its subject: [9/9] erofs: implement .fadvise",
    );
  });
});

describe("the bundle's README", () => {
  it("says what the run saw, how to run the bundle, what its exit status means, and the kernel's identity", () => {
    const md = renderReproReadme(report());
    expect(md).toMatch(/^# Reproducer: check umount-race \(7\.3\.4\)/);
    expect(md.replace(/\s+/g, " ")).toContain(
      "exits 1 when the finding reproduced in any run, 0 when in none, 2 when it could not tell",
    );
    expect(md.replace(/\s+/g, " ")).toContain("vda=A.erofs, vdb=B.erofs");
    expect(md).toContain(`bzImage sha256 ${"b".repeat(64)}`);
    expect(md).toContain('Parameters (top of repro.c): REPRO_FILE="usr/lib/x.bin"');
  });
});

describe("helpers", () => {
  it("wrap breaks prose at 72 columns and leaves indented lines whole", () => {
    const long = "word ".repeat(30).trim();
    expect(
      wrap(long)
        .split("\n")
        .every((l) => l.length <= 72),
    ).toBe(true);
    expect(wrap(`  ${long}`)).toBe(`  ${long}`);
  });

  it("functionsOf names the trace's functions, marked or not, without the syscall plumbing", () => {
    expect(functionsOf(TRACE)).toEqual(["erofs_map_dev", "erofs_iomap_begin.constprop.0", "erofs_readahead"]);
  });
});
