import { mkdtemp, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runBench } from "../../src/pipeline/run.js";
import { resolveJob } from "../../src/record/jobSpec.js";
import { Progress } from "../../src/util/progress.js";

/**
 * The whole pipeline on the built-in default: Debian's linux-source with the
 * mainline feature, built (or reused from the cache), booted in QEMU, the
 * synthetic pair read with sharing off, on and split across domains.
 */
describe("end to end: mainline, synthetic pair", () => {
  it(
    "shares what the analysis says on read(2), nothing when off or split, and reads back every file intact",
    async () => {
      const out = await mkdtemp(path.join(os.tmpdir(), "esb-e2e-"));
      const folder = await runBench(
        resolveJob(
          {
            series: "mainline",
            workloads: ["synthetic"],
            // the checks have an end-to-end test of their own
            phases: ["readall"],
            reps: 1,
            modes: ["off", "on", "split"],
            paths: ["read", "mmap", "sendfile"],
            out,
            command: ["e2e"],
          },
          "e2e",
        ),
        new Progress(),
      );
      const run = folder.record;
      expect(run.status).toBe("complete");
      expect(run.accel?.accel).toMatch(/^(kvm|tcg)$/);
      // under TCG every guest runs its vCPUs on one host thread, and the record says so
      if (run.accel?.accel === "tcg") {
        expect(run.accel.tcgThread).toBe("single");
        for (const b of run.boots)
          expect(await readFile(path.join(b.bootDir, "qemu.command"), "utf8")).toContain("-accel tcg,thread=single ");
      }
      const read = run.comparisons.find((c) => c.workload === "synthetic" && c.path === "read");
      expect(read).toBeDefined();
      const expected = read!.expectedReductionPct;
      expect(expected).toBeGreaterThan(25);
      // on: at least 90% of the reduction the sharing analysis predicts
      expect(read!.reductionPct!).toBeGreaterThanOrEqual(0.9 * expected);
      // off reads both images in full; split must not share across domains
      const analysis = run.workloads[0]!.sharing;
      expect(read!.off!.afterB.median).toBeGreaterThanOrEqual(0.95 * analysis.expected.off.afterB);
      expect(Math.abs(read!.splitReductionPct!)).toBeLessThan(5);
      expect(read!.splitShared).toBe(false);
      // checksums: every file of both images verified in every on/split boot
      const files = analysis.a.files + analysis.b.files;
      for (const b of run.boots.filter((x) => x.mode !== "off")) expect(b.verifiedFiles).toBeGreaterThanOrEqual(files);
      expect(run.boots).toHaveLength(9);
      const letter = await readFile(path.join(out, "cover-letter.txt"), "utf8");
      expect(letter).toContain("|     synthetic     +");
      expect(await readFile(path.join(out, "report.html"), "utf8")).toContain(`<section id="efficiency">`);
      const saved = JSON.parse(await readFile(path.join(out, "run.json"), "utf8"));
      expect(saved.status).toBe("complete");
    },
    85 * 60_000,
  );
});
