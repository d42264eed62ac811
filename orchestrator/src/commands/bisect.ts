import path from "node:path";
import { parseBisectRow } from "../analysis/bisectRule.js";
import { RESULT_NAMES } from "../guest/checks.js";
import { ACCESS_PATHS } from "../guest/modes.js";
import { DEFAULT_BISECT_CAP, runBisect } from "../tasks/bisect.js";
import { newRunId } from "../pipeline/runFolder.js";
import type { JobSpec } from "../record/jobSpec.js";
import { renderBisectMarkdown } from "../report/bisectReport.js";
import { BenchError } from "../util/errors.js";
import { EXIT } from "../util/exitStatus.js";
import { resultsDir } from "../util/paths.js";
import { Progress } from "../util/progress.js";
import { interruptible } from "./interruptible.js";
import { addJobOptions, jobInput, specOf } from "./jobOptions.js";
import { addJsonOption, positiveInt, Verb } from "./verb.js";

/** The first commit between GOOD and BAD that changed the row; prints bisect.md or the record as JSON. */
async function bisectCommand(
  bench: JobSpec,
  range: string,
  rowSpec: string,
  out: string,
  cap: number,
  json: boolean,
): Promise<number> {
  const m = /^([^.]+)\.\.([^.]+)$/.exec(range);
  if (!m) throw new BenchError(`bisect ${range}: not GOOD..BAD`, "bisect v7.3..my-branch");
  const row = parseBisectRow(rowSpec, RESULT_NAMES, ACCESS_PATHS);
  return interruptible(
    (writing) => runBisect({ bench, good: m[1]!, bad: m[2]!, row, out, cap }, new Progress(), writing),
    (record) => {
      process.stdout.write(
        json
          ? JSON.stringify({ dir: out, ...record }, null, 2) + "\n"
          : `\nbisection: ${out}\n\n${renderBisectMarkdown(record)}`,
      );
      return EXIT.ok;
    },
  );
}

/** `bisect GOOD..BAD --row ROW`: which commit of your tree changed a row. */
export function bisectVerb(argv: string[]): Verb {
  const v = new Verb("bisect")
    .summary("find the commit of your tree that changed a row")
    .description(
      "Find the first commit of --kernel-src between GOOD and BAD that changed --row (your tree, with --profile; each step built on BAD's build).",
    )
    .argument("<good..bad>", "the commits to bisect between")
    .requiredOption(
      "--row <row>",
      "what is judged: check:NAME (a correctness result) or efficiency:WORKLOAD/PATH (read-all sharing efficiency)",
    )
    .option(
      "--cap <n>",
      `the most measurements an unsure step gets (the most boots a check step gets) before it is skipped (default ${DEFAULT_BISECT_CAP})`,
      positiveInt,
      DEFAULT_BISECT_CAP,
    ) as Verb;
  addJobOptions(v, [
    "kernelSrc",
    "profile",
    "kernelSrcExclude",
    "jobs",
    "digest",
    "accel",
    "tcgThread",
    "parallel",
    "out",
  ]);
  addJsonOption(v);
  return v.runs(async ([range], o: { row: string; cap: number; out?: string; json?: boolean }) =>
    bisectCommand(
      specOf(jobInput(v, argv), undefined, undefined),
      range as string,
      o.row,
      o.out ?? path.join(resultsDir, `bisect-${newRunId()}`),
      o.cap,
      Boolean(o.json),
    ),
  );
}
