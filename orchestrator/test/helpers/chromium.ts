import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Readable, Writable } from "node:stream";

/**
 * Headless Chromium driven over the DevTools protocol on a pipe
 * (--remote-debugging-pipe: commands on fd 3, replies on fd 4, each a JSON
 * message ended by a NUL byte). No dependency beyond node; Debian's
 * `chromium` package provides the browser.
 */

/** The Chromium binary: $CHROMIUM, or chromium / chromium-browser on PATH (Debian's package installs `chromium`). */
export function findChromium(): string {
  const candidates = [process.env.CHROMIUM, "chromium", "chromium-browser"].filter((c): c is string => Boolean(c));
  for (const c of candidates) {
    const r = spawnSync(c, ["--version"], { encoding: "utf8", timeout: 60_000 });
    if (r.status === 0 && /chrom/i.test(r.stdout)) return c;
  }
  throw new Error(`no working Chromium (tried ${candidates.join(", ")}; set CHROMIUM to its path)`);
}

export interface PageShot {
  png: Buffer;
  /** Console errors and warnings, uncaught exceptions, and log entries (failed loads) of level error/warning. */
  problems: string[];
  /** Every URL the page requested. */
  requests: string[];
  /** Layout facts read from the page after load. */
  layout: { viewportWidth: number; scrollWidth: number; height: number; widestChart: number; charts: number };
}

type Message = {
  id?: number;
  method?: string;
  params?: Cdp;
  result?: Cdp;
  error?: { message: string };
  sessionId?: string;
};

/**
 * A DevTools protocol value: JSON whose shape each method defines; the
 * tests read the fields they asked for.
 */
// biome-ignore lint/suspicious/noExplicitAny: the protocol's messages are untyped JSON, read field by field
type Cdp = any;

export class Chromium {
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: Cdp) => void; reject: (e: Error) => void }>();
  private listeners: Array<(m: Message) => void> = [];
  private buffer = "";
  private stderr = "";

  private constructor(
    private readonly child: ChildProcess,
    private readonly profile: string,
  ) {
    const out = child.stdio[4] as Readable;
    out.setEncoding("utf8");
    out.on("data", (chunk: string) => {
      this.buffer += chunk;
      for (let end = this.buffer.indexOf("\0"); end >= 0; end = this.buffer.indexOf("\0")) {
        const text = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 1);
        const m = JSON.parse(text) as Message;
        if (m.id !== undefined && this.pending.has(m.id)) {
          const p = this.pending.get(m.id)!;
          this.pending.delete(m.id);
          if (m.error) p.reject(new Error(`chromium: ${m.error.message}`));
          else p.resolve(m.result);
        } else {
          for (const l of this.listeners) l(m);
        }
      }
    });
    child.stderr?.on("data", (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    child.on("exit", (code) => {
      for (const p of this.pending.values())
        p.reject(new Error(`chromium exited (${code}): ${this.stderr.slice(-800)}`));
      this.pending.clear();
    });
  }

  static async launch(bin: string): Promise<Chromium> {
    const profile = await mkdtemp(path.join(os.tmpdir(), "esb-chromium-"));
    const child = spawn(
      bin,
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-sync",
        "--hide-scrollbars",
        "--mute-audio",
        "--remote-debugging-pipe",
        `--user-data-dir=${profile}`,
        "about:blank",
      ],
      { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] },
    );
    const b = new Chromium(child, profile);
    try {
      await b.send("Browser.getVersion");
    } catch (e) {
      child.kill("SIGKILL");
      throw e;
    }
    return b;
  }

  send(method: string, params: object = {}, sessionId?: string): Promise<Cdp> {
    const id = this.nextId++;
    const msg = JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) });
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      (this.child.stdio[3] as Writable).write(msg + "\0");
    });
  }

  private waitFor(pred: (m: Message) => boolean, ms: number): Promise<Message> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners = this.listeners.filter((l) => l !== on);
        reject(new Error(`chromium: no event within ${ms} ms`));
      }, ms);
      const on = (m: Message) => {
        if (!pred(m)) return;
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== on);
        resolve(m);
      };
      this.listeners.push(on);
    });
  }

  /** Opens `url` at `width` CSS px, waits for load, and captures the whole page. */
  async shoot(url: string, width: number, maxHeight = 16_000): Promise<PageShot> {
    const { targetId } = await this.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await this.send("Target.attachToTarget", { targetId, flatten: true });
    const problems: string[] = [];
    const requests: string[] = [];
    const listener = (m: Message) => {
      if (m.sessionId !== sessionId) return;
      if (m.method === "Runtime.consoleAPICalled" && ["error", "warning", "assert"].includes(m.params.type)) {
        problems.push(`console.${m.params.type}: ${m.params.args.map((a: Cdp) => a.value ?? a.description).join(" ")}`);
      } else if (m.method === "Runtime.exceptionThrown") {
        problems.push(
          `uncaught: ${m.params.exceptionDetails.exception?.description ?? m.params.exceptionDetails.text}`,
        );
      } else if (m.method === "Log.entryAdded" && ["error", "warning"].includes(m.params.entry.level)) {
        problems.push(
          `log ${m.params.entry.level}: ${m.params.entry.text}${m.params.entry.url ? ` (${m.params.entry.url})` : ""}`,
        );
      } else if (m.method === "Network.requestWillBeSent") {
        requests.push(m.params.request.url);
      }
    };
    this.listeners.push(listener);
    try {
      for (const domain of ["Page", "Runtime", "Log", "Network"]) await this.send(`${domain}.enable`, {}, sessionId);
      await this.send(
        "Emulation.setDeviceMetricsOverride",
        { width, height: 900, deviceScaleFactor: 1, mobile: false },
        sessionId,
      );
      const loaded = this.waitFor((m) => m.sessionId === sessionId && m.method === "Page.loadEventFired", 30_000);
      await this.send("Page.navigate", { url }, sessionId);
      await loaded;
      const { result } = await this.send(
        "Runtime.evaluate",
        {
          returnByValue: true,
          expression: `(() => {
            const charts = [...document.querySelectorAll("svg.chart")].map((s) => s.getBoundingClientRect().right);
            return { viewportWidth: window.innerWidth, scrollWidth: document.documentElement.scrollWidth,
              height: document.documentElement.scrollHeight, widestChart: Math.max(0, ...charts), charts: charts.length };
          })()`,
        },
        sessionId,
      );
      const layout = result.value as PageShot["layout"];
      const height = Math.min(maxHeight, Math.max(1, Math.ceil(layout.height)));
      await this.send(
        "Emulation.setDeviceMetricsOverride",
        { width, height, deviceScaleFactor: 1, mobile: false },
        sessionId,
      );
      const shot = await this.send(
        "Page.captureScreenshot",
        { format: "png", captureBeyondViewport: false },
        sessionId,
      );
      return { png: Buffer.from(shot.data, "base64"), problems, requests, layout };
    } finally {
      this.listeners = this.listeners.filter((l) => l !== listener);
      await this.send("Target.closeTarget", { targetId }).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const exited =
      this.child.exitCode !== null || this.child.signalCode !== null
        ? Promise.resolve()
        : new Promise((r) => this.child.once("exit", r));
    await this.send("Browser.close").catch(() => undefined);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
    await rm(this.profile, { recursive: true, force: true });
  }
}
