import { describe, expect, it } from "vitest";
import {
  failedChecks,
  judgeCorrectness,
  mergeCorruptRuns,
  overRuns,
  refsAgainstManifests,
  resultWithRate,
  type CheckVerdict,
} from "../../../src/analysis/correctnessVerdicts.js";
import {
  CHECKS,
  CHECK_NAMES,
  casesAfter,
  checkSpec,
  corruptRerun,
  diskName,
  parseChecksDef,
  planCorrectnessBoots,
  renderCaseList,
  resolveChecks,
} from "../../../src/guest/checks.js";
import type { CheckBootResult } from "../../../src/guest/correctnessBoot.js";
import { parseCheckStream } from "../../../src/guest/correctnessProtocol.js";
import { runCorrupt, runRated } from "../../../src/pipeline/correctnessPhase.js";
import type { Manifest } from "../../../src/images/manifest.js";

const j = (o: unknown) => JSON.stringify(o);
const hello = j({ t: "hello", release: "7.3.4", mode: "on", rep: 0, up: 1800 });
const begin = (name: string) => j({ t: "check-begin", name, proves: "p", up: 2000 });
const result = (name: string, r: string, reason = "ok", ms = 1200) =>
  j({ t: "check", name, result: r, reason, proves: `proves ${name}`, ms, up: 5000, details: { n: 1 } });
const ref = (image: string, p: string, xxh64: string, size = 1) => j({ t: "ref", image, path: p, size, xxh64 });
const refsDone = (image: string) => j({ t: "refs", image, files: 1, bytes: 1, errors: 0, walk: 0, ms: 30, up: 1900 });
const dmesg = j({ t: "dmesg", text: "", up: 6000 });
const cleanBoot = { panicked: false, timedOut: false, wallMs: 20_000 };
const oopsBoot = {
  panicked: true,
  timedOut: false,
  wallMs: 9_000,
  oops: {
    headline: "BUG: kernel NULL pointer dereference, address: 0000000000000060",
    rip: "erofs_read_begin+0x12/0x80",
  },
};
const manifest = (files: Array<[string, string, number?]>): Manifest => ({
  entries: files.map(([p, x, size = 1]) => ({
    path: p,
    type: "file" as const,
    size,
    mode: 0o644,
    sha256: `sha-${x}`,
    xxh64: x,
  })),
});

describe("correctness stream", () => {
  it("reads the guest's lines; a torn last line ends it", () => {
    const text = [
      hello,
      ref("A", "x", "aa"),
      refsDone("A"),
      begin("fadvise"),
      j({ t: "check-step", check: "fadvise", step: "x", extra: 1 }),
      result("fadvise", "pass"),
      dmesg,
      '{"t":"chec',
    ].join("\n");
    const s = parseCheckStream(text);
    expect(s.release).toBe("7.3.4");
    expect(s.bootUp).toBe(1800);
    expect(s.begun).toEqual([{ name: "fadvise", up: 2000 }]);
    expect(s.results.map((r) => [r.name, r.result, r.ms])).toEqual([["fadvise", "pass", 1200]]);
    expect(s.steps).toEqual([{ t: "check-step", check: "fadvise", step: "x", extra: 1 }]);
    expect(s.refs).toEqual([{ t: "ref", image: "A", path: "x", size: 1, xxh64: "aa" }]);
    expect(s.complete).toBe(true);
    expect(s.endUp).toBe(6000);
  });

  it("rejects a garbled line in the middle, an unknown result and another phase's record", () => {
    expect(() => parseCheckStream(["garbage", begin("x"), ""].join("\n"))).toThrow(/not JSON/);
    expect(() => parseCheckStream([result("x", "maybe"), ""].join("\n"))).toThrow(/unexpected check record: result/);
    expect(() =>
      parseCheckStream(
        [j({ t: "read", image: "A", method: "read", files: 1, bytes: 1, errors: 0, ms: 1, walk: 0 }), ""].join("\n"),
      ),
    ).toThrow(/a read record in a correctness boot/);
  });
});

