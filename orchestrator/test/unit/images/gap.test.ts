import { describe, expect, it } from "vitest";
import { gapEvidence, gapTable } from "../../../src/analysis/gap.js";
import type { Manifest } from "../../../src/images/manifest.js";
import { fileEntry as file } from "../../helpers/manifest.js";

const A: Manifest = {
  entries: [
    file("big", 40 * 4096, "s1"),
    file("tiny", 100, "s2"),
    file("half", 8 * 4096, "s3"),
    file("inl", 5000, "s4"),
    file("lost", 4 * 4096, "s5"),
  ],
};
const B: Manifest = { entries: [...A.entries, file("new", 4096, "s9")] };
const res = (path: string, pages: number, resident: number) => ({ path, pages, resident });

describe("the gap to 100%", () => {
  it("counts which identical files of B shared A's pages, and puts each that did not down to a cause", () => {
    const e = gapEvidence({
      workload: "w",
      path: "read",
      manifestA: A,
      manifestB: B,
      residentB: [
        res("big", 40, 40),
        res("tiny", 1, 0),
        res("half", 8, 3),
        res("inl", 2, 0),
        res("lost", 4, 0),
        res("new", 1, 0),
      ],
      layoutB: (key) =>
        key === Buffer.from("inl").toString("hex")
          ? { inline: true, fingerprint: true }
          : { inline: false, fingerprint: true },
    });
    expect(e.identicalFiles).toBe(5);
    expect(e.identicalMiB).toBeCloseTo((40 + 1 + 8 + 2 + 4) / 256);
    expect(e.sharedMiB).toBeCloseTo(43 / 256);
    expect(e.notShared).toEqual([
      { cause: "inline or tail-packed data", MiB: 2 / 256, files: 1, example: "inl" },
      { cause: "smaller than a page", MiB: 1 / 256, files: 1, example: "tiny" },
      { cause: "partly shared", MiB: 5 / 256, files: 1, example: "half" },
      { cause: "unexplained", MiB: 4 / 256, files: 1, example: "lost" },
    ]);
  });

  it("splits the measured gap into unshared identical files, directory and inode pages, and the rest", () => {
    const e = gapEvidence({ workload: "w", path: "read", manifestA: A, manifestB: B, residentB: [res("big", 40, 0)] });
    const t = gapTable(e, { offMeasured: 100, offExpected: 98.5, onMeasured: 60, onExpected: 58 });
    expect(t.gapMiB).toBeCloseTo(2);
    expect(t.metadataMiB).toBeCloseTo(1.5);
    const notShared = e.notShared.reduce((s, c) => s + c.MiB, 0);
    expect(t.restMiB).toBeCloseTo(2 - 1.5 - notShared);
  });
});
