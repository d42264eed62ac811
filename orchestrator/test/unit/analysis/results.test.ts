import { describe, expect, it } from "vitest";
import { buildCells, compare } from "../../../src/analysis/cells.js";
import { deriveResults } from "../../../src/analysis/results.js";
import { buildRuntimeCells } from "../../../src/analysis/runtimeCells.js";
import type { RunRecord } from "../../../src/record/runRecord.js";
import { fixtureRun } from "../../helpers/runFixture.js";

/** A run's results come from its raw boots alone, the same for a running run, a merge and a report. */
describe("a run's results", () => {
  it("are its cells, comparisons and runtime cells, made from its boots and workloads", () => {
    const run = fixtureRun();
    const analyses = new Map(run.workloads.map((w) => [w.name, w.sharing]));
    const cells = buildCells(run.boots, analyses);
    expect(deriveResults(run)).toEqual({
      cells,
      comparisons: compare(cells, analyses),
      runtimeCells: buildRuntimeCells(run.runtime),
    });
    const stale: RunRecord = { ...run, cells: [], comparisons: [], runtimeCells: [] };
    expect(deriveResults(stale)).toEqual(deriveResults(run));
  });
});