describe("correctness verdicts", () => {
  it("takes the guest's results as they are", () => {
    const s = parseCheckStream(
      [
        begin("fadvise"),
        result("fadvise", "pass"),
        begin("reclaim"),
        result("reclaim", "na", "no memory controller"),
        dmesg,
      ].join("\n"),
    );
    const v = judgeCorrectness(["fadvise", "reclaim"], s, cleanBoot);
    expect(v.map((x) => [x.name, x.result, x.reason])).toEqual([
      ["fadvise", "pass", "ok"],
      ["reclaim", "na", "no memory controller"],
    ]);
    expect(v[0]!.ms).toBe(1200);
  });

  it("turns the check running at an oops into an oops with the headline, and the rest into never ran", () => {
    const s = parseCheckStream(
      [begin("private-write"), result("private-write", "pass"), begin("umount-shared")].join("\n"),
    );
    const v = judgeCorrectness(["private-write", "umount-shared", "fadvise"], s, oopsBoot);
    expect(v.map((x) => x.result)).toEqual(["pass", "oops", "fail"]);
    expect(v[1]!.reason).toBe(
      "BUG: kernel NULL pointer dereference, address: 0000000000000060 at erofs_read_begin+0x12/0x80",
    );
    expect(v[2]!.reason).toMatch(/never ran: the guest died during umount-shared/);
  });

  it("names the corrupt case an oops happened in, and runs the cases after it again", () => {
    const s = parseCheckStream(
      [
        begin("corrupt"),
        j({ t: "check-step", check: "corrupt", step: "case-begin", case: "sb-checksum" }),
        j({ t: "check-step", check: "corrupt", step: "case-begin", case: "fp-len-long" }),
      ].join("\n"),
    );
    const v = judgeCorrectness(["corrupt"], s, oopsBoot);
    expect(v[0]!.result).toBe("oops");
    expect(v[0]!.reason).toMatch(/^in case fp-len-long: BUG: kernel NULL/);
    expect(v[0]!.details).toEqual({ oopsCase: "fp-len-long" });
    expect(casesAfter(["sb-checksum", "fp-len-long", "fp-len-huge"], "fp-len-long")).toEqual(["fp-len-huge"]);
    const boot = planCorrectnessBoots(
      ["corrupt"],
      { a: "a", b: "b", corrupt: [{ file: "c", name: "fp-len-huge", hitPath: null, expect: "no-harm" }] },
      { shareOptions: "x" },
    )[0]!;
    expect(corruptRerun(boot, ["fp-len-huge"]).guestArgs["esb.cases"]).toBe("fp-len-huge");
    const rest = {
      check: "corrupt",
      name: "corrupt",
      proves: "p",
      result: "pass" as const,
      reason: "all verified",
      ms: 100,
      details: { cases: [{ case: "fp-len-huge" }] },
    };
    const merged = mergeCorruptRuns([{ ...v[0]!, ms: 50 }, rest]);
    expect(merged).toMatchObject({ result: "oops", reason: v[0]!.reason, ms: 150 });
    expect(merged.details).toMatchObject({ boots: 2, oopsCases: ["fp-len-long"], cases: [{ case: "fp-len-huge" }] });
  });

  it("boots the corrupt check again for the cases after each one that oopsed, and merges the boots", async () => {
    const names = ["c1", "c2", "c3", "c4"];
    const disks = {
      a: "a",
      b: "b",
      corrupt: names.map((name) => ({ file: `${name}.erofs`, name, hitPath: null, expect: "no-harm" })),
    };
    const first = planCorrectnessBoots(["corrupt"], disks, { shareOptions: "x" })[0]!;
    const oopsIn: Record<string, string> = { all: "c2", "c3,c4": "c3" };
    const asked: string[] = [];
    const run = async (boot: typeof first): Promise<CheckBootResult> => {
      const cases = boot.guestArgs["esb.cases"] ?? "all";
      asked.push(cases);
      const at = oopsIn[cases];
      const lines = [
        begin("corrupt"),
        ...(at
          ? [j({ t: "check-step", check: "corrupt", step: "case-begin", case: at })]
          : [result("corrupt", "pass"), dmesg]),
      ];
      return {
        boot,
        stream: parseCheckStream(lines.join("\n")),
        end: at ? oopsBoot : cleanBoot,
        bootDir: "",
        earlyHangs: [],
      };
    };
    const { verdict, boots } = await runCorrupt(
      first,
      names,
      run,
      (r) => judgeCorrectness(["corrupt"], r.stream, r.end)[0]!,
    );
    expect(asked).toEqual(["all", "c3,c4", "c4"]);
    expect(boots).toHaveLength(3);
    expect(verdict.result).toBe("oops");
    expect(verdict.details).toMatchObject({ boots: 3, oopsCases: ["c2", "c3"] });
    expect(verdict.reason).toMatch(/^in case c2: BUG: .*; in case c3: BUG: /);
  });

  it("fails a check that never reported: a hang, or a guest that ended without an oops", () => {
    const s = parseCheckStream(begin("reclaim"));
    expect(judgeCorrectness(["reclaim"], s, { ...cleanBoot, timedOut: true, wallMs: 181_000 })[0]).toMatchObject({
      result: "fail",
      reason: "never reported: the guest hung (QEMU killed after 181 s)",
    });
    expect(judgeCorrectness(["reclaim"], s, cleanBoot)[0]).toMatchObject({
      result: "fail",
      reason: "never reported: the guest ended during the check",
    });
    expect(judgeCorrectness(["fadvise"], parseCheckStream(""), cleanBoot)[0]).toMatchObject({
      result: "fail",
      reason: "never reported: the guest never began it",
    });
  });

  it("blames a check program killed by SIGBUS on the kernel, and one killed by anything else on itself", () => {
    const killedBy = (sig: number) =>
      parseCheckStream(
        [
          begin("corrupt"),
          j({ t: "error", what: "check corrupt", message: `esbcheck corrupt was killed by signal ${sig}` }),
        ].join("\n"),
      );
    expect(judgeCorrectness(["corrupt"], killedBy(7), cleanBoot)[0]).toMatchObject({
      result: "fail",
      reason:
        "never reported: esbcheck corrupt was killed by signal 7 (SIGBUS: the kernel could not supply a page of a mapped file of a clean image)",
    });
    expect(judgeCorrectness(["corrupt"], killedBy(11), cleanBoot)[0]).toMatchObject({
      result: "error",
      reason:
        "never reported: esbcheck corrupt was killed by signal 11 (a fault of the check program, not a verdict on the kernel)",
    });
  });

  it("carries how often a check failed over its runs, and calls a failure in some of them intermittent", () => {
    const v = (name: string, result: CheckVerdict["result"], reason: string = result): CheckVerdict => ({
      check: name,
      name,
      result,
      reason,
      proves: "p",
    });
    const runs = (...results: Array<CheckVerdict["result"]>) =>
      results.map((r, i) => ({ verdicts: [v("mount-cycles", r, `${r} in boot ${i + 1}`)], bootDir: `/r/b${i + 1}` }));
    const [once] = overRuns(runs("fail", "pass", "pass", "pass"));
    expect(once).toMatchObject({
      result: "fail",
      boots: { of: 4, failed: 1 },
      reason: "intermittent: fail in 1 of 4 boots; first: fail in boot 1",
      failures: [{ bootDir: "/r/b1", result: "fail" }],
    });
    expect(resultWithRate(once!)).toBe("fail 1/4 boots");
    expect(overRuns(runs("pass", "oops", "fail"))[0]).toMatchObject({
      result: "oops",
      boots: { of: 3, failed: 2 },
      reason: "intermittent: oops in 2 of 3 boots; first: oops in boot 2",
    });
    expect(overRuns(runs("fail", "fail"))[0]!.reason).toBe("fail in 2 of 2 boots; first: fail in boot 1");
    expect(overRuns(runs("fail"))[0]).toMatchObject({ result: "fail", reason: "fail in boot 1" });
    // a run that could not judge decides nothing while another judged
    expect(overRuns(runs("error", "pass"))[0]).toMatchObject({
      result: "pass",
      boots: { of: 2, failed: 0, results: ["error", "pass"] },
    });
    expect(overRuns(runs("pass", "finding"))[0]!.result).toBe("finding");
    expect(overRuns(runs("error", "error"))[0]!.result).toBe("error");
    expect(resultWithRate({ result: "pass", boots: { of: 3, failed: 0 } })).toBe("pass (3 boots)");
  });

  it("boots a check again only when it failed, as many times as asked", async () => {
    const seen: number[] = [];
    const outcome = (failOn: number[]) => async (rep: number) => {
      seen.push(rep);
      return {
        verdicts: [
          {
            check: "c",
            name: "c",
            result: failOn.includes(rep) ? ("fail" as const) : ("pass" as const),
            reason: "",
            proves: "",
          },
        ],
        bootDir: `b${rep}`,
      };
    };
    expect(await runRated(outcome([]), 1, 3)).toHaveLength(1);
    seen.length = 0;
    expect((await runRated(outcome([0]), 1, 3)).map((r) => r.bootDir)).toEqual(["b0", "b1", "b2", "b3"]);
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(await runRated(outcome([1]), 2, 2)).toHaveLength(4);
    expect(await runRated(outcome([0]), 1, 0)).toHaveLength(1);
  });

  it("gives trust two verdicts, both failed or oopsed when the check died", () => {
    const s = parseCheckStream(begin("trust"));
    expect(judgeCorrectness(["trust"], s, oopsBoot).map((x) => [x.name, x.result])).toEqual([
      ["trust-same-domain", "oops"],
      ["trust-cross-domain", "fail"],
    ]);
    const ok = parseCheckStream(
      [
        begin("trust"),
        result("trust-same-domain", "finding", "served donor bytes"),
        result("trust-cross-domain", "pass"),
      ].join("\n"),
    );
    expect(judgeCorrectness(["trust"], ok, cleanBoot).map((x) => x.result)).toEqual(["finding", "pass"]);
  });

  it("does not let a non-fatal splat in a finished guest override the guest's verdicts", () => {
    const s = parseCheckStream(
      [begin("fadvise"), result("fadvise", "fail", "kernel log: WARNING: at x"), dmesg].join("\n"),
    );
    expect(judgeCorrectness(["fadvise"], s, { ...cleanBoot, oops: { headline: "WARNING: at x" } })[0]).toMatchObject({
      result: "fail",
      reason: "kernel log: WARNING: at x",
    });
  });

  it("adds a sanitizer's report to a failed check's reason, with the first EROFS frame the kernel is sure of", () => {
    const s = parseCheckStream(
      [
        begin("fadvise"),
        result("fadvise", "fail", "kernel log: BUG: KASAN: slab-use-after-free in memcmp+0xf6/0x185"),
        dmesg,
      ].join("\n"),
    );
    const kasan = {
      headline: "BUG: KASAN: slab-use-after-free in memcmp+0xf6/0x185",
      kind: "kasan",
      access: "Read of size 8 at addr ff11 by task esbcheck/85",
      trace: [
        "dump_stack_lvl+0x69/0x90",
        "memcmp+0xf6/0x185",
        "erofs_ishare_iget5_eq+0xb1/0xbe",
        "erofs_lookup+0x264/0x29c",
      ],
    };
    expect(judgeCorrectness(["fadvise"], s, { ...cleanBoot, oops: kasan })[0]!.reason).toBe(
      "kernel log: BUG: KASAN: slab-use-after-free in memcmp+0xf6/0x185; sanitizer: BUG: KASAN: slab-use-after-free in memcmp+0xf6/0x185, Read of size 8 at addr ff11 by task esbcheck/85, from erofs_ishare_iget5_eq+0xb1/0xbe (the whole report: oops.txt)",
    );
    // a plain kernel's warning is not a sanitizer's report: the reason stays the guest's
    expect(judgeCorrectness(["fadvise"], s, { ...cleanBoot, oops: { ...kasan, kind: "oops" } })[0]!.reason).toBe(
      "kernel log: BUG: KASAN: slab-use-after-free in memcmp+0xf6/0x185",
    );
  });

  it("fails everything when the reference read failed or disagrees with the manifests", () => {
    const broken = parseCheckStream(
      [
        j({ t: "error", what: "refs", message: "the reference read of A and B with sharing off failed" }),
        begin("fadvise"),
        result("fadvise", "pass"),
      ].join("\n"),
    );
    expect(judgeCorrectness(["fadvise"], broken, cleanBoot)[0]).toMatchObject({
      result: "fail",
      reason: "reference read failed: the reference read of A and B with sharing off failed",
    });
    const s = parseCheckStream(
      [
        ref("A", "x", "aa"),
        refsDone("A"),
        ref("B", "x", "aa"),
        refsDone("B"),
        begin("fadvise"),
        result("fadvise", "pass"),
      ].join("\n"),
    );
    const ok = { A: manifest([["x", "aa"]]), B: manifest([["x", "aa"]]) };
    expect(judgeCorrectness(["fadvise"], s, cleanBoot, ok)[0]!.result).toBe("pass");
    expect(judgeCorrectness(["fadvise"], s, cleanBoot, { ...ok, A: manifest([["x", "bb"]]) })[0]!.reason).toMatch(
      /disagrees with the manifest in 1 file\(s\): A x: xxh64 aa vs bb/,
    );
    expect(
      refsAgainstManifests(s, {
        ...ok,
        B: manifest([
          ["x", "aa"],
          ["y", "cc"],
        ]),
      }),
    ).toEqual(["B y: in the manifest, never read"]);
  });

  it("counts failed and oopsed results, not findings or not applicable", () => {
    expect(
      failedChecks({ correctness: ["pass", "fail", "oops", "na", "finding", "error"].map((result) => ({ result })) }),
    ).toEqual([{ result: "fail" }, { result: "oops" }]);
  });
});

