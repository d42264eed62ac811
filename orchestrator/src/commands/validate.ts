import path from "node:path";
import { BAD_VERDICTS } from "../analysis/knownAnswerVerdicts.js";
import { KNOWN_ANSWER_DEFAULTS, runKnownAnswer, SIGNALS, verdictLine } from "../tasks/knownAnswer.js";
import { newRunId } from "../pipeline/runFolder.js";
import type { JobSpec } from "../record/jobSpec.js";
import type { KnownAnswerRecord } from "../record/knownAnswerRecord.js";
import { knownAnswerLegend, renderKnownAnswerText } from "../report/knownAnswerTable.js";
import { EXIT } from "../util/exitStatus.js";
import { resultsDir } from "../util/paths.js";
import { Progress } from "../util/progress.js";
import { interruptible } from "./interruptible.js";
import { addJobOptions, jobInput, specOf } from "./jobOptions.js";
import { addJsonOption, commaList, Verb } from "./verb.js";

/**
 * The known-answer run: mainline must come out clean and every kernel mutant
 * caught by what its entry names. Prints the matrix; exits 5 on any cell not
 * as expected (a defect of this tool, to fix before trusting a verdict).
 */
export async function validateCommand(
  bench: JobSpec,
  out: string,
  mutants: string[] | undefined,
  json: boolean,
  docs?: string,
): Promise<number> {
  return interruptible(
    (writing) => runKnownAnswer({ bench, out, mutants, docs }, new Progress(), writing),
    (record) => printKnownAnswer(record, out, json),
  );
}

/** The matrix, or the record as JSON; exit 5 when a cell is not as expected. */
function printKnownAnswer(record: KnownAnswerRecord, out: string, json: boolean): number {
  const bad = record.targets.some((t) => SIGNALS.some((s) => BAD_VERDICTS.includes(t.verdicts[s]!)));
  if (json) process.stdout.write(JSON.stringify({ dir: out, ...record, ok: !bad }, null, 2) + "\n");
  else {
    process.stdout.write(
      `\nknown answer: ${out}\n\n${renderKnownAnswerText(record.targets, SIGNALS)}\n${knownAnswerLegend(SIGNALS).join("\n")}\n`,
    );
    const lines = [...record.problems, ...record.notes];
    process.stdout.write(
      `\n${lines.length ? lines.join("\n") + "\n\n" : ""}${verdictLine(record).replaceAll("**", "")}\n`,
    );
  }
  return bad ? EXIT.knownAnswerMissed : EXIT.ok;
}

export function defaultKnownAnswerDir(): string {
  return path.join(resultsDir, `known-answer-${newRunId()}`);
}

/** `validate [dir]`: the known-answer run. */
export function validateVerb(argv: string[]): Verb {
  const v = new Verb("validate")
    .summary("the known-answer run: mainline and every kernel mutant, judged as a matrix")
    .description(
      "Known-answer run: mainline and every kernel mutant (kernel/mutants/, and your own with --mutants-dir) on the synthetic pair, each read on every path and mode and put through every check, judged as a matrix. Exit 5 when a mutant is not caught or mainline fails.",
    )
    .argument("[dir]", "the folder it writes (default results/known-answer-<run-id>)")
    .option("--mutants <names>", "only these mutants (comma-separated)", commaList)
    .option(
      "--docs <file>",
      "also write the matrix here when every mutant ran (npm run validate: docs/known-answer.md)",
    ) as Verb;
  addJobOptions(v, ["kernelDeb", "mutantsDir", "jobs", "digest", "checkReruns", "accel", "tcgThread", "parallel"]);
  addJsonOption(v);
  return v.runs(async ([dir], o: { mutants?: string[]; docs?: string; json?: boolean }) =>
    validateCommand(
      specOf(jobInput(v, argv), undefined, undefined, KNOWN_ANSWER_DEFAULTS),
      (dir as string | undefined) ?? defaultKnownAnswerDir(),
      o.mutants,
      Boolean(o.json),
      o.docs,
    ),
  );
}
