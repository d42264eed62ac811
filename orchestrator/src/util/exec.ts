import { createWriteStream } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { execa, type Options, type ResultPromise } from "execa";
import { BenchError } from "./errors.js";

interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Append stdout and stderr here instead of keeping them in memory. */
  logFile?: string;
  timeoutMs?: number;
  input?: string;
  /** Describes the step in error messages ("make bzImage"). */
  what?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs a command; a non-zero exit becomes a BenchError that names it and shows its last lines. */
export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await runAllowFail(cmd, args, opts);
  if (r.exitCode !== 0) {
    const what = opts.what ?? `${cmd} ${args.join(" ")}`;
    const tail = opts.logFile ? await tailOfFile(opts.logFile, 20) : lastLines(r.stderr || r.stdout, 20);
    const full = /No space left on device|Disk quota exceeded/.test(tail);
    throw new BenchError(
      `${what} failed (exit ${r.exitCode})${tail ? `:\n${indent(tail)}` : ""}`,
      full
        ? "the disk is full: free space (or move the cache with ESB_CACHE, the results with --out) and run again"
        : undefined,
      opts.logFile ? [opts.logFile] : [],
    );
  }
  return r;
}

/** Children still running, each the leader of its own process group (make's compilers, mmdebstrap's apt, QEMU). */
const children = new Set<number>();

/**
 * Starts a command in a process group of its own and remembers it, so an
 * interrupted run can stop it with everything it started (make -j2 leaves
 * compilers behind if only make is killed).
 */
export function spawnTracked(cmd: string, args: string[], options: Options): ResultPromise {
  const child = execa(cmd, args, { ...options, detached: true, cleanup: true });
  if (child.pid !== undefined) {
    const pid = child.pid;
    children.add(pid);
    void child.finally(() => children.delete(pid)).catch(() => undefined);
  }
  return child;
}

/** Stops every tracked child's process group: SIGTERM, then SIGKILL for what is still there after `graceMs`. */
export async function stopAllChildren(graceMs = 3_000): Promise<void> {
  const groups = [...children];
  const signal = (s: NodeJS.Signals) => {
    for (const pid of groups) {
      try {
        process.kill(-pid, s);
      } catch {
        // already gone
      }
    }
  };
  signal("SIGTERM");
  const until = Date.now() + graceMs;
  while (groups.some((pid) => children.has(pid)) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  signal("SIGKILL");
}

export async function runAllowFail(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const env = { ...process.env, LC_ALL: "C", ...opts.env };
  if (opts.logFile) {
    await mkdir(path.dirname(opts.logFile), { recursive: true });
    const log = createWriteStream(opts.logFile, { flags: "a" });
    log.write(`$ ${cmd} ${args.join(" ")}\n`);
    try {
      const child = spawnTracked(cmd, args, {
        cwd: opts.cwd,
        env,
        reject: false,
        timeout: opts.timeoutMs,
        input: opts.input,
        stdout: "pipe",
        stderr: "pipe",
        buffer: false,
      });
      child.stdout?.pipe(log, { end: false });
      child.stderr?.pipe(log, { end: false });
      const res = await child;
      if (isMissing(res)) throw missingTool(cmd);
      return { stdout: "", stderr: "", exitCode: exitCodeOf(res) };
    } finally {
      await new Promise<void>((resolve) => log.end(resolve));
    }
  }
  const res = await spawnTracked(cmd, args, {
    cwd: opts.cwd,
    env,
    reject: false,
    timeout: opts.timeoutMs,
    input: opts.input,
  });
  if (isMissing(res)) throw missingTool(cmd);
  return { stdout: String(res.stdout ?? ""), stderr: String(res.stderr ?? ""), exitCode: exitCodeOf(res) };
}

function isMissing(res: object): boolean {
  return (res as { code?: unknown }).code === "ENOENT";
}

function exitCodeOf(res: { exitCode?: number; failed?: boolean; timedOut?: boolean }): number {
  if (res.timedOut) return 124;
  if (typeof res.exitCode === "number") return res.exitCode;
  return res.failed ? 1 : 0;
}

function missingTool(cmd: string): BenchError {
  return new BenchError(
    `${cmd}: command not found`,
    `install the package that provides ${cmd} (npm run bench provisions its own tools when run as root)`,
  );
}

export async function tailOfFile(file: string, lines: number): Promise<string> {
  try {
    return lastLines(await readFile(file, "utf8"), lines);
  } catch {
    return "";
  }
}

export function lastLines(text: string, n: number): string {
  const all = text.replace(/\s+$/, "").split("\n");
  return all.slice(-n).join("\n");
}

export function indent(text: string, by = "    "): string {
  return text
    .split("\n")
    .map((l) => by + l)
    .join("\n");
}
