import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { BenchError } from "./errors.js";
import { run, runAllowFail, type RunResult } from "./exec.js";

/** Who commits in trees the tool makes; fixed so the same inputs give the same commit ids. */
export const BENCH_IDENT = { name: "erofs-share-bench", email: "erofs-share-bench@localhost" };

/** Options that keep a user's git configuration (signing, hooks) out of the tool's commits. */
const GIT_SAFE = ["-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null", "-c", "init.defaultBranch=base"];

export function committerEnv(date?: string): Record<string, string> {
  return {
    GIT_COMMITTER_NAME: BENCH_IDENT.name,
    GIT_COMMITTER_EMAIL: BENCH_IDENT.email,
    ...(date ? { GIT_COMMITTER_DATE: date } : {}),
  };
}

/** The identity (author and committer) of a commit the tool makes itself, at a fixed date. */
export function benchIdentityEnv(date: string): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: BENCH_IDENT.name,
    GIT_AUTHOR_EMAIL: BENCH_IDENT.email,
    GIT_AUTHOR_DATE: date,
    ...committerEnv(date),
  };
}

/**
 * git that must succeed, run synchronously (reading mails is a pure
 * function of their text); its stdout, or a BenchError naming what failed.
 */
export function gitOkSync(cwd: string, args: string[], input: string, what: string): string {
  try {
    return execFileSync("git", [...GIT_SAFE, ...args], {
      input,
      encoding: "utf8",
      cwd,
      env: { ...process.env, LC_ALL: "C" },
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === "ENOENT") throw new BenchError(`git: command not found (${what})`, "apt-get install git");
    throw new BenchError(`git ${args[0]} failed (${what}): ${String(err.stderr ?? err.message).trim()}`);
  }
}

/** git in `cwd`, whatever its exit status. */
export async function git(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
  input?: string,
): Promise<RunResult> {
  return runAllowFail("git", [...GIT_SAFE, ...args], { cwd, env, input });
}

/** git that must succeed: its trimmed stdout, or a BenchError naming the command. */
export async function gitOk(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
  input?: string,
): Promise<string> {
  const r = await run("git", [...GIT_SAFE, ...args], { cwd, env, input, what: `git ${args.join(" ")} in ${cwd}` });
  return r.stdout.trim();
}

/** A file's bytes at a commit (`git cat-file blob REV:PATH`), whatever they are. */
export async function gitBlob(cwd: string, rev: string, file: string): Promise<Buffer> {
  try {
    const { stdout } = await promisify(execFile)("git", [...GIT_SAFE, "cat-file", "blob", `${rev}:${file}`], {
      cwd,
      encoding: "buffer",
      maxBuffer: 1 << 30,
    });
    return stdout;
  } catch (e) {
    throw new BenchError(
      `git cat-file blob ${rev}:${file} failed in ${cwd}: ${String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim()}`,
    );
  }
}
