import { ensureHostPackages } from "../host/provision.js";
import { DebianArchive } from "../host/debianArchive.js";
import { loadFixups } from "../kernel/apply.js";
import type { SeriesSpec } from "../kernel/series.js";
import type { Progress } from "../util/progress.js";
import type { TimeStage } from "../util/stageClock.js";
import { DebStore, ensureLockedPackages } from "./debStore.js";
import { prepareErofsUtils } from "./erofsUtils.js";
import { lockedWorkload, type LoadedLock } from "./lockFile.js";
import { imagePairs } from "./pairs.js";
import type { DebianWorkload } from "./workloads.js";

export interface LockedImages {
  lock: string;
  lockSha256: string;
  series: string;
  mkfs: string;
  images: Array<{
    workload: string;
    side: "A" | "B";
    version: string;
    rootfsSha256?: string;
    imageSha256: string;
    manifestSha256: string;
  }>;
}

/** A lock's images built (or found in the cache) with a series' image profile, nothing measured. */
export async function buildLockedImages(opts: {
  lock: LoadedLock;
  workloads: DebianWorkload[];
  series: SeriesSpec;
  progress: Progress;
}): Promise<LockedImages> {
  const { lock, workloads, series, progress } = opts;
  for (const w of workloads) lockedWorkload(lock, w);
  await ensureHostPackages(["rootfs", "erofsUtils"], progress);
  const archive = new DebianArchive();
  const store = new DebStore();
  await ensureLockedPackages({ lock, workloads, archive, store, progress });
  const erofs = await prepareErofsUtils({
    archive,
    progress,
    version: lock.lock.tools.erofsUtils.version,
    patches: await loadFixups(series.erofsUtilsPatches),
  });
  const time: TimeStage = (_stage, fn) => fn();
  const pairs = await imagePairs({
    workloads: workloads.map((w) => w.name),
    profile: series.imageProfile,
    erofs,
    progress,
    time,
    lock,
    store,
  });
  const images = pairs.flatMap((p) =>
    (
      [
        ["A", p.a],
        ["B", p.b],
      ] as const
    ).map(([side, img]) => ({
      workload: p.record.name,
      side,
      version: img.record.label,
      rootfsSha256: p.record.rootfs?.[side === "A" ? "a" : "b"].tarSha256,
      imageSha256: img.record.imageSha256,
      manifestSha256: img.record.manifestSha256,
    })),
  );
  return { lock: lock.file, lockSha256: lock.sha256, series: series.name, mkfs: erofs.record.version, images };
}
