import { chmod, mkdir, mkdtemp, readFile, symlink, truncate, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { digester, fileDigests } from "../../src/util/fsx.js";
import { buildAgent, buildReaddirFailure, readdirFailsIn } from "../helpers/agents.js";
import { needHost } from "../helpers/host.js";

/**
 * The guest's check program built on the host and driven over fixture trees
 * to each verdict it can give: its verify paths (read, mmap, sendfile,
 * shuffled pread, a whole-file mapping) see right bytes, wrong bytes, a short
 * file and a page that cannot be supplied (SIGBUS), and its verdict rule
 * decides between fail, error, na, finding and pass; its reference pass
 * names every file and every part of a tree it could not walk. No kernel
 * under test is needed.
 */

let esbcheck = "";
let work = "";

beforeAll(async () => {
  await needHost("vm");
  work = await mkdtemp(path.join(os.tmpdir(), "esb-verdicts-"));
  await chmod(work, 0o755); // the unprivileged run needs to reach the binary and the trees
  esbcheck = await buildAgent("esbcheck", work);
}, 600_000);

interface CheckLine {
  t: string;
  name: string;
  result: string;
  reason: string;
  details: Record<string, unknown>;
}

async function verifyTree(
  root: string,
  refs: string,
): Promise<{ check: CheckLine; steps: Array<Record<string, unknown>>; exitCode: number }> {
  const r = await execa(esbcheck, ["verify-tree", root, refs], { reject: false });
  const lines = r.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as CheckLine);
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
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), bytes);
    const { xxh64 } = await fileDigests(path.join(root, rel));
    lines.push(`${xxh64} ${bytes.length} ${Buffer.from(rel).toString("hex")}`);
  }
  const refs = path.join(work, `${name}.refs`);
  await writeFile(refs, lines.join("\n") + "\n");
  return { root, refs };
}

const bytes = (n: number, seed: number) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 131 + seed * 7 + (i >> 9)) & 0xff));

