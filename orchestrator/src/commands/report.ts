import path from "node:path";
import { buildCells, compare } from "../analysis/cells.js";
import { buildRuntimeCells } from "../analysis/runtimeCells.js";
import { writeReports } from "../pipeline/runFolder.js";
import { loadRunRecord } from "../record/runRecord.js";
import { renderCoverLetter } from "../report/coverLetter.js";
import { EXIT } from "./exitCodes.js";
import { runSummary } from "./output.js";

/**
 * --report DIR: the reports of an earlier run, rendered again from its raw
 * boots by this version of the tool. run.json itself is never rewritten: it
 * is the record a nightly compares against.
 */
export async function reportCommand(dirArg: string, json: boolean): Promise<number> {
  const dir = path.resolve(dirArg);
  const r = await loadRunRecord(dir);
  const analyses = new Map(r.workloads.map((w) => [w.name, w.sharing]));
  r.cells = buildCells(r.boots, analyses);
  r.comparisons = compare(r.cells, analyses);
  r.runtimeCells = buildRuntimeCells(r.runtime);
  await writeReports(dir, r);
  process.stdout.write(json ? JSON.stringify(runSummary(dir, r), null, 2) + "\n" : renderCoverLetter(r));
  return EXIT.ok;
}
