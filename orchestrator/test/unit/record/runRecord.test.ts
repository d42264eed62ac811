import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadRunRecord } from "../../../src/record/runRecord.js";
import { nightRun as run } from "../../helpers/runRecord.js";

describe("reading run.json", () => {
  it("refuses a folder that holds no run record, naming it", async () => {
    const h = await mkdtemp(path.join(os.tmpdir(), "esb-nightly-"));
    await expect(loadRunRecord(h)).rejects.toThrow(`cannot read ${path.join(h, "run.json")}`);
    await writeFile(path.join(h, "run.json"), JSON.stringify({ schema: 2, runId: "x" }));
    await expect(loadRunRecord(h)).rejects.toThrow(/is not a valid run record: status/);
  });

  it("says which tool version a run record of another schema came from", async () => {
    const h = await mkdtemp(path.join(os.tmpdir(), "esb-nightly-"));
    await writeFile(path.join(h, "run.json"), JSON.stringify({ ...run({ runId: "old" }), schema: 1 }));
    await expect(loadRunRecord(h)).rejects.toThrow(
      /has run record schema 1, written by an older erofs-share-bench; this one reads schema 2/,
    );
    await writeFile(path.join(h, "run.json"), JSON.stringify({ ...run({ runId: "new" }), schema: 9 }));
    await expect(loadRunRecord(h)).rejects.toThrow(/schema 9, written by a newer erofs-share-bench/);
  });
});
