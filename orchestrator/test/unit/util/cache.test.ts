import { mkdir, readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { cached } from "../../../src/util/cache.js";
import { tempDir } from "../../helpers/gitSeries.js";

const Rec = z.object({ out: z.string(), builtBy: z.number() });

let cache: string;
beforeEach(async () => {
  cache = await tempDir("esb-cache-");
  process.env.ESB_CACHE = cache;
});
afterEach(async () => {
  await rm(cache, { recursive: true, force: true });
});

/** A build that writes out.bin (and a nested file) and counts its calls. */
function counter() {
  const calls = { n: 0 };
  const build = async (dir: string) => {
    calls.n++;
    await writeFile(path.join(dir, "out.bin"), Buffer.alloc(1000, 7));
    await mkdir(path.join(dir, "deep"), { recursive: true });
    await writeFile(path.join(dir, "deep", "part.bin"), "x");
    return { out: "out.bin", builtBy: process.pid };
  };
  return { calls, build };
}

describe("cache entries", () => {
  it("builds once and reuses the entry", async () => {
    const { calls, build } = counter();
    const a = await cached("t", { k: 1 }, Rec, build);
    const b = await cached("t", { k: 1 }, Rec, build);
    expect(a.reused).toBe(false);
    expect(b.reused).toBe(true);
    expect(calls.n).toBe(1);
  });

  it.each([
    [
      "a truncated record.json",
      async (dir: string) => truncate(path.join(dir, "record.json"), 5),
      /record\.json unreadable/,
    ],
    ["a deleted file of the entry", async (dir: string) => rm(path.join(dir, "out.bin")), /out\.bin is missing/],
    [
      "a truncated file of the entry",
      async (dir: string) => truncate(path.join(dir, "out.bin"), 10),
      /out\.bin has 10 bytes, 1000 when it was made/,
    ],
    [
      "a deleted nested file it named",
      async (dir: string) => rm(path.join(dir, "deep", "part.bin")),
      /deep\/part\.bin is missing/,
    ],
  ])("rebuilds after %s, with a warning, never a SyntaxError or a silent hit", async (_what, damage, warning) => {
    const { calls, build } = counter();
    const said: string[] = [];
    const opts = { files: () => ["deep/part.bin"], say: (m: string) => said.push(m) };
    const first = await cached("t", { k: 2 }, Rec, build, opts);
    await damage(first.dir);
    const again = await cached("t", { k: 2 }, Rec, build, opts);
    expect(again.reused).toBe(false);
    expect(calls.n).toBe(2);
    expect(said.join("\n")).toMatch(warning);
    expect(await readFile(path.join(again.dir, "out.bin"))).toHaveLength(1000);
  });

  it("removes the scratch directory of a build that failed, and of a killed build", async () => {
    await expect(
      cached("t", { k: 3 }, Rec, async (dir) => {
        await writeFile(path.join(dir, "half"), "x");
        throw new Error("disk on fire");
      }),
    ).rejects.toThrow("disk on fire");
    expect((await readdir(path.join(cache, "t"))).filter((n) => n.includes(".partial-"))).toEqual([]);

    // a build killed with SIGKILL leaves <key>.partial-<pid> behind; its pid is gone
    const { build } = counter();
    const hit = await cached("t", { k: 4 }, Rec, build);
    const child = execa("sleep", ["0"]);
    await child;
    const stale = `${hit.dir}x`.slice(0, -1) + `.partial-${child.pid}`;
    await mkdir(stale);
    const said: string[] = [];
    await cached("t", { k: 4 }, Rec, build, { say: (m) => said.push(m) });
    expect(said.join("\n")).toContain(`removing ${stale}, left by a build that did not finish`);
    expect((await readdir(path.join(cache, "t"))).filter((n) => n.includes(".partial-"))).toEqual([]);
  });

  it("makes an entry once when two processes ask for it at the same time, and both get it whole", async () => {
    const script = path.resolve("orchestrator/test/fixtures/cacheRace.ts");
    const env = { ...process.env, ESB_CACHE: cache };
    const run = () => execa("npx", ["tsx", script], { env, cwd: process.cwd() });
    const [a, b] = await Promise.all([run(), run()]);
    const [ra, rb] = [JSON.parse(a.stdout), JSON.parse(b.stdout)];
    expect([ra.reused, rb.reused].sort()).toEqual([false, true]);
    expect(ra.builtBy).toBe(rb.builtBy);
    expect(ra.dir).toBe(rb.dir);
    expect(`${a.stderr}${b.stderr}`).toMatch(/waiting for another run \(.*\) to finish race/);
    expect(await readFile(path.join(ra.dir, "payload"), "utf8")).toHaveLength(4096);
  }, 60_000);
});