describe("correctness plan", () => {
  it("resolves check lists and refuses unknown names", () => {
    expect(resolveChecks("all")).toEqual(CHECK_NAMES);
    expect(resolveChecks("fadvise,reclaim,fadvise")).toEqual(["fadvise", "reclaim"]);
    expect(() => resolveChecks("fadvise,nope")).toThrow(/no correctness check named nope/);
  });

  it("names disks as the kernel does", () => {
    expect([0, 1, 2, 25, 26, 27].map(diskName)).toEqual(["vda", "vdb", "vdc", "vdz", "vdaa", "vdab"]);
  });

  it("plans one boot per check with the extra disks and the case list", () => {
    const disks = {
      a: "/i/a.erofs",
      b: "/i/b.erofs",
      forged: { file: "/i/forged.erofs", path: "opt/app/app-000.bin" },
      corrupt: [
        { file: "/i/c1.erofs", name: "sb-checksum", hitPath: null, expect: "all-correct" },
        { file: "/i/c2.erofs", name: "inode-size", hitPath: "usr/x.bin", expect: "others-correct" },
      ],
    };
    const boots = planCorrectnessBoots(["fadvise", "trust", "corrupt"], disks, {
      shareOptions: "inode_share,domain_id={domain}",
    });
    expect(boots.map((b) => b.disks)).toEqual([
      ["/i/a.erofs", "/i/b.erofs"],
      ["/i/a.erofs", "/i/b.erofs", "/i/forged.erofs"],
      ["/i/a.erofs", "/i/b.erofs", "/i/c1.erofs", "/i/c2.erofs"],
    ]);
    expect(boots[0]!.caseList).toBeNull();
    expect(boots[1]!.caseList).toContain("trust vdc opt/app/app-000.bin\n");
    expect(boots[2]!.caseList).toContain(
      "corrupt vdc sb-checksum - all-correct\ncorrupt vdd inode-size usr/x.bin others-correct\n",
    );
    expect(boots[0]!.guestArgs).toEqual({
      "esb.mode": "on",
      "esb.phase": "correctness",
      "esb.check": "fadvise",
      "esb.share": "inode_share,domain_id={domain}",
      "esb.seconds": "30",
      "esb.digest": "xxh64",
    });
    const longer = planCorrectnessBoots(["reclaim"], disks, { shareOptions: "x", seconds: 60 })[0]!;
    expect(longer.timeoutMs).toBeGreaterThan(
      planCorrectnessBoots(["reclaim"], disks, { shareOptions: "x" })[0]!.timeoutMs,
    );
    expect(planCorrectnessBoots(["fadvise"], disks, { shareOptions: "x", imagesMiB: 100 })[0]!.timeoutMs).toBe(
      (120 + 200) * 1000,
    );
    expect(() => planCorrectnessBoots(["trust"], { a: "a", b: "b" }, { shareOptions: "x" })).toThrow(
      /needs a forged image/,
    );
    expect(() => renderCaseList({ trust: { dev: "vdc", path: "has space" } })).toThrow(/white space/);
  });

  it("attaches the crafted images after the forged one, and the keyless pair for domain-id", () => {
    const disks = {
      a: "/i/a.erofs",
      b: "/i/b.erofs",
      forged: { file: "/i/forged.erofs", path: "opt/app.bin" },
      crafted: [
        { name: "value-takes-1", file: "/i/v1.erofs", victimDomain: "esb-a", domainHex: "73622d61" },
        { name: "domain-prefix", file: null, victimDomain: "esb-a", domainHex: "6573622d" },
        { name: "domain-takes-1", file: "/i/d1.erofs", victimDomain: "esb-a", domainHex: "ae6573622d61" },
      ],
      keyless: { a: "/i/ka.erofs", b: "/i/kb.erofs" },
    };
    const [trust, domain] = planCorrectnessBoots(["trust", "domain-id"], disks, { shareOptions: "x" });
    expect(trust!.disks).toEqual(["/i/a.erofs", "/i/b.erofs", "/i/forged.erofs", "/i/v1.erofs", "/i/d1.erofs"]);
    // the domain-prefix case mounts the forged image (vdc) itself; domains go as hex, the victim's too
    expect(trust!.caseList).toContain(
      "trust vdc opt/app.bin\ncraft value-takes-1 vdd opt/app.bin 6573622d61 73622d61\n" +
        "craft domain-prefix vdc opt/app.bin 6573622d61 6573622d\ncraft domain-takes-1 vde opt/app.bin 6573622d61 ae6573622d61\n",
    );
    expect(domain!.disks).toEqual(["/i/a.erofs", "/i/b.erofs", "/i/ka.erofs", "/i/kb.erofs"]);
    expect(domain!.caseList).toContain("keyless vdc vdd\n");
    // without keyless images domain-id still runs on A and B (the guest says the rest was not attached)
    const bare = planCorrectnessBoots(["domain-id"], { a: "a", b: "b" }, { shareOptions: "x" })[0]!;
    expect([bare.disks, bare.caseList]).toEqual([["a", "b"], null]);
  });

  it("gives every check of checks.def a plan: its disks, its timeout, its results", () => {
    for (const c of CHECKS) {
      expect(c.results.length).toBeGreaterThan(0);
      expect(c.timeoutSeconds).toBeGreaterThan(c.typicalSeconds);
    }
    expect(checkSpec("trust").results.map((r) => r.name)).toEqual(["trust-same-domain", "trust-cross-domain"]);
    expect(checkSpec("corrupt-same-domain")).toMatchObject({
      needs: "corrupt",
      results: [{ name: "corrupt-same-domain" }],
    });
  });
});

