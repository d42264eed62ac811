import { Command } from "commander";
import { BenchError } from "../util/errors.js";
import { bisectVerb } from "./bisect.js";
import { compareVerb } from "./compare.js";
import { exportVerb } from "./export.js";
import { jobsVerb } from "./jobs.js";
import { judgeVerb } from "./judge.js";
import { kcidbVerb } from "./kcidb.js";
import { lockVerb } from "./lock.js";
import { measureParallelVerb } from "./measureParallel.js";
import { mergeVerb } from "./merge.js";
import { nightlyVerb } from "./nightly.js";
import { perPatchVerb } from "./perPatch.js";
import { recallVerb } from "./recall.js";
import { reproVerb } from "./repro.js";
import { reportVerb } from "./report.js";
import { runVerb } from "./run.js";
import { speedVerb } from "./speed.js";
import { validateVerb } from "./validate.js";
import type { Verb } from "./verb.js";

/** The command line for `args` (what follows the program's name): every verb, `run` when none is named. */
export function program(args: string[]): { program: Command; verbs: Verb[] } {
  const verbs: Verb[] = [
    runVerb(args),
    reportVerb(),
    compareVerb(),
    mergeVerb(),
    nightlyVerb(args),
    judgeVerb(),
    jobsVerb(),
    exportVerb(args),
    validateVerb(args),
    recallVerb(),
    reproVerb(),
    perPatchVerb(args),
    bisectVerb(args),
    kcidbVerb(),
    measureParallelVerb(args),
    speedVerb(),
    lockVerb(),
  ];
  const top = new Command("erofs-share-bench")
    .usage("[verb] [options]")
    .description(
      "Apply an EROFS page cache sharing series, build the kernel, boot it in QEMU, read two images with sharing off, on and split across domains, and write cover-letter tables of the page cache each used.",
    )
    .commandsGroup("Verbs:")
    .addHelpCommand(new Command("help").argument("[verb]").description("a verb's options").helpGroup("Verbs:"))
    .addHelpText(
      "after",
      "\nWithout a verb it runs (npm run bench -- --series v8); npm run bench -- VERB --help lists a verb's options.\n\n" +
        "Exit status: 0 done, 1 error (the message says which input and what to do), 3 regression found (compare, nightly,\n" +
        "judge), 4 done but some guest boots or correctness checks failed (oops, hang, guest error: see the warnings and\n" +
        "report.md), 5 the known-answer run (validate) found a mutant not caught or mainline failing, 6 compared but images\n" +
        "moved since the baseline, so their rows were not judged (compare, nightly, judge), 7 repro's bundle did not reproduce\n" +
        "the finding in its test, 130 interrupted (what was measured\n" +
        "is kept).",
    );
  for (const v of verbs) top.addCommand(v, { isDefault: v.name() === "run" });
  const first = args[0];
  if (first && !first.startsWith("-") && first !== "help" && !verbs.some((v) => v.name() === first)) {
    throw new BenchError(
      `unknown verb "${first}"`,
      `use one of: ${verbs.map((v) => v.name()).join(", ")} (npm run bench -- --help says what each does)`,
    );
  }
  return { program: top, verbs };
}
