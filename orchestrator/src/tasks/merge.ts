import { appendFile, cp, mkdir, readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { bootsPlanned } from "../analysis/repetitions.js";
import { deriveResults } from "../analysis/results.js";
import { acceleratorLabel } from "../guest/accelerator.js";
import { loadRunRecord, type RunRecord } from "../record/runRecord.js";
import { BenchError } from "../util/errors.js";
import { hashOf } from "../util/fsx.js";
import { resultsDir } from "../util/paths.js";
import { conclusions } from "../pipeline/conclusions.js";
import { newRunId, RunFolder } from "../pipeline/runFolder.js";

/** What must be the same in every shard of one job: anything that changes what a boot measures. */
function shardInputs(r: RunRecord): Record<string, string> {
  return {
    "series spec": r.series.specSha256,
    "kernel build": r.kernel?.buildKey ?? "none",
    "mkfs.erofs": `${r.erofsUtils?.version ?? "none"} ${r.erofsUtils?.dscSha256 ?? ""}`.trim(),
    "guest initramfs": r.initramfs?.initramfsSha256 ?? "none",
    plan: hashOf(r.plan),
    images: r.workloads
      .map((w) => `${w.name} ${w.imageA.imageSha256.slice(0, 12)} ${w.imageB.imageSha256.slice(0, 12)}`)
      .join(", "),
    shards: String(r.shard?.count ?? "none"),
  };
}

/** A shard's folder and record, as merge reads them. */
interface ShardRun {
  dir: string;
  record: RunRecord;
}

/**
 * Checks that shards can be joined: each measured one part of the same job
 * with the same inputs, and together they are every part exactly once.
 */
function checkShards(shards: ShardRun[]): void {
  if (!shards.length) throw new BenchError("merge needs the shard folders to join", "merge DIR1,DIR2,...");
  for (const s of shards) {
    if (!s.record.shard)
      throw new BenchError(
        `${s.dir} is not a shard (it was not run with --shard)`,
        "merge the folders of one job's --shard K/N runs",
      );
  }
  const [first, ...rest] = shards as [ShardRun, ...ShardRun[]];
  const want = shardInputs(first.record);
  for (const s of rest) {
    const got = shardInputs(s.record);
    for (const [input, value] of Object.entries(want)) {
      if (got[input] !== value) {
        throw new BenchError(
          `shard ${s.record.shard!.index}/${s.record.shard!.count} (${s.dir}) differs from shard ${first.record.shard!.index}/${first.record.shard!.count} (${first.dir}) in ${input}: ${got[input]} vs ${value}`,
          "shards of one job must share the kernel, images, tools and plan: import the same --artifacts on every runner",
        );
      }
    }
  }
  const count = first.record.shard!.count;
  const indices = shards.map((s) => s.record.shard!.index);
  const twice = indices.filter((i, n) => indices.indexOf(i) !== n);
  if (twice.length) throw new BenchError(`shard ${twice[0]}/${count} is given twice`, "pass each shard's folder once");
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !indices.includes(i));
  if (missing.length)
    throw new BenchError(
      `shard ${missing.map((m) => `${m}/${count}`).join(", ")} missing from the merge`,
      "pass every shard's folder (a shard that failed still has one)",
    );
}

/** Every planned read-all boot, and the ones the shards hold more than once. */
function coverage(record: RunRecord): { missing: string[]; twice: string[] } {
  const seen = new Map<string, number>();
  const key = (w: string, m: string, p: string, rep: number) => `${w} ${m}/${p} rep ${rep}`;
  for (const b of [...record.boots, ...record.failedBoots])
    seen.set(key(b.workload, b.mode, b.path, b.rep), (seen.get(key(b.workload, b.mode, b.path, b.rep)) ?? 0) + 1);
  for (const m of record.runtime)
    seen.set(key(m.workload, m.mode, "runtime", m.rep), (seen.get(key(m.workload, m.mode, "runtime", m.rep)) ?? 0) + 1);
  const missing: string[] = [];
  // a group that settled early got fewer boots than the cap, as its shard decided
  if (record.plan.phases.includes("readall")) {
    for (const w of record.workloads) {
      for (const p of record.plan.paths) {
        for (let rep = 1; rep <= bootsPlanned(record, "read-all", w.name, p); rep++)
          for (const m of record.plan.modes)
            if (!seen.has(key(w.name, m, p, rep))) missing.push(key(w.name, m, p, rep));
      }
    }
  }
  return { missing, twice: [...seen].filter(([, n]) => n > 1).map(([k]) => k) };
}

/**
 * One run record from the shards' records: every boot of every shard, the
 * cells computed again over all of them, as if one machine had measured
 * the whole job. Boot folders are the caller's to copy (bootDir is kept
 * relative to the merged folder's boots/).
 */
