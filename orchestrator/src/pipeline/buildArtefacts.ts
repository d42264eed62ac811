import { analyseSharing } from "../analysis/sharing.js";
import { prepareInitramfs } from "../guest/initramfs.js";
import { qemuVersion } from "../guest/qemu.js";
import { DebianArchive } from "../host/debianArchive.js";
import { ensureHostPackages, type HostPart } from "../host/provision.js";
import { prepareErofsUtils } from "../images/erofsUtils.js";
import { imagePairs, type ImagePair } from "../images/pairs.js";
import { DebStore, ensureLockedPackages } from "../images/debStore.js";
import { lockRecord, type LoadedLock } from "../images/lockFile.js";
import type { WorkloadSpec } from "../images/workloads.js";
import { loadFixups } from "../kernel/apply.js";
import { compilerVersion } from "../kernel/build.js";
import type { SeriesSpec } from "../kernel/series.js";
import type { Progress } from "../util/progress.js";
import type { TimeStage } from "../util/stageClock.js";
import type { JobSpec } from "../record/jobSpec.js";
import type { RunFolder } from "./runFolder.js";
import { buildKernels, type KernelArtefacts } from "./buildKernels.js";

/** What the measured phases boot: a kernel, an initramfs, and the image pairs. */
export interface Artefacts {
  kernel: KernelArtefacts;
  initramfs: string;
  /** The pairs the read-all and runtime tables measure. */
  pairs: ImagePair[];
  /** The pair the correctness checks boot (one of `pairs`, or built for them alone); absent when they do not run. */
  checks?: ImagePair;
}

/**
 * The checks need a small pair with shared, changed and unique files: the
 * synthetic one, built for them when the run measures other workloads; a
 * user's own pair (--images) is checked as given.
 */
export const CHECKS_WORKLOAD = "synthetic";

/**
 * Which pairs a run builds: the workloads it measures (none but the checks'
 * pair when it runs the checks alone) and where the checks' pair comes from:
 * the user's --images, one of the measured workloads, or built for them.
 */
export function pairPlan(opts: Pick<JobSpec, "phases" | "images" | "workloads">): {
  measured: string[];
  checks: "none" | "images" | "measured" | "extra";
} {
  const { phases } = opts;
  if (!phases.includes("correctness")) return { measured: opts.workloads, checks: "none" };
  if (phases.every((p) => p === "correctness"))
    return { measured: [CHECKS_WORKLOAD], checks: opts.images ? "images" : "measured" };
  if (opts.images) return { measured: opts.workloads, checks: "images" };
  return { measured: opts.workloads, checks: opts.workloads.includes(CHECKS_WORKLOAD) ? "measured" : "extra" };
}

/** A commit the run measures instead of the built head: nothing to measure when it does not build or lacks the feature. */
/**
 * Builds (or finds in the cache) the kernel, mkfs.erofs, the images and the
 * initramfs, putting each stage's record into the run record as it goes, so
 * a build that fails keeps what led up to it. `kernelOnly` stops after the
 * kernel (--build-only).
 */
