import { BAD_VERDICTS } from "../analysis/knownAnswer.js";
import { runKnownAnswer, SIGNALS } from "../pipeline/knownAnswer.js";
import type { JobSpec } from "../record/jobSpec.js";
import type { RunFolder } from "../pipeline/runFolder.js";
import { knownAnswerLegend, knownAnswerProblems, renderKnownAnswerText } from "../report/knownAnswer.js";
import { describeError } from "../util/errors.js";
import { Progress } from "../util/progress.js";
import { EXIT } from "../util/exitStatus.js";
import { exitOnInterrupt, interrupted } from "../pipeline/interrupt.js";

/**
 * The known-answer run: mainline must come out clean and every kernel mutant
 * caught by what its entry names. Prints the matrix; exits 5 on any cell not
 * as expected (a defect of this tool, to fix before trusting a verdict).
 */
export async function validateCommand(bench: JobSpec, out: string, mutants: string[] | undefined, json: boolean): Promise<number> {
  let folder: RunFolder | undefined;
  exitOnInterrupt(() => folder);
  let record;
  try {
    record = await runKnownAnswer({ bench, out, mutants }, new Progress(), (f) => (folder = f));
  } catch (e) {
    if (interrupted()) return new Promise<number>(() => undefined);
    process.stderr.write(describeError(e) + "\n");
    return EXIT.error;
  }
  const bad = record.targets.some((t) => SIGNALS.some((s) => BAD_VERDICTS.includes(t.verdicts[s]!)));
  if (json) process.stdout.write(JSON.stringify({ dir: out, ...record, ok: !bad }, null, 2) + "\n");
  else {
    process.stdout.write(`\nknown answer: ${out}\n\n${renderKnownAnswerText(record.targets, SIGNALS)}\n${knownAnswerLegend(SIGNALS).join("\n")}\n`);
    const problems = knownAnswerProblems(record.targets, SIGNALS);
    process.stdout.write(problems.length ? `\n${problems.join("\n")}\n` : "\nevery mutant caught, mainline clean\n");
  }
  return bad ? EXIT.knownAnswerMissed : EXIT.ok;
}
