import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { cacheRoot } from "../paths.js";
import { BenchError } from "../util/errors.js";
import { run, runAllowFail } from "../util/exec.js";
import type { Progress } from "../util/progress.js";

/** Debian packages each part of the pipeline needs on the host. */
export const HOST_PACKAGES = {
  vm: ["qemu-system-x86", "busybox-static", "cpio", "gzip", "gcc", "libc6-dev"],
  kernel: ["make", "gcc", "flex", "bison", "bc", "libelf-dev", "libssl-dev", "perl", "xz-utils", "dpkg-dev"],
  erofsUtils: ["dpkg-dev", "autoconf", "automake", "libtool", "pkg-config", "liblz4-dev", "uuid-dev", "zlib1g-dev", "libssl-dev", "libxml2-dev"],
  rootfs: ["mmdebstrap"],
  git: ["git", "patch"],
} as const;

export type HostPart = keyof typeof HOST_PACKAGES;

let aptUpdated = false;

export async function missingPackages(pkgs: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const p of new Set(pkgs)) {
    const r = await runAllowFail("dpkg-query", ["-W", "-f=${Status}", p]);
    if (r.exitCode !== 0 || !r.stdout.includes("install ok installed")) missing.push(p);
  }
  return missing;
}

/**
 * Installs what is missing when we may (root), otherwise stops with the exact
 * command the user has to run.
 */
export async function ensureHostPackages(parts: HostPart[], progress: Progress): Promise<string[]> {
  const wanted = parts.flatMap((p) => HOST_PACKAGES[p]);
  const missing = await missingPackages(wanted);
  if (missing.length === 0) return [];
  const cmd = `apt-get install -y --no-install-recommends ${missing.join(" ")}`;
  if (process.getuid?.() !== 0) {
    throw new BenchError(`host packages missing: ${missing.join(", ")}`, `run as root: apt-get update && ${cmd}`);
  }
  await progress.stage("provision", `installing ${missing.join(" ")}`, async () => {
    const env = { DEBIAN_FRONTEND: "noninteractive" };
    if (!aptUpdated) {
      await run("apt-get", ["update", "-q"], { env, what: "apt-get update" });
      aptUpdated = true;
    }
    await run("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...missing], { env, what: cmd });
  });
  return missing;
}

/**
 * The tool's own apt configuration: Debian suites the host does not list
 * (trixie, trixie-security, trixie-backports, forky, sid), used only for
 * downloads (`apt-get download`, `apt-get source`), never for installing.
 */
export class DebianArchive {
  readonly dir: string;

  constructor(readonly suites: readonly string[] = DEFAULT_SUITES, dir?: string) {
    this.dir = dir ?? path.join(cacheRoot(), "apt");
  }

  options(): string[] {
    const d = this.dir;
    return [
      `-o`, `Dir::Etc::SourceList=${d}/sources.list`,
      `-o`, `Dir::Etc::SourceParts=${d}/sources.list.d`,
      `-o`, `Dir::State::Lists=${d}/lists`,
      `-o`, `Dir::Cache=${d}/cache`,
      `-o`, `Dir::Etc::Preferences=${d}/preferences`,
      `-o`, `Dir::Etc::PreferencesParts=${d}/preferences.d`,
      `-o`, `APT::Sandbox::User=root`,
    ];
  }

  sourcesList(): string {
    const key = "/usr/share/keyrings/debian-archive-keyring.gpg";
    return this.suites
      .flatMap((s) => {
        const uri = s.endsWith("-security") ? "http://deb.debian.org/debian-security" : "http://deb.debian.org/debian";
        return [`deb [signed-by=${key}] ${uri} ${s} main`, `deb-src [signed-by=${key}] ${uri} ${s} main`];
      })
      .join("\n") + "\n";
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
  }

  /** Every (version, suite) apt knows for a binary package, newest first. */
  async versions(pkg: string): Promise<Array<{ version: string; suite: string }>> {
    return (await this.versionsOf([pkg])).get(pkg) ?? [];
  }

  /** The same for several packages with one apt-cache call. */
  async versionsOf(pkgs: string[]): Promise<Map<string, Array<{ version: string; suite: string }>>> {
    const out = new Map<string, Array<{ version: string; suite: string }>>();
    if (!pkgs.length) return out;
    const r = await runAllowFail("apt-cache", [...this.options(), "madison", ...pkgs]);
    for (const row of parseMadison(r.stdout)) {
      if (row.kind !== "Packages" || !pkgs.includes(row.pkg)) continue;
      out.set(row.pkg, [...(out.get(row.pkg) ?? []), { version: row.version, suite: row.suite }]);
    }
    for (const [k, v] of out) out.set(k, sortVersionsDesc(v));
    return out;
  }

  async sourceVersions(pkg: string): Promise<Array<{ version: string; suite: string }>> {
    const r = await runAllowFail("apt-cache", [...this.options(), "madison", pkg]);
    const rows = parseMadison(r.stdout).filter((x) => x.pkg === pkg && x.kind === "Sources");
    return sortVersionsDesc(rows.map(({ version, suite }) => ({ version, suite })));
  }

  async packageNames(prefix: string): Promise<string[]> {
    const r = await run("apt-cache", [...this.options(), "pkgnames", prefix]);
    return r.stdout.split("\n").map((s) => s.trim()).filter(Boolean).sort();
  }

  async download(pkg: string, version: string, destDir: string): Promise<void> {
    await mkdir(destDir, { recursive: true });
    await run("apt-get", [...this.options(), "download", `${pkg}=${version}`], {
      cwd: destDir,
      what: `apt-get download ${pkg}=${version}`,
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

export const DEFAULT_SUITES = ["trixie", "trixie-security", "trixie-backports", "forky", "sid"] as const;

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

/** Debian version ordering (epoch, upstream, revision; '~' sorts before anything). */
export function compareDebianVersions(a: string, b: string): number {
  const split = (v: string): [number, string, string] => {
    const colon = v.indexOf(":");
    const epoch = colon >= 0 ? Number(v.slice(0, colon)) : 0;
    const rest = colon >= 0 ? v.slice(colon + 1) : v;
    const dash = rest.lastIndexOf("-");
    return dash >= 0 ? [epoch, rest.slice(0, dash), rest.slice(dash + 1)] : [epoch, rest, "0"];
  };
  const [ea, ua, ra] = split(a);
  const [eb, ub, rb] = split(b);
  if (ea !== eb) return ea - eb;
  return compareFragment(ua, ub) || compareFragment(ra, rb);
}

function orderOf(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === "~") return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !/\d/.test(a[i]!)) || (j < b.length && !/\d/.test(b[j]!))) {
      const ca = i < a.length && !/\d/.test(a[i]!) ? a[i] : undefined;
      const cb = j < b.length && !/\d/.test(b[j]!) ? b[j] : undefined;
      const d = orderOf(ca) - orderOf(cb);
      if (d !== 0) return d;
      if (ca !== undefined) i++;
      if (cb !== undefined) j++;
    }
    let na = "";
    let nb = "";
    while (i < a.length && /\d/.test(a[i]!)) na += a[i++];
    while (j < b.length && /\d/.test(b[j]!)) nb += b[j++];
    const d = Number(na || "0") - Number(nb || "0");
    if (d !== 0) return d;
  }
  return 0;
}

export function sortVersionsDesc<T extends { version: string }>(rows: T[]): T[] {
  return [...rows].sort((x, y) => compareDebianVersions(y.version, x.version));
}
