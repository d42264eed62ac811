import { copyFile, link, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { BenchError } from "../util/errors.js";
import { run } from "../util/exec.js";
import { sha256, sha256File, writeFileAtomic } from "../util/fsx.js";
import { cacheRoot } from "../util/paths.js";
import type { Progress } from "../util/progress.js";
import type { DebianArchive } from "../host/debianArchive.js";
import { DEFAULT_LOCK, lockedWorkload, type LoadedLock, type LockedPackage } from "./lockFile.js";
import type { WorkloadSpec } from "./workloads.js";

/**
 * Every .deb a lock names, kept by its SHA256 the first time it is fetched
 * (`<cache>/debs/<sha256>.deb`), so a pair is rebuilt from the same bytes on
 * any night, after the archive has moved on, and offline from an export.
 */
export class DebStore {
  readonly dir: string;

  constructor(dir?: string) {
    this.dir = dir ?? path.join(cacheRoot(), "debs");
  }

  fileOf(p: Pick<LockedPackage, "sha256">): string {
    return path.join(this.dir, `${p.sha256}.deb`);
  }

  async has(p: Pick<LockedPackage, "sha256" | "size">): Promise<boolean> {
    const st = await stat(this.fileOf(p)).catch(() => null);
    return st?.size === p.size;
  }

  async missing(pkgs: LockedPackage[]): Promise<LockedPackage[]> {
    const out: LockedPackage[] = [];
    for (const p of uniqueBySha(pkgs)) if (!(await this.has(p))) out.push(p);
    return out;
  }

  /** Keeps one file as the package it must be; a file whose SHA256 is not the lock's is refused, named. */
  async keep(file: string, p: LockedPackage, from: string): Promise<void> {
    const digest = await sha256File(file);
    if (digest !== p.sha256) {
      throw new BenchError(
        `${from} gave ${path.basename(file)} with sha256 ${digest}, and the lock says ${p.name} ${p.version} (${p.arch}) is ${p.sha256}: refused`,
        "the file is damaged or is another build of that version; fetch it again from the archive, or move the lock with: npm run bench -- lock update",
      );
    }
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.fileOf(p)}.tmp-${process.pid}`;
    await copyFile(file, tmp);
    await rename(tmp, this.fileOf(p));
  }

  /**
   * Takes from a folder of .debs (an export's `debs/`, or files gathered by
   * hand) every file that is a package of `pkgs`, by its SHA256; other files
   * are left alone. Returns how many it kept.
   */
  async importFolder(folder: string, pkgs: LockedPackage[]): Promise<number> {
    const bySha = new Map(uniqueBySha(pkgs).map((p) => [p.sha256, p]));
    const files = await readdir(folder).catch((e: Error) => {
      throw new BenchError(`--debs ${folder}: ${e.message}`, "pass a folder of .deb files (an export's debs/ folder)");
    });
    let kept = 0;
    for (const f of files.filter((x) => x.endsWith(".deb"))) {
      const file = path.join(folder, f);
      const p = bySha.get(await sha256File(file));
      if (!p || (await this.has(p))) continue;
      await this.keep(file, p, `--debs ${folder}`);
      kept++;
    }
    return kept;
  }

  /** Downloads what the store lacks with apt (the tool's lists), checking each file against the lock. */
  async fetch(archive: DebianArchive, pkgs: LockedPackage[], progress: Progress): Promise<void> {
    const missing = await this.missing(pkgs);
    if (!missing.length) return;
    const scratch = path.join(this.dir, `.download-${process.pid}-${Date.now()}`);
    await mkdir(scratch, { recursive: true });
    try {
      await progress.stage("debs", `downloading ${missing.length} locked package(s)`, async () => {
        // one apt call per batch: each call loads every suite's lists, a second or more
        for (let i = 0; i < missing.length; i += 150) {
          const batch = missing.slice(i, i + 150);
          const dir = path.join(scratch, String(i));
          await archive.downloadMany(batch, dir);
          const bySha = new Map(batch.map((p) => [p.sha256, p]));
          const files = (await readdir(dir)).filter((f) => f.endsWith(".deb"));
          for (const f of files) {
            const file = path.join(dir, f);
            const digest = await sha256File(file);
            const p =
              bySha.get(digest) ?? batch.find((x) => f.startsWith(`${x.name}_`) && f.endsWith(`_${x.arch}.deb`));
            if (!p) continue;
            await this.keep(file, p, `the archive (apt-get download ${p.name}=${p.version})`);
          }
          const still = await this.missing(batch);
          if (still.length)
            throw new BenchError(
              `apt-get download left no .deb for ${still.map((p) => `${p.name}=${p.version}`).join(", ")}`,
              "check the network, or give the files with --debs DIR",
            );
        }
      });
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
}

export function uniqueBySha(pkgs: LockedPackage[]): LockedPackage[] {
  return [...new Map(pkgs.map((p) => [p.sha256, p])).values()];
}

/**
 * Before anything is built: every package of the lock is in the store, or
 * the archive still has it as the same file. Otherwise the run stops here,
 * naming each package and version and the two ways out.
 */
export async function checkLockedPackages(opts: {
  store: DebStore;
  archive: DebianArchive;
  pkgs: Array<LockedPackage & { workload: string }>;
  lockFile: string;
}): Promise<void> {
  const missing = await opts.store.missing(opts.pkgs);
  if (!missing.length) return;
  const offered = await opts.archive.packageRecords(missing);
  const gone = missing.filter((p) => offered.get(`${p.name}=${p.version}`)?.sha256 !== p.sha256);
  if (!gone.length) return;
  const owners = (p: LockedPackage) =>
    [...new Set(opts.pkgs.filter((x) => x.sha256 === p.sha256).map((x) => x.workload))].join(", ");
  const shown = gone.slice(0, 12).map((p) => `${p.name} ${p.version} (${p.arch}; ${owners(p)})`);
  const more = gone.length > shown.length ? `, and ${gone.length - shown.length} more` : "";
  const lockArg = path.resolve(opts.lockFile) === DEFAULT_LOCK ? "" : ` --lock ${opts.lockFile}`;
  throw new BenchError(
    `${gone.length} package(s) of lock ${opts.lockFile} are neither in the archive any more nor in the cache (${opts.store.dir}): ${shown.join(", ")}${more}`,
    `either give the .debs: --debs DIR (a folder holding them, such as an export's debs/, from a machine that built these images), ` +
      `or move the lock to what the archive holds now: npm run bench -- lock update${lockArg} (the pair then changes, and says how)`,
  );
}

/**
 * Every package the run's Debian workloads are locked to, ready before
 * anything is built: taken from --debs where given, else in the store or
 * still in the archive as the same file.
 */
export async function ensureLockedPackages(opts: {
  lock: LoadedLock;
  workloads: WorkloadSpec[];
  archive: DebianArchive;
  store: DebStore;
  debs?: string;
  progress: Progress;
}): Promise<void> {
  const pkgs = opts.workloads.flatMap((w) => {
    if (w.kind !== "debian") return [];
    const entry = lockedWorkload(opts.lock, w);
    return [...entry.a.packages, ...entry.b.packages].map((p) => ({ ...p, workload: w.name }));
  });
  if (!pkgs.length) return;
  if (opts.debs) {
    const kept = await opts.store.importFolder(opts.debs, pkgs);
    opts.progress.info(`--debs ${opts.debs}: ${kept} package(s) of the lock taken into the cache`);
  }
  if (!(await opts.store.missing(pkgs)).length) return;
  await opts.archive.update(opts.progress);
  await checkLockedPackages({ store: opts.store, archive: opts.archive, pkgs, lockFile: opts.lock.file });
}

/**
 * A flat apt repository holding exactly one side's packages (hard links
 * into the store), for mmdebstrap's file:// mirror: apt can then install
 * nothing but the locked files.
 */
export async function writeLocalMirror(
  store: DebStore,
  pkgs: LockedPackage[],
  dir: string,
  suite: string,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const p of pkgs) {
    const to = path.join(dir, `${p.name}_${p.version.replace(/^\d+:/, "")}_${p.arch}.deb`);
    await link(store.fileOf(p), to).catch(() => copyFile(store.fileOf(p), to));
  }
  const index = await run("dpkg-scanpackages", ["--multiversion", ".", "/dev/null"], {
    cwd: dir,
    what: `dpkg-scanpackages in ${dir}`,
  });
  await writeFileAtomic(path.join(dir, "Packages"), index.stdout);
  // the suite's name lets mmdebstrap find the packages of the suite it is asked for
  const release = [
    "Origin: erofs-share-bench lock",
    `Suite: ${suite}`,
    `Codename: ${suite}`,
    "Architectures: amd64 all",
    "Components: main",
    "SHA256:",
    ` ${sha256(index.stdout)} ${Buffer.byteLength(index.stdout)} Packages`,
    "",
  ].join("\n");
  await writeFileAtomic(path.join(dir, "Release"), release);
}
