import type { Thresholds } from "../analysis/compareRuns.js";
import { failedCells } from "../analysis/failures.js";
import { judgeRunFolder } from "../tasks/night.js";
import { comparisonExitStatus } from "../analysis/nightJudgement.js";
import { renderComparison } from "../report/comparison.js";
import { EXIT } from "../util/exitStatus.js";
import { Progress } from "../util/progress.js";
import { addJsonOption, addThresholdOption, Verb } from "./verb.js";

/** A run measured elsewhere (a merge of shards), judged into a history; exit 3 on a regression, 4 on failed boots. */
export async function judgeCommand(
  runDir: string,
  history: string,
  thresholds: Thresholds | undefined,
  json: boolean,
): Promise<number> {
  const { record, ...judged } = await judgeRunFolder(runDir, history, thresholds, new Progress());
  process.stdout.write(
    json
      ? JSON.stringify(judged, null, 2) + "\n"
      : judged.comparison
        ? renderComparison(judged.comparison)
        : `${judged.note ?? ""}\n`,
  );
  if (judged.regressions) return EXIT.regression;
  return failedCells(record).length ? EXIT.failedBoots : comparisonExitStatus(judged.comparison);
}

/** `judge RUN --history DIR`: a run measured elsewhere, judged like a night. */
export function judgeVerb(): Verb {
  const v = new Verb("judge")
    .summary("judge a finished run (a merge of shards) against the last good night of a history")
    .description(
      "Judge a finished run (a merge of shards) against the last good run in --history, the way nightly judges its own run; the folder is copied into the history first. Exit 3 on a regression, 4 when boots failed, 6 when images moved since the baseline (their rows are not judged).",
    )
    .argument("<run-dir>", "the run folder")
    .requiredOption("--history <dir>", "the job's history folder") as Verb;
  addThresholdOption(v);
  addJsonOption(v);
  return v.runs(async ([dir], o: { history: string; threshold?: Thresholds; json?: boolean }) =>
    judgeCommand(dir as string, o.history, o.threshold, Boolean(o.json)),
  );
}
