import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { AGENT_CFLAGS, AGENTS, agentCompileArgs, agentSources } from "../../src/guest/initramfs.js";
import { digester } from "../../src/util/fsx.js";
import { buildDigestChunks, ROOTFS } from "../helpers/agents.js";
import { needHost } from "../helpers/host.js";

/**
 * rootfs/common/, the library both guest agents are compiled with: its
 * digests against published vectors and the host's own, and the agents'
 * sources as the initramfs compiles them and keys its cache on them.
 * (Its JSON lines and its walk are tested through the agents:
 * probe.test.ts, esbcheckVerdicts.test.ts.)
 */

let work = "";
let chunks = "";

beforeAll(async () => {
  await needHost("vm");
  work = await mkdtemp(path.join(os.tmpdir(), "esb-library-"));
  chunks = await buildDigestChunks(work);
}, 600_000);

/** The library's digest of `input`, fed CHUNK bytes at a time; with prefixes, one per prefix. */
async function digest(kind: "sha256" | "xxh64", input: Buffer, chunk: number, prefixes = false): Promise<string[]> {
  const r = await execa(chunks, [kind, String(chunk), ...(prefixes ? ["prefixes"] : [])], { input, encoding: "utf8" });
  return r.stdout.split("\n");
}

describe("the guest library's digests", () => {
  // the FIPS 180-2 examples, with their SHA-256 and their XXH64 (seed 0) as the reference xxHash gives them
  const VECTORS: Array<[string, Buffer, string, string]> = [
    ["empty", Buffer.alloc(0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "ef46db3751d8e999"],
    ["abc", Buffer.from("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "44bc2cf5ad770999"],
    [
      "two blocks",
      Buffer.from("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
      "f06103773e8585df",
    ],
    [
      "a million a",
      Buffer.alloc(1_000_000, "a"),
      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
      "dc483aaa9b4fdc40",
    ],
  ];
  it.each(VECTORS)("gives the published digests of %s, in any piece size", async (_, input, sha256, xxh64) => {
    for (const chunk of [1, 3, 32, 64, 65, 4096]) {
      if (input.length > 100_000 && chunk < 32) continue;
      expect(await digest("sha256", input, chunk), `sha256 in ${chunk}-byte pieces`).toEqual([sha256]);
      expect(await digest("xxh64", input, chunk), `xxh64 in ${chunk}-byte pieces`).toEqual([xxh64]);
    }
  });

  it("agrees with the host on every length across the block and stripe edges, whatever the pieces", async () => {
    const input = randomBytes(300);
    const make = await digester();
    const host = Array.from({ length: input.length + 1 }, (_, n) => {
      const d = make();
      d.update(input.subarray(0, n));
      return d.digests();
    });
    for (const chunk of [1, 7, 31, 32, 33, 63, 64, 65, 1000]) {
      expect(await digest("sha256", input, chunk, true), `sha256 in ${chunk}-byte pieces`).toEqual(
        host.map((h) => h.sha256),
      );
      expect(await digest("xxh64", input, chunk, true), `xxh64 in ${chunk}-byte pieces`).toEqual(
        host.map((h) => h.xxh64),
      );
    }
  });
});

describe("the agents' sources", () => {
  /** Every file a source names in #include "...", followed to the end, relative to the file that names it. */
  function included(file: string, seen = new Set<string>()): Set<string> {
    for (const m of readFileSync(file, "utf8").matchAll(/^\s*#\s*include\s+"([^"]+)"/gm)) {
      const f = path.resolve(path.dirname(file), m[1]!);
      if (!seen.has(f)) {
        seen.add(f);
        included(f, seen);
      }
    }
    return seen;
  }

  it.each(AGENTS)("%s: every file it includes is compiled or keyed with it, and the library is part of it", (agent) => {
    const sources = agentSources(agent, ROOTFS);
    const c = sources.filter((f) => f.endsWith(".c"));
    for (const f of c)
      for (const inc of included(f))
        expect(sources, `${path.relative(ROOTFS, f)} includes ${path.relative(ROOTFS, inc)}`).toContain(inc);
    for (const lib of ["digest", "json", "walk", "clock"]) expect(c).toContain(path.join(ROOTFS, "common", `${lib}.c`));
    expect(agentCompileArgs(agent, "/out", { rootfs: ROOTFS })).toEqual([...AGENT_CFLAGS, "-o", "/out", ...c]);
  });

  it("keys the table of checks, which esbcheck includes and the host reads", () => {
    expect(agentSources("esbcheck", ROOTFS)).toContain(path.join(ROOTFS, "esbcheck", "checks.def"));
  });

  it.each(AGENTS)(
    "%s compiles static without a warning (-Wall -Wextra -Werror)",
    async (agent) => {
      const r = await execa(
        "gcc",
        agentCompileArgs(agent, path.join(work, `${agent}-static`), {
          rootfs: ROOTFS,
          flags: [...AGENT_CFLAGS, "-Wextra", "-Werror"],
        }),
        { reject: false },
      );
      expect(r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
    },
    120_000,
  );
});
