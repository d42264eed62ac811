import type { RunFolder } from "../record/runRecord.js";

/** Runs a stage and records its wall time and whether its output came from the cache. */
export async function timed<T extends { reused?: boolean }>(folder: RunFolder, stage: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const out = await fn();
  folder.record.stageTimes.push({ stage, seconds: (Date.now() - t0) / 1000, reused: Boolean(out.reused) });
  await folder.save();
  return out;
}

