import { failedCells } from "../analysis/failures.js";
import { mergeShardFolders } from "../pipeline/merge.js";
import { EXIT } from "../util/exitStatus.js";
import { printRun, runSummary } from "./output.js";

/** The shards of one job joined into one run folder; exit 1 when a shard did not complete, 4 on failed boots. */
export async function mergeCommand(dirs: string[], out: string | undefined, json: boolean): Promise<number> {
  const { dir, record } = await mergeShardFolders(dirs, out);
  if (json) process.stdout.write(JSON.stringify(runSummary(dir, record), null, 2) + "\n");
  else printRun(dir, record);
  if (record.status !== "complete") return EXIT.error;
  return failedCells(record).length ? EXIT.failedBoots : EXIT.ok;
}
