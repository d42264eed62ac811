import { readFile } from "node:fs/promises";
import path from "node:path";
import { kernelDir } from "../util/paths.js";
import type { RunFolder } from "../record/runRecord.js";
import { buildKernel, type CompilerError, type KernelBuild } from "./build.js";
import { mergeFragments, parseConfig } from "./config.js";
import { DebianArchive } from "../host/debianArchive.js";
import type { SeriesSpec } from "./series.js";
import { prepareSeriesTree } from "./seriesTree.js";
import { prepareDebianKernelSource } from "./source.js";
import { BenchError } from "../util/errors.js";
import type { Progress } from "../util/progress.js";
import type { BenchOptions } from "../pipeline/run.js";
import { timed } from "../pipeline/timing.js";

export /** Kernel the series needs: its base tree (patched where it has patches), configured and built. */
async function prepareKernel(spec: SeriesSpec, opts: BenchOptions, folder: RunFolder, progress: Progress): Promise<KernelBuild> {
  const guest = parseConfig(await readFile(path.join(kernelDir, "guest.config"), "utf8"));
  const fragment = mergeFragments(guest, new Map(Object.entries(spec.symbols)));
  let tree: string;
  let treeIdentity: unknown;
  let explainError: ((e: CompilerError) => string) | undefined;
  if (spec.base.kind === "debian") {
    const archive = new DebianArchive();
    const source = await timed(folder, "kernel source", () => prepareDebianKernelSource(archive, { ...spec.base, ...opts.kernelDeb }, progress));
    tree = source.tree;
    treeIdentity = { source: source.record };
    folder.record.kernel = { source: source.record, build: undefined, buildKey: "" };
  } else {
    // runBench refuses a git-based series without --kernel-src before any work starts
    const kernelSrc = opts.kernelSrc;
    if (!kernelSrc) throw new BenchError(`series ${spec.name} needs --kernel-src`);
    const st = await timed(folder, "series + apply", () =>
      prepareSeriesTree({
        spec, kernelSrc, baseRef: opts.baseRef, mbox: opts.mbox, exclude: opts.kernelSrcExclude ?? [], noFixups: opts.noFixups,
        logDir: folder.dir, progress,
      }),
    );
    tree = st.tree;
    treeIdentity = { base: st.record.baseCommit, head: st.record.apply.head, patches: st.record.patchesSha256 };
    explainError = st.explain;
    folder.record.kernel = {
      source: {
        kind: st.record.tarball ? "tarball" : "git", repo: st.record.repo, ref: st.record.ref, commit: st.record.baseCommit, kernelVersion: st.record.version,
        ...(st.record.tarball ? { tarball: st.record.tarball.file, tarballSha256: st.record.tarball.sha256 } : {}),
      },
      build: undefined,
      buildKey: "",
      apply: { ...st.record.apply, patchSource: st.acquired.source, mbox: st.acquired.origin, mboxSha256: st.acquired.sha256 },
    };
  }
  await folder.save();
  const build = await timed(folder, "kernel build", () => buildKernel({ tree, treeIdentity, fragment, progress, jobs: opts.jobs, explainError, runDir: folder.dir }));
  folder.record.kernel = { ...folder.record.kernel, build: build.record, buildKey: build.key, release: build.record.kernelRelease };
  progress.info(`kernel: ${build.record.kernelRelease} ${build.reused ? "(cached)" : `(built in ${build.record.buildSeconds}s)`} ${build.bzImage}`);
  return build;
}

