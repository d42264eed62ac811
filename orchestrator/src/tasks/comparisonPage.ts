import { stat } from "node:fs/promises";
import path from "node:path";
import type { RunComparison } from "../analysis/compareRuns.js";
import { renderComparisonHtml } from "../report/html/comparePage.js";
import { urlPath } from "../report/html/escape.js";
import { writeFileAtomic } from "../util/fsx.js";

/** A link from a page in `pageDir` to a run's report.html (or report.md for a run written before it); undefined when it has neither. */
async function reportHref(pageDir: string, runDir: string): Promise<string | undefined> {
  for (const name of ["report.html", "report.md"]) {
    const file = path.join(runDir, name);
    if (
      await stat(file).then(
        () => true,
        () => false,
      )
    )
      return urlPath(...path.relative(pageDir, file).split(path.sep));
  }
  return undefined;
}

/** The comparison as a self-contained page at `file`, linking each run's report relative to it. */
export async function writeComparisonHtml(file: string, cmp: RunComparison): Promise<void> {
  const dir = path.dirname(file);
  const [baselineHref, currentHref] = await Promise.all([
    reportHref(dir, cmp.baseline.dir),
    reportHref(dir, cmp.current.dir),
  ]);
  await writeFileAtomic(file, renderComparisonHtml(cmp, { baselineHref, currentHref }));
}
