import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { compareRuns } from "../../../src/analysis/compareRuns.js";
import { writeComparisonHtml } from "../../../src/tasks/comparisonPage.js";
import { writeNightlyHtml } from "../../../src/tasks/night.js";
import { loadRunRecord } from "../../../src/record/runRecord.js";
import { at, selfContained } from "../../helpers/html.js";
import { writeHistory } from "../../helpers/nightFixture.js";

/** The HTML files the commands write: where they go and what they link to. */

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("HTML files of compare and nightly", () => {
  it("compare --html FILE links each run's report relative to FILE", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "esb-html-files-"));
    const ids = await writeHistory(path.join(dir, "runs"), [{ day: 0 }, { day: 1 }], { pages: true });
    const [a, b] = ids.map((id) => path.join(dir!, "runs", id)) as [string, string];
    const file = path.join(dir, "pages", "a against b.html");
    await writeComparisonHtml(
      file,
      compareRuns(await loadRunRecord(a), await loadRunRecord(b), { baseline: a, current: b }),
    );
    const html = await readFile(file, "utf8");
    selfContained(html);
    at(html, `<a href="../runs/${ids[0]}/report.html">`);
    at(html, `<a href="../runs/${ids[1]}/report.html">`);
  });

  it("rewrites <history>/nightly.html from every night in the folder", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "esb-html-files-"));
    const ids = await writeHistory(dir, [{ day: 0 }, { day: 1 }], { pages: true });
    expect(await writeNightlyHtml(dir)).toEqual({ file: path.join(dir, "nightly.html"), notes: [] });
    const html = await readFile(path.join(dir, "nightly.html"), "utf8");
    selfContained(html);
    for (const id of ids) at(html, `<a href="${id}/report.html" class="mono">${id}</a>`);
    // a night that lost its folder is named at the top
    await rm(path.join(dir, ids[0]!), { recursive: true });
    expect((await writeNightlyHtml(dir)).notes).toEqual([
      `nightly.jsonl lists ${ids[0]}, which has no readable folder`,
    ]);
    at(
      await readFile(path.join(dir, "nightly.html"), "utf8"),
      `nightly.jsonl lists ${ids[0]}, which has no readable folder`,
    );
  });
});
