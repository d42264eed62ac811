import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { differenceFrom, speedOf, type RunSpeed } from "../record/runSpeed.js";
import type { JobSpec } from "../record/jobSpec.js";
import type { RunRecord } from "../record/runRecord.js";
import { Progress } from "../util/progress.js";
import { runBench } from "../pipeline/run.js";
import type { RunFolder } from "../pipeline/runFolder.js";

/**
 * The speed benchmark: the same job once per guest count, each into its own
 * folder, each phase's wall against its boots' own work; with a reference
 * run (an earlier run of the same job), how far every figure moved. It
 * judges nothing.
 */
export async function measureParallel(
  job: JobSpec,
  counts: number[],
  onFolder: (f: RunFolder) => void,
  reference?: { dir: string; run: RunRecord },
): Promise<RunSpeed[]> {
  const root = await mkdtemp(path.join(os.tmpdir(), "esb-parallel-"));
  const rows: RunSpeed[] = [];
  for (const parallel of counts) {
    const folder = await runBench(
      { ...job, parallel, out: path.join(root, `parallel-${parallel}`) },
      new Progress(),
      onFolder,
    );
    const speed = speedOf(folder.dir, folder.record);
    rows.push(reference ? { ...speed, reference: differenceFrom(reference.dir, reference.run, folder.record) } : speed);
    process.stderr.write(`parallel ${parallel}: ${folder.dir}\n`);
  }
  return rows;
}
