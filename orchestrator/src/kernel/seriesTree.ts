import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { cacheRoot } from "../util/paths.js";
import { BenchError } from "../util/errors.js";
import { exists, hashOf, writeJsonAtomic } from "../util/fsx.js";
import { withLock } from "../util/fileLock.js";
import type { Progress } from "../util/progress.js";
import { ApplyError, applySeries, loadFixups } from "./apply.js";
import { ApplyReportSchema, renderApplyReport, type ApplyReport } from "./applyReport.js";
import { makeWorktree, removeWorktree } from "./worktree.js";
import type { CompilerError } from "./build.js";
import { acquirePatches, NO_PATCHES, type AcquiredPatches } from "./patches/acquire.js";
import type { SeriesSpec } from "./series.js";
import { prepareTarballKernelSource } from "./source.js";
import { gitOk } from "../util/git.js";
import { gitInitTree } from "./worktree.js";
import { z } from "zod";

export interface SeriesTreeRequest {
  spec: SeriesSpec;
  /** The user's Linux clone, or a release tarball (linux-6.19.tar.xz). */
  kernelSrc: string;
  /** Overrides the spec's base ref (a clone without the tag, a point release). */
  baseRef?: string;
  mbox?: string;
  exclude: string[];
  /** Apply the series alone, without the spec's fixups (to see what they fix). */
  noFixups?: boolean;
  logDir: string;
  progress: Progress;
}

const TreeRecordSchema = z.object({
  repo: z.string(),
  ref: z.string(),
  baseCommit: z.string(),
  version: z.string(),
  patchesSha256: z.string(),
  patchSource: z.string(),
  /** When the base came from a tarball: its name and digest (the commit is the tool's own import of it). */
  tarball: z.object({ file: z.string(), sha256: z.string() }).optional(),
  exclude: z.array(z.string()),
  apply: ApplyReportSchema,
});
export type SeriesTreeRecord = z.infer<typeof TreeRecordSchema>;

export interface SeriesTree {
  tree: string;
  record: SeriesTreeRecord;
  reused: boolean;
  acquired: AcquiredPatches;
  /** Which of the series' patches (k/M: subject) touched a file, for build errors. */
  explain: (err: CompilerError) => string;
}

const TARBALL = /\.(tar(\.(xz|gz|bz2|zst))?|tgz)$/;

/** What --kernel-src is: a directory (a clone) or a release tarball; anything else is refused, naming it. */
export async function kernelSrcKind(
  kernelSrc: string,
  baseRef?: string,
): Promise<{ src: string; kind: "dir" | "tarball" }> {
  const src = path.resolve(kernelSrc);
  const st = await stat(src).catch(() => null);
  if (!st)
    throw new BenchError(
      `--kernel-src ${src} does not exist`,
      "pass the path of a Linux git clone or a release tarball (linux-N.M.tar.xz)",
    );
  if (st.isDirectory()) return { src, kind: "dir" };
  if (!TARBALL.test(src))
    throw new BenchError(
      `--kernel-src ${src} is neither a directory nor a .tar.{xz,gz,bz2,zst}`,
      "pass a Linux git clone or a release tarball",
    );
  if (baseRef)
    throw new BenchError(
      `--base-ref ${baseRef} names a commit, but --kernel-src ${src} is a tarball`,
      "drop --base-ref: the tarball is the base",
    );
  return { src, kind: "tarball" };
}

/**
 * Where the series is applied from: the user's clone at the ref, or a
 * release tarball unpacked once (cached by digest) and committed with a
 * fixed identity and date, so the same tarball always gives the same commit.
 */
async function baseRepository(
  req: SeriesTreeRequest,
): Promise<{ repo: string; ref: string; tarball?: { file: string; sha256: string } }> {
  const { src, kind } = await kernelSrcKind(req.kernelSrc, req.baseRef);
  if (kind === "dir")
    return { repo: src, ref: req.baseRef ?? (req.spec.base.kind === "git" ? req.spec.base.ref : "HEAD") };
  const unpacked = await prepareTarballKernelSource(src, req.progress);
  const commit = await req.progress.stage("source", `importing ${path.basename(src)} into git (once)`, () =>
    gitInitTree(unpacked.tree, `import ${path.basename(src)}`),
  );
  return { repo: unpacked.tree, ref: commit, tarball: { file: src, sha256: unpacked.record.tarballSha256 ?? "" } };
}

