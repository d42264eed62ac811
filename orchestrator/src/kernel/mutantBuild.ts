import { copyFile, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { cached } from "../util/cache.js";
import type { Progress } from "../util/progress.js";
import type { KernelBuild } from "./build.js";
import { applyDiff, buildVariant, linkedCopy } from "./incremental.js";
import { patchedFiles } from "./mutants.js";

export const MutantBuildRecordSchema = z.object({
  mutant: z.string(),
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
}): Promise<{ bzImage: string; vmlinux: string; record: MutantBuildRecord; key: string; reused: boolean }> {
  const { base, mutant, progress } = opts;
  const files = patchedFiles(mutant.patch);
  const inputs = { base: base.key, patch: mutant.patchSha256, v: 1 };
  const hit = await cached(
    "kernel-mutant",
    inputs,
    MutantBuildRecordSchema,
    (dir) =>
      progress.stage(
        "build",
        `mutant ${mutant.name}: ${files.join(", ")} on the ${base.record.kernelRelease} build`,
        async () => {
          const t0 = Date.now();
          const src = path.join(dir, "src");
          await linkedCopy(opts.tree, src, files);
          await applyDiff(src, mutant.patch, `mutant ${mutant.name}`);
          const log = path.join(dir, "build.log");
          const out = path.join(dir, "out");
          const built = await buildVariant({
            baseTree: opts.tree,
            baseOut: path.join(base.dir, "out"),
            variant: src,
            out,
            jobs: opts.jobs ?? os.availableParallelism(),
            localVersion: `-mutant-${mutant.name}`,
            logFile: log,
          });
          await copyFile(path.join(out, "arch/x86/boot/bzImage"), path.join(dir, "bzImage"));
          const kernelRelease = (await readFile(path.join(out, "include/config/kernel.release"), "utf8")).trim();
          // only vmlinux is needed from here on: the copies of the tree and the objects go
          await rm(src, { recursive: true, force: true });
          for (const e of await readdir(out))
            if (e !== "vmlinux") await rm(path.join(out, e), { recursive: true, force: true });
          return {
            mutant: mutant.name,
            breaks: mutant.breaks,
            patchSha256: mutant.patchSha256,
            files,
            compiled: built.compiled,
            baseBuildKey: base.key,
            incremental: built.incremental,
            why: built.why,
            bzImage: "bzImage",
            kernelRelease,
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
