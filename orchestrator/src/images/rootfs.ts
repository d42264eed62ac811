import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { cached } from "../util/cache.js";
import { BenchError } from "../util/errors.js";
import { run, runAllowFail } from "../util/exec.js";
import { hashOf, sha256File, writeJsonAtomic } from "../util/fsx.js";
import type { Progress } from "../util/progress.js";
import type { DebianArchive } from "../host/debianArchive.js";
import { pipHook, pipInputs, pipRecord, PipRecordSchema, type PipInputs } from "./pip.js";
import { pipName, versionFromPip, type DebianWorkload } from "./workloads.js";

export const RootfsRecordSchema = z.object({
  tar: z.string(),
  tarSha256: z.string(),
  tarBytes: z.number(),
  suites: z.array(z.string()),
  /** Installed versions of the recipe's packages, read from the rootfs' dpkg status. */
  installed: z.record(z.string(), z.string()),
  /** Every package the rootfs holds, with its version (dpkg status). */
  packages: z.record(z.string(), z.string()),
  /** The side's pip packages, when it has some. */
  pip: PipRecordSchema.optional(),
  label: z.string(),
  mmdebstrap: z.string(),
  seconds: z.number(),
});
export type RootfsRecord = z.infer<typeof RootfsRecordSchema>;

export interface Rootfs {
  tar: string;
  record: RootfsRecord;
  reused: boolean;
}

export function mirrorLine(suite: string): string {
  const uri = suite.endsWith("-security") ? "http://deb.debian.org/debian-security" : "http://deb.debian.org/debian";
  return `deb ${uri} ${suite} main`;
}

/** Version fields of a dpkg status file, for installed packages. */
export function parseDpkgStatus(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const para of text.split(/\n\n+/)) {
    const pkg = /^Package: (\S+)$/m.exec(para)?.[1];
    const version = /^Version: (\S+)$/m.exec(para)?.[1];
    const status = /^Status: (.*)$/m.exec(para)?.[1] ?? "";
    if (pkg && version && status.endsWith(" installed")) out.set(pkg, version);
  }
  return out;
}

/** "5:8.0.2-3+deb13u2" → "8.0.2-3+deb13u2": the epoch means nothing to a reader. */
export function versionLabel(v: string): string {
  return v.replace(/^\d+:/, "");
}

/** What a variant installs besides the recipe's packages, as apt patterns (mmdebstrap's definition of each). */
const VARIANT_BASE: Record<DebianWorkload["rootfs"]["variant"], string[]> = {
  essential: ["?essential"],
  apt: ["?essential", "apt"],
  minbase: ["?essential", "?priority(required)", "apt"],
  required: ["?essential", "?priority(required)", "apt"],
};

/**
 * Every package (and version) a side's rootfs would hold if built today: the
 * whole set apt resolves, not only the recipe's packages, so a security
 * update to libc or libssl makes a new image. Remembered per state of the
 * package lists, so a run with unchanged lists does not ask apt again.
 */
export async function resolvePackageSet(archive: DebianArchive, rootfs: DebianWorkload["rootfs"], suites: string[]): Promise<Record<string, string>> {
  const wants = [...VARIANT_BASE[rootfs.variant], ...rootfs.include];
  const memo = path.join(archive.dir, "resolved", `${hashOf({ wants, suites, lists: await archive.listsDigest(suites) }).slice(0, 24)}.json`);
  const known = await readFile(memo, "utf8").then((t) => z.record(z.string(), z.string()).parse(JSON.parse(t))).catch(() => null);
  if (known) return known;
  const set = Object.fromEntries([...(await archive.simulateInstall(suites, wants))].sort(([a], [b]) => (a < b ? -1 : 1)));
  for (const p of rootfs.include) {
    if (!set[p]) throw new BenchError(`package ${p} is in none of the suites ${suites.join(", ")}`, "fix the workload's rootfs.include or suites");
  }
  await writeJsonAtomic(memo, set);
  return set;
}

/** What a rootfs is made of, as its cache key: the recipe, every package version it resolves to, and the side's pip pins. */
export function rootfsInputs(r: DebianWorkload["rootfs"], suites: string[], packages: Record<string, string>, pip?: PipInputs): object {
  // only a side with pip packages has the key, so every other rootfs keeps its cache entry
  return { variant: r.variant, include: r.include, customize: r.customize, suites, packages, ...(pip ? { pip } : {}), v: 2 };
}

export async function buildDebianRootfs(opts: {
  workload: DebianWorkload;
  side: "a" | "b";
  archive: DebianArchive;
  progress: Progress;
}): Promise<Rootfs> {
  const { workload, side, archive, progress } = opts;
  const r = workload.rootfs;
  const suites = r[side].suites;
  await archive.update(progress);
  const packages = await resolvePackageSet(archive, r, suites);
  const mm = (await runAllowFail("mmdebstrap", ["--version"])).stdout.trim() || "mmdebstrap (unknown)";
  const pip = await pipInputs(r, side);
  const inputs = rootfsInputs(r, suites, packages, pip);
  const hit = await cached("rootfs", inputs, RootfsRecordSchema, (dir) =>
    progress.stage("rootfs", `mmdebstrap ${workload.name} ${side.toUpperCase()} (${suites.join(" + ")}: ${r.include.join(", ")})`, async () => {
      const t0 = Date.now();
      const tar = path.join(dir, "rootfs.tar");
      // the venv first: the workload's own hooks may use it
      const hooks = [...(pip ? [await pipHook(dir, pip)] : []), ...r.customize];
      const args = [
        `--variant=${r.variant}`,
        `--include=${r.include.join(",")}`,
        ...hooks.map((c) => `--customize-hook=${c}`),
        suites[0]!,
        tar,
        ...suites.map(mirrorLine),
      ];
      await run("mmdebstrap", args, { logFile: path.join(dir, "mmdebstrap.log"), what: `mmdebstrap for ${workload.name} ${side.toUpperCase()}` });
      const status = await run("tar", ["-xOf", tar, "./var/lib/dpkg/status"], { what: `reading dpkg status from ${tar}` });
      const installedAll = parseDpkgStatus(status.stdout);
      const installed: Record<string, string> = {};
      for (const p of r.include) {
        const v = installedAll.get(p);
        if (!v) throw new BenchError(`${workload.name} ${side.toUpperCase()}: ${p} is not installed in the rootfs mmdebstrap made`);
        installed[p] = v;
      }
      const pipFound = pip ? await pipRecord(tar, pip, `${workload.name} ${side.toUpperCase()}`) : undefined;
      const labelVersion = versionFromPip(r) ? pipFound?.installed[pipName(r.versionPackage)] : installed[r.versionPackage];      return {
        tar: "rootfs.tar",
        tarSha256: await sha256File(tar),
        tarBytes: (await stat(tar)).size,
        suites,
        installed,
        packages: Object.fromEntries([...installedAll].sort(([a], [b]) => (a < b ? -1 : 1))),
        ...(pipFound ? { pip: pipFound } : {}),
        label: versionLabel(labelVersion ?? "?"),
        mmdebstrap: mm,
        seconds: (Date.now() - t0) / 1000,
      };
    }),
    { say: (m) => progress.info(m) },
  );
  return { tar: path.join(hit.dir, hit.record.tar), record: hit.record, reused: hit.reused };
}
