import { readdirSync } from "node:fs";
import { mkdir, mkdtemp, truncate, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { fileDigests } from "../src/util/fsx.js";

/**
 * The guest's check program built on the host and driven over fixture trees
 * to each verdict it can give: its verify paths (read, mmap, sendfile,
 * shuffled pread, a whole-file mapping) see right bytes, wrong bytes, a short
 * file and a page that cannot be supplied (SIGBUS), and its verdict rule
 * decides between fail, error, na, finding and pass. No kernel under test is needed.
 */

const SRC = path.join(import.meta.dirname, "../../rootfs/esbcheck");
let esbcheck = "";
let work = "";

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "esb-verdicts-"));
  esbcheck = path.join(work, "esbcheck");
  const sources = readdirSync(SRC).filter((f) => f.endsWith(".c")).map((f) => path.join(SRC, f));
  await execa("gcc", ["-O2", "-Wall", "-o", esbcheck, ...sources]);
}, 120_000);

interface CheckLine {
  t: string;
  name: string;
  result: string;
  reason: string;
  details: Record<string, unknown>;
}

async function verifyTree(root: string, refs: string): Promise<{ check: CheckLine; steps: Array<Record<string, unknown>>; exitCode: number }> {
  const r = await execa(esbcheck, ["verify-tree", root, refs], { reject: false });
  const lines = r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as CheckLine);
  const checks = lines.filter((l) => l.t === "check");
  expect(checks).toHaveLength(1);
  const steps = lines.filter((l) => l.t === "check-step") as unknown as Array<Record<string, unknown>>;
  return { check: checks[0]!, steps, exitCode: r.exitCode ?? -1 };
}

/** A tree of files and the reference list the checks read (DIGEST SIZE HEXPATH), as the files should be. */
async function fixture(name: string, files: Record<string, Buffer>): Promise<{ root: string; refs: string }> {
  const root = path.join(work, name);
  await mkdir(root, { recursive: true });
  const lines: string[] = [];
  for (const [rel, bytes] of Object.entries(files)) {
    await writeFile(path.join(root, rel), bytes);
    const { xxh64 } = await fileDigests(path.join(root, rel));
    lines.push(`${xxh64} ${bytes.length} ${Buffer.from(rel).toString("hex")}`);
  }
  const refs = path.join(work, `${name}.refs`);
  await writeFile(refs, lines.join("\n") + "\n");
  return { root, refs };
}

const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 131 + seed * 7 + (i >> 9)) & 0xff));

describe("esbcheck verdicts, on the host", () => {
  it("passes a tree read back right by every path", async () => {
    const f = await fixture("right", { "a.bin": bytes(300_001, 1), "b.bin": bytes(4096, 2), "empty": Buffer.alloc(0) });
    const { check, exitCode } = await verifyTree(f.root, f.refs);
    expect(check).toMatchObject({ result: "pass", reason: "3 file(s) read back right by every path (14 reads)" });
    expect(exitCode).toBe(0);
  });

  it("fails wrong bytes of the right size on every path that read them", async () => {
    const f = await fixture("wrong", { "a.bin": bytes(200_000, 3) });
    const b = bytes(200_000, 3);
    b[150_000] = b[150_000]! ^ 0xff;
    await writeFile(path.join(f.root, "a.bin"), b);
    const { check, steps, exitCode } = await verifyTree(f.root, f.refs);
    expect(check.result).toBe("fail");
    expect(check.reason).toMatch(/^T a\.bin by read read back xxh64 [0-9a-f]{16} \(size 200000\), expected [0-9a-f]{16} \(size 200000\); T a\.bin by mmap /);
    expect(steps.map((x) => x.method)).toEqual(["read", "mmap", "sendfile", "pread-shuffled", "mapping"]);
    expect(steps.every((x) => x.ok === false && x.sigbus === undefined)).toBe(true);
    expect(exitCode).toBe(1);
  });

  it("fails a short file, and a mapping past its end (SIGBUS) as a page the kernel could not supply, without dying", async () => {
    const f = await fixture("short", { "a.bin": bytes(3 * 4096 + 5, 4) });
    await truncate(path.join(f.root, "a.bin"), 4096);
    const { check, steps, exitCode } = await verifyTree(f.root, f.refs);
    expect(check.result).toBe("fail");
    expect(check.reason).toMatch(/by read read back xxh64 [0-9a-f]{16} \(size 4096\), expected [0-9a-f]{16} \(size 12293\)/);
    expect(steps.find((x) => x.method === "mapping")).toMatchObject({ what: "whole-file mapping", path: "a.bin", ok: false, sigbus: true });
    expect(check.details).toMatchObject({ files: 1 });
    expect(exitCode).toBe(1);
  });

  it("fails a file that cannot be opened", async () => {
    const f = await fixture("missing", { "a.bin": bytes(10, 5) });
    await writeFile(f.refs, `0123456789abcdef 10 ${Buffer.from("gone.bin").toString("hex")}\n`);
    const { check } = await verifyTree(f.root, f.refs);
    expect(check).toMatchObject({ result: "fail", reason: expect.stringMatching(/^T gone\.bin by read: No such file or directory/) });
  });

  it("says it could not judge without its reference list, and that nothing applies with an empty one", async () => {
    const f = await fixture("none", {});
    expect((await verifyTree(f.root, path.join(work, "no-such.refs"))).check).toMatchObject({ result: "error", reason: `cannot read the reference list ${path.join(work, "no-such.refs")}` });
    expect((await verifyTree(f.root, f.refs)).check).toMatchObject({ result: "na", reason: `the reference list ${f.refs} names no file` });
  });

  it("ends a check with a fail line when SIGBUS strikes outside a guarded read", async () => {
    // a FIFO holds the program in open(2); SIGBUS then arrives where no read guards it
    const f = await fixture("fifo", {});
    await execa("mkfifo", [path.join(f.root, "pipe")]);
    await writeFile(f.refs, `0123456789abcdef 10 ${Buffer.from("pipe").toString("hex")}\n`);
    const child = execa(esbcheck, ["verify-tree", f.root, f.refs], { reject: false });
    await new Promise((r) => setTimeout(r, 500));
    child.kill("SIGBUS");
    const r = await child;
    const line = JSON.parse(r.stdout.split("\n").filter(Boolean).pop()!) as CheckLine;
    expect(line).toMatchObject({ t: "check", name: "verify-tree", result: "fail", details: { sigbus: true } });
    expect(line.reason).toMatch(/^SIGBUS: the kernel could not supply a page of a mapped file of a clean image/);
    expect(r.exitCode).toBe(1);
  });

  it("decides fail over error over na over finding over pass", async () => {
    const verdict = async (...counts: number[]) => (await execa(esbcheck, ["verdict", ...counts.map(String)])).stdout;
    expect(await verdict(1, 1, 1, 1)).toBe("fail");
    expect(await verdict(0, 1, 1, 1)).toBe("error");
    expect(await verdict(0, 0, 1, 1)).toBe("na");
    expect(await verdict(0, 0, 0, 1)).toBe("finding");
    expect(await verdict(0, 0, 0, 0)).toBe("pass");
  });
});
