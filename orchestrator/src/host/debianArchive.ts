import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { BenchError } from "../util/errors.js";
import { run, runAllowFail } from "../util/exec.js";
import { withLock } from "../util/fileLock.js";
import { writeFileAtomic } from "../util/fsx.js";
import { cacheRoot } from "../util/paths.js";
import type { Progress } from "../util/progress.js";
import { sortVersionsDesc } from "./debianVersion.js";

/**
 * The tool's own apt configuration: Debian suites the host does not list
 * (trixie, trixie-security, trixie-backports, forky, sid, bookworm,
 * bookworm-security), used only for downloads (`apt-get download`,
 * `apt-get source`) and look-ups, never for installing.
 */
export class DebianArchive {
  readonly dir: string;

  constructor(
    readonly suites: readonly string[] = DEFAULT_SUITES,
    dir?: string,
  ) {
    this.dir = dir ?? path.join(cacheRoot(), "apt");
  }

  options(): string[] {
    const d = this.dir;
    return [
      `-o`,
      `Dir::Etc::SourceList=${d}/sources.list`,
      `-o`,
      `Dir::Etc::SourceParts=${d}/sources.list.d`,
      `-o`,
      `Dir::State::Lists=${d}/lists`,
      `-o`,
      `Dir::Cache=${d}/cache`,
      `-o`,
      `Dir::Etc::Preferences=${d}/preferences`,
      `-o`,
      `Dir::Etc::PreferencesParts=${d}/preferences.d`,
      `-o`,
      `APT::Sandbox::User=root`,
    ];
  }

  sourcesList(): string {
    return this.sourcesListFor(this.suites, true);
  }

  private sourcesListFor(suites: readonly string[], withSources = false): string {
    const key = "/usr/share/keyrings/debian-archive-keyring.gpg";
    return (
      suites
        .flatMap((s) => {
          const uri = s.endsWith("-security")
            ? "http://deb.debian.org/debian-security"
            : "http://deb.debian.org/debian";
          return [
            `deb [signed-by=${key}] ${uri} ${s} main`,
            ...(withSources ? [`deb-src [signed-by=${key}] ${uri} ${s} main`] : []),
          ];
        })
        .join("\n") + "\n"
    );
  }

  /**
   * Refreshes package lists when older than 12 hours (or when the suite list
   * changed): a nightly job started at the same hour each day must see the
   * lists of that day, which a 24-hour limit would skip every other night.
   */
  async update(progress: Progress, maxAgeHours = 12): Promise<void> {
    const d = this.dir;
    for (const sub of ["lists/partial", "cache/archives/partial", "sources.list.d", "preferences.d"]) {
      await mkdir(path.join(d, sub), { recursive: true });
    }
    // two runs at once: one refreshes, the other waits and then finds the lists fresh
    await withLock(
      path.join(d, "update"),
      "refreshing the package lists",
      async () => {
        const list = this.sourcesList();
        const listFile = path.join(d, "sources.list");
        const stamp = path.join(d, "updated.stamp");
        let fresh = false;
        try {
          const [old, st] = [await readFile(listFile, "utf8"), await stat(stamp)];
          fresh = old === list && Date.now() - st.mtimeMs < maxAgeHours * 3600_000;
        } catch {
          fresh = false;
        }
        if (fresh) return;
        await writeFile(listFile, list);
        await progress.stage("apt", `updating package lists for ${this.suites.join(", ")}`, async () => {
          await run("apt-get", [...this.options(), "update", "-q"], {
            what: `apt-get update (tool's own lists in ${d})`,
          });
        });
        await writeFile(stamp, new Date().toISOString());
      },
      (m) => progress.info(m),
    );
  }

  /** Every (version, suite) apt knows for a binary package, newest first. */
  async versions(pkg: string): Promise<Array<{ version: string; suite: string }>> {
    return (await this.versionsOf([pkg])).get(pkg) ?? [];
  }

  /** The same for several packages with one apt-cache call. */
  async versionsOf(pkgs: string[]): Promise<Map<string, Array<{ version: string; suite: string }>>> {
    const out = new Map<string, Array<{ version: string; suite: string }>>();
    if (!pkgs.length) return out;
    for (const row of parseMadison(await this.aptCache(["madison", ...pkgs]))) {
      if (row.kind !== "Packages" || !pkgs.includes(row.pkg)) continue;
      out.set(row.pkg, [...(out.get(row.pkg) ?? []), { version: row.version, suite: row.suite }]);
    }
    for (const [k, v] of out) out.set(k, sortVersionsDesc(v));
    return out;
  }

