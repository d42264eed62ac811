import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findBaseline, judgeNight, nightExitStatus } from "../../../src/analysis/nightJudgement.js";
import { judgeCommand } from "../../../src/commands/judge.js";
import { RunFolder } from "../../../src/pipeline/runFolder.js";
import { loadHistory } from "../../../src/record/nightHistory.js";
import type { RunRecord } from "../../../src/record/runRecord.js";
import { tempDir } from "../../helpers/gitSeries.js";
import { cell, comparison, nightRun as run, runRecord } from "../../helpers/runRecord.js";

/** A night judged against the history of its job: its baseline, its verdict, the night's exit status. */
let dir: string;
beforeAll(async () => {
  dir = await tempDir("esb-night-");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("nightly baseline", () => {
  async function history(runs: Array<{ r: RunRecord; regressions?: number }>): Promise<string> {
    const h = await mkdtemp(path.join(os.tmpdir(), "esb-night-"));
    for (const { r, regressions } of runs) {
      await mkdir(path.join(h, r.runId));
      await writeFile(path.join(h, r.runId, "run.json"), JSON.stringify(r));
      if (regressions !== undefined)
        await writeFile(
          path.join(h, r.runId, "nightly.json"),
          JSON.stringify({ regressions, baseline: null, note: null, comparison: null }),
        );
    }
    await mkdir(path.join(h, "not-a-run"));
    return h;
  }

  it("takes the newest older complete run of the same plan that was not itself a regression", async () => {
    const good = run({ runId: "n1", startedAt: "2026-11-18T02:00:00.000Z" });
    const bad = run({ runId: "n2", startedAt: "2026-11-19T02:00:00.000Z", efficiency: 10 });
    const failed = run({ runId: "n3", startedAt: "2026-11-19T12:00:00.000Z", status: "failed" });
    const otherPlan = run({ runId: "n4", startedAt: "2026-11-19T13:00:00.000Z", quick: true });
    const tonight = run({ runId: "n5", startedAt: "2026-11-20T02:00:00.000Z" });
    const h = await history([
      { r: good, regressions: 0 },
      { r: bad, regressions: 1 },
      { r: failed },
      { r: otherPlan },
      { r: tonight },
    ]);
    const { nights } = await loadHistory(h);
    expect(findBaseline(nights, tonight)?.run.runId).toBe("n1");
    expect(findBaseline(nights, good)).toBeNull();
  });
});

describe("a night's verdict", () => {
  it("is the first baseline when nothing earlier has its plan, and a regression when it did not complete", () => {
    const first = judgeNight(run({ runId: "n1" }), "/h/n1", null, "/h");
    expect(first).toMatchObject({ comparison: null, regressions: 0, hints: [] });
    expect(first.note).toBe(
      "no earlier complete run of series mainline with the same plan in /h: this run is the first baseline",
    );
    expect(judgeNight(run({ runId: "n1", status: "failed" }), "/h/n1", null, "/h").regressions).toBe(1);
  });

  it("counts the comparison's regressions against the baseline", () => {
    const baseline = { dir: "/h/n1", run: run({ runId: "n1", startedAt: "2026-11-18T02:00:00.000Z" }), verdict: null };
    const judged = judgeNight(run({ runId: "n2", efficiency: 60 }), "/h/n2", baseline, "/h");
    expect(judged.regressions).toBe(1);
    expect(judged.comparison?.baseline).toMatchObject({ runId: "n1", dir: "/h/n1" });
    expect(judged.note).toBeUndefined();
  });

  it("gives the night one exit status: a regression over failed boots over a job that did not run", () => {
    const j = (over: object) => ({
      job: "j",
      status: "complete" as const,
      regressions: 0,
      failedBoots: 0,
      baseline: null,
      ...over,
    });
    expect(nightExitStatus([j({}), j({ status: "skipped" })])).toBe(0);
    expect(nightExitStatus([j({}), j({ status: "error" })])).toBe(1);
    expect(nightExitStatus([j({ failedBoots: 2 }), j({ status: "error" })])).toBe(4);
    expect(nightExitStatus([j({ regressions: 1 }), j({ failedBoots: 2 })])).toBe(3);
  });
});

describe("judging a run measured elsewhere", () => {
  it("copies it into the history, judges it against the last good run there, and exits 3 on a regression", async () => {
    const history = path.join(dir, "history");
    const run = (runId: string, startedAt: string, efficiency: number) =>
      runRecord({
        runId,
        startedAt,
        comparisons: [
          comparison({
            workload: "redis",
            path: "read",
            off: cell("redis", "read", "off", 272.5),
            on: cell("redis", "read", "on", 151.4),
            reductionPct: 44.5,
            efficiencyPct: efficiency,
          }),
        ],
      });
    await new RunFolder(path.join(history, "n1"), run("n1", "2026-11-20T02:00:00.000Z", 98)).save();
    await writeFile(
      path.join(history, "n1", "nightly.json"),
      JSON.stringify({ regressions: 0, baseline: null, note: null, comparison: null }),
    );
    const merged = path.join(dir, "merged");
    await mkdir(merged);
    await new RunFolder(merged, run("n2", "2026-11-21T02:00:00.000Z", 60)).save();
    expect(await judgeCommand(merged, history, undefined, true)).toBe(3);
    const verdict = JSON.parse(await readFile(path.join(history, "n2", "nightly.json"), "utf8"));
    expect(verdict.regressions).toBe(1);
    expect(verdict.baseline).toBe(path.join(history, "n1"));
    expect(await readFile(path.join(history, "nightly.jsonl"), "utf8")).toContain('"runId":"n2"');
  });
});
