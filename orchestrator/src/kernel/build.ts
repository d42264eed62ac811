import { copyFile, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { cached } from "../util/cache.js";
import { BenchError } from "../util/errors.js";
import { runAllowFail } from "../util/exec.js";
import { sha256 } from "../util/fsx.js";
import type { Progress } from "../util/progress.js";
import { configureKernel, renderFragment, type ConfigValues } from "./config.js";

export const KernelBuildRecordSchema = z.object({
  bzImage: z.string(),
  config: z.string(),
  log: z.string(),
  kernelRelease: z.string(),
  configSha256: z.string(),
  compiler: z.string(),
  buildSeconds: z.number(),
  jobs: z.number(),
});
type KernelBuildRecord = z.infer<typeof KernelBuildRecordSchema>;

/** The build keeps its O= tree in the cache entry, so vmlinux (symbols for oopses) sits beside bzImage. */
export function vmlinuxBeside(bzImage: string): string {
  return path.join(path.dirname(bzImage), "out", "vmlinux");
}

export interface KernelBuild {
  bzImage: string;
  dir: string;
  record: KernelBuildRecord;
  reused: boolean;
  key: string;
}

export interface CompilerError {
  file: string;
  line: number;
  column?: number;
  message: string;
}

/** The first "file:line[:col]: error: ..." in a build log, with paths made relative to the tree. */
export function firstCompilerError(log: string, tree?: string): CompilerError | null {
  for (const raw of log.split("\n")) {
    const m = /^(\S+?):(\d+):(?:(\d+):)?\s+(?:fatal )?error:\s+(.*)$/.exec(raw.trim());
    if (!m) continue;
    let file = m[1]!;
    if (tree && path.isAbsolute(file)) file = path.relative(tree, file);
    file = file.replace(/^(\.\.\/)+/, "");
    return { file, line: Number(m[2]), column: m[3] ? Number(m[3]) : undefined, message: m[4]! };
  }
  const ld = log.split("\n").find((l) => /\bld(\.\w+)?: .*(undefined reference|multiple definition)/.test(l));
  if (ld) {
    const m = /^(?:ld(?:\.\w+)?: )?(\S+?\.o):.*?: (.*)$/.exec(ld.trim());
    return { file: m?.[1] ?? "vmlinux", line: 0, message: m?.[2] ?? ld.trim() };
  }
  return null;
}

export async function compilerVersion(): Promise<string> {
  const r = await runAllowFail("gcc", ["--version"]);
  return r.stdout.split("\n")[0] ?? "gcc (unknown)";
}

/**
 * make bzImage in an out-of-tree build directory. Cached by the source's
 * identity, the fragment and the compiler: the same inputs never build twice.
 */
export async function buildKernel(opts: {
  tree: string;
  /** What makes this tree what it is (source record, applied patches, fixups). */
  treeIdentity: unknown;
  fragment: ConfigValues;
  progress: Progress;
  jobs?: number;
  /** Called with the first compiler error, to name the patches that touched its file. */
  explainError?: (err: CompilerError) => string;
  /** The run folder: the build log is copied here, so it outlives a failed cache entry. */
  runDir?: string;
}): Promise<KernelBuild> {
  const compiler = await compilerVersion();
  const jobs = opts.jobs ?? os.availableParallelism();
  const inputs = { tree: opts.treeIdentity, fragment: renderFragment(opts.fragment), base: "tinyconfig", compiler };
  const hit = await cached(
    "kernel-build",
    inputs,
    KernelBuildRecordSchema,
    async (dir) => {
      const out = path.join(dir, "out");
      const logFile = path.join(dir, "build.log");
      const t0 = Date.now();
      const { configText } = await opts.progress.stage("config", "tinyconfig + fragment + olddefconfig", () =>
        configureKernel({ tree: opts.tree, outDir: out, fragment: opts.fragment, logFile }),
      );
      await opts.progress.stage("build", `make -j${jobs} bzImage (log: ${logFile})`, async () => {
        const r = await runAllowFail("make", [`O=${out}`, `-j${jobs}`, "bzImage"], { cwd: opts.tree, logFile });
        if (r.exitCode !== 0) {
          const kept = opts.runDir ? path.join(opts.runDir, "build.log") : logFile;
          if (opts.runDir) await copyFile(logFile, kept);
          const log = await readFile(logFile, "utf8");
          const err = firstCompilerError(log, opts.tree);
          const where = err
            ? `${err.file}:${err.line}${err.column ? `:${err.column}` : ""}: ${err.message}`
            : "no compiler error found in the log";
          const extra = err && opts.explainError ? `\n  ${opts.explainError(err)}` : "";
          throw new BenchError(
            `kernel build failed: ${where}${extra}`,
            "fix the tree or add a fixup to the series spec (kernel/fixups/)",
            [kept],
          );
        }
      });
      await copyFile(path.join(out, "arch/x86/boot/bzImage"), path.join(dir, "bzImage"));
      await copyFile(path.join(out, ".config"), path.join(dir, "config"));
      const release = (await readFile(path.join(out, "include/config/kernel.release"), "utf8")).trim();
      return {
        bzImage: "bzImage",
        config: "config",
        log: "build.log",
        kernelRelease: release,
        configSha256: sha256(configText),
        compiler,
        buildSeconds: Math.round((Date.now() - t0) / 1000),
        jobs,
      };
    },
    { files: () => ["out/vmlinux"], say: (m) => opts.progress.info(m) },
  );
  if (opts.runDir) await copyFile(path.join(hit.dir, hit.record.log), path.join(opts.runDir, "build.log"));
  return {
    bzImage: path.join(hit.dir, hit.record.bzImage),
    dir: hit.dir,
    record: hit.record,
    reused: hit.reused,
    key: hit.key,
  };
}
