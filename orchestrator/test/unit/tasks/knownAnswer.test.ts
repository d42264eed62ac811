import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  BAD_VERDICTS,
  judgeSignal,
  judgeTargets,
  signalsOf,
  type Observed,
} from "../../../src/analysis/knownAnswerVerdicts.js";
import { RESULT_NAMES } from "../../../src/guest/checks.js";
import { loadAllMutants, loadMutant, loadMutants, mutantsDir, patchedFiles } from "../../../src/kernel/mutants.js";
import { SIGNALS, verdictLine } from "../../../src/tasks/knownAnswer.js";
import {
  knownAnswerNotes,
  knownAnswerProblems,
  renderKnownAnswerMarkdown,
  renderKnownAnswerText,
} from "../../../src/report/knownAnswerTable.js";

const seen = (state: Observed["state"], extra: Partial<Observed> = {}): Observed => ({
  state,
  detail: state,
  ...extra,
});
const mutant = (caughtBy: string[], mayAlsoFail: string[] = []) => ({ name: "m", caughtBy, mayAlsoFail });

describe("the kernel mutant set", () => {
  it("names only signals that exist, with a patch of fs/erofs for each mutant and a reason for each check no mutant breaks alone", async () => {
    const set = await loadMutants(RESULT_NAMES);
    expect(set.base).toBe("mainline");
    expect(set.mutants.length).toBeGreaterThanOrEqual(6);
    for (const m of set.mutants) {
      const file = path.join(mutantsDir(), m.patch);
      expect(existsSync(file), file).toBe(true);
      expect(
        patchedFiles(readFileSync(file, "utf8")).every((f) => f.startsWith("fs/erofs/")),
        m.name,
      ).toBe(true);
    }
    // every check result is caught by some mutant, or the set says why no small patch breaks it alone
    const caught = new Set(
      set.mutants.flatMap((m) => [...m.caughtBy, ...m.mayAlsoFail]).map((s) => s.replace(/=finding$/, "")),
    );
    for (const r of RESULT_NAMES) expect(caught.has(r) || r in set.notBrokenAlone, r).toBe(true);
    for (const r of Object.keys(set.knownOnBase)) expect(RESULT_NAMES, r).toContain(r);
  });
});

describe("a reviewer's own mutants", () => {
  const PATCH = "--- a/fs/erofs/ishare.c\n+++ b/fs/erofs/ishare.c\n@@ -1 +1 @@\n-a\n+b\n";
  async function folder(yaml: string): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), "esb-their-mutants-"));
    await writeFile(path.join(dir, "mutants.yaml"), yaml);
    await writeFile(path.join(dir, "prefix-key.patch"), PATCH);
    return dir;
  }
  const theirs = (base: string, name: string) =>
    `base: ${base}\nmutants:\n  - name: ${name}\n    patch: prefix-key.patch\n    breaks: "the key compared on a prefix"\n    caughtBy: [trust-cross-domain]\n`;

  it("join the tool's, from their own folder, and are found there by name", async () => {
    const dir = await folder(theirs("mainline", "prefix-key"));
    const set = await loadAllMutants(RESULT_NAMES, dir);
    expect(set.placed.find((m) => m.name === "prefix-key")).toMatchObject({ dir, outside: true });
    expect(set.placed.find((m) => m.name === "domain-ignored")).toMatchObject({ dir: mutantsDir(), outside: false });
    const one = await loadMutant("prefix-key", RESULT_NAMES, dir);
    expect(one).toMatchObject({ outside: true, patch: PATCH, file: path.join(dir, "prefix-key.patch") });
  });

  it("are refused for another base, or under a name the tool's mutants have, naming the folder", async () => {
    await expect(loadAllMutants(RESULT_NAMES, await folder(theirs("v8", "prefix-key")))).rejects.toThrow(
      /patches series v8, and the tool's mutants patch mainline/,
    );
    await expect(loadAllMutants(RESULT_NAMES, await folder(theirs("mainline", "domain-ignored")))).rejects.toThrow(
      /mutant domain-ignored of .* has the name of one of the tool's own/,
    );
  });

  it("are marked in the matrix with where they came from", () => {
    const results = judgeTargets(
      [
        { target: "mainline", runDir: "/r/mainline", expect: null, signals: new Map() },
        {
          target: "prefix-key",
          breaks: "b",
          from: "/home/r/mutants",
          runDir: "/r/p",
          expect: mutant(["fadvise"]),
          signals: new Map([["fadvise", seen("fail")]]),
        },
      ],
      ["fadvise"],
    );
    expect(renderKnownAnswerText(results, ["fadvise"])).toMatch(/^prefix-key \(yours\) +CAUGHT$/m);
    expect(renderKnownAnswerText(results, ["fadvise"])).toContain("prefix-key (yours): from /home/r/mutants");
    expect(renderKnownAnswerMarkdown(results, ["fadvise"])).toContain("| prefix-key | b | /home/r/mutants |");
  });
});

