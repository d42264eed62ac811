import { execFileSync } from "node:child_process";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { RunFolder } from "../../../src/pipeline/runFolder.js";
import { cached } from "../../../src/util/cache.js";
import { BenchError } from "../../../src/util/errors.js";
import { tempDir } from "../../helpers/gitSeries.js";
import { runRecord } from "../../helpers/runRecord.js";

/**
 * A disk that fills up while building or writing results: an error that
 * names the path, and nothing half-written is ever taken for a good file.
 * Runs on a small tmpfs (needs root with the right to mount).
 */
let dir: string;
let mounted = false;

beforeAll(async () => {
  dir = await tempDir("esb-full-");
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", dir], { stdio: "pipe" });
    mounted = true;
  } catch (e) {
    console.warn(`disk-full tests skipped: cannot mount a tmpfs here (${(e as Error).message.split("\n")[0]})`);
  }
});
afterAll(async () => {
  if (mounted) execFileSync("umount", [dir]);
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(process.getuid?.() !== 0)("disk full", () => {
  it("keeps the last good run.json and says which file could not be written", async () => {
    expect(mounted).toBe(true);
    const out = path.join(dir, "run");
    const folder = new RunFolder(out, runRecord());
    await folder.save();
    const good = await readFile(path.join(out, "run.json"), "utf8");
    folder.record.warnings.push("x".repeat(600 * 1024));
    const e = await folder.save().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BenchError);
    expect((e as BenchError).message).toBe(`no space left on the disk writing ${path.join(out, "run.json")}`);
    expect(await readFile(path.join(out, "run.json"), "utf8")).toBe(good);
    expect((await readdir(out)).filter((n) => n.includes(".tmp-"))).toEqual([]);
  });

  it("leaves no cache entry or scratch behind when a build fills the disk, and builds it whole next time", async () => {
    expect(mounted).toBe(true);
    process.env.ESB_CACHE = path.join(dir, "cache");
    const Rec = z.object({ size: z.number() });
    const build = (size: number) => async (d: string) => {
      await writeFile(path.join(d, "blob"), Buffer.alloc(size));
      return { size };
    };
    const e = await cached("full", { k: 1 }, Rec, build(2 << 20)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BenchError);
    expect((e as BenchError).message).toMatch(/^no space left on the disk writing .*full\/[0-9a-f]+\.partial-\d+$/);
    expect(await readdir(path.join(dir, "cache", "full"))).toEqual(
      expect.not.arrayContaining([expect.stringMatching(/partial|^[0-9a-f]{24}$/)]),
    );
    const ok = await cached("full", { k: 1 }, Rec, build(64 << 10));
    expect(ok.reused).toBe(false);
    expect((await readFile(path.join(ok.dir, "blob"))).length).toBe(64 << 10);
  });
});
