import path from "node:path";
import { rerenderReports } from "../pipeline/runFolder.js";
import { renderCoverLetter } from "../report/coverLetter.js";
import { EXIT } from "../util/exitStatus.js";
import { runSummary } from "./output.js";

/** The reports of an earlier run rendered again (run.json untouched); prints its cover letter. */
export async function reportCommand(dirArg: string, json: boolean): Promise<number> {
  const dir = path.resolve(dirArg);
  const r = await rerenderReports(dir);
  process.stdout.write(json ? JSON.stringify(runSummary(dir, r), null, 2) + "\n" : renderCoverLetter(r));
  return EXIT.ok;
}
