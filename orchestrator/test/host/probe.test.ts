/**
 * rootfs/esbprobe/ run on the host: what it writes must be valid JSON (and
 * valid UTF-8) for any file name, name every file exactly as it is on disk,
 * and report every file and every walk failure.
 *
 * ESB_ROOTFS=path/to/a/copy/of/rootfs runs the same tests against another
 * copy of the probe (to check that they catch a regression).
 */
import { createHash, randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, open, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCESS_PATHS } from "../../src/guest/modes.js";
import { buildAgent, buildReaddirFailure, readdirFailsIn } from "../helpers/agents.js";
import { needHost } from "../helpers/host.js";

/** A name on disk, and the "path" the probe must show for it when it is not UTF-8. */
interface Name {
  bytes: Buffer;
  shown?: string;
}
const utf8 = (s: string): Name => ({ bytes: Buffer.from(s, "utf8") });
const raw = (bytes: number[], tail: string, shown: string): Name => ({
  bytes: Buffer.concat([Buffer.from(bytes), Buffer.from(tail)]),
  shown,
});

const FFFD = "\uFFFD";
const NAMES: Name[] = [
  utf8("café"),
  utf8("naïve-日本語.txt"),
  utf8("crab-🦀.txt"),
  utf8("line\nbreak"),
  utf8("tab\there"),
  utf8('quote"back\\slash'),
  utf8("ctl\x01\x7f"),
  raw([0xff, 0xfe], ".bin", `${FFFD}${FFFD}.bin`),
  raw([0x80], "", FFFD),
  raw([0xc0, 0xaf], "-overlong", `${FFFD}${FFFD}-overlong`),
  raw([0xed, 0xa0, 0x80], "-surrogate", `${FFFD}${FFFD}${FFFD}-surrogate`),
  raw([0xe6, 0x97], "-truncated", `${FFFD}${FFFD}-truncated`),
  raw([0xf8, 0x88, 0x80, 0x80, 0x80], "-5byte", `${FFFD.repeat(5)}-5byte`),
];
const SUBDIR = "sübdir-目录";

interface Expected {
  rel: Buffer;
  shown?: string;
  size: number;
  sha256: string;
}
type Rec = Record<string, unknown> & { t: string };

let tmp: string;
let bin: string;
let tree: string;
let expected: Expected[];
let pageSize: number;

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const hexOf = (r: Rec) =>
  typeof r.pathHex === "string" ? r.pathHex : Buffer.from(String(r.path), "utf8").toString("hex");

