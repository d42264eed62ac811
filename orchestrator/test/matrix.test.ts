import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadMatrix, matrixJobSpec } from "../src/record/matrix.js";
import { nightExitStatus } from "../src/analysis/night.js";
import { judgeCommand } from "../src/commands/judge.js";
import { RunFolder } from "../src/pipeline/runFolder.js";
import { tempDir } from "./helpers/gitSeries.js";
import { cell, comparison, runRecord } from "./helpers/runRecord.js";

let dir: string;
beforeAll(async () => {
  dir = await tempDir("esb-matrix-");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function matrix(text: string): Promise<string> {
  const file = path.join(dir, `m${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, text);
  return file;
}

describe("the nightly matrix", () => {
  it("ships a matrix with mainline, and v8 where a v6.19 tree is named", async () => {
    const shipped = path.resolve(import.meta.dirname, "../../nightly.yaml");
    expect((await loadMatrix(shipped, {})).map((p) => [p.job.name, p.skipped ?? "runs"])).toEqual([
      ["mainline", "runs"], ["v8", "ESB_LINUX_V6_19 not set (a Linux v6.19 tree)"], ["known-answer", "runs"],
    ]);
    const [, v8] = await loadMatrix(shipped, { ESB_LINUX_V6_19: "/src/linux" });
    expect(v8!.skipped).toBeUndefined();
    expect(v8!.job).toMatchObject({ kernelSrc: "/src/linux", kernelSrcExclude: [] });
    expect([v8!.job.mbox, v8!.job.baseRef]).toEqual([undefined, undefined]);
  });

  it("fills variables and defaults, turns a job into a run's spec, and refuses typos and twice-named jobs", async () => {
    const m = await matrix("jobs:\n  - name: dev\n    series: v8\n    profile: v8\n    kernelSrc: ${TREE}/linux\n    baseRef: ${BRANCH:-main}\n    reps: 2\n    workloads: [synthetic]\n    mbox: v8.mbox\n");
    const [dev] = await loadMatrix(m, { TREE: "/home/me" });
    const spec = matrixJobSpec(dev!.job, m, {});
    expect(spec).toMatchObject({ series: "v8", profile: "v8", kernelSrc: "/home/me/linux", baseRef: "main", reps: 2, workloads: ["synthetic"], phases: ["readall", "runtime", "correctness"], digest: "xxh64" });
    expect(spec.mbox).toBe(path.join(dir, "v8.mbox"));
    await expect(loadMatrix(await matrix("jobs:\n  - name: a\n    series: v8\n    rep: 2\n"))).rejects.toThrow(/unknown key "rep" \(known keys: name, kind, mutants, series, profile/);
    await expect(loadMatrix(await matrix("jobs:\n  - name: a\n    series: v8\n  - name: a\n    series: mainline\n"))).rejects.toThrow("job a is listed twice");
  });

  it("lets the command line change what a job measures, never which kernel it builds", async () => {
    const [job] = await loadMatrix(await matrix("jobs:\n  - name: a\n    series: mainline\n    reps: 5\n    workloads: [redis]\n"), {});
    expect(matrixJobSpec(job!.job, "m.yaml", { reps: 1, quick: true, digest: "sha256" })).toMatchObject({ series: "mainline", reps: 1, quick: true, digest: "sha256", workloads: ["redis"] });
    expect(() => matrixJobSpec(job!.job, "m.yaml", { series: "v8" })).toThrow("job a of m.yaml names its own kernel tree; series cannot be given for it");
  });

  it("gives the night one exit status: a regression over failed boots over a job that did not run", () => {
    const j = (over: object) => ({ job: "j", status: "complete" as const, regressions: 0, failedBoots: 0, baseline: null, ...over });
    expect(nightExitStatus([j({}), j({ status: "skipped" })])).toBe(0);
    expect(nightExitStatus([j({}), j({ status: "error" })])).toBe(1);
    expect(nightExitStatus([j({ failedBoots: 2 }), j({ status: "error" })])).toBe(4);
    expect(nightExitStatus([j({ regressions: 1 }), j({ failedBoots: 2 })])).toBe(3);
  });
});

describe("judging a run measured elsewhere", () => {
  it("copies it into the history, judges it against the last good run there, and exits 3 on a regression", async () => {
    const history = path.join(dir, "history");
    const run = (runId: string, startedAt: string, efficiency: number) =>
      runRecord({
        runId, startedAt,
        comparisons: [comparison({ workload: "redis", path: "read", off: cell("redis", "read", "off", 272.5), on: cell("redis", "read", "on", 151.4), reductionPct: 44.5, efficiencyPct: efficiency })],
      });
    await new RunFolder(path.join(history, "n1"), run("n1", "2026-11-20T02:00:00.000Z", 98)).save();
    await writeFile(path.join(history, "n1", "nightly.json"), JSON.stringify({ regressions: 0, baseline: null, note: null, comparison: null }));
    const merged = path.join(dir, "merged");
    await mkdir(merged);
    await new RunFolder(merged, run("n2", "2026-11-21T02:00:00.000Z", 60)).save();
    expect(await judgeCommand(merged, history, undefined, true)).toBe(3);
    const verdict = JSON.parse(await readFile(path.join(history, "n2", "nightly.json"), "utf8"));
    expect(verdict.regressions).toBe(1);
    expect(verdict.baseline).toBe(path.join(history, "n1"));
    expect(await readFile(path.join(history, "nightly.jsonl"), "utf8")).toContain('"runId":"n2"');
  });
});
