import { constants as fsConstants } from "node:fs";
import { access, mkdtemp, readdir, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { cacheRoot } from "../../util/paths.js";
import { BenchError } from "../../util/errors.js";
import { runAllowFail } from "../../util/exec.js";
import { exists, removeQuietly, sha256, writeFileAtomic } from "../../util/fsx.js";
import type { Progress } from "../../util/progress.js";
import { seriesFromMbox, type SelectedSeries } from "./select.js";

type PatchSource = "mbox" | "cache" | "b4" | "lore" | "none";

export interface AcquiredPatches {
  source: PatchSource;
  /** Where the mbox now lives: the cache copy. */
  mboxPath: string;
  /** sha256 of the mbox as stored. */
  sha256: string;
  /** The file or URL it came from. */
  origin: string;
  series: SelectedSeries;
  /** Sources tried before the one that worked, with why they were passed over. */
  skipped: string[];
}

/** What fetching a series needs of its spec (kernel/series.ts has the whole of it, one floor up). */
export interface MailedSeries {
  name: string;
  /** The cover letter's Message-ID. */
  messageId?: string;
  /** How many patches the series has (0: unknown). */
  patches: number;
  /** "vN" as in the subjects. */
  version?: string;
}

interface AcquireOptions {
  spec: MailedSeries;
  /** --mbox FILE: used first, and stored in the cache for later runs. */
  mboxFile?: string;
  progress: Progress;
  /** Path of the b4 program, or false to never use it; default: b4 if it is on PATH. */
  b4?: string | false;
  /** For tests: stands in for the global fetch. */
  fetchImpl?: typeof fetch;
  /** Base URL of the archive; default https://lore.kernel.org/all. */
  loreBase?: string;
}

/** What a tree benched as it is has to apply: nothing. */
export const NO_PATCHES: AcquiredPatches = {
  source: "none",
  mboxPath: "",
  sha256: "",
  origin: "the tree as it is",
  series: { version: "", total: 0, patches: [], dropped: [] },
  skipped: [],
};

export function seriesCachePath(messageId: string): string {
  return path.join(cacheRoot(), "series", `${messageId.replace(/[/\\]/g, "_")}.mbox`);
}

export function loreUrl(messageId: string, base = "https://lore.kernel.org/all"): string {
  return `${base}/${encodeURIComponent(messageId).replace(/%40/g, "@")}/t.mbox.gz`;
}

/**
 * Gets a series' mails: --mbox file, else the cache, else `b4 am`, else lore
 * over HTTPS. Whatever was found is checked (version, all k/M present) and
 * kept in the cache, so the next run needs no network.
 */
export async function acquirePatches(opts: AcquireOptions): Promise<AcquiredPatches> {
  const { spec, progress } = opts;
  const messageId = spec.messageId;
  if (!messageId) {
    throw new BenchError(
      `series "${spec.name}" has no messageId, so there are no patches to fetch`,
      `add messageId (the cover letter's Message-ID) to kernel/series/${spec.name}.yaml`,
    );
  }
  const cachePath = seriesCachePath(messageId);
  const select = (text: string, source: string) =>
    seriesFromMbox(text, { version: spec.version, expectedCount: spec.patches || undefined, source });
  const skipped: string[] = [];
  const done = async (
    source: PatchSource,
    origin: string,
    text: string,
    series: SelectedSeries,
  ): Promise<AcquiredPatches> => {
    if (source !== "cache") await writeFileAtomic(cachePath, text);
    const digest = sha256(text);
    progress.info(
      `patches: ${series.patches.length} patches of ${spec.name} (${series.version || "unversioned"}) from ${source}: ${origin} (sha256 ${digest.slice(0, 12)})`,
    );
    return { source, mboxPath: cachePath, sha256: digest, origin, series, skipped };
  };

  if (opts.mboxFile) {
    let text: string;
    try {
      text = await readFile(opts.mboxFile, "utf8");
    } catch (e) {
      throw new BenchError(`cannot read --mbox ${opts.mboxFile}: ${(e as Error).message}`, "check the path");
    }
    return done("mbox", opts.mboxFile, text, select(text, opts.mboxFile));
  }

  if (await exists(cachePath)) {
    const text = await readFile(cachePath, "utf8");
    try {
      return await done("cache", cachePath, text, select(text, cachePath));
    } catch (e) {
      if (!(e instanceof BenchError)) throw e;
      skipped.push(`cache: ${e.message}`);
      progress.info(`patches: cached mbox rejected (${e.message}); fetching again`);
    }
  }

  const b4 = opts.b4 === undefined ? await findOnPath("b4") : opts.b4;
  if (b4) {
    const got = await viaB4(b4, messageId, spec.version, progress);
    if (typeof got === "string") {
      try {
        return await done("b4", `b4 am ${messageId}`, got, select(got, `b4 am ${messageId}`));
      } catch (e) {
        if (!(e instanceof BenchError)) throw e;
        skipped.push(`b4: ${e.message}`);
      }
    } else {
      skipped.push(`b4: ${got.error}`);
    }
  } else {
    skipped.push("b4: not on PATH");
  }

  const url = loreUrl(messageId, opts.loreBase);
  const text = await viaLore(url, opts.fetchImpl ?? fetch, progress, skipped);
  return done("lore", url, text, select(text, url));
}

async function viaB4(
  b4: string,
  messageId: string,
  version: string | undefined,
  progress: Progress,
): Promise<string | { error: string }> {
  const out = await mkdtemp(path.join(os.tmpdir(), "esb-b4-"));
  try {
    const v = /^v(\d+)$/i.exec(version ?? "")?.[1];
    const args = ["am", "-o", out, ...(v ? ["-v", v] : []), messageId];
    progress.info(`patches: ${b4} ${args.join(" ")}`);
    const r = await runAllowFail(b4, args, { timeoutMs: 120_000 });
    if (r.exitCode !== 0)
      return { error: `exit ${r.exitCode}: ${(r.stderr || r.stdout).trim().split("\n").slice(-2).join(" ")}` };
    const mbx = (await readdir(out)).filter((f) => f.endsWith(".mbx")).sort();
    const file = mbx[0];
    if (!file) return { error: `wrote no .mbx file into ${out}` };
    return await readFile(path.join(out, file), "utf8");
  } catch (e) {
    return { error: (e as Error).message };
  } finally {
    await removeQuietly(out);
  }
}

async function viaLore(url: string, fetchImpl: typeof fetch, progress: Progress, skipped: string[]): Promise<string> {
  progress.info(`patches: downloading ${url}`);
  const hint = `pass the series as a file: --mbox FILE (download ${url} elsewhere and gunzip it, or run: b4 am <message-id>)`;
  let body: Buffer;
  try {
    const res = await fetchImpl(url, {
      signal: AbortSignal.timeout(60_000),
      headers: { "user-agent": "erofs-share-bench" },
    });
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    body = Buffer.from(await res.arrayBuffer());
  } catch (e) {
    const cause = (e as { cause?: { message?: string } }).cause?.message;
    const tried = skipped.length ? ` (also tried: ${skipped.join("; ")})` : "";
    throw new BenchError(
      `could not download ${url}: ${(e as Error).message}${cause ? ` (${cause})` : ""}${tried}`,
      hint,
    );
  }
  // lore sends gzip; a proxy or fetch itself may already have unpacked it.
  if (body[0] === 0x1f && body[1] === 0x8b) {
    try {
      body = gunzipSync(body);
    } catch (e) {
      throw new BenchError(`${url}: not a valid gzip file: ${(e as Error).message}`, hint);
    }
  }
  return body.toString("utf8");
}

async function findOnPath(cmd: string): Promise<string | false> {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
    const p = path.join(dir, cmd);
    try {
      await access(p, fsConstants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return false;
}
