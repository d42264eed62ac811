import { appendFileSync, mkdirSync } from "node:fs";
import path from "node:path";

/**
 * Stage progress on stderr (humans) and in a log file (later). Long waits print
 * a heartbeat so a TCG boot or a kernel build never looks hung.
 */
export class Progress {
  private logFile?: string;
  private readonly started = Date.now();

  constructor(private readonly quiet = false) {}

  setLogFile(file: string): void {
    mkdirSync(path.dirname(file), { recursive: true });
    this.logFile = file;
  }

  info(msg: string): void {
    const line = `[${fmtElapsed(Date.now() - this.started)}] ${msg}`;
    if (!this.quiet) process.stderr.write(line + "\n");
    if (this.logFile) appendFileSync(this.logFile, line + "\n");
  }

  /** Runs one stage, saying when it starts, what it waits for, and how long it took. */
  async stage<T>(name: string, waitingFor: string, fn: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    this.info(`${name}: ${waitingFor}`);
    const timer = setInterval(() => {
      this.info(`${name}: still ${waitingFor} (${fmtElapsed(Date.now() - t0)})`);
    }, 30_000);
    timer.unref();
    try {
      const out = await fn();
      this.info(`${name}: done in ${fmtElapsed(Date.now() - t0)}`);
      return out;
    } catch (e) {
      this.info(`${name}: failed after ${fmtElapsed(Date.now() - t0)}`);
      throw e;
    } finally {
      clearInterval(timer);
    }
  }
}

export function fmtElapsed(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}
