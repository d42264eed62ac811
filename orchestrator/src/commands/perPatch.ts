import path from "node:path";
import { PER_PATCH_DEFAULTS, runPerPatch } from "../tasks/perPatch.js";
import { newRunId } from "../pipeline/runFolder.js";
import type { JobSpec } from "../record/jobSpec.js";
import { renderPerPatchText } from "../report/perPatchText.js";
import { EXIT } from "../util/exitStatus.js";
import { resultsDir } from "../util/paths.js";
import { Progress } from "../util/progress.js";
import { interruptible } from "./interruptible.js";
import { addJobOptions, jobInput, specOf } from "./jobOptions.js";
import { addJsonOption, Verb } from "./verb.js";

/** The series prefix by prefix; prints the table (per-patch.txt) or the record as JSON. */
async function perPatchCommand(bench: JobSpec, out: string, json: boolean): Promise<number> {
  return interruptible(
    (writing) => runPerPatch(bench, out, new Progress(), writing),
    (record) => {
      process.stdout.write(
        json
          ? JSON.stringify({ dir: out, ...record }, null, 2) + "\n"
          : `\nper patch: ${out}\n\n${renderPerPatchText(record)}`,
      );
      return EXIT.ok;
    },
  );
}

/** `per-patch [dir]`: a series measured prefix by prefix. */
export function perPatchVerb(argv: string[]): Verb {
  const v = new Verb("per-patch")
    .summary("measure a series prefix by prefix and write the per-patch table")
    .description(
      "Measure the series prefix by prefix (its first k patches, k = 1..N, each built on the whole series' build) on the synthetic pair, and write the per-patch table with the first patch where each column changed.",
    )
    .argument(
      "[dir]",
      "the folder it writes (default results/per-patch-<series>-<run-id>); run again into it, it keeps the rows it has",
    ) as Verb;
  addJobOptions(v, [
    "series",
    "kernelSrc",
    "baseRef",
    "kernelSrcExclude",
    "mbox",
    "fixups",
    "jobs",
    "digest",
    "checkReruns",
    "accel",
    "tcgThread",
    "parallel",
  ]);
  addJsonOption(v);
  return v.runs(async ([dir], o: { json?: boolean }) => {
    const spec = specOf(jobInput(v, argv), undefined, undefined, PER_PATCH_DEFAULTS);
    return perPatchCommand(
      spec,
      (dir as string | undefined) ?? path.join(resultsDir, `per-patch-${spec.series}-${newRunId()}`),
      Boolean(o.json),
    );
  });
}
