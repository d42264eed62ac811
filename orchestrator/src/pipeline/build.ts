import { analyseSharing } from "../analysis/sharing.js";
import { prepareInitramfs } from "../guest/initramfs.js";
import { qemuVersion } from "../guest/qemu.js";
import { DebianArchive } from "../host/debianArchive.js";
import { ensureHostPackages, type HostPart } from "../host/provision.js";
import { prepareErofsUtils } from "../images/erofsUtils.js";
import { imagePairs, type ImagePair } from "../images/pairs.js";
import type { WorkloadSpec } from "../images/workloads.js";
import { loadFixups } from "../kernel/apply.js";
import { buildKernel, compilerVersion, vmlinuxBeside } from "../kernel/build.js";
import { kernelFragment, prepareKernelTree } from "../kernel/prepare.js";
import type { SeriesSpec } from "../kernel/series.js";
import type { Progress } from "../util/progress.js";
import type { TimeStage } from "../util/stageClock.js";
import type { BenchOptions } from "./options.js";
import type { RunFolder } from "./runFolder.js";

/** What the measured phases boot: a kernel, an initramfs, and the image pairs. */
export interface Artefacts {
  kernel: { bzImage: string; vmlinux: string };
  initramfs: string;
  pairs: ImagePair[];
}

/**
 * Builds (or finds in the cache) the kernel, mkfs.erofs, the images and the
 * initramfs, putting each stage's record into the run record as it goes, so
 * a build that fails keeps what led up to it. `kernelOnly` stops after the
 * kernel (--build-only).
 */
export async function buildArtefacts(
  spec: SeriesSpec,
  workloads: WorkloadSpec[],
  opts: BenchOptions,
  ctx: { folder: RunFolder; progress: Progress; time: TimeStage; kernelOnly: boolean },
): Promise<Artefacts | undefined> {
  const { folder, progress, time } = ctx;
  const record = folder.record;
  const parts: HostPart[] = ["vm", "kernel", "erofsUtils"];
  if (spec.base.kind === "git") parts.push("git");
  if (workloads.some((w) => w.kind === "debian")) parts.push("rootfs");
  await ensureHostPackages(parts, progress);
  record.host.qemu = await qemuVersion();
  record.host.compiler = await compilerVersion();

  const tree = await time(spec.base.kind === "debian" ? "kernel source" : "series + apply", () =>
    prepareKernelTree(spec, {
      kernelDeb: opts.kernelDeb, kernelSrc: opts.kernelSrc, baseRef: opts.baseRef, exclude: opts.kernelSrcExclude, mbox: opts.mbox,
      noFixups: opts.noFixups, logDir: folder.dir, progress,
    }),
  );
  record.kernel = { ...tree.record, buildKey: "" };
  await folder.save();
  const kernel = await time("kernel build", async () =>
    buildKernel({
      tree: tree.tree, treeIdentity: tree.identity, fragment: await kernelFragment(spec), progress, jobs: opts.jobs, explainError: tree.explainError, runDir: folder.dir,
    }),
  );
  record.kernel = { ...record.kernel, build: kernel.record, buildKey: kernel.key, release: kernel.record.kernelRelease };
  progress.info(`kernel: ${kernel.record.kernelRelease} ${kernel.reused ? "(cached)" : `(built in ${kernel.record.buildSeconds}s)`} ${kernel.bzImage}`);
  await folder.save();
  if (ctx.kernelOnly) return undefined;

  // erofs-utils patches are diffs named like fixups (kernel/fixups/) or absolute paths
  const erofsPatches = await loadFixups(spec.erofsUtilsPatches);
  const erofs = await time("erofs-utils", () => prepareErofsUtils({ archive: new DebianArchive(), progress, patches: erofsPatches }));
  record.erofsUtils = erofs.record;
  // the checks use the first pair only: a run of nothing else builds no other image
  const checksOnly = opts.phases !== undefined && opts.phases.every((p) => p === "correctness");
  const pairs = await imagePairs({ images: opts.images, workloads: checksOnly ? opts.workloads.slice(0, 1) : opts.workloads, profile: spec.imageProfile, erofs, progress, time });
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
  return { kernel: { bzImage: kernel.bzImage, vmlinux: vmlinuxBeside(kernel.bzImage) }, initramfs: initramfs.file, pairs };
}
