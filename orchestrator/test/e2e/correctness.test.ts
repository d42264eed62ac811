import { mkdtemp, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runBench } from "../../src/pipeline/run.js";
import { resolveJob } from "../../src/record/jobSpec.js";
import { loadRunRecord } from "../../src/record/runRecord.js";
import { makeReproBundle } from "../../src/tasks/repro.js";
import { cacheRoot } from "../../src/util/paths.js";
import { Progress } from "../../src/util/progress.js";

/**
 * The correctness phase for real on the mainline kernel (the same build the
 * other end-to-end tests use, shared through the cache lock): three checks
 * on the synthetic pair, each in its own boot.
 */
/** The correctness phase alone on the synthetic pair; the checks' kernel the default unless named. */
function runChecks(out: string, checks: string[], checkKernel?: "plain" | "sanitizer", checkReps?: number) {
  return runBench(
    resolveJob(
      {
        series: "mainline",
        workloads: ["synthetic"],
        reps: 1,
        modes: ["off", "on", "split"],
        paths: ["read"],
        phases: ["correctness"],
        checks,
        ...(checkKernel ? { checkKernel } : {}),
        ...(checkReps ? { checkReps, checkReruns: 0 } : {}),
        out,
        command: ["e2e", "correctness"],
      },
      "e2e",
    ),
    new Progress(),
  );
}

describe("end to end: correctness checks on mainline", () => {
  it(
    "passes private-write, umount-shared and fadvise",
    async () => {
      const out = await mkdtemp(path.join(os.tmpdir(), "esb-e2e-correctness-"));
      const checks = ["private-write", "umount-shared", "fadvise"];
      // the plain build, as the tables measure it; the sanitizer build has its own test below
      const folder = await runChecks(out, checks, "plain");
      const run = await loadRunRecord(out);
      expect(run.status).toBe("complete");
      expect(run.boots).toEqual([]);
      expect(run.correctness.map((c) => [c.name, c.result, c.reason])).toEqual(
        checks.map((c) => [c, "pass", expect.any(String)]),
      );
      for (const c of run.correctness) {
        expect(c).toMatchObject({ workload: "synthetic", series: "mainline" });
        // each check first proved that sharing is in effect: B found A's pages resident
        expect(c.details.probeResidentThroughB).toBe(c.details.probePages);
        expect(c.timing?.refsMs).toBeGreaterThan(0);
      }
      expect(folder.record.plan.checks).toEqual(checks);
      const letter = await readFile(path.join(out, "cover-letter.txt"), "utf8");
      expect(letter).toMatch(
        /^Correctness of page cache sharing \(synthetic, series mainline\), one boot per check:\n\n {2}private-write {2}PASS/,
      );
      expect(await readFile(path.join(out, "report.md"), "utf8")).toContain("| fadvise | pass |");
    },
    85 * 60_000,
  );

  it(
    "judges on the sanitizer build: KASAN and kmemleak in the kernel, kmemleak scanned after the check, the record and letter say so",
    async () => {
      const out = await mkdtemp(path.join(os.tmpdir(), "esb-e2e-sanitizer-"));
      await runChecks(out, ["umount-shared"]);
      const run = await loadRunRecord(out);
      expect(run.checksKernel).toMatchObject({ kind: "sanitizer" });
      expect(run.kernel?.sanitizer?.buildKey).not.toBe(run.kernel?.buildKey);
      const config = await readFile(
        path.join(cacheRoot(), "kernel-build", run.kernel!.sanitizer!.buildKey, run.kernel!.sanitizer!.build.config),
        "utf8",
      );
      expect(config).toMatch(/^CONFIG_KASAN=y$/m);
      expect(config).toMatch(/^CONFIG_DEBUG_KMEMLEAK=y$/m);
      const [c] = run.correctness;
      expect([c?.name, c?.result]).toEqual(["umount-shared", "pass"]);
      // the leak oracle ran: kmemleak was scanned and found nothing allocated through EROFS
      expect(c?.details.kmemleakErofs).toBe(0);
      expect(await readFile(path.join(out, "cover-letter.txt"), "utf8")).toContain(
        "Judged on the sanitizer build of 7.3.4",
      );
    },
    85 * 60_000,
  );

  it(
    "makes mainline's umount-race finding a bundle that reproduces it with plain QEMU, and whose mail carries the trace",
    async () => {
      const out = await mkdtemp(path.join(os.tmpdir(), "esb-e2e-repro-"));
      // the race showed in 19 of 20 boots of the plain build once, in 1 of 2 at worst: 8 boots make a miss of all of them rare
      await runChecks(out, ["umount-race"], "plain", 8);
      const run = await loadRunRecord(out);
      const race = run.correctness.find((c) => c.name === "umount-race")!;
      expect(race.result).toMatch(/^(fail|oops)$/);
      const { dir, record } = await makeReproBundle({ runDir: out, run, testRuns: 3, progress: new Progress(true) });
      expect(record.test).toMatchObject({ runs: 3, noVerdict: 0 });
      expect(record.test!.reproduced).toBeGreaterThan(0);
      expect(record.test!.output).toMatch(/reproduced \(\d+s\): VFS: Busy inodes after unmount/);
      expect(record.files.map((f) => f.path).sort()).toEqual(
        [
          "README.md",
          "bzImage",
          "config",
          "images/A.erofs",
          "images/B.erofs",
          "mail.txt",
          "repro.c",
          "run.sh",
          "vmlinux",
        ].sort(),
      );
      const mail = await readFile(path.join(dir, "mail.txt"), "utf8");
      expect(mail).toMatch(/^Subject: \[BUG\] erofs: VFS: Busy inodes after unmount/);
      expect(mail).toMatch(/generic_shutdown_super\+0x/);
    },
    30 * 60_000,
  );
});
