import { runPerPatch } from "../pipeline/perPatch.js";
import type { JobSpec } from "../record/jobSpec.js";
import type { RunFolder } from "../pipeline/runFolder.js";
import { renderPerPatchText } from "../report/perPatch.js";
import { describeError } from "../util/errors.js";
import { Progress } from "../util/progress.js";
import { EXIT } from "../util/exitStatus.js";
import { exitOnInterrupt, interrupted } from "../pipeline/interrupt.js";

/** --per-patch: the series prefix by prefix; prints the table (per-patch.txt) or the record as JSON. */
export async function perPatchCommand(bench: JobSpec, out: string, json: boolean): Promise<number> {
  let folder: RunFolder | undefined;
  exitOnInterrupt(() => folder);
  try {
    const record = await runPerPatch(bench, out, new Progress(), (f) => (folder = f));
    process.stdout.write(json ? JSON.stringify({ dir: out, ...record }, null, 2) + "\n" : `\nper patch: ${out}\n\n${renderPerPatchText(record)}`);
    return EXIT.ok;
  } catch (e) {
    if (interrupted()) return new Promise<number>(() => undefined);
    process.stderr.write(describeError(e) + "\n");
    return EXIT.error;
  }
}