describe("known-answer signals", () => {
  const run = {
    status: "complete",
    failedBoots: [
      {
        mode: "on",
        path: "read",
        failure: "synthetic on/read rep 1: 3 file(s) read back wrong (DATA CORRUPTION):\n    B usr/x",
      },
      {
        mode: "split",
        path: "mmap",
        failure: "synthetic split/mmap rep 1: guest kernel panicked; BUG: kernel NULL pointer dereference",
      },
    ],
    comparisons: [
      { workload: "synthetic", path: "read", splitShared: true },
      { workload: "synthetic", path: "mmap", splitShared: false },
    ],
    correctness: [
      { name: "fadvise", result: "fail", reason: "DONTNEED dropped 0 KiB", boots: { of: 2, failed: 2 } },
      { name: "mount-cycles", result: "fail", reason: "Busy inodes", boots: { of: 4, failed: 1 } },
      { name: "trust-same-domain", result: "finding", reason: "served the forged bytes" },
      { name: "reclaim", result: "pass", reason: "ok" },
    ],
  };

  it("reads the read-all verdicts and each check's result, with its rate, off a run", () => {
    const s = signalsOf(run, ["fadvise", "mount-cycles", "trust-same-domain", "reclaim", "copy-up"]);
    expect(s.get("readall-corruption")).toMatchObject({
      state: "fail",
      detail: expect.stringContaining("1 boot(s) read files back wrong, e.g. on/read"),
    });
    expect(s.get("readall-leak")).toMatchObject({
      state: "fail",
      detail: "split shared across domains on synthetic/read",
    });
    expect(s.get("readall-boot")).toMatchObject({ state: "oops" });
    expect(s.get("fadvise")).toMatchObject({
      state: "fail",
      failed: 2,
      of: 2,
      detail: "fail 2/2 boots: DONTNEED dropped 0 KiB",
    });
    expect(s.get("reclaim")!.state).toBe("clean");
    expect(s.get("copy-up")!.state).toBe("absent");
    const clean = signalsOf({ status: "complete", failedBoots: [], comparisons: [], correctness: [] }, []);
    expect([...clean.values()].map((o) => o.state)).toEqual(["clean", "clean", "clean"]);
  });

  it("keeps mainline clean but for findings, and tells an intermittent failure from an unexpected one", () => {
    expect(judgeSignal("fadvise", seen("clean"), null, undefined)).toBe("ok");
    expect(judgeSignal("trust-same-domain", seen("finding"), null, undefined)).toBe("finding");
    expect(judgeSignal("fadvise", seen("fail"), null, undefined)).toBe("unexpected");
    expect(judgeSignal("mount-cycles", seen("fail", { failed: 1, of: 4 }), null, undefined)).toBe("intermittent");
    expect(judgeSignal("mount-cycles", seen("fail", { failed: 4, of: 4 }), null, undefined)).toBe("unexpected");
    expect(judgeSignal("reclaim", seen("error"), null, undefined)).toBe("inconclusive");
  });

  it("calls a mutant caught only by what its entry names, and anything else failing unexpected unless implied", () => {
    const m = mutant(["fadvise", "corrupt-same-domain=finding"], ["concurrency"]);
    expect(judgeSignal("fadvise", seen("fail"), m, seen("clean"))).toBe("caught");
    expect(judgeSignal("fadvise", seen("oops"), m, seen("clean"))).toBe("caught");
    expect(judgeSignal("fadvise", seen("clean"), m, seen("clean"))).toBe("missed");
    expect(judgeSignal("fadvise", seen("na"), m, seen("clean"))).toBe("inconclusive");
    expect(judgeSignal("fadvise", seen("error"), m, seen("clean"))).toBe("inconclusive");
    // a finding is only caught where mainline was not already one
    expect(judgeSignal("corrupt-same-domain", seen("finding"), m, seen("clean"))).toBe("caught");
    expect(judgeSignal("corrupt-same-domain", seen("finding"), m, seen("finding"))).toBe("missed");
    expect(judgeSignal("corrupt-same-domain", seen("clean"), m, seen("clean"))).toBe("missed");
    expect(judgeSignal("corrupt-same-domain", seen("fail"), m, seen("clean"))).toBe("unexpected");
    expect(judgeSignal("concurrency", seen("fail"), m, seen("clean"))).toBe("implied");
    expect(judgeSignal("reclaim", seen("fail"), m, seen("clean"))).toBe("unexpected");
    expect(judgeSignal("reclaim", seen("finding"), m, seen("clean"))).toBe("unexpected");
    expect(judgeSignal("trust-same-domain", seen("finding"), m, seen("finding"))).toBe("finding");
    expect(judgeSignal("reclaim", seen("clean"), m, seen("clean"))).toBe("ok");
  });

  it("calls a failure caught only when it carries the evidence the entry names, and says 'otherwise' when it does not", () => {
    const m = { ...mutant(["mount-cycles"]), evidence: "LEAK: kmemleak .* erofs_lookup" };
    const leak = {
      ...seen("fail"),
      reason: "LEAK: kmemleak found 3 unreferenced object(s); first: 64 bytes allocated at __kmalloc <- erofs_lookup",
    };
    expect(judgeSignal("mount-cycles", leak, m, seen("clean"))).toBe("caught");
    const timeout = { ...seen("fail"), reason: "only 12 cycles in 60 s" };
    expect(judgeSignal("mount-cycles", timeout, m, seen("clean"))).toBe("otherwise");
    expect(BAD_VERDICTS).toContain("otherwise");
  });

  it("marks a failure the base itself has as known, on the base and on every mutant, unless a mutant must be caught by it", () => {
    expect(judgeSignal("umount-race", seen("oops", { failed: 4, of: 4 }), null, undefined, ["umount-race"])).toBe(
      "known",
    );
    expect(judgeSignal("umount-race", seen("oops", { failed: 4, of: 4 }), null, undefined, [])).toBe("unexpected");
    expect(judgeSignal("umount-race", seen("fail"), mutant(["fadvise"]), seen("fail"), ["umount-race"])).toBe("known");
    expect(judgeSignal("umount-race", seen("clean"), mutant(["fadvise"]), seen("fail"), ["umount-race"])).toBe("ok");
    expect(judgeSignal("umount-race", seen("fail"), mutant(["umount-race"]), seen("fail"), ["umount-race"])).toBe(
      "caught",
    );
  });

  it("judges every target against mainline's own signals, and a target that could not run as not caught", () => {
    const mainline = new Map(SIGNALS.map((s) => [s, seen(s === "trust-same-domain" ? "finding" : "clean")]));
    const fadvise = new Map(
      SIGNALS.map((s) => [s, seen(s === "fadvise" ? "fail" : s === "trust-same-domain" ? "finding" : "clean")]),
    );
    const results = judgeTargets(
      [
        { target: "mainline", runDir: "/r/mainline", signals: mainline, expect: null },
        { target: "fadvise-noop", runDir: "/r/f", signals: fadvise, expect: mutant(["fadvise"]) },
        {
          target: "no-size-guard",
          runDir: "/r/n",
          error: "mutant no-size-guard does not apply",
          expect: mutant(["corrupt-same-domain=finding"]),
        },
      ],
      SIGNALS,
    );
    expect(results[0]!.verdicts["trust-same-domain"]).toBe("finding");
    expect(Object.values(results[1]!.verdicts).filter((v) => v !== "ok" && v !== "finding")).toEqual(["caught"]);
    expect(results[2]!.verdicts["corrupt-same-domain"]).toBe("missed");
    expect(results[2]!.signals.fadvise).toMatchObject({
      state: "absent",
      detail: "mutant no-size-guard does not apply",
    });
    const text = renderKnownAnswerText(results, SIGNALS);
    expect(text.split("\n")[2]).toMatch(/^fadvise-noop\s+\.\s+\.\s+\.\s+\.\s+\.\s+\.\s+\.\s+CAUGHT/);
  });

  it("keeps a bug of the base kernel out of the tool's defects, and says both apart", () => {
    const base = (extra: Record<string, Observed>) =>
      new Map(SIGNALS.map((s) => [s, extra[s] ?? seen(s === "trust-same-domain" ? "finding" : "clean")]));
    const race = { "umount-race": seen("oops", { failed: 2, of: 2 }) };
    const judge = (fadviseCaught: boolean) =>
      judgeTargets(
        [
          { target: "mainline", runDir: "/r/m", signals: base(race), expect: null },
          {
            target: "fadvise-noop",
            runDir: "/r/f",
            signals: base({ ...race, ...(fadviseCaught ? { fadvise: seen("fail") } : {}) }),
            expect: mutant(["fadvise"]),
          },
        ],
        SIGNALS,
        ["umount-race"],
      );
    const clean = judge(true);
    expect(knownAnswerProblems(clean, SIGNALS)).toEqual([]);
    const notes = knownAnswerNotes(clean, SIGNALS);
    expect(notes).toHaveLength(2);
    expect(notes[0]).toMatch(/^mainline umount-race: KNOWN: /);
    expect(verdictLine({ problems: [], notes })).toBe(
      "Every mutant caught, mainline clean but for 2 failure(s) of the base kernel itself or intermittent ones (listed below).",
    );
    expect(renderKnownAnswerMarkdown(clean, SIGNALS)).not.toContain("Not as expected");
    const missed = judge(false);
    expect(knownAnswerProblems(missed, SIGNALS)).toEqual([expect.stringMatching(/^fadvise-noop fadvise: MISSED: /)]);
    expect(verdictLine({ problems: knownAnswerProblems(missed, SIGNALS), notes })).toBe(
      "**1 cell(s) not as expected.**",
    );
  });
});
