import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import { describe, expect, it } from "vitest";
import { loadRunRecord } from "../../src/record/runRecord.js";
import { tempDir } from "../helpers/gitSeries.js";

/**
 * Faults around real runs of the tool (the real kernel, QEMU and images of
 * the built-in pair): two runs at once on one cache, an interrupt while a
 * guest runs, and a QEMU killed by the host.
 */
const ROOT = path.resolve(import.meta.dirname, "..", "..", "..");

function cli(args: string[]): ResultPromise<{ reject: false; cwd: string }> {
  return execa("node", ["--import", "tsx", "orchestrator/src/cli.ts", ...args], { reject: false, cwd: ROOT });
}

/** Pids of processes whose command line mentions `needle` (a run folder: QEMU's arguments name it). */
async function processesMentioning(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmd = await readFile(path.join("/proc", name, "cmdline"), "utf8").catch(() => "");
    if (cmd.includes(needle) && !cmd.includes("orchestrator/src/cli.ts")) pids.push(Number(name));
  }
  return pids;
}

async function qemuOf(runDir: string, timeoutMs: number): Promise<number> {
  for (const until = Date.now() + timeoutMs; Date.now() < until; await new Promise((r) => setTimeout(r, 500))) {
    const [pid] = await processesMentioning(path.join(runDir, "boots"));
    if (pid) return pid;
  }
  throw new Error(`no QEMU of ${runDir} within ${timeoutMs / 1000}s`);
}

const small = ["--workload", "synthetic", "--reps", "1", "--paths", "read", "--phases", "readall"];

describe("faults in real runs", () => {
  it(
    "completes two runs started at once on one cache, with the same figures",
    async () => {
      const [a, b] = [await tempDir("esb-twin-a,"), await tempDir("esb-twin-b-")];
      const [ra, rb] = await Promise.all([
        cli([...small, "--modes", "off,on", "--out", a, "--json"]),
        cli([...small, "--modes", "off,on", "--out", b, "--json"]),
      ]);
      expect([ra.exitCode, rb.exitCode], `${ra.stderr}\n${rb.stderr}`).toEqual([0, 0]);
      const [runA, runB] = [await loadRunRecord(a), await loadRunRecord(b)];
      for (const r of [runA, runB]) {
        const c = r.comparisons.find((x) => x.path === "read")!;
        expect(r.status).toBe("complete");
        expect(c.reductionPct!).toBeGreaterThanOrEqual(0.9 * c.expectedReductionPct);
      }
      const off = (r: typeof runA) => r.comparisons[0]!.off!.afterB.median;
      expect(Math.abs(off(runA) - off(runB))).toBeLessThan(0.5);
      expect(runA.kernel?.buildKey).toBe(runB.kernel?.buildKey);
    },
    85 * 60_000,
  );

  it(
    "on SIGTERM during a boot leaves no QEMU behind and keeps the run as interrupted",
    async () => {
      const out = await tempDir("esb-int-");
      const run = cli([...small, "--modes", "off", "--paths", "read,mmap,sendfile", "--out", out]);
      await qemuOf(out, 30 * 60_000);
      run.kill("SIGTERM");
      const r = await run;
      expect(r.exitCode).toBe(130);
      expect(r.stderr).toContain(`interrupted: what was measured is in ${out}`);
      expect(await processesMentioning(out)).toEqual([]);
      const rec = await loadRunRecord(out);
      expect(rec.status).toBe("interrupted");
      expect(rec.error).toBe("interrupted by SIGTERM");
    },
    40 * 60_000,
  );

  it(
    "calls a QEMU killed by someone else a host problem (exit 1), not a failed boot",
    async () => {
      const out = await tempDir("esb-kill-");
      const run = cli([...small, "--modes", "off", "--out", out]);
      process.kill(await qemuOf(out, 30 * 60_000), "SIGKILL");
      const r = await run;
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/QEMU was killed by SIGKILL, not by erofs-share-bench/);
      const rec = await loadRunRecord(out);
      expect(rec.status).toBe("failed");
      expect(rec.failedBoots).toEqual([]);
    },
    40 * 60_000,
  );
});
