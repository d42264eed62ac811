import { describe, expect, it } from "vitest";
import { renderParallelTable } from "../src/report/parallelTable.js";

describe("the parallel benchmark's table", () => {
  it("sets wall time against the boots' own work", () => {
    const text = renderParallelTable([
      { parallel: 1, boots: 27, runWallMs: 250_000, phaseWallMs: 240_000, bootWallSumMs: 236_000 },
      { parallel: 2, boots: 27, runWallMs: 140_000, phaseWallMs: 130_000, bootWallSumMs: 250_000 },
    ]);
    const [, one, two] = text.trim().split("\n");
    expect(one).toMatch(/^1 +27 +4m10s +4m00s +3m56s +1\.02 +1\.06$/);
    expect(two).toMatch(/^2 +27 +2m20s +2m10s +4m10s +0\.52 +0\.56$/);
  });
});
