import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { cached } from "../util/cache.js";
import { BenchError } from "../util/errors.js";
import { runAllowFail } from "../util/exec.js";
import { gitBlob, gitOk } from "../util/git.js";
import type { Progress } from "../util/progress.js";
import type { Fixup } from "./apply.js";
import type { KernelBuild } from "./build.js";
import { parseConfig } from "./config.js";
import { buildVariantKernel, keepOnlyVmlinux, linkedCopy } from "./incremental.js";

/**
 * Another commit of a built tree's history, built on that build: a prefix of
 * a series (its first k patches) or a step of a bisection. The files that
 * differ between the commit and the built head are set to the commit's
 * content in a linked copy of the tree, the series' fixups are applied where
 * they still fit, and only what differs recompiles. A commit that does not
 * build, or whose configuration lacks the feature, is a record that says so
 * (cached like a good one: the same inputs fail the same way).
 */

export const CommitBuildRecordSchema = z.object({
  commit: z.string(),
  /** What the commit is to the run: "patch 3/9" or "bisect step 4". */
  label: z.string(),
  baseBuildKey: z.string(),
  /** Files set to the commit's content (deleted when it has none). */
  files: z.array(z.string()),
  fixups: z.array(z.object({ name: z.string(), applied: z.boolean() })),
  built: z.boolean(),
  /** The first compiler error when it did not build. */
  error: z.string().optional(),
  incremental: z.boolean(),
  why: z.string().optional(),
  compiled: z.array(z.string()),
  /** The series' symbols as the commit's configuration has them (null: not set). */
  symbols: z.record(z.string(), z.string().nullable()),
  kernelRelease: z.string().optional(),
  buildSeconds: z.number(),
});
export type CommitBuildRecord = z.infer<typeof CommitBuildRecordSchema>;

/** The symbols that are not as the series asks: the commit lacks the feature. */
export function missingSymbols(r: CommitBuildRecord, wanted: Record<string, string>): string[] {
  return Object.entries(wanted)
    .filter(([k, v]) => r.symbols[k] !== v)
    .map(([k, v]) => `${k}=${v} (${r.symbols[k] ?? "not set"})`);
}

/** Files that differ between `commit` and the tree's HEAD, with the commit's content (null: absent at the commit). */
async function filesAt(tree: string, commit: string): Promise<Array<{ file: string; content: Buffer | null }>> {
  const out = await gitOk(tree, ["diff", "--name-status", "--no-renames", "-z", commit, "HEAD"]);
  const parts = out.split("\0").filter(Boolean);
  const files: Array<{ file: string; content: Buffer | null }> = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const status = parts[i]!;
    const file = parts[i + 1]!;
    if (status === "A") files.push({ file, content: null });
    else files.push({ file, content: await gitBlob(tree, commit, file) });
  }
  return files;
}

export async function buildCommitKernel(opts: {
  base: KernelBuild;
  /** The built tree: a git worktree whose HEAD the base build was made from. */
  tree: string;
  commit: string;
  label: string;
  /** Diffs to apply on top where they fit (the series' fixups). */
  fixups: Fixup[];
  /** The series' Kconfig symbols, to record how the commit's configuration has them. */
  symbols: Record<string, string>;
  progress: Progress;
  jobs?: number;
}): Promise<{ bzImage: string; vmlinux: string; record: CommitBuildRecord; key: string; reused: boolean }> {
  const { base, progress } = opts;
  const commit = await gitOk(opts.tree, ["rev-parse", "--verify", `${opts.commit}^{commit}`]).catch(() => {
    throw new BenchError(`commit ${opts.commit} is not in ${opts.tree}`, "name a commit of the tree's history");
  });
  const inputs = { base: base.key, commit, fixups: opts.fixups.map((f) => f.text), v: 2 };
  const hit = await cached(
    "kernel-commit",
    inputs,
    CommitBuildRecordSchema,
    (dir) =>
      progress.stage(
        "build",
        `${opts.label} (${commit.slice(0, 12)}) on the ${base.record.kernelRelease} build`,
        async () => {
          const t0 = Date.now();
          const changed = await filesAt(opts.tree, commit);
          const src = path.join(dir, "src");
          await linkedCopy(
            opts.tree,
            src,
            changed.map((c) => c.file),
          );
          for (const c of changed) {
            const file = path.join(src, c.file);
            if (c.content === null) await rm(file, { force: true });
            else await writeFile(file, c.content);
          }
          const fixups: CommitBuildRecord["fixups"] = [];
          for (const f of opts.fixups) {
            const dry = await runAllowFail(
              "patch",
              ["-p1", "--dry-run", "--forward", "--batch", "--fuzz=2", "--reject-file=-"],
              { cwd: src, input: f.text },
            );
            if (dry.exitCode === 0)
              await runAllowFail("patch", ["-p1", "--forward", "--batch", "--fuzz=2", "--no-backup-if-mismatch"], {
                cwd: src,
                input: f.text,
              });
            fixups.push({ name: f.name, applied: dry.exitCode === 0 });
          }
          const record: CommitBuildRecord = {
            commit,
            label: opts.label,
            baseBuildKey: base.key,
            files: changed.map((c) => c.file),
            fixups,
            built: false,
            incremental: false,
            compiled: [],
            symbols: {},
            buildSeconds: 0,
          };
          try {
            const built = await buildVariantKernel({
              base,
              tree: opts.tree,
              dir,
              jobs: opts.jobs,
              localVersion: `-g${commit.slice(0, 8)}`,
            });
            Object.assign(record, {
              built: true,
              incremental: built.incremental,
              why: built.why,
              compiled: built.compiled,
              kernelRelease: built.kernelRelease,
            });
          } catch (e) {
            if (!(e instanceof BenchError)) throw e;
            record.error = e.message;
          }
          const config = parseConfig(await readFile(path.join(dir, "out", ".config"), "utf8").catch(() => ""));
          record.symbols = Object.fromEntries(
            Object.keys(opts.symbols).map((k) => [k, config.get(k) && config.get(k) !== "n" ? config.get(k)! : null]),
          );
          record.buildSeconds = Math.round((Date.now() - t0) / 1000);
          await keepOnlyVmlinux(dir);
          return record;
        },
      ),
    { files: (r) => (r.built ? ["bzImage", "out/vmlinux"] : []), say: (m) => progress.info(m) },
  );
  return {
    bzImage: path.join(hit.dir, "bzImage"),
    vmlinux: path.join(hit.dir, "out", "vmlinux"),
    record: hit.record,
    key: hit.key,
    reused: hit.reused,
  };
}
