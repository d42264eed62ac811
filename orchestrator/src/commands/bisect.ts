import { parseBisectRow } from "../analysis/bisectRule.js";
import { RESULT_NAMES } from "../guest/checks.js";
import { ACCESS_PATHS } from "../guest/modes.js";
import { DEFAULT_BISECT_CAP, runBisect } from "../pipeline/bisect.js";
import type { JobSpec } from "../record/jobSpec.js";
import type { RunFolder } from "../pipeline/runFolder.js";
import { renderBisectMarkdown } from "../report/bisect.js";
import { BenchError, describeError } from "../util/errors.js";
import { Progress } from "../util/progress.js";
import { EXIT } from "../util/exitStatus.js";
import { exitOnInterrupt, interrupted } from "../pipeline/interrupt.js";

/** --bisect GOOD..BAD --bisect-row ROW: the first commit that changed the row; prints bisect.md or the record as JSON. */
export async function bisectCommand(bench: JobSpec, range: string, rowSpec: string | undefined, out: string, cap: number | undefined, json: boolean): Promise<number> {
  const m = /^([^.]+)\.\.([^.]+)$/.exec(range);
  if (!m) throw new BenchError(`--bisect ${range} is not GOOD..BAD`, "--bisect v7.3..my-branch");
  if (!rowSpec) throw new BenchError("--bisect needs the row to judge", "--bisect-row check:NAME or --bisect-row efficiency:WORKLOAD/PATH");
  const row = parseBisectRow(rowSpec, RESULT_NAMES, ACCESS_PATHS);
  let folder: RunFolder | undefined;
  exitOnInterrupt(() => folder);
  try {
    const record = await runBisect({ bench, good: m[1]!, bad: m[2]!, row, out, cap: cap ?? DEFAULT_BISECT_CAP }, new Progress(), (f) => (folder = f));
    process.stdout.write(json ? JSON.stringify({ dir: out, ...record }, null, 2) + "\n" : `\nbisection: ${out}\n\n${renderBisectMarkdown(record)}`);
    return EXIT.ok;
  } catch (e) {
    if (interrupted()) return new Promise<number>(() => undefined);
    process.stderr.write(describeError(e) + "\n");
    return EXIT.error;
  }
}
