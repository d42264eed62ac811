/**
 * An error the user can act on: what went wrong, with which input, and what to
 * do about it. The CLI prints these without a stack trace.
 */
export class BenchError extends Error {
  constructor(
    message: string,
    /** The fix, phrased as an instruction ("run: apt-get install qemu-system-x86"). */
    readonly hint?: string,
    /** Files worth opening next (full logs, console tails). */
    readonly files: string[] = [],
  ) {
    super(message);
    this.name = "BenchError";
  }
}

export function describeError(err: unknown): string {
  if (err instanceof BenchError) {
    const lines = [`error: ${err.message}`];
    if (err.hint) lines.push(`  fix: ${err.hint}`);
    for (const f of err.files) lines.push(`  see: ${f}`);
    return lines.join("\n");
  }
  const sys = err as NodeJS.ErrnoException;
  if (sys?.code === "ENOSPC" || sys?.code === "EDQUOT") {
    return `error: no space left on the disk${sys.path ? ` writing ${sys.path}` : ""}\n  fix: free space there (or move the cache with ESB_CACHE, the results with --out) and run again`;
  }
  if (sys?.code === "EACCES" || sys?.code === "EPERM")
    return `error: permission denied${sys.path ? ` on ${sys.path}` : ""}: ${sys.message}`;
  // a stack trace is for the tool's developers, not its users: ESB_DEBUG=1 shows it
  if (err instanceof Error)
    return process.env.ESB_DEBUG
      ? `error: ${err.stack ?? err.message}`
      : `error: ${err.message}\n  (an unexpected error; ESB_DEBUG=1 shows where it came from)`;
  return `error: ${String(err)}`;
}
