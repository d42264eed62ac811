import { mkdir, readFile, rename } from "node:fs/promises";
import path from "node:path";
import type { z } from "zod";
import { cacheRoot } from "./paths.js";
import { exists, hashOf, removeQuietly, writeJsonAtomic } from "./fsx.js";

export interface CacheHit<R> {
  dir: string;
  key: string;
  record: R;
  /** True when this call reused an earlier result. */
  reused: boolean;
}

/**
 * Content-addressed stage output: `<cache>/<kind>/<hash of inputs>/`. A stage
 * builds into a scratch directory that is renamed into place only when it
 * succeeded, so a killed build is never mistaken for a finished one.
 */
export async function cached<R>(
  kind: string,
  inputs: unknown,
  schema: z.ZodType<R>,
  build: (dir: string) => Promise<R>,
): Promise<CacheHit<R>> {
  const key = hashOf(inputs).slice(0, 24);
  const dir = path.join(cacheRoot(), kind, key);
  const recordFile = path.join(dir, "record.json");
  if (await exists(recordFile)) {
    const parsed = schema.safeParse(JSON.parse(await readFile(recordFile, "utf8")));
    if (parsed.success) return { dir, key, record: parsed.data, reused: true };
    await removeQuietly(dir);
  }
  const scratch = `${dir}.partial-${process.pid}`;
  await removeQuietly(scratch);
  await mkdir(scratch, { recursive: true });
  await writeJsonAtomic(path.join(scratch, "inputs.json"), inputs);
  const record = await build(scratch);
  await writeJsonAtomic(path.join(scratch, "record.json"), record);
  await removeQuietly(dir);
  await rename(scratch, dir);
  return { dir, key, record, reused: false };
}
