import { describe, expect, it } from "vitest";
import { analyseSharing } from "../../../src/analysis/sharing.js";
import type { Manifest } from "../../../src/images/manifest.js";
import { fileEntry as file } from "../../helpers/manifest.js";

describe("sharing analysis", () => {
  const a: Manifest = {
    entries: [
      { path: "d", type: "dir", size: 0, mode: 0o755 },
      file("d/common", 8192, "c1"),
      file("d/same-content-other-name", 4097, "c2"),
      file("d/old", 4096, "a1"),
      { path: "d/link", type: "hardlink", size: 0, mode: 0o644, target: "d/old" },
    ],
  };
  const b: Manifest = {
    entries: [
      file("d/common", 8192, "c1"),
      file("elsewhere/renamed", 4097, "c2"),
      file("d/old", 4096, "b1"),
      file("d/dup", 4096, "b1"),
    ],
  };

  it("counts identical content regardless of path, in pages", () => {
    const s = analyseSharing(a, b);
    expect(s.sharedFiles).toBe(2);
    expect(s.sharedBytes).toBe(8192 + 4097);
    expect(s.sharedPages).toBe(2 + 2);
    expect(s.a.pages).toBe(2 + 2 + 1);
    expect(s.b.pages).toBe(2 + 2 + 1 + 1);
    expect(s.b.distinctPages).toBe(2 + 2 + 1);
  });

  it("predicts off, on and split page cache and the reduction", () => {
    const s = analyseSharing(a, b);
    const page = 4096 / 2 ** 20;
    expect(s.expected.off.afterB).toBeCloseTo(11 * page);
    // on: one copy of c1, c2, a1, b1
    expect(s.expected.on.afterB).toBeCloseTo(6 * page);
    // split: each image dedups within itself only
    expect(s.expected.split.afterB).toBeCloseTo(10 * page);
    expect(s.expectedReductionPct).toBeCloseTo((5 / 11) * 100);
  });

  it("expects nothing for an empty pair", () => {
    expect(analyseSharing({ entries: [] }, { entries: [] }).expectedReductionPct).toBe(0);
  });
});
