import { cp, mkdir, readdir, readFile, appendFile } from "node:fs/promises";
import path from "node:path";
import { failedCells } from "../analysis/failures.js";
import { mergeRecords, type ShardRun } from "../pipeline/merge.js";
import { newRunId, RunFolder } from "../pipeline/runFolder.js";
import { loadRunRecord } from "../record/runRecord.js";
import { BenchError } from "../util/errors.js";
import { resultsDir } from "../util/paths.js";
import { EXIT } from "../util/exitStatus.js";
import { printRun, runSummary } from "./output.js";

/**
 * --merge DIR,DIR,...: the shards of one job joined into one run folder
 * (run.json, reports, samples and every boot's folder), the same as if one
 * machine had measured it all.
 */
export async function mergeCommand(dirsArg: string, out: string | undefined, json: boolean): Promise<number> {
  const dirs = dirsArg.split(",").filter(Boolean).map((d) => path.resolve(d));
  const shards: ShardRun[] = [];
  for (const dir of dirs) shards.push({ dir, record: await loadRunRecord(dir) });
  const runId = newRunId();
  const dest = path.resolve(out ?? path.join(resultsDir, runId));
  if ((await readdir(dest).catch(() => [])).length) throw new BenchError(`--out ${dest} is not empty`, "merge into a new folder");
  const record = mergeRecords(shards, runId);
  await mkdir(path.join(dest, "boots"), { recursive: true });
  for (const s of shards) {
    const boots = path.join(s.dir, "boots");
    for (const name of await readdir(boots).catch(() => [] as string[])) await cp(path.join(boots, name), path.join(dest, "boots", name), { recursive: true });
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
  if (json) process.stdout.write(JSON.stringify(runSummary(dest, record), null, 2) + "\n");
  else printRun(dest, record);
  if (record.status !== "complete") return EXIT.error;
  return failedCells(record).length ? EXIT.failedBoots : EXIT.ok;
}