/**
 * The base tree at the series' ref with the series and its fixups applied,
 * one commit each, in a worktree of the user's clone that lives in the cache
 * (keyed by base commit, patches and fixups). The user's checkout is untouched.
 */
export async function prepareSeriesTree(req: SeriesTreeRequest): Promise<SeriesTree> {
  const { spec, progress } = req;
  if (spec.base.kind !== "git") throw new BenchError(`series ${spec.name} is not based on a git ref`);
  const acquired = await progress.stage("series", `getting ${spec.patches} patches of ${spec.name}`, () =>
    spec.messageId ? acquirePatches({ spec, mboxFile: req.mbox, progress }) : Promise.resolve(NO_PATCHES),
  );
  progress.info(`series: ${acquired.series.patches.length} patches from ${acquired.source} (${acquired.origin})`);
  const fixups = req.noFixups ? [] : await loadFixups(spec.fixups);
  const base = await baseRepository(req);
  const { repo, ref } = base;
  const baseCommit = await gitOk(repo, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]).catch(() => {
    throw new BenchError(
      `ref "${ref}" not found in ${repo}`,
      `fetch it (git -C ${repo} fetch --tags) or name the base commit with --base-ref`,
    );
  });
  const key = hashOf({
    baseCommit,
    patches: acquired.series.patches.map((p) => p.raw),
    fixups,
    exclude: req.exclude,
  }).slice(0, 24);
  const dest = path.join(cacheRoot(), "kernel-tree", key);
  const recordFile = `${dest}.json`;
  const explain = (err: CompilerError) => {
    const touching = acquired.series.patches
      .filter((p) => p.files.includes(err.file))
      .map((p) => `[${p.index}/${acquired.series.total}] ${p.title}`);
    const fix = fixups.filter((f) => f.text.includes(`+++ b/${err.file}`)).map((f) => `fixup ${f.name}`);
    const all = [...touching, ...fix];
    return all.length ? `${err.file} was touched by: ${all.join("; ")}` : `${err.file} is not touched by the series`;
  };
  // two runs of one series at once: one applies, the other waits and reuses the tree
  return withLock(
    dest,
    `applying ${spec.name} onto ${baseCommit.slice(0, 12)}`,
    async () => {
      if ((await exists(recordFile)) && (await exists(path.join(dest, "Makefile")))) {
        const parsed = await readFile(recordFile, "utf8")
          .then((t) => TreeRecordSchema.safeParse(JSON.parse(t)))
          .catch(() => null);
        if (parsed?.success) {
          progress.info(`apply (cached):\n${renderApplyReport(parsed.data.apply)}`);
          return { tree: dest, record: parsed.data, reused: true, acquired, explain };
        }
      }
      const wt = await progress.stage("worktree", `checking out ${ref} (${baseCommit.slice(0, 12)}) of ${repo}`, () =>
        makeWorktree({
          kernelSrc: repo,
          ref: baseCommit,
          expectVersion: spec.base.kind === "git" ? spec.base.expectVersion : undefined,
          dest,
          exclude: req.exclude,
        }),
      );
      let report: ApplyReport;
      try {
        report =
          acquired.series.patches.length || fixups.length
            ? await progress.stage(
                "apply",
                `applying ${acquired.series.patches.length} patches and ${fixups.length} fixup(s)`,
                () =>
                  applySeries({
                    worktree: wt.dir,
                    patches: acquired.series.patches,
                    total: acquired.series.total,
                    fixups,
                    logFile: path.join(req.logDir, "apply.log"),
                  }),
              )
            : { base: wt.commit, head: wt.commit, method: "none", attempts: [], patches: [], fixups: [] };
      } catch (e) {
        if (e instanceof ApplyError) {
          progress.info(`apply:\n${renderApplyReport(e.report)}`);
          await removeWorktree(repo, dest);
        }
        throw e;
      }
      progress.info(`apply:\n${renderApplyReport(report)}`);
      const record: SeriesTreeRecord = {
        repo,
        ref,
        baseCommit,
        version: wt.version,
        patchesSha256: acquired.sha256,
        patchSource: acquired.source,
        tarball: base.tarball,
        exclude: req.exclude,
        apply: report,
      };
      await writeJsonAtomic(recordFile, record);
      return { tree: dest, record, reused: false, acquired, explain };
    },
    (m) => progress.info(m),
  );
}
