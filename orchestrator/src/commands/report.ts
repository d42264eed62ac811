import path from "node:path";
import { deriveResults } from "../analysis/results.js";
import { writeReports } from "../pipeline/runFolder.js";
import { loadRunRecord } from "../record/runRecord.js";
import { renderCoverLetter } from "../report/coverLetter.js";
import { EXIT } from "../util/exitStatus.js";
import { runSummary } from "./output.js";

/**
 * --report DIR: the reports of an earlier run, rendered again from its raw
 * boots by this version of the tool. run.json itself is never rewritten: it
 * is the record a nightly compares against.
 */
export async function reportCommand(dirArg: string, json: boolean): Promise<number> {
  const dir = path.resolve(dirArg);
  const r = await loadRunRecord(dir);
  Object.assign(r, deriveResults(r));
  await writeReports(dir, r);
  process.stdout.write(json ? JSON.stringify(runSummary(dir, r), null, 2) + "\n" : renderCoverLetter(r));
  return EXIT.ok;
}
