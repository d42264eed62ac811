import path from "node:path";
import { compareRuns, type Thresholds } from "../analysis/compareRuns.js";
import { loadRunRecord } from "../record/runRecord.js";
import { renderComparison } from "../report/comparison.js";
import { BenchError } from "../util/errors.js";
import { EXIT } from "./exitCodes.js";

/** --compare BASELINE,CURRENT: the two runs side by side; exit 3 on a regression. Writes nothing. */
export async function compareCommand(spec: string, json: boolean, thresholds?: Thresholds): Promise<number> {
  const dirs = spec.split(",");
  if (dirs.length !== 2 || !dirs[0] || !dirs[1]) throw new BenchError(`--compare takes two run folders, got "${spec}"`, "--compare BASELINE_DIR,CURRENT_DIR");
  const [b, c] = [path.resolve(dirs[0]), path.resolve(dirs[1])];
  const cmp = compareRuns(await loadRunRecord(b), await loadRunRecord(c), { baseline: b, current: c }, thresholds);
  process.stdout.write(json ? JSON.stringify(cmp, null, 2) + "\n" : renderComparison(cmp));
  return cmp.regressions ? EXIT.regression : EXIT.ok;
}
