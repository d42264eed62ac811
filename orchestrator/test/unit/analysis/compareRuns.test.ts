import { describe, expect, it } from "vitest";
import { compareRuns } from "../../../src/analysis/compareRuns.js";
import { renderComparison } from "../../../src/report/comparison.js";
import { correctnessResult, nightRun as run } from "../../helpers/runRecord.js";

const dirs = { baseline: "/b", current: "/c" };

describe("run comparison", () => {
  it("finds nothing to flag when the figures and inputs are the same", () => {
    const cmp = compareRuns(run({ runId: "b" }), run({ runId: "c" }), dirs);
    expect(cmp.regressions).toBe(0);
    expect(cmp.inputsChanged).toEqual([]);
    expect(cmp.rows.every((r) => r.verdict === "ok")).toBe(true);
    expect(renderComparison(cmp)).toContain("no regression");
  });

  it("flags a drop of sharing efficiency beyond the threshold, not within it", () => {
    expect(
      compareRuns(run({ runId: "b", efficiency: 98 }), run({ runId: "c", efficiency: 96 }), dirs).regressions,
    ).toBe(0);
    const cmp = compareRuns(run({ runId: "b", efficiency: 98 }), run({ runId: "c", efficiency: 60 }), dirs);
    expect(cmp.regressions).toBe(1);
    const row = cmp.rows.find((r) => r.verdict === "regression")!;
    expect(row).toMatchObject({ workload: "redis", where: "read-all read", baseline: 98, current: 60 });
    expect(renderComparison(cmp)).toMatch(/REGRESSION \(1\)[\s\S]*-38\.0 pt \| significant \| \*\*REGRESSION\*\*/);
  });

  it("calls a rise an improvement and a moved off-mode baseline a change, neither a regression", () => {
    const cmp = compareRuns(
      run({ runId: "b", efficiency: 80, off: 272.5 }),
      run({ runId: "c", efficiency: 98, off: 300 }),
      dirs,
    );
    expect(cmp.regressions).toBe(0);
    expect(cmp.rows.map((r) => r.verdict)).toEqual(expect.arrayContaining(["improvement", "changed"]));
  });

  it("flags domains that start sharing, runtime savings that shrink, new failures and a run that did not complete", () => {
    const cmp = compareRuns(
      run({ runId: "b" }),
      run({ runId: "c", splitShared: true, runtimeOn: 20, failures: ["ready (no answer in 120s)"], status: "failed" }),
      dirs,
    );
    const flagged = cmp.rows.filter((r) => r.verdict === "regression").map((r) => r.metric);
    expect(flagged).toEqual([
      "status",
      "domains isolated (split): page cache after A+B",
      "memory reduction vs off (memory.current)",
      "failed boots",
    ]);
    expect(cmp.regressions).toBe(4);
    // the leak is shown by its figures: split's page cache, before and now
    const split = cmp.rows.find((r) => r.metric.startsWith("domains isolated"))!;
    expect(split.unit).toBe("MiB");
  });

  it("flags read-all boots that fail where they did not", () => {
    const failing = {
      ...run({ runId: "c" }),
      failedBoots: [
        {
          workload: "redis",
          mode: "on",
          path: "mmap",
          failure: "redis on/mmap rep 1: guest kernel panicked; BUG: x\ntail",
        },
      ],
    };
    const cmp = compareRuns(run({ runId: "b" }), failing, dirs);
    expect(cmp.rows.filter((r) => r.verdict === "regression")).toEqual([
      {
        workload: "redis",
        where: "read-all on/mmap",
        metric: "failed boots",
        unit: "count",
        baseline: 0,
        current: 1,
        verdict: "regression",
        note: "redis on/mmap rep 1: guest kernel panicked; BUG: x",
      },
    ]);
    expect(compareRuns(failing, failing, dirs).regressions).toBe(0);
  });

  it("flags a correctness check that passed and now fails or oopses, and reports other changes without flagging them", () => {
    const checks = (fadvise: string, corrupt: string, reclaim: string) => [
      correctnessResult(
        "fadvise",
        fadvise as "pass",
        fadvise === "pass" ? "all verified" : "DONTNEED through A dropped 0 KiB of page cache",
      ),
      correctnessResult(
        "corrupt",
        corrupt as "pass",
        corrupt === "oops" ? "in case fp-len-huge: BUG: kernel NULL pointer dereference" : "all verified",
      ),
      correctnessResult(
        "reclaim",
        reclaim as "pass",
        reclaim === "na" ? "no reclaim happened in the group" : "all verified",
      ),
    ];
    const before = { ...run({ runId: "b" }), correctness: checks("pass", "pass", "pass") };
    const now = { ...run({ runId: "c" }), correctness: checks("fail", "oops", "na") };
    const cmp = compareRuns(before, now, dirs);
    const rows = cmp.rows.filter((r) => r.where.startsWith("correctness"));
    expect(rows.map((r) => [r.where, r.verdict])).toEqual([
      ["correctness fadvise", "regression"],
      ["correctness corrupt", "regression"],
      ["correctness reclaim", "changed"],
    ]);
    expect(rows[1]!.note).toBe(
      "pass -> oops: in case fp-len-huge: BUG: kernel NULL pointer dereference (0/1 boots vs 1/1, p = 0.500)",
    );
    expect(cmp.regressions).toBe(2);
    expect(renderComparison(cmp)).toMatch(
      /correctness fadvise \| check result \| - \| - \| {2}\| not enough boots \| \*\*REGRESSION\*\* \(pass -> fail: DONTNEED/,
    );
    // the other way round is an improvement; a run from before the phase compares without rows
    expect(compareRuns(now, before, dirs).rows.filter((r) => r.verdict === "improvement")).toHaveLength(2);
    expect(
      compareRuns(run({ runId: "b" }), run({ runId: "c" }), dirs).rows.some((r) => r.where.startsWith("correctness")),
    ).toBe(false);
  });

  it("calls a check that went from 0/N to k/N failing boots a regression, and does not flap on a known intermittent failure", () => {
    const mc = (result: "pass" | "fail", failed: number, of: number) => [
      correctnessResult(
        "mount-cycles",
        result,
        result === "fail" ? "kernel log: VFS: Busy inodes after unmount of vda (erofs)" : "all verified",
        {
          boots: { of, failed, results: [...Array(failed).fill("fail"), ...Array(of - failed).fill("pass")] },
        },
      ),
    ];
    const night = (result: "pass" | "fail", failed: number, of: number) => ({
      ...run({ runId: `${result}${failed}${of}` }),
      correctness: mc(result, failed, of),
    });
    const verdict = (a: ReturnType<typeof night>, b: ReturnType<typeof night>) =>
      compareRuns(a, b, dirs).rows.find((r) => r.where === "correctness mount-cycles")!;
    expect(verdict(night("pass", 0, 1), night("fail", 1, 4))).toMatchObject({
      verdict: "regression",
      note: "pass -> fail 1/4 boots: kernel log: VFS: Busy inodes after unmount of vda (erofs) (0/1 boots vs 1/4, p = 0.800)",
    });
    expect(verdict(night("fail", 1, 4), night("fail", 2, 4))).toMatchObject({
      verdict: "ok",
      note: "known intermittent: fail 1/4 boots -> fail 2/4 boots (1/4 boots vs 2/4, p = 0.500)",
    });
    expect(verdict(night("fail", 1, 4), night("pass", 0, 1))).toMatchObject({
      verdict: "ok",
      note: "known intermittent (fail 1/4 boots in the baseline), not seen now (1/4 boots vs 0/1, p = 0.800)",
    });
    expect(verdict(night("fail", 4, 4), night("pass", 0, 1)).verdict).toBe("improvement");
    expect(verdict(night("fail", 4, 4), night("fail", 4, 4))).toMatchObject({ verdict: "ok", note: "fail 4/4 boots" });
    // a race that became certain, or nearly went away: the rates decide, by Fisher's exact test
    expect(verdict(night("fail", 1, 10), night("fail", 9, 10))).toMatchObject({
      verdict: "regression",
      significance: "significant",
      note: "fails more often: 1/10 boots vs 9/10, p < 0.001: kernel log: VFS: Busy inodes after unmount of vda (erofs)",
    });
    expect(verdict(night("fail", 9, 10), night("fail", 1, 10))).toMatchObject({
      verdict: "improvement",
      note: "fails less often: 9/10 boots vs 1/10, p < 0.001",
    });
    expect(verdict(night("fail", 2, 10), night("fail", 4, 10))).toMatchObject({
      verdict: "ok",
      significance: "not significant",
    });
  });

  it("names the inputs that changed", () => {
    const cmp = compareRuns(run({ runId: "b" }), run({ runId: "c", release: "7.3.5" }), dirs);
    expect(cmp.inputsChanged).toEqual([{ input: "kernel release", baseline: "7.3.4", current: "7.3.5" }]);
  });

  it("names a change of how TCG ran the vCPUs as a changed accelerator", () => {
    const tcg = (tcgThread?: "single" | "multi") => ({
      ...run({ runId: tcgThread ?? "old" }),
      accel: { accel: "tcg" as const, reason: "forced", tcgThread },
    });
    expect(compareRuns(tcg("single"), tcg("single"), dirs).inputsChanged).toEqual([]);
    expect(compareRuns(tcg(), tcg("single"), dirs).inputsChanged).toEqual([
      { input: "accelerator", baseline: "tcg", current: "tcg (single-threaded)" },
    ]);
  });
});
