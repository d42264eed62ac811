import path from "node:path";
import { z } from "zod";
import { cached } from "../util/cache.js";
import type { Progress } from "../util/progress.js";
import type { KernelBuild } from "./build.js";
import { applyDiff, buildVariantKernel, keepOnlyVmlinux, linkedCopy } from "./incremental.js";
import { patchedFiles } from "./mutants.js";

export const MutantBuildRecordSchema = z.object({
  mutant: z.string(),
  /** A mutant (broken on purpose) or a user's own patch (--patch): the same build, named apart. */
  kind: z.enum(["mutant", "patch"]).default("mutant"),
  /** A user's patch: its file as given. */
  file: z.string().optional(),
  /** The folder of a reviewer's own mutant (--mutants-dir); absent for the tool's kernel/mutants/. */
  from: z.string().optional(),
  breaks: z.string(),
  patchSha256: z.string(),
  /** The files the mutant changes, and the objects its build compiled. */
  files: z.array(z.string()),
  compiled: z.array(z.string()),
  baseBuildKey: z.string(),
  incremental: z.boolean(),
  why: z.string().optional(),
  bzImage: z.string(),
  kernelRelease: z.string(),
  buildSeconds: z.number(),
  log: z.string(),
});
type MutantBuildRecord = z.infer<typeof MutantBuildRecordSchema>;

/**
 * A mutant of an already built kernel: its patch applied to a linked copy of
 * the base tree and built on a copy of the base build (only what it touches
 * recompiles), cached by the base build and the patch. The entry keeps
 * bzImage and out/vmlinux (oopses are symbolised against it); the trees go.
 */
export async function buildMutantKernel(opts: {
  base: KernelBuild;
  /** The tree the base was built from. */
  tree: string;
  mutant: { name: string; breaks: string; patch: string; patchSha256: string };
  progress: Progress;
  jobs?: number;
  /** A user's own patch (--patch) rather than a mutant: its release says "-patch-NAME". */
  userPatch?: { file: string };
}): Promise<{ bzImage: string; vmlinux: string; record: MutantBuildRecord; key: string; reused: boolean }> {
  const { base, mutant, progress } = opts;
  const kind = opts.userPatch ? "patch" : "mutant";
  const files = patchedFiles(mutant.patch);
  // a mutant's key is what it always was; a patch's differs in its release name, so in its key
  const inputs = { base: base.key, patch: mutant.patchSha256, v: 1, ...(opts.userPatch ? { kind } : {}) };
  const hit = await cached(
    "kernel-mutant",
    inputs,
    MutantBuildRecordSchema,
    (dir) =>
      progress.stage(
        "build",
        `${kind} ${mutant.name}: ${files.join(", ")} on the ${base.record.kernelRelease} build`,
        async () => {
          const t0 = Date.now();
          const src = path.join(dir, "src");
          await linkedCopy(opts.tree, src, files);
          await applyDiff(src, mutant.patch, `${kind} ${mutant.name}`);
          const built = await buildVariantKernel({
            base,
            tree: opts.tree,
            dir,
            jobs: opts.jobs,
            localVersion: `-${kind}-${mutant.name}`,
          });
          await keepOnlyVmlinux(dir);
          return {
            mutant: mutant.name,
            kind,
            ...(opts.userPatch ? { file: opts.userPatch.file } : {}),
            breaks: mutant.breaks,
            patchSha256: mutant.patchSha256,
            files,
            compiled: built.compiled,
            baseBuildKey: base.key,
            incremental: built.incremental,
            why: built.why,
            bzImage: "bzImage",
            kernelRelease: built.kernelRelease,
            buildSeconds: Math.round((Date.now() - t0) / 1000),
            log: "build.log",
          };
        },
      ),
    { files: () => ["out/vmlinux"], say: (m) => progress.info(m) },
  );
  return {
    bzImage: path.join(hit.dir, hit.record.bzImage),
    vmlinux: path.join(hit.dir, "out", "vmlinux"),
    record: hit.record,
    key: hit.key,
    reused: hit.reused,
  };
}