  async sourceVersions(pkg: string): Promise<Array<{ version: string; suite: string }>> {
    const rows = parseMadison(await this.aptCache(["madison", pkg])).filter(
      (x) => x.pkg === pkg && x.kind === "Sources",
    );
    return sortVersionsDesc(rows.map(({ version, suite }) => ({ version, suite })));
  }

  async packageNames(prefix: string): Promise<string[]> {
    return (await this.aptCache(["pkgnames", prefix], true))
      .split("\n")
      .map((s) => s.trim())
      .filter(Boolean)
      .sort();
  }

  /**
   * What apt-cache prints for these arguments, remembered per state of the
   * lists: each query loads every suite's lists (seconds), and a warm run asks
   * the same ones again.
   */
  private async aptCache(args: string[], mustSucceed = false): Promise<string> {
    const key = createHash("sha256")
      .update(JSON.stringify({ args, lists: await this.listsDigest(this.suites) }))
      .digest("hex")
      .slice(0, 24);
    const memo = path.join(this.dir, "apt-cache", `${key}.txt`);
    const known = await readFile(memo, "utf8").catch(() => null);
    if (known !== null) return known;
    const r = mustSucceed
      ? await run("apt-cache", [...this.options(), ...args])
      : await runAllowFail("apt-cache", [...this.options(), ...args]);
    if (r.exitCode === 0) await writeFileAtomic(memo, r.stdout);
    return r.stdout;
  }

  /** The lists of these suites as they stand: their InRelease files' digest (it changes when the archive does). */
  async listsDigest(suites: readonly string[]): Promise<string> {
    const files = (await readdir(path.join(this.dir, "lists"))).filter((f) =>
      suites.some((s) => f.endsWith(`_dists_${s}_InRelease`)),
    );
    const h = createHash("sha256");
    for (const f of files.sort()) h.update(f).update(await readFile(path.join(this.dir, "lists", f)));
    return h.digest("hex");
  }

  /**
   * Every package apt would install into an empty root from these suites
   * alone, for these packages or patterns (`?essential`, `?priority(required)`),
   * without recommends: what mmdebstrap installs for a variant, with versions.
   */
  async simulateInstall(
    suites: readonly string[],
    wants: string[],
  ): Promise<Map<string, { version: string; arch: string }>> {
    const missing = suites.filter((s) => !this.suites.includes(s));
    if (missing.length)
      throw new BenchError(
        `suite ${missing.join(", ")} is not one the tool follows (${this.suites.join(", ")})`,
        "use those suites in the workload",
      );
    const list = path.join(this.dir, "sides", `${suites.join("+")}.list`);
    await mkdir(path.dirname(list), { recursive: true });
    await writeFile(list, this.sourcesListFor(suites));
    const r = await run(
      "apt-get",
      [
        ...this.options(),
        "-s",
        "-q",
        "-o",
        `Dir::Etc::SourceList=${list}`,
        "-o",
        "Dir::Etc::SourceParts=/nonexistent",
        "-o",
        "Dir::State::status=/dev/null",
        "-o",
        "Dir::Cache::pkgcache=",
        "-o",
        "Dir::Cache::srcpkgcache=",
        "-o",
        "APT::Install-Recommends=false",
        "-o",
        "Debug::NoLocking=1",
        "install",
        ...wants,
      ],
      { what: `apt-get -s install ${wants.join(" ")} (from ${suites.join(", ")})` },
    );
    return parseSimulatedInstall(r.stdout);
  }

  /**
   * The archive's own record of each package at one version (its .deb's
   * SHA256, size and pool path), from the lists as they stand; a package the
   * lists no longer hold at that version is absent from the answer.
   */
  async packageRecords(
    wanted: Array<{ name: string; version: string; arch: string }>,
  ): Promise<Map<string, ArchivePackage>> {
    const out = new Map<string, ArchivePackage>();
    if (!wanted.length) return out;
    const want = new Set(wanted.map((w) => `${w.name}\0${w.version}\0${w.arch}`));
    const text = await this.aptCache(["show", ...[...new Set(wanted.map((w) => `${w.name}=${w.version}`))]]);
    for (const p of parsePackageStanzas(text)) {
      if (want.has(`${p.name}\0${p.version}\0${p.arch}`)) out.set(`${p.name}=${p.version}`, p);
    }
    return out;
  }

