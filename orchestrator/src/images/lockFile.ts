import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { BenchError } from "../util/errors.js";
import { hashOf, sha256, writeFileAtomic } from "../util/fsx.js";
import { workloadsDir } from "../util/paths.js";
import type { DebianWorkload } from "./workloads.js";

/**
 * A lock: what every image of a job is made of, resolved once and kept. Per
 * workload and side, every Debian package the root filesystem holds (not
 * only the recipe's), with its version, architecture and the SHA256 of its
 * .deb, and the side's pip pins; for the job, the erofs-utils source
 * package that writes the images and the kernel source package that was
 * current when it was made. Images are built from the lock and nothing
 * else; `lock update` is the only way a pair moves.
 */

export const LOCK_SCHEMA = 1;

/** The repository's lock: the default job's workloads and the seed workloads. */
export const DEFAULT_LOCK = path.join(workloadsDir, "lock.json");

export const LockedPackageSchema = z.strictObject({
  name: z.string(),
  version: z.string(),
  arch: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  /** Its path in the Debian archive's pool, as the Packages index gave it. */
  filename: z.string(),
});
export type LockedPackage = z.infer<typeof LockedPackageSchema>;

export const LockedSideSchema = z.strictObject({
  suites: z.array(z.string()).min(1),
  packages: z.array(LockedPackageSchema).min(1),
  /** The side's pip requirements (name==version --hash=sha256:...), as the recipe pins them. */
  pip: z.array(z.string()).optional(),
});
export type LockedSide = z.infer<typeof LockedSideSchema>;

export const LockedWorkloadSchema = z.strictObject({
  /** What the resolution depended on (variant, include, suites, pip pins): a recipe that differs needs `lock update`. */
  recipe: z.string(),
  lockedAt: z.string(),
  /** Each suite's Release date in the lists the lock was resolved from. */
  archive: z.record(z.string(), z.string()),
  a: LockedSideSchema,
  b: LockedSideSchema,
});
export type LockedWorkload = z.infer<typeof LockedWorkloadSchema>;

export const LockedToolsSchema = z.strictObject({
  /** The erofs-utils source package mkfs.erofs is built from. */
  erofsUtils: z.strictObject({ version: z.string() }),
  /** The newest Debian kernel source package when the lock was made (the kernel is what is measured: it is recorded, not pinned). */
  kernelSource: z.strictObject({ package: z.string(), version: z.string() }).optional(),
});

export const LockSchema = z.strictObject({
  schema: z.literal(LOCK_SCHEMA),
  lockedAt: z.string(),
  tools: LockedToolsSchema,
  workloads: z.record(z.string(), LockedWorkloadSchema),
});
export type Lock = z.infer<typeof LockSchema>;

/** What run.json says of the lock its images were built from. */
export const LockRecordSchema = z.object({
  file: z.string(),
  sha256: z.string(),
  lockedAt: z.string(),
  erofsUtils: z.string(),
  kernelSource: z.string().optional(),
  /** When each workload's entry was resolved, and from which Release dates. */
  workloads: z.record(z.string(), z.object({ lockedAt: z.string(), archive: z.record(z.string(), z.string()) })),
});
export type LockRecord = z.infer<typeof LockRecordSchema>;

export function lockRecord(loaded: LoadedLock, workloads: string[]): LockRecord {
  const { lock } = loaded;
  const ks = lock.tools.kernelSource;
  return {
    file: loaded.file,
    sha256: loaded.sha256,
    lockedAt: lock.lockedAt,
    erofsUtils: lock.tools.erofsUtils.version,
    ...(ks ? { kernelSource: `${ks.package} ${ks.version}` } : {}),
    workloads: Object.fromEntries(
      workloads
        .filter((w) => lock.workloads[w])
        .map((w) => [w, { lockedAt: lock.workloads[w]!.lockedAt, archive: lock.workloads[w]!.archive }]),
    ),
  };
}

/** A lock as a run uses it: where it came from and its digest, which results name. */
export interface LoadedLock {
  file: string;
  sha256: string;
  lock: Lock;
}

/** The part of a workload's recipe that decides what apt resolves: a change here makes the lock stale. */
export function recipeOf(w: DebianWorkload): string {
  const r = w.rootfs;
  return hashOf({ variant: r.variant, include: [...r.include].sort(), a: r.a, b: r.b }).slice(0, 16);
}

