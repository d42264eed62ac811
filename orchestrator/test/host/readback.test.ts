import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildAgent } from "../helpers/agents.js";
import { needHost } from "../helpers/host.js";
import { parseGuestOutput } from "../../src/guest/protocol.js";
import { verifyReads } from "../../src/guest/verify.js";
import { manifestOfDir, manifestOfTar } from "../../src/images/manifest.js";

/**
 * The whole read-back chain on the host: a tree with names no ASCII-only
 * tool survives, its manifest (from the directory and from a tarball of it),
 * the real probe reading it, the host parsing what the probe wrote and
 * matching every file to the manifest.
 */
let tmp: string;
let bin: string;
let tree: string;

const NAMES = [
  Buffer.from("café"),
  Buffer.from("日本語 name.txt"),
  Buffer.from("line\nbreak"),
  Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(".bin")]),
  Buffer.concat([Buffer.from("sub-"), Buffer.from([0xc0, 0xaf])]),
];

beforeAll(async () => {
  await needHost("vm");
  tmp = await mkdtemp(path.join(os.tmpdir(), "esb-readback-"));
  bin = await buildAgent("esbprobe", tmp);
  tree = path.join(tmp, "tree");
  await mkdir(tree);
  for (const [i, n] of NAMES.entries())
    await writeFile(Buffer.concat([Buffer.from(tree + "/"), n]), Buffer.alloc(1000 + i * 4096, i + 1));
  await mkdir(path.join(tree, "dir-ü"));
  await writeFile(path.join(tree, "dir-ü", "inner"), "x");
}, 600_000);
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function probeReport(method: string, hash: boolean | "xxh64") {
  const lines: string[] = [];
  for (const image of ["A", "B"]) {
    const r = await execa(
      bin,
      ["read", method, tree, image, ...(hash === "xxh64" ? ["xxh64"] : hash ? ["hash"] : [])],
      { encoding: "buffer", stripFinalNewline: false },
    );
    lines.push(Buffer.from(r.stdout).toString("utf8"));
  }
  lines.push(JSON.stringify({ t: "dmesg", text: "" }) + "\n");
  return parseGuestOutput(lines.join(""), "probe");
}

describe("read-back of odd file names", () => {
  it.each(["read", "mmap", "sendfile"])(
    "matches every file read by %s to the directory's manifest, with digests and without",
    async (method) => {
      const m = await manifestOfDir(tree);
      expect(m.entries.filter((e) => e.pathHex).map((e) => e.pathHex)).toHaveLength(2);
      for (const hash of [true, false]) {
        const check = verifyReads(await probeReport(method, hash), m, m, { digest: hash ? "sha256" : null });
        expect(check.problems).toEqual([]);
        expect(check.files).toBe(2 * (NAMES.length + 1));
      }
    },
  );

  it("keeps the same names when the manifest comes from a tarball", async () => {
    const tar = path.join(tmp, "tree.tar");
    execFileSync("tar", ["-cf", tar, "-C", tree, "."]);
    const m = await manifestOfTar(tar);
    expect(verifyReads(await probeReport("read", true), m, m, { digest: "sha256" }).problems).toEqual([]);
    expect(verifyReads(await probeReport("read", "xxh64"), m, m, { digest: "xxh64" }).problems).toEqual([]);
  });
});
