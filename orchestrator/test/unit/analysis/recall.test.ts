import { describe, expect, it } from "vitest";
import { recallRows, recallSummary, type LaterChange } from "../../../src/analysis/recall.js";
import { RESULT_NAMES } from "../../../src/guest/checks.js";
import { loadSeries } from "../../../src/kernel/series.js";
import { renderRecallMarkdown } from "../../../src/report/recallTable.js";

const change = (name: string, seenBy: string[], unseen?: string): LaterChange => ({
  change: name,
  landed: "mainline",
  observable: `${name} observable`,
  seenBy,
  ...(unseen ? { unseen } : {}),
});
const out = (name: string, result: string) => ({ name, result, reason: `${name} ${result}` });

describe("recallRows", () => {
  it("recalls a change only when a check fails or finds on the series and passes on mainline", () => {
    const rows = recallRows(
      [
        change("told apart", ["domain-id"]),
        change("finding on the series", ["map-identity"]),
        change("both pass", ["fadvise"]),
        change("mainline fails too", ["trust-cross-domain"]),
        change("never run", ["copy-up"]),
        change("no check", [], "no DAX device"),
      ],
      [
        out("domain-id", "fail"),
        out("map-identity", "finding"),
        out("fadvise", "pass"),
        out("trust-cross-domain", "fail"),
      ],
      [
        out("domain-id", "pass"),
        out("map-identity", "pass"),
        out("fadvise", "pass"),
        out("trust-cross-domain", "fail"),
      ],
    );
    expect(rows.map((r) => r.status)).toEqual([
      "recalled",
      "recalled",
      "missed",
      "mainline-fails",
      "not-run",
      "unseen",
    ]);
    expect(recallSummary(rows)).toEqual({ recalled: 2, seen: 5, unseen: 1, total: 6 });
  });

  it("does not count an error as a verdict", () => {
    const rows = recallRows([change("c", ["domain-id"])], [out("domain-id", "error")], [out("domain-id", "pass")]);
    expect(rows[0]!.status).toBe("not-run");
  });
});

describe("renderRecallMarkdown", () => {
  it("gives each check's verdict on both kernels and why an unseen change is unseen", () => {
    const rows = recallRows(
      [change("erofs: hide domain_id", ["domain-id"]), change("dax refused", [], "the guest's disks offer no DAX")],
      [out("domain-id", "finding")],
      [out("domain-id", "pass")],
    );
    const md = renderRecallMarkdown(rows, {
      series: { name: "v8", kernel: "6.19.0", dir: "r/v8" },
      mainline: { name: "mainline", kernel: "7.3.4", dir: "r/ml" },
    });
    expect(md).toContain("**1 of 2 changes recalled; 1 seen by no check yet.**");
    expect(md).toContain("| erofs: hide domain_id | mainline | `domain-id` | FINDING | PASS | recalled |");
    expect(md).toContain("| dax refused | mainline | none | | | no check |");
    expect(md).toContain("- **dax refused** (mainline): dax refused observable. the guest's disks offer no DAX");
  });
});

describe("v8's laterUpstream", () => {
  it("names only results the checks table has, and says why for every change no check sees", async () => {
    const spec = await loadSeries("v8");
    expect(spec.laterUpstream.length).toBeGreaterThan(5);
    for (const c of spec.laterUpstream) {
      for (const n of c.seenBy) expect(RESULT_NAMES, `${c.change}: ${n}`).toContain(n);
      if (!c.seenBy.length) expect(c.unseen, c.change).toBeTruthy();
    }
  });
});
