import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

/** Processes whose argument list is exactly `argv`, by pid. */
async function processesRunning(...argv: string[]): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const cmd = await readFile(path.join("/proc", name, "cmdline"), "utf8").catch(() => "");
    if (cmd === argv.join("\0") + "\0") pids.push(Number(name));
  }
  return pids;
}

describe("interrupting the tool", () => {
  it.each(["SIGTERM", "SIGINT"] as const)(
    "stops every command it started, grandchildren included, on %s",
    async (signal) => {
      // durations no other process on the machine uses, so only this test's sleeps are counted
      const [a, b] = [
        String(300_000 + Math.floor(Math.random() * 99_999)),
        String(400_000 + Math.floor(Math.random() * 99_999)),
      ];
      const child = execa(
        "node",
        ["--import", "tsx", path.resolve(import.meta.dirname, "../../fixtures/longChild.ts"), a, b],
        { reject: false },
      );
      await new Promise<void>((resolve) => child.stdout?.on("data", () => resolve()));
      // both start soon after the first output, later on a loaded host: wait for each, up to 20 s
      const started = async () =>
        (await processesRunning("sleep", a)).length === 1 && (await processesRunning("sleep", b)).length === 1;
      for (let i = 0; i < 200 && !(await started()); i++) await new Promise((r) => setTimeout(r, 100));
      expect((await processesRunning("sleep", a)).length).toBe(1);
      expect((await processesRunning("sleep", b)).length).toBe(1);
      child.kill(signal);
      const r = await child;
      expect(r.exitCode).toBe(130);
      // sh and both sleeps are gone, not left to run on without the tool
      expect(await processesRunning("sleep", a)).toEqual([]);
      expect(await processesRunning("sleep", b)).toEqual([]);
    },
    30_000,
  );
});
