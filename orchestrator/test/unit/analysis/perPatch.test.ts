import { describe, expect, it } from "vitest";
import {
  cellOf,
  columnChanges,
  rowFigures,
  sharingState,
  type PerPatchRow,
} from "../../../src/analysis/perPatchRows.js";
import { PER_PATCH_SCHEMA, type PerPatchRecord } from "../../../src/record/perPatchRecord.js";
import { renderPerPatchText } from "../../../src/report/perPatchText.js";

const cmp = (
  path: string,
  efficiencyPct: number | undefined,
  extra: Partial<{ splitShared: boolean; sharingInactive: boolean }> = {},
) => ({
  workload: "synthetic",
  path,
  efficiencyPct,
  splitShared: false,
  sharingInactive: false,
  ...extra,
});

function row(
  index: number,
  status: PerPatchRow["status"],
  paths: Record<string, string> = {},
  checks: Record<string, string> = {},
): PerPatchRow {
  return {
    index,
    total: 5,
    subject: `patch ${index}`,
    status,
    runDir: `/r/p${index}`,
    paths: Object.fromEntries(Object.entries(paths).map(([p, state]) => [p, { state: state as "full" }])),
    checks,
  };
}

describe("the per-patch table", () => {
  it("names a path's sharing: full from 90% of what identical files allow, partial, none, and LEAK when split shared", () => {
    expect(sharingState(cmp("read", 99.7))).toEqual({ state: "full", efficiencyPct: 99.7 });
    expect(sharingState(cmp("read", 60))).toEqual({ state: "partial", efficiencyPct: 60 });
    expect(sharingState(cmp("read", 2, { sharingInactive: true }))).toEqual({ state: "none", efficiencyPct: 2 });
    expect(sharingState(cmp("read", 99, { splitShared: true })).state).toBe("LEAK");
    expect(sharingState(undefined)).toEqual({ state: "-" });
    const figures = rowFigures(
      {
        comparisons: [cmp("read", 99.7), cmp("mmap", 1)],
        correctness: [{ name: "fadvise", result: "fail", boots: { of: 2, failed: 2 } }],
      },
      "synthetic",
      ["read", "mmap", "sendfile"],
    );
    expect(figures).toEqual({
      paths: {
        read: { state: "full", efficiencyPct: 99.7 },
        mmap: { state: "none", efficiencyPct: 1 },
        sendfile: { state: "-" },
      },
      checks: { fadvise: "fail 2/2 boots" },
    });
  });

  it("lists where each column changed, passing over prefixes that were not measured", () => {
    const rows = [
      row(1, "lacks the feature"),
      row(2, "measured", { read: "none" }, { fadvise: "na" }),
      row(3, "does not build"),
      row(4, "measured", { read: "full" }, { fadvise: "fail 2/2 boots" }),
      row(5, "measured", { read: "full" }, { fadvise: "pass" }),
    ];
    expect(cellOf(rows[2]!, "read")).toBe("-");
    expect(columnChanges(rows, ["read", "fadvise", "copy-up"])).toEqual([
      {
        column: "read",
        changes: [
          { index: 2, from: "-", to: "none" },
          { index: 4, from: "none", to: "full" },
        ],
      },
      {
        column: "fadvise",
        changes: [
          { index: 2, from: "-", to: "na" },
          { index: 4, from: "na", to: "fail 2/2 boots" },
          { index: 5, from: "fail 2/2 boots", to: "pass" },
        ],
      },
      { column: "copy-up", changes: [] },
    ]);
    const record: PerPatchRecord = {
      schema: PER_PATCH_SCHEMA,
      status: "complete",
      startedAt: "t",
      command: [],
      series: "v9",
      title: "v9",
      workload: "synthetic",
      paths: ["read"],
      checks: ["fadvise"],
      rows,
      wallSeconds: 60,
    };
    const text = renderPerPatchText(record);
    expect(text).toContain("  read: none at 2/5, full at 4/5");
    expect(text).toContain("  fadvise: na at 2/5, fail 2/2 boots at 4/5, pass at 5/5");
    expect(text).toMatch(/\n3\/5\s+-\s+-\n/);
    expect(text).toContain("  3/5 patch 3: does not build");
  });
});
