import { describe, expect, it } from "vitest";
import {
  decideCheck,
  decideFigure,
  endsDiffer,
  nextAction,
  parseBisectRow,
  passesNeeded,
  rowName,
} from "../../../src/analysis/bisectRule.js";
import { RESULT_NAMES } from "../../../src/guest/checks.js";
import { ACCESS_PATHS } from "../../../src/guest/modes.js";

const ends = { good: [98.1, 98.4, 97.9], bad: [60.2, 61.0, 59.8], floor: 1 };

describe("bisection decisions", () => {
  it("calls a step like GOOD or like BAD only with enough samples on one side, well clear of the midpoint", () => {
    expect(decideFigure([97.5, 98.6], ends)).toBe("good");
    expect(decideFigure([61.5, 59.0], ends)).toBe("bad");
    // one sample is never enough at the default minimum
    expect(decideFigure([98.0], ends)).toBe("unsure");
    expect(decideFigure([98.0], ends, 1)).toBe("good");
    // samples on both sides of the midpoint: not sure
    expect(decideFigure([97.0, 62.0], ends)).toBe("unsure");
    // all on the good side but hugging the midpoint (79.05), within half the noise: not sure
    const noisy = { good: [98, 90], bad: [60, 68], floor: 1 };
    expect(decideFigure([80, 81], noisy)).toBe("unsure");
    expect(decideFigure([86, 88], noisy)).toBe("good");
    // the direction does not matter: a figure that went up is judged the same way
    expect(decideFigure([97.5, 98.6], { good: ends.bad, bad: ends.good, floor: 1 })).toBe("bad");
  });

  it("refuses ends that do not differ beyond their noise", () => {
    expect(endsDiffer(ends)).toBe(true);
    expect(endsDiffer({ good: [98, 97], bad: [96.5, 97.5], floor: 1 })).toBe(false);
    expect(endsDiffer({ good: [98, 94], bad: [60, 70], floor: 1 })).toBe(true);
    expect(endsDiffer({ good: [98, 70], bad: [60, 70], floor: 1 })).toBe(false);
  });

  it("calls a check BAD on any failing boot, GOOD only after enough passes at BAD's failure rate", () => {
    expect(decideCheck({ failed: 1, of: 1 }, 0.25)).toBe("bad");
    expect(passesNeeded(1)).toBe(1);
    expect(passesNeeded(0.5)).toBe(4);
    expect(passesNeeded(0.25)).toBe(9);
    expect(decideCheck({ failed: 0, of: 1 }, 1)).toBe("good");
    expect(decideCheck({ failed: 0, of: 3 }, 0.5)).toBe("unsure");
    expect(decideCheck({ failed: 0, of: 4 }, 0.5)).toBe("good");
    expect(decideCheck({ failed: 0, of: 20 }, 0)).toBe("unsure");
  });

  it("measures again while not sure, up to the cap, then skips the step", () => {
    expect(nextAction("good", 1, 4)).toBe("good");
    expect(nextAction("bad", 4, 4)).toBe("bad");
    expect(nextAction("unsure", 2, 4)).toBe("again");
    expect(nextAction("unsure", 4, 4)).toBe("skip");
  });

  it("reads the row to judge the way the nightly names it, and refuses anything else with the fix", () => {
    const checks = ["fadvise", "mount-cycles"];
    const paths = ACCESS_PATHS;
    expect(parseBisectRow("check:fadvise", checks, paths)).toEqual({ kind: "check", name: "fadvise" });
    expect(parseBisectRow("efficiency:redis/mmap", checks, paths)).toEqual({
      kind: "efficiency",
      workload: "redis",
      path: "mmap",
    });
    expect(rowName(parseBisectRow("efficiency:redis/mmap", checks, paths))).toBe("efficiency:redis/mmap");
    expect(() => parseBisectRow("check:nope", checks, paths)).toThrow(/no correctness result named nope/);
    expect(() => parseBisectRow("efficiency:redis/no-such-path", checks, paths)).toThrow(/not WORKLOAD\/PATH/);
    expect(() => parseBisectRow("fadvise", checks, paths)).toThrow(/neither check:NAME nor efficiency:WORKLOAD\/PATH/);
  });
});

