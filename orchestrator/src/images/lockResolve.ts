import { BenchError } from "../util/errors.js";
import type { Progress } from "../util/progress.js";
import type { DebianArchive } from "../host/debianArchive.js";
import { compareDebianVersions } from "../host/debianVersion.js";
import { resolveDebianKernel } from "../kernel/source.js";
import { MIN_EROFS_UTILS } from "./erofsUtils.js";
import { LOCK_SCHEMA, recipeOf, type Lock, type LockedSide, type LockedWorkload } from "./lockFile.js";
import type { DebianWorkload } from "./workloads.js";

/** What a variant installs besides the recipe's packages, as apt patterns (mmdebstrap's definition of each). */
const VARIANT_BASE: Record<DebianWorkload["rootfs"]["variant"], string[]> = {
  essential: ["?essential"],
  apt: ["?essential", "apt"],
  minbase: ["?essential", "?priority(required)", "apt"],
  required: ["?essential", "?priority(required)", "apt"],
};

/**
 * Every package (version, architecture, .deb SHA256) one side's rootfs
 * holds when built from the archive as it stands: the whole set apt
 * resolves for the variant and the recipe's packages, without recommends.
 */
export async function resolveSide(archive: DebianArchive, w: DebianWorkload, side: "a" | "b"): Promise<LockedSide> {
  const r = w.rootfs;
  const suites = r[side].suites;
  const set = await archive.simulateInstall(suites, [...VARIANT_BASE[r.variant], ...r.include]);
  for (const p of r.include) {
    if (!set.has(p))
      throw new BenchError(
        `${w.name} ${side.toUpperCase()}: package ${p} is in none of the suites ${suites.join(", ")}`,
        `fix rootfs.include or rootfs.${side}.suites in workloads/${w.name}.yaml`,
      );
  }
  const wanted = [...set].map(([name, v]) => ({ name, ...v }));
  const known = await archive.packageRecords(wanted);
  const packages = wanted
    .map((p) => {
      const rec = known.get(`${p.name}=${p.version}`);
      if (!rec)
        throw new BenchError(
          `${w.name} ${side.toUpperCase()}: apt resolved ${p.name} ${p.version} (${p.arch}) but its lists have no record of that .deb`,
          "refresh the lists (delete the tool's apt/updated.stamp in the cache) and lock again",
        );
      return {
        name: p.name,
        version: p.version,
        arch: rec.arch,
        sha256: rec.sha256,
        size: rec.size,
        filename: rec.filename,
      };
    })
    .sort((x, y) => (x.name < y.name ? -1 : 1));
  return { suites, packages, ...(r[side].pip ? { pip: r[side].pip } : {}) };
}

export async function resolveWorkload(archive: DebianArchive, w: DebianWorkload): Promise<LockedWorkload> {
  const suites = [...new Set([...w.rootfs.a.suites, ...w.rootfs.b.suites])];
  return {
    recipe: recipeOf(w),
    lockedAt: new Date().toISOString(),
    archive: await archive.releaseDates(suites),
    a: await resolveSide(archive, w, "a"),
    b: await resolveSide(archive, w, "b"),
  };
}

/** The job's tools as the archive offers them today: the newest erofs-utils that writes fingerprints, the newest linux-source. */
export async function resolveTools(archive: DebianArchive): Promise<Lock["tools"]> {
  const erofs = (await archive.sourceVersions("erofs-utils")).filter(
    (v) => compareDebianVersions(v.version, MIN_EROFS_UTILS) >= 0,
  )[0];
  if (!erofs)
    throw new BenchError(
      `no erofs-utils source package >= ${MIN_EROFS_UTILS} in suites ${archive.suites.join(", ")}`,
      "check the network and the tool's apt lists",
    );
  const kernel = await resolveDebianKernel(archive, {}).catch(() => undefined);
  return {
    erofsUtils: { version: erofs.version },
    ...(kernel ? { kernelSource: { package: kernel.pkg, version: kernel.version } } : {}),
  };
}

/**
 * A lock moved forward: `names` re-resolved against the archive (every
 * Debian workload when none are named, and then the tools too), the other
 * workloads kept as they were.
 */
export async function updateLock(opts: {
  archive: DebianArchive;
  before?: Lock;
  workloads: DebianWorkload[];
  tools: boolean;
  progress: Progress;
}): Promise<Lock> {
  const { archive, before, progress } = opts;
  await archive.update(progress, 0);
  const workloads = { ...(before?.workloads ?? {}) };
  for (const [i, w] of opts.workloads.entries()) {
    workloads[w.name] = await progress.stage("lock", `resolving ${w.name} (${i + 1}/${opts.workloads.length})`, () =>
      resolveWorkload(archive, w),
    );
  }
  const tools = opts.tools || !before ? await resolveTools(archive) : before.tools;
  return { schema: LOCK_SCHEMA, lockedAt: new Date().toISOString(), tools, workloads };
}
