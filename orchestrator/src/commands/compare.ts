import path from "node:path";
import { compareRuns, type Thresholds } from "../analysis/compareRuns.js";
import { loadRunRecord } from "../record/runRecord.js";
import { renderComparison } from "../report/comparison.js";
import { BenchError } from "../util/errors.js";
import { writeComparisonHtml } from "../pipeline/comparisonPage.js";
import { EXIT } from "../util/exitStatus.js";

/**
 * --compare BASELINE,CURRENT: the two runs side by side; exit 3 on a
 * regression. Writes nothing into either run folder (one may be a nightly
 * baseline, or someone else's); with --html FILE the same comparison also
 * goes to FILE as a page.
 */
export async function compareCommand(spec: string, json: boolean, thresholds?: Thresholds, htmlFile?: string): Promise<number> {
  const dirs = spec.split(",");
  if (dirs.length !== 2 || !dirs[0] || !dirs[1]) throw new BenchError(`--compare takes two run folders, got "${spec}"`, "--compare BASELINE_DIR,CURRENT_DIR");
  const [b, c] = [path.resolve(dirs[0]), path.resolve(dirs[1])];
  const cmp = compareRuns(await loadRunRecord(b), await loadRunRecord(c), { baseline: b, current: c }, thresholds);
  if (htmlFile) {
    const file = path.resolve(htmlFile);
    await writeComparisonHtml(file, cmp);
    process.stderr.write(`comparison page: ${file}\n`);
  }
  process.stdout.write(json ? JSON.stringify(cmp, null, 2) + "\n" : renderComparison(cmp));
  return cmp.regressions ? EXIT.regression : EXIT.ok;
}
