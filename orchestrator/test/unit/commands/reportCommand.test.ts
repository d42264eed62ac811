import { readFile, rm, stat } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildCells, compare } from "../../../src/analysis/cells.js";
import { reportCommand } from "../../../src/commands/report.js";
import { RunFolder } from "../../../src/pipeline/runFolder.js";
import { tempDir } from "../../helpers/gitSeries.js";
import { bootMeasurement, runRecord, SHARING } from "../../helpers/runRecord.js";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("report", () => {
  it("renders the reports again from the raw boots and never rewrites run.json", async () => {
    const dir = await tempDir("esb-report-");
    dirs.push(dir);
    const boot = (mode: "off" | "on", mib: number) =>
      bootMeasurement({
        mode,
        afterAKiB: 1,
        afterBKiB: mib * 1024,
        verifiedFiles: 2,
        hashedFiles: 1,
        shareBannerSeen: true,
        readMs: { A: 1, B: 1 },
      });
    const boots = [boot("off", 200), boot("on", 100)];
    const analyses = new Map([["redis", SHARING]]);
    // the record's cells are stale on purpose: report computes them from the boots
    const folder = new RunFolder(
      dir,
      runRecord({ plan: { ...runRecord().plan, reps: 1 }, boots, cells: [], comparisons: [] }),
    );
    await folder.save();
    const before = await readFile(path.join(dir, "run.json"));
    const mtime = (await stat(path.join(dir, "run.json"))).mtimeMs;
    expect(await reportCommand(dir, true)).toBe(0);
    expect(await readFile(path.join(dir, "run.json"))).toEqual(before);
    expect((await stat(path.join(dir, "run.json"))).mtimeMs).toBe(mtime);
    const letter = await readFile(path.join(dir, "cover-letter.txt"), "utf8");
    expect(letter).toContain("|      200     |");
    // report.html from the same cells: efficiency, reduction and expected reduction of redis read(2)
    const html = await readFile(path.join(dir, "report.html"), "utf8");
    expect(html).toMatch(
      /<td>redis<\/td><td>read<\/td><td class="num"><strong>100\.0<\/strong><\/td><td class="num">50\.0<\/td><td class="num">50\.0<\/td>/,
    );
    expect(compare(buildCells(boots, analyses), analyses)[0]?.reductionPct).toBe(50);
  });
});
