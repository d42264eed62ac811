/**
 * An access path added to ACCESS_PATHS must reach every place that names
 * paths, with no list of its own to update: here, the nightly's bisect hint.
 */
import { describe, expect, it, vi } from "vitest";
import { bisectHints } from "../../../src/analysis/bisectHint.js";
import { parseBisectRow, rowName } from "../../../src/analysis/bisectRule.js";
import { RESULT_NAMES } from "../../../src/guest/checks.js";
import { ACCESS_PATHS } from "../../../src/guest/modes.js";

// a path the bench does not have (yet): only ACCESS_PATHS knows it
vi.mock("../../../src/guest/modes.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../../src/guest/modes.js")>();
  return { ...real, ACCESS_PATHS: [...real.ACCESS_PATHS, "splice"] };
});

describe("a new access path", () => {
  it("gets a bisect hint whose row bisect reads", () => {
    expect(ACCESS_PATHS).toContain("splice");
    const night = (commit: string) => ({
      series: { name: "mainline" },
      kernel: { source: { kind: "git", repo: "/src/linux", commit } },
    });
    const row = {
      workload: "redis",
      where: "read-all splice",
      metric: "sharing efficiency (measured / expected reduction)",
      unit: "%" as const,
      verdict: "regression" as const,
      note: "",
    };
    const [hint] = bisectHints(night("a".repeat(40)), night("b".repeat(40)), [row]);
    expect(hint?.row).toBe("efficiency:redis/splice");
    expect(rowName(parseBisectRow(hint!.row, RESULT_NAMES, ACCESS_PATHS))).toBe("efficiency:redis/splice");
  });
});
