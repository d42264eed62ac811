import { appendFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { compareRuns } from "../../src/analysis/compareRuns.js";
import type { AccessPath } from "../../src/guest/modes.js";
import { NightLineSchema, NightlyVerdictSchema } from "../../src/record/nightHistory.js";
import { loadRunRecord, type RunRecord } from "../../src/record/runRecord.js";
import { renderComparisonHtml } from "../../src/report/html/comparePage.js";
import { renderRunHtml } from "../../src/report/html/runPage.js";
import { fixtureRun } from "./runFixture.js";

/** One night of a fixture history: what differs from the fixture run (kernel and images stay changed for the nights after). */
export interface FixtureNight {
  /** Days after 2026-11-10, 02:00 UTC. */
  day: number;
  efficiency?: (workload: string, path: AccessPath) => number | undefined;
  kernelRelease?: string;
  redisImageSha?: string;
  status?: RunRecord["status"];
}

function runIdOf(started: Date, k: number): string {
  return `${started
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}-n${k.toString().padStart(3, "0")}`;
}

/**
 * Writes a history folder the way nightly does: one run folder per night
 * with run.json and nightly.json (judged against the last good night by the
 * real comparison), and nightly.jsonl; with `pages`, each night's
 * report.html and comparison.html too.
 */
export async function writeHistory(
  dir: string,
  nights: FixtureNight[],
  opts: { pages?: boolean } = {},
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const ids: string[] = [];
  let good: { dir: string; run: RunRecord } | null = null;
  let kernelRelease: string | undefined;
  let redisImageSha: string | undefined;
  for (const [k, n] of nights.entries()) {
    kernelRelease = n.kernelRelease ?? kernelRelease;
    redisImageSha = n.redisImageSha ?? redisImageSha;
    const started = new Date(Date.UTC(2026, 10, 10 + n.day, 2, 0, 0));
    const runId = runIdOf(started, k);
    const run = fixtureRun(
      { runId, startedAt: started.toISOString(), status: n.status ?? "complete" },
      { efficiency: n.efficiency, seed: k },
    );
    if (kernelRelease) run.kernel = { ...run.kernel!, release: kernelRelease };
    if (redisImageSha) {
      const w = run.workloads.find((x) => x.name === "redis")!;
      w.imageB = { ...w.imageB, imageSha256: redisImageSha.repeat(64).slice(0, 64) };
    }
    const runDir = path.join(dir, runId);
    await mkdir(runDir, { recursive: true });
    await writeFile(path.join(runDir, "run.json"), JSON.stringify(run, null, 2));
    const current = await loadRunRecord(runDir);
    const comparison = good ? compareRuns(good.run, current, { baseline: good.dir, current: runDir }) : null;
    if (opts.pages) {
      await writeFile(path.join(runDir, "report.html"), renderRunHtml(current));
      if (comparison)
        await writeFile(
          path.join(runDir, "comparison.html"),
          renderComparisonHtml(comparison, {
            baselineHref: `../${good!.run.runId}/report.html`,
            currentHref: "report.html",
          }),
        );
    }
    const regressions = comparison?.regressions ?? (current.status === "complete" ? 0 : 1);
    const verdict = NightlyVerdictSchema.parse({
      regressions,
      baseline: good?.dir ?? null,
      note: good ? null : "first baseline",
      comparison,
    });
    await writeFile(path.join(runDir, "nightly.json"), JSON.stringify(verdict, null, 2));
    const line = NightLineSchema.parse({
      runId,
      startedAt: current.startedAt,
      status: current.status,
      kernel: current.kernel?.release ?? null,
      baseline: good?.run.runId ?? null,
      regressions,
    });
    await appendFile(path.join(dir, "nightly.jsonl"), JSON.stringify(line) + "\n");
    if (current.status === "complete" && regressions === 0) good = { dir: runDir, run: current };
    ids.push(runId);
  }
  return ids;
}