describe("git bisect's conclusions", () => {
  it("reads the first bad commit, the candidates when only skipped commits are left, and nothing while it goes on", async () => {
    const { parseBisectOutput } = await import("../../../src/tasks/bisect.js");
    const sha = (c: string) => c.repeat(40);
    expect(parseBisectOutput(`${sha("a")} is the first bad commit\ncommit ${sha("a")}\nAuthor: x\n`)).toEqual({
      done: { firstBad: sha("a") },
    });
    expect(
      parseBisectOutput(
        `There are only 'skip'ped commits left to test.\nThe first bad commit could be any of:\n${sha("b")}\n${sha("c")}\nWe cannot bisect more!\n`,
      ),
    ).toEqual({ done: { candidates: [sha("b"), sha("c")] } });
    expect(parseBisectOutput("Bisecting: 3 revisions left to test after this (roughly 2 steps)\n")).toEqual({});
  });
});

describe("where a nightly regression points", () => {
  it("gives the bisect command for a regressed check or efficiency of a git tree, and says what stands in the way otherwise", async () => {
    const { bisectHints, renderBisectHints } = await import("../../../src/analysis/bisectHint.js");
    const row = (where: string, metric: string, verdict = "regression", workload = "synthetic") => ({
      workload,
      where,
      metric,
      unit: "" as const,
      verdict: verdict as "regression",
      note: "",
    });
    const rows = [
      row("correctness fadvise", "check result"),
      row("read-all mmap", "sharing efficiency (measured / expected reduction)", "regression", "redis"),
      row("read-all read", "page cache, sharing off", "regression"),
      row("correctness reclaim", "check result", "ok"),
    ];
    const night = (commit: string, extra: object = {}) => ({
      series: { name: "mainline-tree" },
      kernel: { source: { kind: "git", repo: "/src/linux", commit }, ...extra },
    });
    const hints = bisectHints(night("a".repeat(40)), night("b".repeat(40)), rows);
    expect(hints.map((h) => h.row)).toEqual(["check:fadvise", "efficiency:redis/mmap"]);
    expect(hints[0]!.command).toBe(
      `npm run bench -- bisect ${"a".repeat(12)}..${"b".repeat(12)} --kernel-src /src/linux --profile mainline --row check:fadvise`,
    );
    expect(renderBisectHints(hints)).toContain("## Which commit did it");
    const debian = {
      series: { name: "mainline" },
      kernel: { source: { kind: "debian", package: "linux-source-7.3", packageVersion: "7.3.4-1" } },
    };
    expect(bisectHints(debian, debian, rows)[0]).toMatchObject({
      row: "check:fadvise",
      note: expect.stringContaining("bisect in a git clone that has both versions"),
    });
    const series = (commit: string) => night(commit, { apply: { patches: [{}] } });
    expect(bisectHints(series("c".repeat(40)), series("c".repeat(40)), rows)[0]!.note).toMatch(
      /per-patch tells which patch/,
    );
    expect(
      bisectHints(night("a".repeat(40)), night("b".repeat(40)), [
        row("correctness fadvise", "check result", "changed"),
      ]),
    ).toEqual([]);
  });

  it("points at every access path the bench measures, with a row bisect itself reads", async () => {
    const { bisectHints } = await import("../../../src/analysis/bisectHint.js");
    const night = (commit: string) => ({
      series: { name: "mainline" },
      kernel: { source: { kind: "git", repo: "/src/linux", commit } },
    });
    // the row as compareRuns names it, one per access path
    const rows = ACCESS_PATHS.map((p) => ({
      workload: "redis",
      where: `read-all ${p}`,
      metric: "sharing efficiency (measured / expected reduction)",
      unit: "%" as const,
      verdict: "regression" as const,
      note: "",
    }));
    const hints = bisectHints(night("a".repeat(40)), night("b".repeat(40)), rows);
    expect(hints.map((h) => h.row)).toEqual(ACCESS_PATHS.map((p) => `efficiency:redis/${p}`));
    for (const h of hints) expect(rowName(parseBisectRow(h.row, RESULT_NAMES, ACCESS_PATHS))).toBe(h.row);
  });
});