describe("esbcheck verdicts, on the host", () => {
  it("passes a tree read back right by every path", async () => {
    const f = await fixture("right", { "a.bin": bytes(300_001, 1), "b.bin": bytes(4096, 2), empty: Buffer.alloc(0) });
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
    expect(check.reason).toMatch(
      /^T a\.bin by read read back xxh64 [0-9a-f]{16} \(size 200000\), expected [0-9a-f]{16} \(size 200000\); T a\.bin by mmap /,
    );
    expect(steps.map((x) => x.method)).toEqual(["read", "mmap", "sendfile", "pread-shuffled", "mapping"]);
    expect(steps.every((x) => x.ok === false && x.sigbus === undefined)).toBe(true);
    expect(exitCode).toBe(1);
  });

  it("fails a short file, and a mapping past its end (SIGBUS) as a page the kernel could not supply, without dying", async () => {
    const f = await fixture("short", { "a.bin": bytes(3 * 4096 + 5, 4) });
    await truncate(path.join(f.root, "a.bin"), 4096);
    const { check, steps, exitCode } = await verifyTree(f.root, f.refs);
    expect(check.result).toBe("fail");
    expect(check.reason).toMatch(
      /by read read back xxh64 [0-9a-f]{16} \(size 4096\), expected [0-9a-f]{16} \(size 12293\)/,
    );
    expect(steps.find((x) => x.method === "mapping")).toMatchObject({
      what: "whole-file mapping",
      path: "a.bin",
      ok: false,
      sigbus: true,
    });
    expect(check.details).toMatchObject({ files: 1 });
    expect(exitCode).toBe(1);
  });

  it("fails a file that cannot be opened", async () => {
    const f = await fixture("missing", { "a.bin": bytes(10, 5) });
    await writeFile(f.refs, `0123456789abcdef 10 ${Buffer.from("gone.bin").toString("hex")}\n`);
    const { check } = await verifyTree(f.root, f.refs);
    expect(check).toMatchObject({
      result: "fail",
      reason: expect.stringMatching(/^T gone\.bin by read: No such file or directory/),
    });
  });

  it("says it could not judge without its reference list, and that nothing applies with an empty one", async () => {
    const f = await fixture("none", {});
    expect((await verifyTree(f.root, path.join(work, "no-such.refs"))).check).toMatchObject({
      result: "error",
      reason: `cannot read the reference list ${path.join(work, "no-such.refs")}`,
    });
    expect((await verifyTree(f.root, f.refs)).check).toMatchObject({
      result: "na",
      reason: `the reference list ${f.refs} names no file`,
    });
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

type Rec = Record<string, unknown> & { t: string };

async function xxh64Of(content: Buffer): Promise<string> {
  const d = (await digester())();
  d.update(content);
  return d.digests().xxh64;
}

/** esbcheck refs-tree: its lines, the reference list it wrote, and its exit status. */
async function refsTree(
  root: string,
  opts: { asNobody?: boolean; env?: Record<string, string> } = {},
): Promise<{ lines: Rec[]; list: string; exitCode: number }> {
  const out = path.join(await mkdtemp(path.join(work, "list-")), "ref.txt");
  await chmod(path.dirname(out), 0o777);
  // root reads everything: run as nobody (setpriv, util-linux) so that permissions apply
  const nobody =
    opts.asNobody && process.getuid?.() === 0 ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [];
  const argv = [...nobody, esbcheck, "refs-tree", root, "A", out];
  const r = await execa(argv[0]!, argv.slice(1), { reject: false, env: opts.env });
  const lines = r.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Rec);
  return { lines, list: await readFile(out, "utf8").catch(() => ""), exitCode: r.exitCode ?? -1 };
}

describe("esbcheck's leak oracle, on the host", () => {
  const leakReport = async (text: string) => {
    const file = path.join(work, `kmemleak-${text.length}.txt`);
    await writeFile(file, text);
    const r = await execa(esbcheck, ["leak-report", file], { reject: false });
    const check = r.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as CheckLine)
      .find((l) => l.t === "check")!;
    return { check, exitCode: r.exitCode };
  };

  it("fails a report whose object was allocated through EROFS, naming its size and backtrace (a report of the guest's kernel)", async () => {
    // kmemleak's block for the lookup-leak mutant, as the sanitizer guest printed it (no addresses in its frames)
    const block = await readFile(
      path.resolve(import.meta.dirname, "../fixtures/sanitizer/kmemleak-lookup-leak.txt"),
      "utf8",
    );
    const { check, exitCode } = await leakReport(block);
    expect(check.result).toBe("fail");
    expect(check.reason).toMatch(
      /^LEAK: kmemleak found 1 unreferenced object\(s\) allocated through EROFS .*; first: 64 bytes allocated at __kmalloc_cache_noprof <- erofs_lookup <- __lookup_slow/,
    );
    expect(check.details).toMatchObject({ kmemleakObjects: 1, kmemleakErofs: 1 });
    expect(String(check.details.kmemleakFirst)).toContain("unreferenced object 0xff11000004d06d00 (size 64)");
    expect(exitCode).toBe(1);
  });

  it("counts objects allocated elsewhere without failing, and passes an empty report", async () => {
    const block = await readFile(
      path.resolve(import.meta.dirname, "../fixtures/sanitizer/kmemleak-lookup-leak.txt"),
      "utf8",
    );
    const elsewhere = block.replace(/erofs_lookup/g, "ext4_lookup");
    expect((await leakReport(elsewhere)).check).toMatchObject({
      result: "pass",
      details: { kmemleakObjects: 1, kmemleakErofs: 0 },
    });
    expect((await leakReport("")).check).toMatchObject({ result: "pass", details: { kmemleakObjects: 0 } });
  });
});

describe("esbcheck's reference pass, on the host", () => {
  it("names every regular file as on disk, with the size and digest the host computes, and writes the list the checks load", async () => {
    const files: Record<string, Buffer> = {
      "a.bin": bytes(70_001, 6),
      empty: Buffer.alloc(0),
      "sub-ü/inner.txt": Buffer.from("inner\n"),
    };
    const f = await fixture("refs-ok", files);
    await writeFile(
      Buffer.concat([Buffer.from(f.root + "/sub-ü/"), Buffer.from([0xff]), Buffer.from(".bin")]),
      "raw name\n",
    );
    await symlink("a.bin", path.join(f.root, "link")); // not a regular file: not listed
    const { lines, list, exitCode } = await refsTree(f.root);
    expect(exitCode).toBe(0);
    const refs = lines.filter((l) => l.t === "ref");
    const want: Record<string, Buffer> = { ...files, "sub-ü/\uFFFD.bin": Buffer.from("raw name\n") };
    expect(refs.map((r) => r.path).sort()).toEqual(Object.keys(want).sort());
    for (const r of refs) {
      const content = want[r.path as string]!;
      expect(r).toMatchObject({ image: "A", size: content.length, xxh64: await xxh64Of(content) });
    }
    expect(refs.find((r) => r.pathHex)).toMatchObject({
      pathHex: Buffer.concat([Buffer.from("sub-ü/"), Buffer.from([0xff]), Buffer.from(".bin")]).toString("hex"),
    });
    expect(lines.at(-1)).toMatchObject({ t: "refs", image: "A", files: 4, errors: 0, walk: 0, bytes: 70_001 + 6 + 9 });
    // the list is what verify-tree (and every check) reads back against
    const listed = path.join(work, "refs-ok.list");
    await writeFile(listed, list);
    expect(list.trim().split("\n")).toHaveLength(4);
    expect((await verifyTree(f.root, listed)).check).toMatchObject({ result: "pass" });
  });

  it("a directory it cannot open, an entry it cannot stat and a file it cannot read are ref lines with errno, and the pass fails", async () => {
    const f = await fixture("refs-locked", { "ok.txt": Buffer.from("ok\n"), "locked.txt": Buffer.from("no\n") });
    await mkdir(path.join(f.root, "closed"));
    await mkdir(path.join(f.root, "unsearchable"));
    await writeFile(path.join(f.root, "closed", "hidden.txt"), "hidden\n");
    await writeFile(path.join(f.root, "unsearchable", "inside.txt"), "inside\n");
    await chmod(path.join(f.root, "locked.txt"), 0o000);
    await chmod(path.join(f.root, "closed"), 0o000);
    await chmod(path.join(f.root, "unsearchable"), 0o644);
    try {
      const { lines, list, exitCode } = await refsTree(f.root, { asNobody: true });
      const failed = lines
        .filter((l) => l.t === "ref" && l.errno !== undefined)
        .sort((a, b) => String(a.path).localeCompare(String(b.path)));
      expect(failed).toEqual([
        { t: "ref", image: "A", path: "closed", op: "opendir", errno: 13 },
        { t: "ref", image: "A", path: "locked.txt", errno: 13 },
        { t: "ref", image: "A", path: "unsearchable/inside.txt", op: "stat", errno: 13 },
      ]);
      expect(lines.at(-1)).toMatchObject({ t: "refs", files: 1, errors: 3, walk: -1 });
      expect(list).toBe(`${await xxh64Of(Buffer.from("ok\n"))} 3 ${Buffer.from("ok.txt").toString("hex")}\n`);
      expect(exitCode).toBe(1);
    } finally {
      await chmod(path.join(f.root, "closed"), 0o755);
      await chmod(path.join(f.root, "unsearchable"), 0o755);
    }
  });

  it("a directory whose readdir fails is a ref line with op readdir, and the pass fails", async () => {
    const f = await fixture("refs-readdir", { "top.txt": Buffer.from("top\n") });
    await mkdir(path.join(f.root, "damaged"));
    await writeFile(path.join(f.root, "damaged", "lost.txt"), "lost\n");
    const { lines, exitCode } = await refsTree(f.root, {
      env: readdirFailsIn(await buildReaddirFailure(work), "damaged"),
    });
    expect(lines.filter((l) => l.t === "ref").map((l) => [l.path, l.op ?? null, l.errno ?? null])).toEqual(
      expect.arrayContaining([
        ["damaged", "readdir", 5],
        ["top.txt", null, null],
      ]),
    );
    expect(lines.at(-1)).toMatchObject({ t: "refs", files: 1, errors: 1, walk: -1 });
    expect(exitCode).toBe(1);
  });
});