/** How a lock is written: one package per line, so a diff of two locks reads package by package. */
export function renderLock(lock: Lock): string {
  const parsed = LockSchema.parse(lock);
  const side = (s: LockedSide, pad: string) => {
    const lines = [`${pad}"suites": ${JSON.stringify(s.suites)},`];
    if (s.pip) lines.push(`${pad}"pip": [\n${s.pip.map((p) => `${pad}  ${JSON.stringify(p)}`).join(",\n")}\n${pad}],`);
    lines.push(`${pad}"packages": [\n${s.packages.map((p) => `${pad}  ${JSON.stringify(p)}`).join(",\n")}\n${pad}]`);
    return lines.join("\n");
  };
  const names = Object.keys(parsed.workloads).sort();
  const workloads = names.map((n) => {
    const w = parsed.workloads[n]!;
    return [
      `    ${JSON.stringify(n)}: {`,
      `      "recipe": ${JSON.stringify(w.recipe)},`,
      `      "lockedAt": ${JSON.stringify(w.lockedAt)},`,
      `      "archive": ${JSON.stringify(w.archive)},`,
      `      "a": {\n${side(w.a, "        ")}\n      },`,
      `      "b": {\n${side(w.b, "        ")}\n      }`,
      `    }`,
    ].join("\n");
  });
  return [
    "{",
    `  "schema": ${parsed.schema},`,
    `  "lockedAt": ${JSON.stringify(parsed.lockedAt)},`,
    `  "tools": ${JSON.stringify(parsed.tools)},`,
    `  "workloads": {\n${workloads.join(",\n")}\n  }`,
    "}",
    "",
  ].join("\n");
}

export async function writeLock(file: string, lock: Lock): Promise<void> {
  await writeFileAtomic(file, renderLock(lock));
}

/** A lock file, checked; `what` names it in errors (e.g. "--lock x.json"). */
export async function loadLock(file: string, what = file): Promise<LoadedLock> {
  const text = await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT")
      throw new BenchError(`lock ${what} does not exist`, `make it with: npm run bench -- lock update --lock ${file}`);
    throw new BenchError(`cannot read lock ${what}: ${e.message}`, "check the path");
  });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BenchError(
      `lock ${what} is not JSON: ${(e as Error).message}`,
      `restore it from git, or make it again with: npm run bench -- lock update --lock ${file}`,
    );
  }
  const r = LockSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new BenchError(
      `lock ${what} is not a lock this version reads: ${i?.path.join(".") || "(top)"}: ${i?.message}`,
      `make it again with: npm run bench -- lock update --lock ${file}`,
    );
  }
  return { file: path.resolve(file), sha256: sha256(text), lock: r.data };
}

/** A workload's entry of the lock, or an error naming the workload, the lock and the command that makes the entry. */
export function lockedWorkload(loaded: LoadedLock, w: DebianWorkload): LockedWorkload {
  const fix = `npm run bench -- lock update ${w.name}${loaded.file === DEFAULT_LOCK ? "" : ` --lock ${loaded.file}`}`;
  const entry = loaded.lock.workloads[w.name];
  if (!entry)
    throw new BenchError(
      `workload ${w.name} is not in lock ${loaded.file}: its images would be whatever the archive holds today`,
      `resolve it once with: ${fix}`,
    );
  if (entry.recipe !== recipeOf(w)) {
    throw new BenchError(
      `workloads/${w.name}.yaml changed (packages, suites or pip pins) since lock ${loaded.file} was made for it, so the lock no longer says what its images hold`,
      `move the lock forward with: ${fix}`,
    );
  }
  return entry;
}

/** One package that differs between two package lists. */
export interface PackageChange {
  name: string;
  from?: string;
  to?: string;
}

/** Packages added, removed or at another version between two lists (by name; SHA256 alone moving is a change too). */
export function packageChanges(
  from: Array<Pick<LockedPackage, "name" | "version"> & { sha256?: string }>,
  to: typeof from,
): PackageChange[] {
  const a = new Map(from.map((p) => [p.name, p]));
  const b = new Map(to.map((p) => [p.name, p]));
  const out: PackageChange[] = [];
  for (const name of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(name);
    const y = b.get(name);
    if (x && y && x.version === y.version && x.sha256 === y.sha256) continue;
    out.push({ name, from: x?.version, to: y?.version });
  }
  return out;
}

/** "libssl3 3.0.15-1~deb12u1 -> 3.0.16-1~deb12u1", "+ libfoo 1.2", "- libbar 0.9". */
export function describeChange(c: PackageChange): string {
  if (c.from === undefined) return `+ ${c.name} ${c.to}`;
  if (c.to === undefined) return `- ${c.name} ${c.from}`;
  return c.from === c.to ? `${c.name} ${c.to} (rebuilt: another .deb)` : `${c.name} ${c.from} -> ${c.to}`;
}

/** What moved between two locks, workload by workload and side by side. */
export interface LockMove {
  workload: string;
  side: "a" | "b";
  changes: PackageChange[];
  pipChanged: boolean;
}

export function lockMoves(before: Lock | undefined, after: Lock, workloads: string[]): LockMove[] {
  const out: LockMove[] = [];
  for (const w of workloads) {
    const x = before?.workloads[w];
    const y = after.workloads[w];
    if (!y) continue;
    for (const side of ["a", "b"] as const) {
      const changes = packageChanges(x?.[side].packages ?? [], y[side].packages);
      const pipChanged = JSON.stringify(x?.[side].pip ?? []) !== JSON.stringify(y[side].pip ?? []);
      if (changes.length || pipChanged) out.push({ workload: w, side, changes, pipChanged });
    }
  }
  return out;
}
