import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { BenchError } from "../util/errors.js";
import { benchIdentityEnv, git, gitOk } from "../util/git.js";
import { exists, removeQuietly } from "../util/fsx.js";
import { kernelVersionOf } from "./source.js";

interface Worktree {
  dir: string;
  /** The repository the worktree belongs to. */
  repo: string;
  ref: string;
  /** The exact commit checked out (detached). */
  commit: string;
  /** VERSION.PATCHLEVEL from the tree's Makefile, e.g. "6.19". */
  version: string;
}

/** VERSION.PATCHLEVEL of a Linux tree, from its top Makefile. */
async function makefileVersion(tree: string): Promise<string> {
  if (!(await exists(path.join(tree, "Makefile")))) {
    throw new BenchError(
      `${tree} has no top-level Makefile: not a Linux source tree`,
      "point the kernel source at a Linux git clone",
    );
  }
  return (await kernelVersionOf(tree)).split(".").slice(0, 2).join(".");
}

/**
 * Checks out `ref` of the user's clone as a detached worktree at `dest`. The
 * clone's HEAD, branches and checkout are left alone; only the worktree list
 * (and objects the tool commits later) change.
 */
export async function makeWorktree(opts: {
  kernelSrc: string;
  ref: string;
  expectVersion?: string;
  dest: string;
  /** Paths left out of the checkout (clones that lack some blobs); git still sees them as unchanged. */
  exclude?: string[];
}): Promise<Worktree> {
  const repo = path.resolve(opts.kernelSrc);
  const dest = path.resolve(opts.dest);
  // --git-dir, not --show-toplevel: a bare clone (git clone --bare, a mirror) has no work tree but serves worktrees
  const gitDir = await git(repo, ["rev-parse", "--git-dir"]);
  if (gitDir.exitCode !== 0) {
    throw new BenchError(
      `${repo} is not a git repository`,
      "pass a Linux git clone (git clone https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git)",
    );
  }
  const resolved = await git(repo, ["rev-parse", "--verify", "--quiet", `${opts.ref}^{commit}`]);
  const commit = resolved.stdout.trim();
  if (resolved.exitCode !== 0 || !commit) {
    throw new BenchError(
      `ref "${opts.ref}" not found in ${repo}`,
      `fetch it first: git -C ${repo} fetch origin tag ${opts.ref} (or: git -C ${repo} fetch --tags)`,
    );
  }
  await clearDest(repo, dest);
  const add = await git(repo, ["worktree", "add", "--no-checkout", "--detach", dest, commit]);
  if (add.exitCode !== 0) {
    throw new BenchError(
      `git worktree add ${dest} ${opts.ref} failed in ${repo}: ${add.stderr.trim()}`,
      `remove ${dest}, then run: git -C ${repo} worktree prune`,
    );
  }
  await checkoutExcept(dest, opts.exclude ?? [], repo);
  const version = await makefileVersion(dest);
  if (opts.expectVersion && version !== opts.expectVersion) {
    await removeWorktree(repo, dest);
    throw new BenchError(
      `${opts.ref} in ${repo} is Linux ${version}, the series needs ${opts.expectVersion}`,
      `check that "${opts.ref}" is the right ref (git -C ${repo} show ${opts.ref}:Makefile | head -5), or fix base.expectVersion in the series spec`,
    );
  }
  const head = await gitOk(dest, ["rev-parse", "HEAD"]);
  return { dir: dest, repo, ref: opts.ref, commit: head, version };
}

/**
 * Fills the index from HEAD, marks excluded paths skip-worktree and writes
 * every other file: the tree stays clean for `git am` without the excluded
 * blobs ever being read.
 */
async function checkoutExcept(dest: string, exclude: string[], repo: string): Promise<void> {
  await gitOk(dest, ["read-tree", "HEAD"]);
  if (exclude.length) {
    const files = await git(dest, ["ls-files", "-z", "--", ...exclude]);
    if (files.stdout) await gitOk(dest, ["update-index", "-z", "--skip-worktree", "--stdin"], {}, files.stdout);
  }
  const co = await git(dest, ["checkout-index", "-a", "-q"]);
  if (co.exitCode !== 0) {
    const dirs = [...co.stderr.matchAll(/unable to read sha1 file of (\S+)/g)].map((m) =>
      m[1]!.slice(0, Math.max(0, m[1]!.lastIndexOf("/"))),
    );
    const unique = [...new Set(dirs.filter(Boolean))];
    throw new BenchError(
      `checking out the base tree from ${repo} failed: ${co.stderr.trim().split("\n")[0]}`,
      unique.length
        ? `this clone lacks some objects; leave their directories out with --kernel-src-exclude ${unique.join(",")}`
        : `check the clone with: git -C ${repo} fsck`,
    );
  }
  await git(dest, ["update-index", "-q", "--refresh"]);
}

/** Removes a worktree made by makeWorktree (directory and the repository's record of it). */
export async function removeWorktree(repo: string, dest: string): Promise<void> {
  await git(repo, ["worktree", "remove", "--force", dest]);
  await removeQuietly(dest);
  await git(repo, ["worktree", "prune"]);
}

async function clearDest(repo: string, dest: string): Promise<void> {
  if (!(await exists(dest))) return;
  const entries = await readdir(dest);
  if (entries.length === 0) {
    await removeQuietly(dest);
    return;
  }
  // Only a worktree of this very repository may be replaced; anything else is the user's.
  const common = await git(dest, ["rev-parse", "--path-format=absolute", "--git-common-dir"]);
  const ours = await git(repo, ["rev-parse", "--path-format=absolute", "--git-common-dir"]);
  if (entries.includes(".git") && common.exitCode === 0 && common.stdout.trim() === ours.stdout.trim()) {
    await removeWorktree(repo, dest);
    return;
  }
  throw new BenchError(
    `${dest} already exists and is not a worktree of ${repo}`,
    `remove ${dest} or choose another destination`,
  );
}

/**
 * Makes a plain source tree (an unpacked tarball in the cache) a git
 * repository with one commit holding every file, so `git am` can apply to
 * it. Returns the commit. A finished import leaves its commit in
 * .git/esb-imported and is taken as it is next time, without a `git status`
 * over the whole kernel tree; an import that was cut short is done again.
 */
export async function gitInitTree(dir: string, message = "base tree"): Promise<string> {
  const marker = path.join(dir, ".git", "esb-imported");
  if (await exists(path.join(dir, ".git"))) {
    const recorded = (await readFile(marker, "utf8").catch(() => "")).trim();
    if (recorded && recorded === (await git(dir, ["rev-parse", "HEAD"])).stdout.trim()) return recorded;
    await removeQuietly(path.join(dir, ".git"));
  }
  await gitOk(dir, ["init", "-q"]);
  // -f: files a .gitignore matches are part of the source too (patches may touch them).
  await gitOk(dir, ["add", "-A", "-f"]);
  const date = "1970-01-01T00:00:01Z";
  await gitOk(dir, ["commit", "-q", "--no-verify", "--allow-empty", "-m", message], benchIdentityEnv(date));
  const commit = await gitOk(dir, ["rev-parse", "HEAD"]);
  await writeFile(marker, commit + "\n");
  return commit;
}