/** Runs the probe; every line must be JSON and the whole output well-formed UTF-8. */
async function probe(args: string[], asUser?: string[], env?: Record<string, string>): Promise<Rec[]> {
  const [cmd, argv] = asUser ? [asUser[0]!, [...asUser.slice(1), bin, ...args]] : [bin, args];
  const r = await execa(cmd, argv, { encoding: "buffer", env });
  const out = Buffer.from(r.stdout);
  expect(() => new TextDecoder("utf-8", { fatal: true }).decode(out)).not.toThrow();
  return out
    .toString("utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Rec);
}

/** The per-file records of a run, keyed by the raw bytes of the path; each file once. */
function byPath(recs: Rec[], t: string): Map<string, Rec> {
  const m = new Map<string, Rec>();
  for (const r of recs.filter((x) => x.t === t)) {
    const k = hexOf(r);
    expect(m.has(k), `${t} line for ${JSON.stringify(r.path)} more than once`).toBe(false);
    m.set(k, r);
  }
  return m;
}

/** Each expected file has exactly one record named as on disk (pathHex only when needed). */
function checkNames(got: Map<string, Rec>): void {
  expect([...got.keys()].sort()).toEqual(expected.map((e) => e.rel.toString("hex")).sort());
  for (const e of expected) {
    const r = got.get(e.rel.toString("hex"))!;
    if (e.shown === undefined) {
      expect(r.pathHex).toBeUndefined();
      expect(Buffer.from(String(r.path), "utf8").equals(e.rel)).toBe(true);
    } else {
      expect(r.pathHex).toBe(e.rel.toString("hex"));
      expect(r.path).toBe(e.shown);
    }
  }
}

/**
 * A run over the test tree that no file failed in, and its per-file lines of
 * kind `t`: one for each expected file, named as on disk, paired with it.
 */
async function cleanRun(args: string[], t: string): Promise<{ recs: Rec[]; perFile: Array<[Expected, Rec]> }> {
  const recs = await probe(args);
  expect(recs.filter((r) => r.t === "file-error")).toEqual([]);
  const lines = byPath(recs, t);
  checkNames(lines);
  return { recs, perFile: expected.map((e) => [e, lines.get(e.rel.toString("hex"))!]) };
}

beforeAll(async () => {
  await needHost("vm");
  tmp = await mkdtemp(path.join(os.tmpdir(), "esbprobe-"));
  await chmod(tmp, 0o755); // the unprivileged run needs to reach the binary and the trees
  bin = await buildAgent("esbprobe", tmp);
  pageSize = Number((await execa("getconf", ["PAGESIZE"])).stdout);

  tree = path.join(tmp, "tree");
  await mkdir(tree);
  expected = [];
  const add = async (rel: Buffer, content: Buffer, shown?: string) => {
    await writeFile(Buffer.concat([Buffer.from(tree + "/"), rel]), content);
    expected.push({ rel, shown, size: content.length, sha256: sha(content) });
  };
  for (const n of NAMES) await add(n.bytes, Buffer.concat([n.bytes, Buffer.from("\n")]), n.shown);
  await add(Buffer.from("empty"), Buffer.alloc(0));
  await add(Buffer.from("big.bin"), randomBytes(1024 * 1024 + 123));
  await mkdir(path.join(tree, SUBDIR));
  await add(Buffer.from(`${SUBDIR}/inner-ü.txt`), Buffer.from("inner\n"));
  // pathHex is the whole relative path, directory included
  await add(
    Buffer.concat([Buffer.from(`${SUBDIR}/`), Buffer.from([0xff]), Buffer.from("-inner.bin")]),
    Buffer.from("x"),
    `${SUBDIR}/${FFFD}-inner.bin`,
  );
}, 600_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("esbprobe read", () => {
  // every path the bench can ask for: a new one in ACCESS_PATHS is tested here before a guest runs it
  for (const method of ACCESS_PATHS) {
    it(`${method} with hash: one file line per file, named as on disk, with size, bytes and sha256`, async () => {
      const { recs, perFile } = await cleanRun(["read", method, tree, "A", "hash"], "file");
      for (const [e, r] of perFile) {
        expect(r.image).toBe("A");
        expect(r.size).toBe(e.size);
        expect(r.bytes).toBe(e.size);
        expect(r.sha256).toBe(e.sha256);
      }
      const sum = recs.filter((r) => r.t === "read");
      expect(sum).toHaveLength(1);
      expect(sum[0]).toMatchObject({
        method,
        files: expected.length,
        errors: 0,
        walk: 0,
        bytes: expected.reduce((s, e) => s + e.size, 0),
      });
    });
  }

  it("without hash: still one file line per file, with size and bytes but no sha256", async () => {
    const { recs, perFile } = await cleanRun(["read", "read", tree, "A"], "file");
    for (const [e, r] of perFile) {
      expect(r.size).toBe(e.size);
      expect(r.bytes).toBe(e.size);
      expect(r).not.toHaveProperty("sha256");
    }
    expect(recs.filter((r) => r.t === "read")[0]).toMatchObject({ files: expected.length, errors: 0, walk: 0 });
  });

  it("a file it cannot open and directories it cannot walk are file-error lines, counted in errors", async () => {
    const dir = path.join(tmp, "locked");
    await mkdir(path.join(dir, "closed"), { recursive: true });
    await mkdir(path.join(dir, "unsearchable"));
    await writeFile(path.join(dir, "ok.txt"), "ok\n");
    await writeFile(path.join(dir, "locked.txt"), "locked\n");
    await writeFile(path.join(dir, "closed", "hidden.txt"), "hidden\n");
    await writeFile(path.join(dir, "unsearchable", "inside.txt"), "inside\n");
    await chmod(path.join(dir, "locked.txt"), 0o000);
    await chmod(path.join(dir, "closed"), 0o000); // cannot be opened
    await chmod(path.join(dir, "unsearchable"), 0o644); // can be listed, its entries not looked up
    await chmod(dir, 0o755);
    try {
      // root ignores file permissions: run as nobody (setpriv, util-linux) so they apply
      const asUser =
        process.getuid?.() === 0 ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : undefined;
      const recs = await probe(["read", "read", dir, "A"], asUser);
      const errors = byPath(recs, "file-error");
      const err = (p: string) => errors.get(Buffer.from(p).toString("hex"));
      expect([...errors.values()].map((r) => r.path).sort()).toEqual([
        "closed",
        "locked.txt",
        "unsearchable/inside.txt",
      ]);
      expect(err("locked.txt")).toMatchObject({ op: "open", errno: 13, bytes: 0 });
      expect(err("closed")).toMatchObject({ op: "opendir", errno: 13 });
      expect(err("unsearchable/inside.txt")).toMatchObject({ op: "stat", errno: 13 });
      expect([...byPath(recs, "file").values()].map((r) => r.path)).toEqual(["ok.txt"]);
      const sum = recs.find((r) => r.t === "read")!;
      expect(sum.errors).toBeGreaterThan(0);
      expect(sum.errors).toBe(errors.size);
      expect(sum.walk).toBe(-1);
    } finally {
      await chmod(path.join(dir, "closed"), 0o755);
      await chmod(path.join(dir, "unsearchable"), 0o755);
    }
  });

  it("a directory whose readdir fails is a file-error line (op readdir), and the walk goes on with the rest", async () => {
    const failing = readdirFailsIn(await buildReaddirFailure(tmp), SUBDIR);
    for (const cmd of [
      ["read", "read", tree, "A", "xxh64"],
      ["resident", tree, "A"],
    ]) {
      const recs = await probe(cmd, undefined, failing);
      const errors = recs.filter((r) => r.t === "file-error");
      expect(errors).toEqual([{ t: "file-error", image: "A", path: SUBDIR, op: "readdir", errno: 5, bytes: 0 }]);
      const outside = expected.filter((e) => !e.rel.toString().startsWith(`${SUBDIR}/`));
      expect([...byPath(recs, cmd[0] === "read" ? "file" : "resident").keys()].sort()).toEqual(
        outside.map((e) => e.rel.toString("hex")).sort(),
      );
      if (cmd[0] === "read")
        expect(recs.find((r) => r.t === "read")).toMatchObject({ files: outside.length, errors: 1, walk: -1 });
    }
  });
});

describe("esbprobe resident", () => {
  it("one resident line per file, named as on disk, with pages and resident pages", async () => {
    const { perFile } = await cleanRun(["resident", tree, "B"], "resident");
    for (const [e, r] of perFile) {
      expect(r.image).toBe("B");
      expect(r.size).toBe(e.size);
      expect(r.pages).toBe(Math.ceil(e.size / pageSize));
      expect(r.resident).toBeGreaterThanOrEqual(0);
      expect(r.resident).toBeLessThanOrEqual(r.pages as number);
    }
  });

  it("does not read what it measures, and sees pages once they are read", async () => {
    const dir = path.join(tmp, "cold");
    await mkdir(dir);
    const file = path.join(dir, "cold.bin");
    await writeFile(file, randomBytes(512 * 1024));
    const fh = await open(file, "r+");
    await fh.sync();
    await fh.close();
    // asks the kernel to drop this one file's clean pages (fadvise DONTNEED);
    // where it cannot (tmpfs), the pages simply stay resident
    await execa("dd", [`if=${file}`, "iflag=nocache", "count=0", "status=none"], { reject: false });
    const pages = (512 * 1024) / pageSize;
    const resident = async () => {
      const r = (await probe(["resident", dir, "B"])).filter((x) => x.t === "resident");
      expect(r).toHaveLength(1);
      expect(r[0]!.pages).toBe(pages);
      return r[0]!.resident as number;
    };
    const first = await resident();
    expect(await resident()).toBe(first);
    await probe(["read", "read", dir, "B"]);
    expect(await resident()).toBe(pages);
  });
});

describe("esbprobe strings", () => {
  it("file contents that are not UTF-8 come out as valid JSON, invalid bytes as U+FFFD, NUL kept", async () => {
    const file = path.join(tmp, "log.txt");
    await writeFile(
      file,
      Buffer.concat([
        Buffer.from("ok café 🦀 "),
        Buffer.from([0xff, 0x00, 0x41, 0xe6, 0x97, 0x0a, 0xed, 0xa0, 0x80, 0x22, 0x5c, 0x09, 0x7f]),
      ]),
    );
    const recs = await probe(["output", "A", "step", file]);
    expect(recs).toHaveLength(1);
    expect(recs[0]!.text).toBe(`ok café 🦀 ${FFFD}\u0000A${FFFD}${FFFD}\n${FFFD}${FFFD}${FFFD}"\\\t\u007f`);
  });
});

describe("esbprobe settle", () => {
  // never with drop: that would drop the host's caches
  it("reports every reading while settling, and /proc/vmstat", async () => {
    const recs = await probe(["settle", "p1", "label"]);
    expect(recs).toHaveLength(1);
    const s = recs[0]!;
    expect(s).toMatchObject({ t: "sample", point: "p1", path: "label" });
    const readings = s.readings as number[];
    expect(Array.isArray(readings)).toBe(true);
    expect(readings).toHaveLength(s.tries as number);
    expect(readings.length).toBeGreaterThanOrEqual(2);
    expect(readings.length).toBeLessThanOrEqual(50);
    for (const r of readings) expect(Number.isInteger(r) && r > 0).toBe(true);
    const [prev, last] = readings.slice(-2) as [number, number];
    if (s.stable) expect(Math.abs(last - prev)).toBeLessThanOrEqual(64);
    else expect(readings).toHaveLength(50);
    expect(String(s.meminfo)).toMatch(/^Cached:\s+\d+ kB$/m);
    expect(String(s.vmstat)).toMatch(/^pgpgin \d+$/m);
  }, 30_000);
});
