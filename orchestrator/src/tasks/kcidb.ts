import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { NightSummarySchema } from "../record/nightHistory.js";
import { loadRunRecord, type RunRecord } from "../record/runRecord.js";
import type { RunPlace } from "../report/kcidb/place.js";
import { renderKcidb } from "../report/kcidb/render.js";
import type { KcidbData } from "../report/kcidb/kcidbSchema.js";
import { BenchError } from "../util/errors.js";
import { writeJsonAtomic } from "../util/fsx.js";

/** The files of a run folder a KCIDB object may name: its top-level files and each boot's console. */
async function filesOf(dir: string): Promise<Set<string>> {
  const files = new Set<string>();
  for (const e of await readdir(dir, { withFileTypes: true })) if (e.isFile()) files.add(e.name);
  for (const boot of await readdir(path.join(dir, "boots")).catch(() => [] as string[])) {
    if (
      await stat(path.join(dir, "boots", boot, "console.log")).then(
        () => true,
        () => false,
      )
    )
      files.add(`boots/${boot}/console.log`);
  }
  return files;
}

/** The run folders a source names: a run folder (a merged shard set is one), or a night's summary (nights/<night>.json) for each job it ran. */
async function runDirsOf(source: string): Promise<string[]> {
  const p = path.resolve(source);
  const info = await stat(p).catch(() => undefined);
  if (!info)
    throw new BenchError(
      `${p} does not exist`,
      "pass a run folder or a night's summary (results/nightly/nights/<night>.json)",
    );
  if (info.isDirectory()) return [p];
  let summary: ReturnType<typeof NightSummarySchema.safeParse>;
  try {
    summary = NightSummarySchema.safeParse(JSON.parse(await readFile(p, "utf8")));
  } catch (e) {
    throw new BenchError(
      `${p} is not JSON: ${(e as Error).message}`,
      "pass a run folder or a night's summary (results/nightly/nights/<night>.json)",
    );
  }
  if (!summary.success)
    throw new BenchError(
      `${p} is neither a run folder nor a night's summary`,
      "pass a run folder or results/nightly/nights/<night>.json",
    );
  const dirs = summary.data.jobs.flatMap((j) => (j.runDir ? [j.runDir] : []));
  if (!dirs.length)
    throw new BenchError(`the night ${summary.data.night} ran no job to report`, "pass a night in which a job ran");
  return dirs;
}

function checkBaseUrl(url: string | undefined): void {
  if (url === undefined) return;
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    // reported below
  }
  if (!parsed || !/^https?:$/.test(parsed.protocol))
    throw new BenchError(
      `--url "${url}" is not an http(s) URL`,
      "--url https://HOST/PATH, under which each run folder is published by its name",
    );
}

/**
 * Runs as one KCIDB submission (schema v5.3), written to `file` for
 * kcidb-submit; nothing is written into the run folders. `sources` are run
 * folders (a merged shard set is one) or nights' summaries; `baseUrl` is
 * where the run folders are published, if they are: then logs are named by
 * URL as well as by path.
 */
export async function writeKcidb(
  sources: string[],
  file: string,
  baseUrl: string | undefined,
): Promise<{ file: string; data: KcidbData }> {
  if (!sources.length)
    throw new BenchError(
      "kcidb needs the runs to report",
      "kcidb FILE --from RUN_DIR[,RUN_DIR...] (or a night's summary, results/nightly/nights/<night>.json)",
    );
  checkBaseUrl(baseUrl);
  const runs: Array<{ run: RunRecord; place: RunPlace }> = [];
  for (const source of sources) {
    for (const dir of await runDirsOf(source)) {
      const files = await filesOf(dir);
      runs.push({
        run: await loadRunRecord(dir),
        place: { folder: path.basename(dir), baseUrl, has: (f) => files.has(f) },
      });
    }
  }
  const data = renderKcidb(runs);
  const out = path.resolve(file);
  await writeJsonAtomic(out, data);
  return { file: out, data };
}