export function mergeRecords(shards: ShardRun[], runId: string): RunRecord {
  checkShards(shards);
  const sorted = [...shards].sort((a, b) => a.record.shard!.index - b.record.shard!.index);
  const base = sorted[0]!.record;
  const all = sorted.map((s) => s.record);
  const correctnessImages = all.find((r) => r.correctnessImages)?.correctnessImages;
  const checksPair = all.find((r) => r.checksPair)?.checksPair;
  const notComplete = sorted.filter((s) => s.record.status !== "complete");
  const accels = [...new Set(all.flatMap((r) => (r.accel ? [acceleratorLabel(r.accel)] : [])))];
  const merged: RunRecord = {
    ...base,
    runId,
    status: notComplete.length ? "failed" : "complete",
    error: notComplete.length
      ? notComplete
          .map(
            (s) =>
              `shard ${s.record.shard!.index}/${s.record.shard!.count} ${s.record.status}${s.record.error ? `: ${s.record.error}` : ""}`,
          )
          .join("; ")
      : undefined,
    startedAt: all.map((r) => r.startedAt).sort()[0]!,
    finishedAt:
      all
        .map((r) => r.finishedAt ?? "")
        .sort()
        .at(-1) || undefined,
    shard: undefined,
    mergedFrom: sorted.map((s) => s.dir),
    scheduling: undefined,
    repetitions: all.flatMap((r) => r.repetitions),
    boots: all.flatMap((r) => r.boots),
    failedBoots: all.flatMap((r) => r.failedBoots),
    runtime: all.flatMap((r) => r.runtime),
    gapEvidence: all.flatMap((r) => r.gapEvidence),
    correctness: all.flatMap((r) => r.correctness),
    // the checks ran in one shard: its records of what they booted come along
    ...(correctnessImages ? { correctnessImages } : {}),
    ...(checksPair ? { checksPair } : {}),
    stageTimes: all.flatMap((r) =>
      r.stageTimes.map((t) => ({ ...t, stage: `shard ${r.shard!.index}/${r.shard!.count}: ${t.stage}` })),
    ),
    warnings: [...new Set(all.flatMap((r) => r.warnings))],
  };
  if (accels.length > 1)
    merged.warnings.push(
      `shards ran under different accelerators (${accels.join(", ")}): page cache figures are comparable, timings are not`,
    );
  const { missing, twice } = coverage(merged);
  if (twice.length)
    throw new BenchError(
      `the shards measured ${twice[0]} more than once`,
      "merge the shards of one --shard K/N split, each once",
    );
  if (missing.length && merged.status === "complete") {
    merged.status = "failed";
    merged.error = `boots missing from the shards: ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ` and ${missing.length - 5} more` : ""}`;
  }
  Object.assign(merged, deriveResults(merged));
  merged.warnings.push(...conclusions(merged));
  return merged;
}

/**
 * The shards of one job joined into one run folder (run.json, reports,
 * samples and every boot's folder), the same as if one machine had measured
 * it all; `out` is the new folder (results/<run-id> when absent).
 */
export async function mergeShardFolders(dirsIn: string[], out: string | undefined): Promise<RunFolder> {
  const dirs = dirsIn.map((d) => path.resolve(d));
  const shards: ShardRun[] = [];
  for (const dir of dirs) shards.push({ dir, record: await loadRunRecord(dir) });
  const runId = newRunId();
  const dest = path.resolve(out ?? path.join(resultsDir, runId));
  if ((await readdir(dest).catch(() => [])).length)
    throw new BenchError(`--out ${dest} is not empty`, "merge into a new folder");
  const record = mergeRecords(shards, runId);
  await mkdir(path.join(dest, "boots"), { recursive: true });
  for (const s of shards) {
    const boots = path.join(s.dir, "boots");
    for (const name of await readdir(boots).catch(() => [] as string[]))
      await cp(path.join(boots, name), path.join(dest, "boots", name), { recursive: true });
    const samples = await readFile(path.join(s.dir, "samples.jsonl"), "utf8").catch(() => "");
    if (samples) await appendFile(path.join(dest, "samples.jsonl"), samples);
  }
  const moved = (p: string) => {
    const from = shards.find((s) => p.startsWith(s.dir + path.sep));
    return from ? path.join(dest, path.relative(from.dir, p)) : p;
  };
  for (const b of record.boots) b.bootDir = moved(b.bootDir);
  for (const b of record.failedBoots) b.bootDir = moved(b.bootDir);
  for (const m of record.runtime) m.bootDir = moved(m.bootDir);
  const folder = new RunFolder(dest, record);
  await folder.save();
  return folder;
}
