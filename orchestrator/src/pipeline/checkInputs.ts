import { constants } from "node:fs";
import { access, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { parseImageRef } from "../images/oci.js";
import { loadWorkload, type WorkloadSpec } from "../images/workloads.js";
import { DEFAULT_LOCK, loadLock, lockedWorkload, type LoadedLock } from "../images/lockFile.js";
import { seriesFromMbox } from "../kernel/patches/select.js";
import { loadSeries, treeSpec, type SeriesSpec } from "../kernel/series.js";
import { loadMutant, loadMutants, loadUserPatch } from "../kernel/mutants.js";
import { RESULT_NAMES } from "../guest/checks.js";
import { kernelSrcKind } from "../kernel/seriesTree.js";
import { BenchError } from "../util/errors.js";
import { git } from "../util/git.js";
import type { JobSpec } from "../record/jobSpec.js";

export interface CheckedInputs {
  spec: SeriesSpec;
  workloads: WorkloadSpec[];
  /** What the images are built from; every Debian workload of the run has its entry, made from its recipe as it stands. */
  lock: LoadedLock;
}

async function onPath(cmd: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
    if (
      await access(path.join(dir, cmd), constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return true;
  }
  return false;
}

/** One --images input: a directory, a tarball, or a container image reference whose file or layout exists. */
async function checkImageInput(input: string): Promise<void> {
  const ref = parseImageRef(input);
  const fix = "--images takes two of: a directory, a .tar/.tar.gz, docker-archive:FILE, oci:DIR[:TAG], docker://REF";
  if (ref?.kind === "docker") {
    if (!(await onPath("skopeo")))
      throw new BenchError(
        `--images ${input}: pulling from a registry needs skopeo, which is not installed`,
        "apt-get install skopeo, or pass a docker-archive:FILE",
      );
    return;
  }
  const p = ref ? ref.path : input;
  const st = await stat(p).catch(() => null);
  if (!st) throw new BenchError(`--images ${input}: ${p} does not exist`, fix);
  if (ref?.kind === "docker-archive" && !st.isFile())
    throw new BenchError(`--images ${input}: ${p} is not a file`, "pass the tar that docker save -o FILE wrote");
  if (ref?.kind === "oci" && !(await stat(path.join(p, "index.json")).catch(() => null))) {
    throw new BenchError(
      `--images ${input}: ${p} is not an OCI image layout (no index.json)`,
      "make one with: skopeo copy docker://REF oci:DIR:TAG",
    );
  }
  if (!ref && !st.isDirectory() && !/\.(tar|tgz|tar\.gz)$/.test(p))
    throw new BenchError(`--images ${input}: neither a directory nor a .tar/.tar.gz`, fix);
}

/** --kernel-src, --base-ref and --mbox of a series on a git base: each readable and holding what the series needs. */
async function checkSeriesTree(spec: SeriesSpec, opts: JobSpec): Promise<void> {
  if (spec.base.kind !== "git") {
    for (const [flag, v] of [
      ["--kernel-src", opts.kernelSrc],
      ["--base-ref", opts.baseRef],
      ["--mbox", opts.mbox],
    ] as const) {
      if (v)
        throw new BenchError(
          `${flag} does not apply to series ${spec.name}: it is built from a Debian kernel source package`,
          `drop ${flag}, or pick a series on a git base (--series v8)`,
        );
    }
    return;
  }
  if (!opts.kernelSrc) {
    throw new BenchError(
      `series ${spec.name} applies to ${spec.base.ref} (Linux ${spec.base.expectVersion ?? "?"}), and no kernel tree was given`,
      `pass --kernel-src PATH to a Linux git clone that has ${spec.base.ref} (or --base-ref COMMIT for the base commit), or to the linux-${spec.base.expectVersion ?? "N.M"}.tar.xz release tarball`,
    );
  }
  const { src, kind } = await kernelSrcKind(opts.kernelSrc, opts.baseRef);
  // without git (a fresh machine) the clone and its ref are checked once provisioning has installed it
  if (kind === "dir" && (await onPath("git"))) {
    if ((await git(src, ["rev-parse", "--git-dir"])).exitCode !== 0) {
      throw new BenchError(
        `--kernel-src ${src} is not a git repository`,
        "pass a Linux git clone, or a release tarball (linux-N.M.tar.xz)",
      );
    }
    const ref = opts.baseRef ?? spec.base.ref;
    if ((await git(src, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`])).exitCode !== 0) {
      throw new BenchError(
        `ref "${ref}" not found in ${src}`,
        `fetch it (git -C ${src} fetch origin tag ${ref}) or name the base commit with --base-ref`,
      );
    }
  }
  if (opts.mbox) {
    const text = await readFile(opts.mbox, "utf8").catch((e: Error) => {
      throw new BenchError(`cannot read --mbox ${opts.mbox}: ${e.message}`, "check the path");
    });
    if (await onPath("git"))
      seriesFromMbox(text, { version: spec.version, expectedCount: spec.patches || undefined, source: opts.mbox });
  }
}

/**
 * Every input checked before anything is installed, downloaded or built: the
 * series and its runnability, workloads, image inputs, the kernel tree and
 * its base ref, the mbox. A mistake costs a second, not a kernel build.
 */
export async function checkInputs(opts: JobSpec): Promise<CheckedInputs> {
  const spec = opts.profile
    ? treeSpec(await loadSeries(opts.profile), opts.baseRef ?? "HEAD")
    : await loadSeries(opts.series);
  if (opts.profile && !opts.kernelSrc)
    throw new BenchError(
      "--profile benches your own tree: it needs --kernel-src",
      "--kernel-src ~/linux --base-ref my-branch --profile mainline",
    );
  if (spec.notRunnable && !opts.buildOnly) {
    throw new BenchError(
      `series ${spec.name} cannot be run: ${spec.notRunnable}`,
      "--build-only still fetches, applies and builds it",
    );
  }
  await checkSeriesTree(spec, opts);
  if (opts.checks && !opts.phases.includes("correctness")) {
    throw new BenchError(
      `--checks ${opts.checks.join(",")} chooses correctness checks, and --phases ${opts.phases.join(",")} leaves the correctness phase out`,
      "add correctness to --phases, or drop --checks",
    );
  }
  const variants = [
    opts.mutant && "--mutant",
    opts.patch && "--patch",
    opts.prefix !== undefined && "--prefix",
    opts.commit && "--commit",
  ].filter(Boolean);
  if (variants.length > 1)
    throw new BenchError(`${variants.join(" and ")} each choose the kernel to measure: give one`);
  if (opts.prefix !== undefined) {
    if (spec.base.kind !== "git" || !spec.patches)
      throw new BenchError(
        `--prefix ${opts.prefix}: series ${spec.name} has no patches to take a prefix of`,
        "--prefix goes with a mailed series (--series v8)",
      );
    if (opts.prefix < 1 || opts.prefix > spec.patches)
      throw new BenchError(
        `--prefix ${opts.prefix}: series ${spec.name} has ${spec.patches} patches`,
        `choose 1 to ${spec.patches}`,
      );
  }
  if (opts.commit && spec.base.kind !== "git")
    throw new BenchError(
      `--commit ${opts.commit} names a commit of a git tree, and series ${spec.name} is built from a Debian package`,
      "--kernel-src ~/linux --base-ref BASE --profile mainline --commit REV",
    );
  if (opts.patch) await loadUserPatch(opts.patch);
  if (opts.mutant) {
    await loadMutant(opts.mutant, RESULT_NAMES, opts.mutantsDir);
    const { base } = await loadMutants(RESULT_NAMES);
    if (opts.profile || spec.name !== base)
      throw new BenchError(
        `--mutant ${opts.mutant} is a patch of series ${base}'s code, and this run builds ${spec.name}`,
        `drop --mutant, or run --series ${base}`,
      );
  }
  const workloads = opts.images ? [] : await Promise.all(opts.workloads.map((w) => loadWorkload(w)));
  for (const input of opts.images ?? []) await checkImageInput(input);
  const lock = await loadLock(opts.lock ?? DEFAULT_LOCK, opts.lock ? `--lock ${opts.lock}` : undefined);
  for (const w of workloads) if (w.kind === "debian") lockedWorkload(lock, w);
  if (
    opts.debs &&
    !(await stat(opts.debs).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    throw new BenchError(`--debs ${opts.debs} is not a folder`, "pass a folder of .deb files (an export's debs/)");
  return { spec, workloads, lock };
}