  /** Each suite's Release date ("Sat, 06 Dec 2026 09:12:40 UTC"), read from the lists as they stand. */
  async releaseDates(suites: readonly string[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    const files = await readdir(path.join(this.dir, "lists")).catch(() => [] as string[]);
    for (const s of suites) {
      const f = files.find((x) => x.endsWith(`_dists_${s}_InRelease`));
      const text = f ? await readFile(path.join(this.dir, "lists", f), "utf8") : "";
      out[s] = /^Date: (.+)$/m.exec(text)?.[1] ?? "unknown";
    }
    return out;
  }

  async download(pkg: string, version: string, destDir: string): Promise<void> {
    await mkdir(destDir, { recursive: true });
    await run("apt-get", [...this.options(), "download", `${pkg}=${version}`], {
      cwd: destDir,
      what: `apt-get download ${pkg}=${version}`,
    });
  }

  /** Several packages at their versions with one apt call (apt checks each file against its lists). */
  async downloadMany(pkgs: Array<{ name: string; version: string }>, destDir: string): Promise<void> {
    await mkdir(destDir, { recursive: true });
    await run("apt-get", [...this.options(), "download", ...pkgs.map((p) => `${p.name}=${p.version}`)], {
      cwd: destDir,
      what: `apt-get download of ${pkgs.length} package(s)`,
    });
  }

  async source(pkg: string, version: string, destDir: string): Promise<void> {
    await mkdir(destDir, { recursive: true });
    await run("apt-get", [...this.options(), "source", "--download-only", `${pkg}=${version}`], {
      cwd: destDir,
      what: `apt-get source ${pkg}=${version}`,
    });
  }
}

/** bookworm and bookworm-security for the pairs only bookworm has: MariaDB 10.11's two patch releases, Python 3.11. */
export const DEFAULT_SUITES = [
  "trixie",
  "trixie-security",
  "trixie-backports",
  "forky",
  "sid",
  "bookworm",
  "bookworm-security",
] as const;

export interface MadisonRow {
  pkg: string;
  version: string;
  suite: string;
  kind: "Packages" | "Sources";
}

/** `apt-cache madison` lines: "pkg | version | uri suite/main amd64 Packages". */
export function parseMadison(text: string): MadisonRow[] {
  const rows: MadisonRow[] = [];
  for (const line of text.split("\n")) {
    const parts = line.split("|").map((s) => s.trim());
    if (parts.length < 3) continue;
    const [pkg, version, where] = parts as [string, string, string];
    const words = where.split(/\s+/);
    const suite = (words[1] ?? "").split("/")[0] ?? "";
    const kind = words.includes("Sources") ? "Sources" : "Packages";
    rows.push({ pkg, version, suite, kind });
  }
  return rows;
}

/** "Inst pkg (version suite [arch])" lines of `apt-get -s install`: package → version and architecture. */
export function parseSimulatedInstall(text: string): Map<string, { version: string; arch: string }> {
  const out = new Map<string, { version: string; arch: string }>();
  for (const m of text.matchAll(/^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) [^\n]*?\[([^\]\s]+)\]\)/gm))
    out.set(m[1]!, { version: m[2]!, arch: m[3]! });
  return out;
}

/** A package as a Packages index (or `apt-cache show`) describes it. */
export interface ArchivePackage {
  name: string;
  version: string;
  arch: string;
  sha256: string;
  size: number;
  filename: string;
}

/** The stanzas of a Packages index or of `apt-cache show`, with the fields a lock keeps. */
export function parsePackageStanzas(text: string): ArchivePackage[] {
  const out: ArchivePackage[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    const field = (k: string) => new RegExp(`^${k}: (.+)$`, "m").exec(para)?.[1]?.trim();
    const [name, version, arch, sha256, size, filename] = [
      "Package",
      "Version",
      "Architecture",
      "SHA256",
      "Size",
      "Filename",
    ].map(field);
    if (name && version && arch && sha256 && size && filename)
      out.push({ name, version, arch, sha256, size: Number(size), filename });
  }
  return out;
}
