import { copyFile, mkdir, readdir, readFile, rename, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { BenchError } from "../util/errors.js";
import { run, runAllowFail } from "../util/exec.js";
import { firstCompilerError, type KernelBuild } from "./build.js";

/**
 * A kernel that differs from an already built one in a few source files,
 * built so that only those recompile. kbuild writes the source tree's
 * absolute path into every command it records, so a copy of the tree at
 * another path would rebuild everything: the variant is built with its copy
 * mounted over the base tree's path in a private mount namespace (nothing
 * outside that one make sees it), against a copy of the base build's output.
 * Where mount namespaces are not allowed (no root, a locked-down container)
 * it is built whole from its own copy, and says so.
 */

/** A hard-linked copy of `tree` (seconds, no space) whose `changed` files are then made the copy's own. */
export async function linkedCopy(tree: string, dest: string, changed: string[]): Promise<void> {
  await rm(dest, { recursive: true, force: true });
  await run("cp", ["-al", tree, dest], { what: `linking a copy of ${tree}` });
  for (const rel of changed) {
    const file = path.join(dest, rel);
    // a hard link shares its inode with the base tree: write to a fresh file, never through the link
    const own = `${file}.esb-own`;
    await copyFile(file, own).catch(() => undefined);
    await rename(own, file).catch(() => undefined);
  }
}

/** Applies a unified diff to `dir` (dry run first, so a patch that does not fit leaves nothing half applied). */
export async function applyDiff(dir: string, diff: string, what: string): Promise<void> {
  const args = ["-p1", "--fuzz=2", "--no-backup-if-mismatch", "--forward", "--batch", "--reject-file=-"];
  const dry = await runAllowFail("patch", [...args, "--dry-run"], { cwd: dir, input: diff });
  if (dry.exitCode !== 0) {
    throw new BenchError(
      `${what} does not apply to ${dir}:\n${(dry.stdout + dry.stderr).trim()}`,
      "update the patch to this tree (or pin the tree it was written for)",
    );
  }
  await run("patch", args, { cwd: dir, input: diff, what: `applying ${what}` });
}

interface VariantBuild {
  /** True when only what changed was rebuilt. */
  incremental: boolean;
  /** Why it was built whole. */
  why?: string;
  /** Objects make compiled, relative to the tree ("fs/erofs/ishare.o"). */
  compiled: string[];
}

/** Lines "  CC      fs/erofs/ishare.o" of a build log, as object paths relative to the output directory `out`. */
export function compiledObjects(log: string, out: string): string[] {
  return [...log.matchAll(/^\s+CC\s+(\S+\.o)\s*$/gm)].map((m) =>
    m[1]!.startsWith(`${out}/`) ? m[1]!.slice(out.length + 1) : m[1]!,
  );
}

/**
 * make bzImage for `variant` (a linkedCopy of `baseTree` with its changes
 * applied) into `out`, a copy of the base build's output directory.
 */
export async function buildVariant(opts: {
  baseTree: string;
  baseOut: string;
  variant: string;
  out: string;
  jobs: number;
  localVersion: string;
  logFile: string;
}): Promise<VariantBuild> {
  await rm(opts.out, { recursive: true, force: true });
  await run("cp", ["-a", opts.baseOut, opts.out], { what: "copying the base build's output" });
  const make = (out: string) => ["make", `O=${out}`, `-j${opts.jobs}`, `LOCALVERSION=${opts.localVersion}`, "bzImage"];
  // the variant's tree and its output appear at the base's paths for this make alone (objtool records its output path too)
  const script = 'mount --bind "$1" "$2" && mount --bind "$3" "$4" || exit 125; shift 4; cd "$0" && exec "$@"';
  const inNamespace = await runAllowFail(
    "unshare",
    [
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      script,
      opts.baseTree,
      opts.variant,
      opts.baseTree,
      opts.out,
      opts.baseOut,
      ...make(opts.baseOut),
    ],
    { logFile: opts.logFile },
  );
  if (inNamespace.exitCode === 0)
    return { incremental: true, compiled: compiledObjects(await readFile(opts.logFile, "utf8"), opts.baseOut) };
  const log = await readFile(opts.logFile, "utf8");
  if (inNamespace.exitCode !== 125 && !/unshare: /.test(log)) throw buildFailure(log, opts);
  // no private mount namespace here: the whole kernel, from the variant's own tree
  const why = `no private mount namespace (${/unshare: .*|mount: .*/.exec(log)?.[0] ?? `exit ${inNamespace.exitCode}`}): built whole`;
  await rm(opts.out, { recursive: true, force: true });
  await mkdir(opts.out, { recursive: true });
  await copyFile(path.join(opts.baseOut, ".config"), path.join(opts.out, ".config"));
  const whole = await runAllowFail("make", [`O=${opts.out}`, "olddefconfig"], {
    cwd: opts.variant,
    logFile: opts.logFile,
  });
  const r =
    whole.exitCode === 0
      ? await runAllowFail("make", make(opts.out).slice(1), { cwd: opts.variant, logFile: opts.logFile })
      : whole;
  if (r.exitCode !== 0) throw buildFailure(await readFile(opts.logFile, "utf8"), opts);
  return { incremental: false, why, compiled: compiledObjects(await readFile(opts.logFile, "utf8"), opts.out) };
}

/**
 * A variant of `base` in its cache entry `dir`: its tree in dir/src (a
 * linkedCopy of `tree` with its changes) built into dir/out, logged to
 * dir/build.log, its bzImage copied to dir/bzImage; with the release the
 * built kernel reports.
 */
export async function buildVariantKernel(opts: {
  base: KernelBuild;
  tree: string;
  dir: string;
  jobs?: number;
  localVersion: string;
}): Promise<VariantBuild & { kernelRelease: string }> {
  const out = path.join(opts.dir, "out");
  const built = await buildVariant({
    baseTree: opts.tree,
    baseOut: path.join(opts.base.dir, "out"),
    variant: path.join(opts.dir, "src"),
    out,
    jobs: opts.jobs ?? os.availableParallelism(),
    localVersion: opts.localVersion,
    logFile: path.join(opts.dir, "build.log"),
  });
  await copyFile(path.join(out, "arch/x86/boot/bzImage"), path.join(opts.dir, "bzImage"));
  const kernelRelease = (await readFile(path.join(out, "include/config/kernel.release"), "utf8")).trim();
  return { ...built, kernelRelease };
}

/** Once a variant is built only its vmlinux is needed (oopses are symbolised against it): its tree and the other objects go. */
export async function keepOnlyVmlinux(dir: string): Promise<void> {
  await rm(path.join(dir, "src"), { recursive: true, force: true });
  const out = path.join(dir, "out");
  for (const e of await readdir(out).catch(() => [] as string[]))
    if (e !== "vmlinux") await rm(path.join(out, e), { recursive: true, force: true });
}

function buildFailure(log: string, opts: { baseTree: string; variant: string; logFile: string }): BenchError {
  // built in the namespace, the compiler names the base tree's paths; built whole, the variant's
  const err = firstCompilerError(log, log.includes(opts.baseTree) ? opts.baseTree : opts.variant);
  const where = err ? `${err.file}:${err.line}: ${err.message}` : "no compiler error found in the log";
  return new BenchError(`the kernel does not compile: ${where}`, "fix the patch so that it compiles on this tree", [
    opts.logFile,
  ]);
}