export async function buildArtefacts(
  spec: SeriesSpec,
  workloads: WorkloadSpec[],
  opts: JobSpec,
  ctx: { folder: RunFolder; progress: Progress; time: TimeStage; lock: LoadedLock; kernelOnly: boolean },
): Promise<Artefacts | undefined> {
  const { folder, progress, time, lock } = ctx;
  const record = folder.record;
  const parts: HostPart[] = ["vm", "kernel", "erofsUtils"];
  if (spec.base.kind === "git") parts.push("git");
  if (workloads.some((w) => w.kind === "debian")) parts.push("rootfs");
  await ensureHostPackages(parts, progress);
  record.host.qemu = await qemuVersion();
  record.host.compiler = await compilerVersion();
  const archive = new DebianArchive();
  const store = new DebStore();
  const measured = pairPlan(opts).measured;
  if (!ctx.kernelOnly) {
    record.lock = lockRecord(lock, measured);
    await folder.save();
    // a package the archive dropped is found now, not after a kernel build
    await time(
      "locked packages",
      async () => (
        await ensureLockedPackages({
          lock,
          workloads: workloads.filter((w) => measured.includes(w.name)),
          archive,
          store,
          debs: opts.debs,
          progress,
        }),
        {}
      ),
    );
  }

  const kernelPart = () => buildKernels(spec, opts, { folder, progress, time });
  if (ctx.kernelOnly) {
    await kernelPart();
    return undefined;
  }
  const imagesPart = async (): Promise<Omit<Artefacts, "kernel">> => {
    // erofs-utils patches are diffs named like fixups (kernel/fixups/) or absolute paths
    const erofsPatches = await loadFixups(spec.erofsUtilsPatches);
    const erofs = await time("erofs-utils", () =>
      prepareErofsUtils({ archive, progress, patches: erofsPatches, version: lock.lock.tools.erofsUtils.version }),
    );
    record.erofsUtils = erofs.record;
    const plan = pairPlan(opts);
    const pairOf = (workloads: string[]) =>
      imagePairs({ images: opts.images, workloads, profile: spec.imageProfile, erofs, progress, time, lock, store });
    const pairs = await pairOf(plan.measured);
    let checks: ImagePair | undefined;
    if (plan.checks === "extra") {
      progress.info(
        `correctness: the checks run on the ${CHECKS_WORKLOAD} pair, built for them (not measured in the tables)`,
      );
      checks = (await pairOf([CHECKS_WORKLOAD]))[0];
      record.checksPair = checks?.record;
    } else if (plan.checks !== "none") {
      checks = plan.checks === "images" ? pairs[0] : pairs.find((p) => p.record.name === CHECKS_WORKLOAD);
    }
    for (const p of pairs) {
      const sharing = analyseSharing(p.a.manifest, p.b.manifest);
      record.workloads.push({ ...p.record, sharing });
      progress.info(
        `${p.record.name} (${p.record.versions}): ${(sharing.a.bytes / 2 ** 20).toFixed(1)} + ${(sharing.b.bytes / 2 ** 20).toFixed(1)} MiB, ` +
          `${(sharing.sharedBytes / 2 ** 20).toFixed(1)} MiB identical: expected read-all reduction ${sharing.expectedReductionPct.toFixed(1)}%`,
      );
    }
    const initramfs = await time("initramfs", () => prepareInitramfs(progress));
    record.initramfs = initramfs.record;
    await folder.save();
    return { initramfs: initramfs.file, pairs, checks };
  };
  // the images need nothing of the kernel: on a first run they are made while it compiles
  const [kernel, images] = await bothFinished(
    progress,
    ["the kernel", "is built", kernelPart()],
    ["the images", "are made", imagesPart()],
  );
  return { kernel, ...images };
}

type Side<T> = [what: string, done: string, work: Promise<T>];

/**
 * Both results, or the first error once the other side has finished too: a
 * failed image download must not kill a kernel build half done, whose
 * output the next run would then build again. The failure is said at once.
 */
export async function bothFinished<A, B>(progress: Progress, a: Side<A>, b: Side<B>): Promise<[A, B]> {
  const say = (failed: Side<unknown>, other: Side<unknown>) => (e: unknown) => {
    progress.info(
      `${failed[0]}: failed (${e instanceof Error ? e.message.split("\n")[0] : String(e)}); stopping once ${other[0]} ${other[1]}, so the next run finds them cached`,
    );
    throw e;
  };
  const [ra, rb] = await Promise.allSettled([a[2].catch(say(a, b)), b[2].catch(say(b, a))]);
  if (ra.status === "rejected") throw ra.reason;
  if (rb.status === "rejected") throw rb.reason;
  return [ra.value, rb.value];
}
