import { createHash } from "node:crypto";
import xxhash from "xxhash-wasm";
import { createReadStream } from "node:fs";
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { BenchError } from "./errors.js";

/**
 * Write via a temporary file and rename, so a reader never sees half a file;
 * a write that fails (a full disk) leaves the old file as it was and no
 * temporary file behind.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw diskError(e, file);
  }
}

/** A full disk named by the file being written, with what to do; other errors as they are. */
export function diskError(e: unknown, file: string): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code !== "ENOSPC" && code !== "EDQUOT") return e;
  return new BenchError(
    `no space left on the disk writing ${file}`,
    "free space there (or move the cache with ESB_CACHE, the results with --out) and run again",
  );
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + "\n");
}

let xxhasher: Promise<Awaited<ReturnType<typeof xxhash>>> | undefined;

/** The XXH64 implementation, loaded once (its WebAssembly takes a moment). */
function hasher(): ReturnType<typeof xxhash> {
  xxhasher ??= xxhash();
  return xxhasher;
}

/** A file's sha256 and XXH64 (seed 0), in one pass: what the guest checks each file it reads against. */
export async function fileDigests(file: string | Buffer): Promise<{ sha256: string; xxh64: string }> {
  const sha = createHash("sha256");
  const xx = (await hasher()).create64(0n);
  for await (const chunk of createReadStream(file)) {
    sha.update(chunk as Buffer);
    xx.update(chunk as Buffer);
  }
  return { sha256: sha.digest("hex"), xxh64: xx.digest().toString(16).padStart(16, "0") };
}

/** A maker of streaming digests (sha256 and XXH64) for data that arrives in chunks, such as tar entries. */
export async function digester(): Promise<
  () => { update: (b: Buffer) => void; digests: () => { sha256: string; xxh64: string } }
> {
  const xxh = await hasher();
  return () => {
    const sha = createHash("sha256");
    const xx = xxh.create64(0n);
    return {
      update: (b) => {
        sha.update(b);
        xx.update(b);
      },
      digests: () => ({ sha256: sha.digest("hex"), xxh64: xx.digest().toString(16).padStart(16, "0") }),
    };
  };
}

export async function sha256File(file: string | Buffer): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest("hex");
}

export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** JSON with sorted keys: the same value always hashes the same. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(
        Object.keys(o)
          .sort()
          .map((k) => [k, o[k]]),
      );
    }
    return v;
  });
}

export function hashOf(value: unknown): string {
  return sha256(canonicalJson(value));
}

export async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

export async function removeQuietly(p: string): Promise<void> {
  await rm(p, { recursive: true, force: true });
}
