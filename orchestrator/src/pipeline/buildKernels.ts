import path from "node:path";
import { RESULT_NAMES } from "../guest/checks.js";
import { loadFixups } from "../kernel/apply.js";
import { buildKernel, vmlinuxBeside, type KernelBuild } from "../kernel/build.js";
import { buildCommitKernel, missingSymbols, type CommitBuildRecord } from "../kernel/commitBuild.js";
import { buildMutantKernel } from "../kernel/mutantBuild.js";
import { loadMutant, loadUserPatch } from "../kernel/mutants.js";
import { kernelFragment, prepareKernelTree, type KernelTree } from "../kernel/prepare.js";
import type { SeriesSpec } from "../kernel/series.js";
import type { JobSpec } from "../record/jobSpec.js";
import { BenchError } from "../util/errors.js";
import type { Progress } from "../util/progress.js";
import type { TimeStage } from "../util/stageClock.js";
import type { RunFolder } from "./runFolder.js";

/**
 * The kernels a run boots: the series' kernel (or a mutant, your patch, a
 * commit of the tree built on it) for the tables, and for the correctness
 * checks the same built again with kernel/sanitizer.config. Each record goes
 * into the run record as it is made.
 */

/** The kernel the tables measure; `checks`, when built, the one the correctness checks boot (its sanitizer build). */
export interface KernelArtefacts {
  bzImage: string;
  vmlinux: string;
  checks?: { bzImage: string; vmlinux: string; release: string };
}

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

/** "(cached)" or "(built in Ns ...)": how a build line ends. */
const howBuilt = (reused: boolean, seconds: number, more = "") =>
  reused ? "(cached)" : `(built in ${seconds}s${more})`;

export async function buildKernels(
  spec: SeriesSpec,
  opts: JobSpec,
  ctx: { folder: RunFolder; progress: Progress; time: TimeStage },
): Promise<KernelArtefacts> {
  const { folder, progress, time } = ctx;
  const record = folder.record;
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

  // the series' kernel, and for the checks the same tree with kernel/sanitizer.config
  const buildTree = async (sanitizer: boolean): Promise<KernelBuild> => {
    const what = sanitizer ? "sanitizer kernel" : "kernel";
    const build = await time(sanitizer ? "kernel build (sanitizer)" : "kernel build", async () =>
      buildKernel({
        tree: tree.tree,
        treeIdentity: tree.identity,
        fragment: await kernelFragment(spec, { sanitizer }),
        progress,
        jobs: opts.jobs,
        explainError: tree.explainError,
        runDir: folder.dir,
      }),
    );
    progress.info(
      `${what}: ${build.record.kernelRelease} ${howBuilt(build.reused, build.record.buildSeconds)} ${build.bzImage}`,
    );
    return build;
  };
  const kernel = await buildTree(false);
  record.kernel = {
    ...record.kernel,
    build: kernel.record,
    buildKey: kernel.key,
    release: kernel.record.kernelRelease,
  };
  await folder.save();
  let bzImage = kernel.bzImage;
  let vmlinux = vmlinuxBeside(kernel.bzImage);

  // a prefix or a bisection step is judged on its plain build: a sanitizer build per step would double each
  const variant = opts.prefix !== undefined || opts.commit !== undefined;
  const sanitized = opts.phases.includes("correctness") && opts.checkKernel === "sanitizer" && !variant;
  const sanitizerBuild = sanitized ? await buildTree(true) : null;
  if (sanitizerBuild) {
    record.kernel.sanitizer = {
      build: sanitizerBuild.record,
      buildKey: sanitizerBuild.key,
      release: sanitizerBuild.record.kernelRelease,
    };
    await folder.save();
  }
  let checks = sanitizerBuild
    ? {
        bzImage: sanitizerBuild.bzImage,
        vmlinux: vmlinuxBeside(sanitizerBuild.bzImage),
        release: sanitizerBuild.record.kernelRelease,
      }
    : null;

  // a mutant (broken on purpose) or your own patch: built on the series' kernel (and its sanitizer build), measured instead of it
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
    const buildOnTop = (base: KernelBuild, label: string) =>
      time(label, async () =>
        buildMutantKernel({
          base,
          tree: tree.tree,
          mutant: onTop.build,
          userPatch: onTop.userPatch,
          progress,
          jobs: opts.jobs,
        }),
      );
    const built = await buildOnTop(kernel, `${kind} build`);
    const rec = { ...built.record, ...(onTop.from ? { from: onTop.from } : {}) };
    record.kernel = {
      ...record.kernel,
      ...(onTop.userPatch ? { patch: rec } : { mutant: rec }),
      buildKey: built.key,
      release: built.record.kernelRelease,
    };
    const compiled = built.record.incremental
      ? `compiled ${built.record.compiled.filter((o) => !o.startsWith("tools/")).join(" ")}`
      : built.record.why;
    progress.info(
      `${kind} ${onTop.build.name}: ${built.record.kernelRelease} ${howBuilt(built.reused, built.record.buildSeconds, `, ${compiled}`)}`,
    );
    await folder.save();
    bzImage = built.bzImage;
    vmlinux = built.vmlinux;
    if (sanitizerBuild) {
      const checked = await buildOnTop(sanitizerBuild, `${kind} build (sanitizer)`);
      record.kernel.sanitizer = {
        ...record.kernel.sanitizer!,
        mutant: checked.record,
        release: checked.record.kernelRelease,
      };
      await folder.save();
      checks = { bzImage: checked.bzImage, vmlinux: checked.vmlinux, release: checked.record.kernelRelease };
    }
  }
  if (variant) {
    const built = await time("commit build", () => buildCommitOf(spec, tree, kernel, opts, progress));
    record.kernel = {
      ...record.kernel,
      variant: built.record,
      buildKey: built.key,
      release: built.record.kernelRelease,
    };
    await folder.save();
    unusable(built.record, spec);
    bzImage = built.bzImage;
    vmlinux = built.vmlinux;
  }
  if (checks) {
    record.checksKernel = { kind: "sanitizer", release: checks.release };
    return { bzImage, vmlinux, checks };
  }
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
