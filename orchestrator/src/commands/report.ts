import path from "node:path";
import { rerenderReports } from "../pipeline/runFolder.js";
import { renderCoverLetter } from "../report/coverLetter.js";
import { EXIT } from "../util/exitStatus.js";
import { runSummary } from "./output.js";
import { addJsonOption, Verb } from "./verb.js";

/** The reports of an earlier run rendered again (run.json untouched); prints its cover letter. */
export async function reportCommand(dirArg: string, json: boolean): Promise<number> {
  const dir = path.resolve(dirArg);
  const r = await rerenderReports(dir);
  process.stdout.write(json ? JSON.stringify(runSummary(dir, r), null, 2) + "\n" : renderCoverLetter(r));
  return EXIT.ok;
}

/** `report DIR`: an earlier run's reports, rendered again. */
export function reportVerb(): Verb {
  const v = new Verb("report")
    .summary("render the reports of an earlier run again from its run.json")
    .description(
      "Render cover-letter.txt, report.md, report.html, results.csv and samples.csv of an earlier run again from its run.json and raw boots (run.json is never rewritten), and print the cover letter.",
    )
    .argument("<run-dir>", "the run folder") as Verb;
  addJsonOption(v);
  return v.runs(async ([dir], o: { json?: boolean }) => reportCommand(dir as string, Boolean(o.json)));
}
