import { describe, expect, it } from "vitest";
import { renderCoverLetterTable, type TableRow } from "../../../src/report/table.js";

// The read-all table of the v8 cover letter (published figures), as it was mailed.
const SEED_READ_ALL = `+-------------------+------------------+-------------+---------------+
|       Image       | Page Cache Share | Memory (MB) |    Memory     |
|                   |                  |             | Reduction (%) |
+-------------------+------------------+-------------+---------------+
|                   |        No        |     241     |       -       |
|       redis       +------------------+-------------+---------------+
|   7.2.4 & 7.2.5   |        Yes       |     163     |      33%      |
+-------------------+------------------+-------------+---------------+
|                   |        No        |     872     |       -       |
|      postgres     +------------------+-------------+---------------+
|    16.1 & 16.2    |        Yes       |     630     |      28%      |
+-------------------+------------------+-------------+---------------+
|                   |        No        |     2771    |       -       |
|     tensorflow    +------------------+-------------+---------------+
|  2.11.0 & 2.11.1  |        Yes       |     2340    |      16%      |
+-------------------+------------------+-------------+---------------+
|       tomcat      |        No        |     924     |       -       |
| 10.1.25 & 10.1.26 +------------------+-------------+---------------+
|                   |        Yes       |     474     |      49%      |
+-------------------+------------------+-------------+---------------+
`;

const SEED_RUNTIME_PART = `+-------------------+------------------+-------------+---------------+
|       Image       | Page Cache Share | Memory (MB) |    Memory     |
|                   |                  |             | Reduction (%) |
+-------------------+------------------+-------------+---------------+
|                   |        No        |     34.9    |       -       |
|       redis       +------------------+-------------+---------------+
|   7.2.4 & 7.2.5   |        Yes       |     33.6    |       4%      |
+-------------------+------------------+-------------+---------------+
|                   |        No        |    1027.9   |       -       |
|     tensorflow    +------------------+-------------+---------------+
|  2.11.0 & 2.11.1  |        Yes       |    934.3    |      10%      |
+-------------------+------------------+-------------+---------------+
`;

describe("cover-letter table", () => {
  it("reproduces the seed read-all table byte for byte, including the tomcat layout", () => {
    const rows: TableRow[] = [
      { image: "redis", versions: "7.2.4 & 7.2.5", off: "241", on: "163", reduction: "33%" },
      { image: "postgres", versions: "16.1 & 16.2", off: "872", on: "630", reduction: "28%" },
      { image: "tensorflow", versions: "2.11.0 & 2.11.1", off: "2771", on: "2340", reduction: "16%" },
      { image: "tomcat", versions: "10.1.25 & 10.1.26", off: "924", on: "474", reduction: "49%" },
    ];
    expect(renderCoverLetterTable(rows)).toBe(SEED_READ_ALL);
  });

  it("reproduces the seed runtime rows with one decimal", () => {
    const rows: TableRow[] = [
      { image: "redis", versions: "7.2.4 & 7.2.5", off: "34.9", on: "33.6", reduction: "4%" },
      { image: "tensorflow", versions: "2.11.0 & 2.11.1", off: "1027.9", on: "934.3", reduction: "10%" },
    ];
    expect(renderCoverLetterTable(rows)).toBe(SEED_RUNTIME_PART);
  });

  it("widens the image column for long Debian version labels and keeps every line the same width", () => {
    const rows: TableRow[] = [
      { image: "redis", versions: "8.0.2-3+deb13u2 & 8.0.2-3+deb13u3", off: "61", on: "40", reduction: "34%" },
    ];
    const text = renderCoverLetterTable(rows, { unit: "MiB" });
    const widths = new Set(
      text
        .trimEnd()
        .split("\n")
        .map((l) => l.length),
    );
    expect(widths.size).toBe(1);
    expect(text).toContain("| Memory (MiB) |");
    expect(text).toContain("| 8.0.2-3+deb13u2 & 8.0.2-3+deb13u3 +");
  });
});
