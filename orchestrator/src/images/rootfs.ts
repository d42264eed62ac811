import { rm, stat } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { cached } from "../util/cache.js";
import { BenchError } from "../util/errors.js";
import { run, runAllowFail } from "../util/exec.js";
import { sha256File } from "../util/fsx.js";
import { cacheRoot } from "../util/paths.js";
import { shQuote } from "../util/shell.js";
import type { Progress } from "../util/progress.js";
import type { DebianArchive } from "../host/debianArchive.js";
import { pipHook, pipInputs, pipRecord, PipRecordSchema, type PipInputs } from "./pip.js";
import { pipName, versionFromPip, type DebianWorkload } from "./workloads.js";
import { writeLocalMirror, type DebStore } from "./debStore.js";
import type { LockedSide, LockedWorkload } from "./lockFile.js";

/** mmdebstrap's hook that makes a file:// mirror visible inside the chroot while apt installs from it. */
const FILE_MIRROR_HOOKS = "/usr/share/mmdebstrap/hooks/file-mirror-automount";

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

/**
 * One mtime for what the build itself writes (and the pip hook's files):
 * fixed, not the lock's date, so a side whose packages did not move gives
 * the same image after another workload's lock moved.
 */
export const ROOTFS_EPOCH = "1704067200";

/**
 * Secrets a package makes for the machine it is installed on (ssl-cert's
 * snakeoil pair and its hash link, SSH host keys, a machine id): random on
 * every build, so no two builds of one lock would match, and no image
 * shared between containers should carry them.
 */
export const DROP_MACHINE_SECRETS =
  `for l in "$1"/etc/ssl/certs/*; do [ -L "$l" ] && case $(readlink "$l") in *ssl-cert-snakeoil.pem) rm -f "$l";; esac; done; ` +
  `rm -f "$1/etc/ssl/certs/ssl-cert-snakeoil.pem" "$1/etc/ssl/private/ssl-cert-snakeoil.key" "$1"/etc/ssh/ssh_host_*; ` +
  `if [ -s "$1/etc/machine-id" ]; then : > "$1/etc/machine-id"; fi`;

/** What a rootfs is made of, as its cache key: the locked packages (by .deb SHA256), the recipe's hooks, and the side's pip pins. */
export function rootfsInputs(r: DebianWorkload["rootfs"], side: LockedSide, pip?: PipInputs): object {
  // only a side with pip packages has the key, so every other rootfs keeps its cache entry
  return {
    variant: r.variant,
    include: r.include,
    customize: r.customize,
    suites: side.suites,
    packages: side.packages.map((p) => p.sha256),
    ...(pip ? { pip } : {}),
    settle: DROP_MACHINE_SECRETS,
    v: 3,
  };
}

/** Installed packages that are not the locked ones, named: the build did not make what the lock says. */
export function installedAgainstLock(installed: Map<string, string>, side: LockedSide): string[] {
  const wrong: string[] = [];
  const locked = new Map(side.packages.map((p) => [p.name, p.version]));
  for (const [name, version] of locked)
    if (installed.get(name) !== version)
      wrong.push(`${name} ${version} locked, ${installed.get(name) ?? "not"} installed`);
  for (const [name, version] of installed)
    if (!locked.has(name)) wrong.push(`${name} ${version} installed, not in the lock`);
  return wrong;
}

export async function buildDebianRootfs(opts: {
  workload: DebianWorkload;
  side: "a" | "b";
  locked: LockedWorkload;
  archive: DebianArchive;
  store: DebStore;
  progress: Progress;
}): Promise<Rootfs> {
  const { workload, side, archive, store, progress } = opts;
  const r = workload.rootfs;
  const lockedSide = opts.locked[side];
  const suites = lockedSide.suites;
  const mm = (await runAllowFail("mmdebstrap", ["--version"])).stdout.trim() || "mmdebstrap (unknown)";
  const pip = await pipInputs(r, side);
  const inputs = rootfsInputs(r, lockedSide, pip);
  const hit = await cached(
    "rootfs",
    inputs,
    RootfsRecordSchema,
    async (dir) => {
      await store.fetch(archive, lockedSide.packages, progress);
      return progress.stage(
        "rootfs",
        `mmdebstrap ${workload.name} ${side.toUpperCase()} from its lock (${lockedSide.packages.length} packages of ${suites.join(" + ")})`,
        async () => {
          const t0 = Date.now();
          const tar = path.join(dir, "rootfs.tar");
          const mirror = path.join(dir, "mirror");
          await writeLocalMirror(store, lockedSide.packages, mirror, suites[0]!);
          // what the image says of where it came from: the Debian suites, never this machine's mirror folder
          const settle = `printf '%s\\n' ${suites.map((s) => shQuote(mirrorLine(s))).join(" ")} > "$1/etc/apt/sources.list" && echo esb > "$1/etc/hostname" && : > "$1/etc/resolv.conf" && ${DROP_MACHINE_SECRETS}`;
          // the venv first: the workload's own hooks may use it
          const hooks = [...(pip ? [await pipHook(dir, pip)] : []), ...r.customize, settle];
          const args = [
            // exactly the locked set, each at its version: nothing left for apt to choose
            "--variant=custom",
            `--include=${lockedSide.packages.map((p) => `${p.name}=${p.version}`).join(",")}`,
            `--hook-dir=${FILE_MIRROR_HOOKS}`,
            ...hooks.map((c) => `--customize-hook=${c}`),
            suites[0]!,
            tar,
            `deb [trusted=yes] file://${mirror} ./`,
          ];
          try {
            await run("mmdebstrap", args, {
              env: { SOURCE_DATE_EPOCH: ROOTFS_EPOCH, ESB_WHEEL_STORE: path.join(cacheRoot(), "wheels") },
              logFile: path.join(dir, "mmdebstrap.log"),
              what: `mmdebstrap for ${workload.name} ${side.toUpperCase()}`,
            });
          } finally {
            await rm(mirror, { recursive: true, force: true });
          }
          const status = await run("tar", ["-xOf", tar, "./var/lib/dpkg/status"], {
            what: `reading dpkg status from ${tar}`,
          });
          const installedAll = parseDpkgStatus(status.stdout);
          const wrong = installedAgainstLock(installedAll, lockedSide);
          if (wrong.length)
            throw new BenchError(
              `${workload.name} ${side.toUpperCase()}: the rootfs does not hold what its lock says: ${wrong.slice(0, 8).join("; ")}`,
              "move the lock forward with: npm run bench -- lock update " + workload.name,
              [path.join(dir, "mmdebstrap.log")],
            );
          const installed: Record<string, string> = {};
          for (const p of r.include) installed[p] = installedAll.get(p)!;
          const pipFound = pip ? await pipRecord(tar, pip, `${workload.name} ${side.toUpperCase()}`) : undefined;
          const labelVersion = versionFromPip(r)
            ? pipFound?.installed[pipName(r.versionPackage)]
            : installed[r.versionPackage];
          return {
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
        },
      );
    },
    { say: (m) => progress.info(m) },
  );
  return { tar: path.join(hit.dir, hit.record.tar), record: hit.record, reused: hit.reused };
}
