import type { Thresholds } from "../analysis/compareRuns.js";
import { failedCells } from "../analysis/failures.js";
import { judgeRunFolder } from "../pipeline/night.js";
import { renderComparison } from "../report/comparison.js";
import { EXIT } from "../util/exitStatus.js";
import { Progress } from "../util/progress.js";

/** A run measured elsewhere (a merge of shards), judged into a history; exit 3 on a regression, 4 on failed boots. */
export async function judgeCommand(runDir: string, history: string, thresholds: Thresholds | undefined, json: boolean): Promise<number> {
  const { record, ...judged } = await judgeRunFolder(runDir, history, thresholds, new Progress());
  process.stdout.write(json ? JSON.stringify(judged, null, 2) + "\n" : judged.comparison ? renderComparison(judged.comparison) : `${judged.note ?? ""}\n`);
  if (judged.regressions) return EXIT.regression;
  return failedCells(record).length ? EXIT.failedBoots : EXIT.ok;
}
