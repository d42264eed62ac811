import path from "node:path";
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
import { buildKernel, compilerVersion, vmlinuxBeside, type KernelBuild } from "../kernel/build.js";
import { kernelFragment, prepareKernelTree, type KernelTree } from "../kernel/prepare.js";
import { buildCommitKernel, missingSymbols, type CommitBuildRecord } from "../kernel/commitBuild.js";
import { BenchError } from "../util/errors.js";
import { loadMutant, loadUserPatch } from "../kernel/mutants.js";
import { buildMutantKernel } from "../kernel/mutantBuild.js";
import { RESULT_NAMES } from "../guest/checks.js";
import type { SeriesSpec } from "../kernel/series.js";
import type { Progress } from "../util/progress.js";
import type { TimeStage } from "../util/stageClock.js";
import type { JobSpec } from "../record/jobSpec.js";
import type { RunFolder } from "./runFolder.js";

/** What the measured phases boot: a kernel, an initramfs, and the image pairs. */
export interface Artefacts {
  /** The kernel the tables measure; `checks`, when built, the one the correctness checks boot (its sanitizer build). */
  kernel: { bzImage: string; vmlinux: string; checks?: { bzImage: string; vmlinux: string; release: string } };
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
export class UnusableCommit extends BenchError {
  constructor(
    readonly record: CommitBuildRecord,
    readonly reason: "does not build" | "lacks the feature",
    readonly detail: string,
  ) {
    super(`${record.label} (${record.commit.slice(0, 12)}) ${reason}: ${detail}`);
  }
}

function unusable(r: CommitBuildRecord, spec: SeriesSpec): void {
  if (!r.built) throw new UnusableCommit(r, "does not build", r.error ?? "the build failed");
  const missing = missingSymbols(r, spec.symbols);
  if (missing.length) throw new UnusableCommit(r, "lacks the feature", `its configuration has ${missing.join(", ")}`);
}

/** --prefix K (the series' first K patches, with its fixups where they fit) or --commit REV (a commit of the tree's history). */
async function buildCommitOf(spec: SeriesSpec, tree: KernelTree, base: KernelBuild, opts: JobSpec, progress: Progress) {
  let commit = opts.commit;
  let label = `commit ${opts.commit}`;
  if (opts.prefix !== undefined) {
    const patches = tree.record.apply?.patches ?? [];
    const p = patches[opts.prefix - 1];
    if (!p?.commit)
      throw new BenchError(
        `--prefix ${opts.prefix}: series ${spec.name} has ${patches.length} applied patch(es)`,
        `choose 1 to ${patches.length}`,
      );
    commit = p.commit;
    label = `patch ${p.index}/${p.total}: ${p.subject}`;
  }
  const fixups = opts.prefix !== undefined && opts.fixups ? await loadFixups(spec.fixups) : [];
  return buildCommitKernel({
    base,
    tree: tree.tree,
    commit: commit!,
    label,
    fixups,
    symbols: spec.symbols,
    progress,
    jobs: opts.jobs,
  });
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

  // the checks' kernel: the same tree with kernel/sanitizer.config, when the checks run and ask for it
  const sanitizerPart = async (tree: Awaited<ReturnType<typeof prepareKernelTree>>) => {
    if (!opts.phases.includes("correctness")) return null;
    if (opts.checkKernel !== "sanitizer") return null;
    // a prefix or a bisection step is judged on its plain build: a sanitizer build per step would double each
    if (opts.prefix !== undefined || opts.commit !== undefined) return null;
    const build = await time("kernel build (sanitizer)", async () =>
      buildKernel({
        tree: tree.tree,
        treeIdentity: tree.identity,
        fragment: await kernelFragment(spec, { sanitizer: true }),
        progress,
        jobs: opts.jobs,
        explainError: tree.explainError,
        runDir: folder.dir,
      }),
    );
    record.kernel!.sanitizer = { build: build.record, buildKey: build.key, release: build.record.kernelRelease };
    progress.info(
      `sanitizer kernel: ${build.record.kernelRelease} ${build.reused ? "(cached)" : `(built in ${build.record.buildSeconds}s)`} ${build.bzImage}`,
    );
    await folder.save();
    return {
      build,
      kernel: { bzImage: build.bzImage, vmlinux: vmlinuxBeside(build.bzImage), release: build.record.kernelRelease },
    };
  };

  const kernelPart = async (): Promise<Artefacts["kernel"]> => {
    const tree = await time(spec.base.kind === "debian" ? "kernel source" : "series + apply", () =>
      prepareKernelTree(spec, {
        kernelDeb: opts.kernelDeb,
        kernelSrc: opts.kernelSrc,
        baseRef: opts.baseRef,
        exclude: opts.kernelSrcExclude,
        mbox: opts.mbox,
        noFixups: !opts.fixups,
        logDir: folder.dir,
        progress,
      }),
    );
    record.kernel = { ...tree.record, buildKey: "" };
    await folder.save();
    const kernel = await time("kernel build", async () =>
      buildKernel({
        tree: tree.tree,
        treeIdentity: tree.identity,
        fragment: await kernelFragment(spec),
        progress,
        jobs: opts.jobs,
        explainError: tree.explainError,
        runDir: folder.dir,
      }),
    );
    record.kernel = {
      ...record.kernel,
      build: kernel.record,
      buildKey: kernel.key,
      release: kernel.record.kernelRelease,
    };
    progress.info(
      `kernel: ${kernel.record.kernelRelease} ${kernel.reused ? "(cached)" : `(built in ${kernel.record.buildSeconds}s)`} ${kernel.bzImage}`,
    );
    await folder.save();
    let bzImage = kernel.bzImage;
    let vmlinux = vmlinuxBeside(kernel.bzImage);
    const sanitizer = await sanitizerPart(tree);
    // a mutant (broken on purpose) or your own patch: built on the series' kernel, measured instead of it
    const onTop = opts.mutant
      ? await loadMutant(opts.mutant, RESULT_NAMES, opts.mutantsDir).then((m) => ({
          build: { name: m.mutant.name, breaks: m.mutant.breaks, patch: m.patch, patchSha256: m.patchSha256 },
          from: m.outside ? path.dirname(m.file) : undefined,
          userPatch: undefined,
        }))
      : opts.patch
        ? await loadUserPatch(opts.patch).then((p) => ({
            build: { name: p.name, breaks: "", patch: p.patch, patchSha256: p.patchSha256 },
            from: undefined,
            userPatch: { file: p.file },
          }))
        : null;
    if (onTop) {
      const kind = onTop.userPatch ? "patch" : "mutant";
      const built = await time(`${kind} build`, async () =>
        buildMutantKernel({
          base: kernel,
          tree: tree.tree,
          mutant: onTop.build,
          userPatch: onTop.userPatch,
          progress,
          jobs: opts.jobs,
        }),
      );
      const rec = { ...built.record, ...(onTop.from ? { from: onTop.from } : {}) };
      record.kernel = {
        ...record.kernel,
        ...(onTop.userPatch ? { patch: rec } : { mutant: rec }),
        buildKey: built.key,
        release: built.record.kernelRelease,
      };
      progress.info(
        `${kind} ${onTop.build.name}: ${built.record.kernelRelease} ${built.reused ? "(cached)" : `(built in ${built.record.buildSeconds}s, ${built.record.incremental ? `compiled ${built.record.compiled.filter((o) => !o.startsWith("tools/")).join(" ")}` : built.record.why})`}`,
      );
      await folder.save();
      bzImage = built.bzImage;
      vmlinux = built.vmlinux;
      if (sanitizer) {
        const checked = await time(`${kind} build (sanitizer)`, async () =>
          buildMutantKernel({
            base: sanitizer.build,
            tree: tree.tree,
            mutant: onTop.build,
            userPatch: onTop.userPatch,
            progress,
            jobs: opts.jobs,
          }),
        );
        record.kernel.sanitizer = {
          ...record.kernel.sanitizer!,
          mutant: checked.record,
          release: checked.record.kernelRelease,
        };
        await folder.save();
        sanitizer.kernel = {
          bzImage: checked.bzImage,
          vmlinux: checked.vmlinux,
          release: checked.record.kernelRelease,
        };
      }
    }
    if (opts.prefix !== undefined || opts.commit !== undefined) {
      const variant = await time("commit build", () => buildCommitOf(spec, tree, kernel, opts, progress));
      record.kernel = {
        ...record.kernel,
        variant: variant.record,
        buildKey: variant.key,
        release: variant.record.kernelRelease,
      };
      await folder.save();
      unusable(variant.record, spec);
      bzImage = variant.bzImage;
      vmlinux = variant.vmlinux;
    }
    if (!sanitizer) {
      if (opts.phases.includes("correctness"))
        record.checksKernel = {
          kind: "plain",
          release: record.kernel.release ?? "",
          why:
            opts.checkKernel === "plain"
              ? "--check-kernel plain"
              : "a commit of the tree (--prefix, --commit) is checked on its plain build",
        };
      return { bzImage, vmlinux };
    }
    record.checksKernel = { kind: "sanitizer", release: sanitizer.kernel.release };
    return { bzImage, vmlinux, checks: sanitizer.kernel };
  };
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
