import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { runBisect, type MeasureCommit } from "../../../src/tasks/bisect.js";
import { BenchError } from "../../../src/util/errors.js";
import { Progress } from "../../../src/util/progress.js";

/**
 * The bisection driven over a real git history with a stand-in for the
 * measurement: commit i of 8 fails the check from the one that broke it on,
 * and one commit does not build. git bisect itself runs, in a worktree of
 * the clone, and the user's checkout must not move.
 */
async function history(): Promise<{ repo: string; commits: string[] }> {
  const repo = await mkdtemp(path.join(os.tmpdir(), "esb-bisect-"));
  const g = (...args: string[]) =>
    execa("git", ["-C", repo, ...args], {
      env: { GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@l", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@l" },
    });
  await g("init", "-q", "-b", "main");
  const commits: string[] = [];
  for (let i = 0; i < 8; i++) {
    await writeFile(path.join(repo, "file"), `step ${i}\n`);
    await g("add", "file");
    await g("commit", "-q", "-m", `commit ${i}`);
    commits.push((await g("rev-parse", "HEAD")).stdout.trim());
  }
  return { repo, commits };
}

const bench = (repo: string) =>
  ({
    series: "mainline",
    profile: "mainline",
    kernelSrc: repo,
    workloads: [],
    reps: 1,
    modes: [],
    paths: [],
    buildOnly: false,
    command: ["test"],
  }) as never;

describe("bisection", () => {
  it("names the commit that broke a check, skipping one that does not build, and leaves the clone's checkout alone", async () => {
    const { repo, commits } = await history();
    const bisect = async (broke: number, unbuildable: number) => {
      const measure: MeasureCommit = async (commit, reps) => {
        const i = commits.indexOf(commit);
        if (i === unbuildable) throw new BenchError(`commit ${i} does not build: file.c:1: error`);
        return { samples: [], failed: i >= broke ? reps : 0, of: reps };
      };
      const out = await mkdtemp(path.join(os.tmpdir(), "esb-bisect-out-"));
      const r = await runBisect(
        {
          bench: bench(repo),
          good: commits[0]!,
          bad: commits[7]!,
          row: { kind: "check", name: "fadvise" },
          out,
          cap: 4,
        },
        new Progress(true),
        undefined,
        measure,
      );
      return { r, md: await readFile(path.join(out, "bisect.md"), "utf8") };
    };
    const clear = await bisect(3, 5);
    expect(clear.r.firstBad).toBe(commits[3]);
    expect(clear.md).toContain(`**First bad commit: ${commits[3]!.slice(0, 12)}** commit 3`);
    expect(clear.r.log).toContain("git bisect start");
    // the commit that does not build sits right before the one that broke it: git can only say it is one of the two
    const unclear = await bisect(5, 4);
    expect(unclear.r.firstBad).toBeUndefined();
    expect(new Set(unclear.r.candidates)).toEqual(new Set([commits[4], commits[5]]));
    expect(unclear.r.steps.find((s) => s.commit === commits[4])).toMatchObject({
      action: "skip",
      note: "commit 4 does not build: file.c:1: error",
    });
    expect(unclear.md).toContain("Only skipped commits were left: the first bad commit is one of");
    // the user's checkout and branch did not move, and no worktree is left behind
    expect((await execa("git", ["-C", repo, "rev-parse", "HEAD"])).stdout.trim()).toBe(commits[7]);
    expect((await execa("git", ["-C", repo, "worktree", "list"])).stdout.trim().split("\n")).toHaveLength(1);
  });

  it("resumes after an interruption, replaying the steps it decided instead of measuring them again", async () => {
    const { repo, commits } = await history();
    const out = path.join(repo, "..", `${path.basename(repo)}-out`);
    const calls: string[] = [];
    const measure =
      (stopAfter: number): MeasureCommit =>
      async (commit, reps) => {
        if (calls.length >= stopAfter) throw new Error("interrupted");
        calls.push(commit);
        const i = commits.indexOf(commit);
        return { samples: [], failed: i >= 3 ? reps : 0, of: reps };
      };
    const opts = {
      bench: bench(repo),
      good: commits[0]!,
      bad: commits[7]!,
      row: { kind: "check" as const, name: "fadvise" },
      out,
      cap: 4,
    };
    await expect(runBisect(opts, new Progress(true), undefined, measure(3))).rejects.toThrow("interrupted");
    const kept = JSON.parse(await readFile(path.join(out, "bisect.json"), "utf8")) as {
      steps: Array<{ commit: string }>;
      status: string;
    };
    expect(kept.status).toBe("running");
    expect(kept.steps).toHaveLength(1);
    const before = calls.length;
    const r = await runBisect(opts, new Progress(true), undefined, measure(Infinity));
    expect(r.firstBad).toBe(commits[3]);
    // the ends and the first step were not measured again
    expect(calls.slice(before)).not.toContain(kept.steps[0]!.commit);
    expect(calls.slice(before)).not.toContain(commits[7]);
  });

  it("refuses ends in the wrong order, and a BAD that never fails", async () => {
    const { repo, commits } = await history();
    const out = path.join(repo, "..", `${path.basename(repo)}-out`);
    const row = { kind: "check" as const, name: "fadvise" };
    const never: MeasureCommit = async (_c, reps) => ({ samples: [], failed: 0, of: reps });
    await expect(
      runBisect(
        { bench: bench(repo), good: commits[5]!, bad: commits[2]!, row, out, cap: 4 },
        new Progress(true),
        undefined,
        never,
      ),
    ).rejects.toThrow(/is not an ancestor of BAD/);
    await expect(
      runBisect(
        { bench: bench(repo), good: commits[0]!, bad: commits[7]!, row, out, cap: 4 },
        new Progress(true),
        undefined,
        never,
      ),
    ).rejects.toThrow(/passed fadvise in all 4 boots: nothing to bisect/);
  });
});
