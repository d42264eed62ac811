import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { JobSpec } from "../record/jobSpec.js";
import { figuresOf, type ParallelFigures } from "../report/parallelTable.js";
import { Progress } from "../util/progress.js";
import { runBench } from "./run.js";
import type { RunFolder } from "./runFolder.js";

/**
 * The parallel benchmark: the same job once per guest count, each into its
 * own folder, with each run's wall time against the sum of its boots' own
 * wall times. It judges nothing.
 */
export async function measureParallel(job: JobSpec, counts: number[], onFolder: (f: RunFolder) => void): Promise<ParallelFigures[]> {
  const root = await mkdtemp(path.join(os.tmpdir(), "esb-parallel-"));
  const rows: ParallelFigures[] = [];
  for (const parallel of counts) {
    const t0 = Date.now();
    const folder = await runBench({ ...job, parallel, out: path.join(root, `parallel-${parallel}`) }, new Progress(), onFolder);
    rows.push(figuresOf(parallel, folder.record, Date.now() - t0));
    process.stderr.write(`parallel ${parallel}: ${folder.dir}\n`);
  }
  return rows;
}
