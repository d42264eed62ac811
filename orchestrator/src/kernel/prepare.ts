import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { DebianArchive } from "../host/debianArchive.js";
import { BenchError } from "../util/errors.js";
import { sha256 } from "../util/fsx.js";
import { kernelDir } from "../util/paths.js";
import type { Progress } from "../util/progress.js";
import { ApplyReportSchema } from "./applyReport.js";
import type { CompilerError } from "./build.js";
import { mergeFragments, parseConfig, type ConfigValues } from "./config.js";
import type { SeriesSpec } from "./series.js";
import { prepareSeriesTree } from "./seriesTree.js";
import { KernelSourceRecordSchema, prepareDebianKernelSource } from "./source.js";

/** A series' base taken from the user's clone or release tarball (the tool's own git import of it). */
const SeriesBaseRecordSchema = z.object({
  kind: z.enum(["git", "tarball"]),
  repo: z.string(),
  ref: z.string(),
  commit: z.string(),
  kernelVersion: z.string(),
  tarball: z.string().optional(),
  tarballSha256: z.string().optional(),
});

/** The apply report, with where the mails came from. */
const ApplyRecordSchema = ApplyReportSchema.extend({
  patchSource: z.string(),
  mbox: z.string(),
  mboxSha256: z.string(),
  /** sha256 of each patch's diff, in the order applied (what a KCIDB patchset hash is made of); absent in older runs. */
  patchDiffSha256: z.array(z.string()).optional(),
});

/** What the kernel tree is: its source, and for a series the apply report. */
export const KernelTreeRecordSchema = z.object({
  source: z.union([KernelSourceRecordSchema, SeriesBaseRecordSchema]),
  apply: ApplyRecordSchema.optional(),
});
type KernelTreeRecord = z.infer<typeof KernelTreeRecordSchema>;

export interface KernelTree {
  tree: string;
  /** What makes the tree what it is, for the build's cache key. */
  identity: unknown;
  record: KernelTreeRecord;
  reused: boolean;
  /** Names the patches that touched a file with a compile error. */
  explainError?: (e: CompilerError) => string;
}

interface KernelTreeRequest {
  /** Pin of a Debian source package, for Debian-based series. */
  kernelDeb?: { package?: string; version?: string };
  /** A Linux clone or release tarball, for git-based series. */
  kernelSrc?: string;
  baseRef?: string;
  exclude?: string[];
  mbox?: string;
  noFixups?: boolean;
  /** Where apply.log goes. */
  logDir: string;
  progress: Progress;
}

/** The guest config fragment (kernel/guest.config) plus the series' own symbols. */
export async function kernelFragment(spec: SeriesSpec, opts: { sanitizer?: boolean } = {}): Promise<ConfigValues> {
  const guest = parseConfig(await readFile(path.join(kernelDir, "guest.config"), "utf8"));
  const plain = mergeFragments(guest, new Map(Object.entries(spec.symbols)));
  if (!opts.sanitizer) return plain;
  return mergeFragments(plain, parseConfig(await readFile(path.join(kernelDir, "sanitizer.config"), "utf8")));
}

/** The source tree a series' kernel is built from: a Debian package, or its base with the series applied. */
export async function prepareKernelTree(spec: SeriesSpec, req: KernelTreeRequest): Promise<KernelTree> {
  if (spec.base.kind === "debian") {
    const source = await prepareDebianKernelSource(
      new DebianArchive(),
      { ...spec.base, ...req.kernelDeb },
      req.progress,
    );
    return {
      tree: source.tree,
      identity: { source: source.record },
      record: { source: source.record },
      reused: source.reused,
    };
  }
  if (!req.kernelSrc) throw new BenchError(`series ${spec.name} needs --kernel-src`);
  const st = await prepareSeriesTree({
    spec,
    kernelSrc: req.kernelSrc,
    baseRef: req.baseRef,
    mbox: req.mbox,
    exclude: req.exclude ?? [],
    noFixups: req.noFixups,
    logDir: req.logDir,
    progress: req.progress,
  });
  return {
    tree: st.tree,
    identity: { base: st.record.baseCommit, head: st.record.apply.head, patches: st.record.patchesSha256 },
    explainError: st.explain,
    reused: st.reused,
    record: {
      source: {
        kind: st.record.tarball ? "tarball" : "git",
        repo: st.record.repo,
        ref: st.record.ref,
        commit: st.record.baseCommit,
        kernelVersion: st.record.version,
        ...(st.record.tarball ? { tarball: st.record.tarball.file, tarballSha256: st.record.tarball.sha256 } : {}),
      },
      apply: {
        ...st.record.apply,
        patchSource: st.acquired.source,
        mbox: st.acquired.origin,
        mboxSha256: st.acquired.sha256,
        patchDiffSha256: st.acquired.series.patches.map((p) => sha256(p.diff)),
      },
    },
  };
}
