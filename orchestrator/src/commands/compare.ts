import path from "node:path";
import { compareRuns, type Thresholds } from "../analysis/compareRuns.js";
import { writeComparisonHtml } from "../tasks/comparisonPage.js";
import { loadRunRecord } from "../record/runRecord.js";
import { renderComparison } from "../report/comparison.js";
import { BenchError } from "../util/errors.js";
import { comparisonExitStatus } from "../analysis/nightJudgement.js";
import { addJsonOption, addThresholdOption, folders, Verb } from "./verb.js";

/**
 * Two runs side by side; exit 3 on a regression. Writes nothing into either
 * run folder (one may be a nightly baseline, or someone else's); with
 * `htmlFile` the same comparison also goes to that file as a page.
 */
export async function compareCommand(
  dirs: string[],
  json: boolean,
  thresholds?: Thresholds,
  htmlFile?: string,
): Promise<number> {
  if (dirs.length !== 2 || !dirs[0] || !dirs[1])
    throw new BenchError(`compare takes two run folders, got "${dirs.join(",")}"`, "compare BASELINE_DIR,CURRENT_DIR");
  const [b, c] = [path.resolve(dirs[0]), path.resolve(dirs[1])];
  const cmp = compareRuns(await loadRunRecord(b), await loadRunRecord(c), { baseline: b, current: c }, thresholds);
  if (htmlFile) {
    const file = path.resolve(htmlFile);
    await writeComparisonHtml(file, cmp);
    process.stderr.write(`comparison page: ${file}\n`);
  }
  process.stdout.write(json ? JSON.stringify(cmp, null, 2) + "\n" : renderComparison(cmp));
  return comparisonExitStatus(cmp);
}

/** `compare BASELINE,CURRENT`: two runs side by side. */
export function compareVerb(): Verb {
  const v = new Verb("compare")
    .summary("compare two run folders side by side (exit 3 on a regression)")
    .description(
      "Compare two run folders side by side, with a significance column, and say what regressed (exit 3 on a regression). Says first whether both measured the same images: rows on images that moved are not judged (exit 6 when that is all there is). Writes nothing into either folder.",
    )
    .argument("<runs...>", "the baseline and the current run folder: BASELINE,CURRENT or BASELINE CURRENT")
    .option(
      "--html <file>",
      "also write the comparison to <file> as a self-contained HTML page linking both runs' reports",
    ) as Verb;
  addThresholdOption(v);
  addJsonOption(v);
  return v.runs(async ([runs], o: { html?: string; threshold?: Thresholds; json?: boolean }) =>
    compareCommand(folders(runs as string[]), Boolean(o.json), o.threshold, o.html),
  );
}
