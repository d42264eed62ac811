import { readdir, readFile, rename, stat } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { diskError, exists, hashOf, removeQuietly, writeJsonAtomic } from "./fsx.js";
import { withLock } from "./fileLock.js";
import { cacheRoot } from "./paths.js";

export interface CacheHit<R> {
  dir: string;
  key: string;
  record: R;
  /** True when this call reused an earlier result. */
  reused: boolean;
}

export interface CacheOptions<R> {
  /** Files below the entry (relative paths) that must be there for it to count, beside its top-level files. */
  files?: (record: R) => string[];
  /** Where waits and repairs are reported. */
  say?: (msg: string) => void;
}

/** files.json: what an entry held when it was made, checked on every hit. */
const EntryFilesSchema = z.array(z.object({ path: z.string(), size: z.number() }));
const BOOKKEEPING = new Set(["inputs.json", "record.json", "files.json"]);

/**
 * Content-addressed stage output: `<cache>/<kind>/<hash of inputs>/`. A stage
 * builds into a scratch directory that is renamed into place only when it
 * succeeded, so a killed build is never mistaken for a finished one. Each
 * entry is made under a lock (two runs at once build it once) and checked
 * on every hit (record readable, its files there with their sizes); a
 * damaged entry is rebuilt with a warning.
 */
export async function cached<R>(
  kind: string,
  inputs: unknown,
  schema: z.ZodType<R>,
  build: (dir: string) => Promise<R>,
  opts: CacheOptions<R> = {},
): Promise<CacheHit<R>> {
  const key = hashOf(inputs).slice(0, 24);
  const dir = path.join(cacheRoot(), kind, key);
  return withLock(
    dir,
    `${kind} ${key}`,
    async () => {
      await removeStalePartials(dir, opts.say);
      const found = await readEntry(dir, schema);
      if (found.ok) return { dir, key, record: found.record, reused: true };
      if (found.problem) opts.say?.(`warning: cache entry ${dir} is damaged (${found.problem}): rebuilding it`);
      const scratch = `${dir}.partial-${process.pid}`;
      await removeQuietly(scratch);
      let record: R;
      try {
        await writeJsonAtomic(path.join(scratch, "inputs.json"), inputs);
        record = await build(scratch);
        await writeJsonAtomic(path.join(scratch, "files.json"), await entryFiles(scratch, opts.files?.(record) ?? []));
        await writeJsonAtomic(path.join(scratch, "record.json"), record);
      } catch (e) {
        // nothing half-made stays behind to be taken for a good entry later
        await removeQuietly(scratch);
        throw diskError(e, scratch);
      }
      await removeQuietly(dir);
      await rename(scratch, dir);
      return { dir, key, record, reused: false };
    },
    opts.say,
  );
}

type EntryState<R> = { ok: true; record: R } | { ok: false; problem?: string };

async function readEntry<R>(dir: string, schema: z.ZodType<R>): Promise<EntryState<R>> {
  if (!(await exists(dir))) return { ok: false };
  let record: R;
  try {
    const parsed = schema.safeParse(JSON.parse(await readFile(path.join(dir, "record.json"), "utf8")));
    if (!parsed.success) return { ok: false, problem: "record.json does not match this version's record" };
    record = parsed.data;
  } catch (e) {
    return { ok: false, problem: `record.json unreadable: ${(e as Error).message}` };
  }
  const filesJson = path.join(dir, "files.json");
  if (!(await exists(filesJson))) {
    // made before entries listed their files: renamed into place whole, so take it and list it now
    await writeJsonAtomic(filesJson, await entryFiles(dir, []));
    return { ok: true, record };
  }
  let files: z.infer<typeof EntryFilesSchema>;
  try {
    files = EntryFilesSchema.parse(JSON.parse(await readFile(filesJson, "utf8")));
  } catch (e) {
    return { ok: false, problem: `files.json unreadable: ${(e as Error).message}` };
  }
  for (const f of files) {
    const st = await stat(path.join(dir, f.path)).catch(() => null);
    if (!st) return { ok: false, problem: `${f.path} is missing` };
    if (st.size !== f.size) return { ok: false, problem: `${f.path} has ${st.size} bytes, ${f.size} when it was made` };
  }
  return { ok: true, record };
}

/** The entry's top-level files and the named deeper ones, with their sizes. */
async function entryFiles(dir: string, deeper: string[]): Promise<z.infer<typeof EntryFilesSchema>> {
  const top = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile() && !BOOKKEEPING.has(e.name))
    .map((e) => e.name);
  const out = [];
  for (const p of [...new Set([...top, ...deeper])]) {
    const st = await stat(path.join(dir, p)).catch(() => null);
    if (!st) throw new Error(`cache entry is missing ${p}, which its stage said it made`);
    out.push({ path: p, size: st.size });
  }
  return out;
}

/** Scratch directories of builds whose process is gone (killed, crashed). */
async function removeStalePartials(dir: string, say?: (msg: string) => void): Promise<void> {
  const parent = path.dirname(dir);
  const prefix = `${path.basename(dir)}.partial-`;
  const names = await readdir(parent).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid)) continue;
    say?.(`removing ${path.join(parent, name)}, left by a build that did not finish`);
    await removeQuietly(path.join(parent, name));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