describe("checks.def, the one table of checks", () => {
  const row = (name: string, extra = "") =>
    `CHECK("${name}", check_x, 0, none, 10, 120, shared, "Proves ${name}.")${extra}`;
  const def = (...lines: string[]) => ["/*", " * a table", " */", "", ...lines].join("\n");

  it("reads CHECK rows, and RESULT rows as a check's own results", () => {
    const checks = parseChecksDef(
      def(
        row("one"),
        `CHECK("two", check_two, 1, forged, 5, 60, alone, "Both.")`,
        `RESULT("two", "two-a", "A.")`,
        `RESULT("two", "two-b", "B.")`,
      ),
    );
    expect(checks).toEqual([
      {
        name: "one",
        proves: "Proves one.",
        needs: null,
        typicalSeconds: 10,
        timeoutSeconds: 120,
        alone: false,
        results: [{ name: "one", proves: "Proves one." }],
      },
      {
        name: "two",
        proves: "Both.",
        needs: "forged",
        typicalSeconds: 5,
        timeoutSeconds: 60,
        alone: true,
        results: [
          { name: "two-a", proves: "A." },
          { name: "two-b", proves: "B." },
        ],
      },
    ]);
  });

  it.each([
    [
      "a row split over two lines",
      def(`CHECK("one", check_x, 0, none, 10, 120, shared,`, `  "Proves one.")`),
      /:5: not a comment, a CHECK\(\.\.\.\) row or a RESULT\(\.\.\.\) row/,
    ],
    [
      "a field too few",
      def(`CHECK("one", check_x, 0, none, 120, shared, "Proves one.")`),
      /:5: CHECK has 8 fields \(name, function, argument, needs, typical seconds, host timeout seconds, neighbours, proves\), this row 7/,
    ],
    [
      "a name that is not a string",
      def(`CHECK(one, check_x, 0, none, 10, 120, shared, "P.")`),
      /:5: name must be a "string"/,
    ],
    ["a name with a capital", def(row("One")), /:5: name must be a "string" matching/],
    [
      "a function that is a string",
      def(`CHECK("one", "check_x", 0, none, 10, 120, shared, "P.")`),
      /:5: function must be an identifier/,
    ],
    [
      "an unknown disk",
      def(`CHECK("one", check_x, 0, cdrom, 10, 120, shared, "P.")`),
      /:5: needs must be one of none, forged, corrupt, keyless, not cdrom/,
    ],
    [
      "a timeout of zero",
      def(`CHECK("one", check_x, 0, none, 10, 0, shared, "P.")`),
      /:5: host timeout seconds must be an integer matching/,
    ],
    [
      "an escape in a string",
      def(`CHECK("one", check_x, 0, none, 10, 120, shared, "say \\"hi\\"")`),
      /:5: a string with an escape/,
    ],
    ["two strings side by side", def(`CHECK("one", check_x, 0, none, 10, 120, shared, "P" "Q")`), /:5: field 8 is not/],
    [
      "a neighbours word that is neither shared nor alone",
      def(`CHECK("one", check_x, 0, none, 10, 120, sometimes, "P.")`),
      /:5: neighbours must be shared or alone, not sometimes/,
    ],
    ["a trailing comma", def(`CHECK("one", check_x, 0, none, 10, 120, shared, "P.",)`), /:5: a trailing comma/],
    ["text after a row", def(row("one", " // why")), /:5: not a comment/],
    ["an unknown row", def(`CHEK("one", check_x, 0, none, 10, 120, shared, "P.")`), /:5: not a comment/],
    [
      "a result of no check above",
      def(`RESULT("two", "two-a", "A.")`, row("two")),
      /:5: a result of two, which no CHECK row above names/,
    ],
    ["a check named twice", def(row("one"), row("one")), /:6: a second check named one/],
    [
      "a result named as another check",
      def(row("one"), row("two"), `RESULT("two", "one", "A.")`),
      /two results named one/,
    ],
    ["a comment that never ends", `/* open\n${row("one")}`, /a comment that never ends/],
    ["no check at all", def(), /no CHECK row/],
  ])("refuses %s, naming the line", (_, text, why) => {
    expect(() => parseChecksDef(text, "checks.def")).toThrow(why);
  });
});
