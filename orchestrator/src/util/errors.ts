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
  if (err instanceof Error) return `error: ${err.stack ?? err.message}`;
  return `error: ${String(err)}`;
}
