import { stat } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { cached } from "../util/cache.js";
import { BenchError } from "../util/errors.js";
import { run, runAllowFail } from "../util/exec.js";
import { sha256File } from "../util/fsx.js";
import type { Progress } from "../util/progress.js";
import type { DebianArchive } from "../host/debianArchive.js";
import type { DebianWorkload } from "./workloads.js";

export const RootfsRecordSchema = z.object({
  tar: z.string(),
  tarSha256: z.string(),
  tarBytes: z.number(),
  suites: z.array(z.string()),
  /** Installed versions of the recipe's packages, read from the rootfs' dpkg status. */
  installed: z.record(z.string(), z.string()),
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

/**
 * Which versions of the recipe's packages a side would get today: the
 * newest over its suites. Part of the cache key, so a new security update
 * makes a new rootfs and nothing else does.
 */
export async function resolveVersions(archive: DebianArchive, packages: string[], suites: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const all = await archive.versionsOf(packages);
  for (const p of packages) {
    // versionsOf lists newest first
    const vs = (all.get(p) ?? []).filter((v) => suites.includes(v.suite));
    if (!vs[0]) throw new BenchError(`package ${p} is in none of the suites ${suites.join(", ")}`, "fix the workload's rootfs.include or suites");
    out[p] = vs[0].version;
  }
  return out;
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
  const resolved = await resolveVersions(archive, r.include, suites);
  const mm = (await runAllowFail("mmdebstrap", ["--version"])).stdout.trim() || "mmdebstrap (unknown)";
  const inputs = { variant: r.variant, include: r.include, customize: r.customize, suites, resolved, v: 1 };
  const hit = await cached("rootfs", inputs, RootfsRecordSchema, (dir) =>
    progress.stage("rootfs", `mmdebstrap ${workload.name} ${side.toUpperCase()} (${suites.join(" + ")}: ${r.include.join(", ")})`, async () => {
      const t0 = Date.now();
      const tar = path.join(dir, "rootfs.tar");
      const args = [
        `--variant=${r.variant}`,
        `--include=${r.include.join(",")}`,
        ...r.customize.map((c) => `--customize-hook=${c}`),
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
      return {
        tar: "rootfs.tar",
        tarSha256: await sha256File(tar),
        tarBytes: (await stat(tar)).size,
        suites,
        installed,
        label: versionLabel(installed[r.versionPackage] ?? "?"),
        mmdebstrap: mm,
        seconds: (Date.now() - t0) / 1000,
      };
    }),
    { say: (m) => progress.info(m) },
  );
  return { tar: path.join(hit.dir, hit.record.tar), record: hit.record, reused: hit.reused };
}
