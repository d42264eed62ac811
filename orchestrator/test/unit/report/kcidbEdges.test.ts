import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { kcidbCommand } from "../../../src/commands/kcidb.js";
import type { RunRecord } from "../../../src/record/runRecord.js";
import type { RunPlace } from "../../../src/report/kcidb/place.js";
import { renderKcidb } from "../../../src/report/kcidb/render.js";
import { KcidbDataSchema, type KcidbData, type KcidbTest } from "../../../src/report/kcidb/kcidbSchema.js";
import { fixtureRun } from "../../helpers/runFixture.js";
import { correctnessResult } from "../../helpers/runRecord.js";

/**
 * The edges of a KCIDB submission: text that KCIDB cannot keep, a --url
 * that is not ASCII, and the statuses of what a run never got to.
 */

const FOLDER = "20261115T021503Z-k3x9";
const place = (over: Partial<RunPlace> = {}): RunPlace => ({ folder: FOLDER, has: () => true, ...over });

/** A fixture run whose kernel built, so that it has tests. */
function builtRun(over: Partial<RunRecord> = {}): RunRecord {
  const run = fixtureRun(over);
  run.kernel = {
    ...run.kernel!,
    build: {
      bzImage: "bzImage",
      config: "config",
      log: "build.log",
      kernelRelease: "7.3.4",
      configSha256: "f".repeat(64),
      compiler: "gcc (Debian 12.2.0-14) 12.2.0",
      buildSeconds: 331,
      jobs: 2,
    },
  };
  return run;
}

/** What a reader gets: the file's text parsed, checked against the KCIDB schema. */
const asSubmitted = (data: KcidbData): KcidbData => KcidbDataSchema.parse(JSON.parse(JSON.stringify(data)));

const testAt = (data: KcidbData, p: string): KcidbTest => {
  const t = data.tests!.find((x) => x.path === p);
  if (!t) throw new Error(`no test ${p}`);
  return t;
};

/** Every string in a JSON value, keys too. */
function stringsOf(v: unknown): string[] {
  if (typeof v === "string") return [v];
  if (Array.isArray(v)) return v.flatMap(stringsOf);
  if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => [k, ...stringsOf(x)]);
  return [];
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
const CONTROL = /[\0-\x08\x0b-\x1f\x7f-\x9f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe("text KCIDB cannot keep (NUL, controls, a split surrogate pair)", () => {
  const CONSOLE = "BUG: oops\u0000\u0000 at \x1b[31merofs_read\x1b[0m+0x1c\r\nCall Trace:\x07\x7f\u0085 end";

  function dirtyRun(): RunRecord {
    const run = builtRun({
      correctness: [
        correctnessResult("fadvise", "fail", CONSOLE, { details: { "page\u0000": "a\u0000b", lines: ["\u0001x"] } }),
      ],
    });
    run.series = { ...run.series, title: "erofs: page cache\u0000 sharing" };
    run.failedBoots[0]!.failure = `guest kernel panicked; ${CONSOLE}`;
    return run;
  }

  it("keeps none in any string of the submission, comments, excerpts and misc alike", () => {
    const data = asSubmitted(renderKcidb([{ run: dirtyRun(), place: place() }]));
    const bad = stringsOf(data).filter((s) => CONTROL.test(s) || LONE_SURROGATE.test(s));
    expect(bad).toEqual([]);
    expect(JSON.stringify(data)).not.toContain("\\u0000");
  });

  it("drops terminal escapes, ends lines with \\n, and marks any other control with U+FFFD", () => {
    const data = asSubmitted(renderKcidb([{ run: dirtyRun(), place: place() }]));
    const clean = "BUG: oops\ufffd\ufffd at erofs_read+0x1c\nCall Trace:\ufffd\ufffd\ufffd end";
    expect(testAt(data, "erofs.ishare.readall.redis.mmap.on").log_excerpt).toBe(`guest kernel panicked; ${clean}`);
    expect(testAt(data, "erofs.ishare.correctness.fadvise")).toMatchObject({
      log_excerpt: clean,
      misc: expect.objectContaining({ reason: clean, details: { "page\ufffd": "a\ufffdb", lines: ["\ufffdx"] } }),
    });
    expect(data.checkouts![0]!.comment).toContain("erofs: page cache\ufffd sharing");
  });

  it("does not leave half a surrogate pair where an excerpt is cut", () => {
    const run = builtRun();
    // the emoji's two halves straddle the excerpt's cut at 16383 characters
    run.failedBoots[0]!.failure = "x".repeat(16382) + "\u{1f600}" + "y".repeat(10);
    const t = testAt(asSubmitted(renderKcidb([{ run, place: place() }])), "erofs.ishare.readall.redis.mmap.on");
    expect(t.log_excerpt).toHaveLength(16384);
    expect(t.log_excerpt!.endsWith("x\ufffd…")).toBe(true);
  });

  it("is refused by the schema where the official one (or the database) refuses it", () => {
    const base = {
      version: { major: 5, minor: 3 },
      tests: [{ id: "o:1", build_id: "o:b", origin: "o", path: "erofs", status: "DONE" }],
    };
    const withTest = (t: Record<string, unknown>) => ({ ...base, tests: [{ ...base.tests[0], ...t }] });
    expect(KcidbDataSchema.safeParse(withTest({ comment: "a\u0000b" })).success).toBe(false);
    expect(KcidbDataSchema.safeParse(withTest({ log_excerpt: "a\u0000b" })).success).toBe(false);
    expect(KcidbDataSchema.safeParse(withTest({ misc: { deep: [{ x: "a\u0000b" }] } })).success).toBe(false);
    expect(KcidbDataSchema.safeParse(withTest({ misc: { "a\u0000": 1 } })).success).toBe(false);
    expect(KcidbDataSchema.safeParse(withTest({ misc: { x: "\ud800" } })).success).toBe(false);
    expect(
      KcidbDataSchema.safeParse({
        ...base,
        builds: [{ id: "o:b", checkout_id: "o:c", origin: "o", compiler: "gcc\u0000" }],
      }).success,
    ).toBe(false);
    // other controls are allowed by the schema: they are replaced only for readers
    expect(KcidbDataSchema.safeParse(withTest({ comment: "a\x07b\tc\n", misc: { x: "\x1b[0m" } })).success).toBe(true);
  });
});

describe("a --url that is not ASCII", () => {
  it("gives URLs with the path %-escaped as UTF-8, as RFC 3986 (the schema's uri format) wants", () => {
    const data = asSubmitted(
      renderKcidb([{ run: builtRun(), place: place({ baseUrl: "https://example.org/résultats/run 1/" }) }]),
    );
    expect(data.builds![0]!.log_url).toBe(`https://example.org/r%C3%A9sultats/run%201/${FOLDER}/build.log`);
    const t = testAt(data, "erofs.ishare.readall.redis.read.on");
    expect(t.log_url).toBe(`https://example.org/r%C3%A9sultats/run%201/${FOLDER}/boots/redis-on-read-r1/console.log`);
    expect(t.output_files![0]!.url).toBe(
      `https://example.org/r%C3%A9sultats/run%201/${FOLDER}/boots/redis-on-read-r2/console.log`,
    );
  });

  it("gives a host as punycode, and escapes what the WHATWG URL leaves but RFC 3986 refuses", () => {
    const data = asSubmitted(
      renderKcidb([{ run: builtRun(), place: place({ baseUrl: "https://bücher.example:8443/a|b^[1]/%zz?key=é" }) }]),
    );
    expect(data.builds![0]!.log_url).toBe(
      `https://xn--bcher-kva.example:8443/a%7Cb%5E%5B1%5D/%25zz/${FOLDER}/build.log?key=%C3%A9`,
    );
  });

  it("refuses, in the schema, a URL that is not RFC 3986 as kcidb-io checks it", () => {
    const withUrl = (url: string) => ({
      version: { major: 5, minor: 3 },
      builds: [{ id: "o:b", checkout_id: "o:c", origin: "o", log_url: url }],
    });
    for (const url of [
      "https://example.org/résultats/x",
      "https://example.org/run 1/x",
      "https://h/a|b",
      "https://h/a[1]",
      "https://h/%zz",
      "https://h/x#a#b",
    ]) {
      expect(KcidbDataSchema.safeParse(withUrl(url)).success, url).toBe(false);
    }
    for (const url of [
      "https://example.org/r%C3%A9sultats/run%201/x",
      "https://[::1]:8080/x?a=b/c?#f",
      "https://u:p@h/'()*!$&+,;=:@~",
    ]) {
      expect(KcidbDataSchema.safeParse(withUrl(url)).success, url).toBe(true);
    }
  });

  it("gives a repository's https URL the same escapes", () => {
    const run = builtRun();
    run.kernel = {
      ...run.kernel!,
      source: {
        kind: "git",
        repo: "https://git.example.org/dépôt linux.git",
        ref: "v6.19",
        commit: "c".repeat(40),
        kernelVersion: "6.19.0",
      },
    };
    expect(asSubmitted(renderKcidb([{ run, place: place() }])).checkouts![0]!.git_repository_url).toBe(
      "https://git.example.org/d%C3%A9p%C3%B4t%20linux.git",
    );
  });

  it("from the command line, end to end", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), "esb-kcidb-url-"));
    const dir = path.join(root, FOLDER);
    await mkdir(path.join(dir, "boots", "redis-on-read-r1"), { recursive: true });
    await writeFile(path.join(dir, "boots", "redis-on-read-r1", "console.log"), "[0.0] Linux version 7.3.4\n");
    await writeFile(path.join(dir, "build.log"), "make\n");
    await writeFile(path.join(dir, "run.json"), JSON.stringify(builtRun()));
    const file = path.join(root, "out.json");
    expect(await kcidbCommand([dir], file, { baseUrl: "https://example.org/résultats/run 1" })).toBe(0);
    const data = KcidbDataSchema.parse(JSON.parse(await readFile(file, "utf8")));
    expect(testAt(data, "erofs.ishare.readall.redis.read.on").log_url).toBe(
      `https://example.org/r%C3%A9sultats/run%201/${FOLDER}/boots/redis-on-read-r1/console.log`,
    );
  });
});

describe("statuses: MISS for what the harness stopped, ERROR only for a test that ran and failed in itself", () => {
  function stoppedRun(status: RunRecord["status"], error: string): RunRecord {
    const run = builtRun({
      status,
      error,
      correctness: [],
      plan: { ...fixtureRun().plan, phases: ["readall", "correctness"], checks: ["fadvise"] },
    });
    run.boots = run.boots.filter((b) => b.workload === "synthetic");
    run.failedBoots = [];
    return run;
  }

  it("gives MISS, not ERROR, to what a run never measured because the tool failed", () => {
    const tests = asSubmitted(renderKcidb([{ run: stoppedRun("failed", "QEMU exited with status 1"), place: place() }]))
      .tests!;
    const unmeasured = tests.filter((t) => t.misc?.run_status === "failed");
    expect(unmeasured.map((t) => t.path)).toEqual(
      expect.arrayContaining(["erofs.ishare.readall.redis.read.off", "erofs.ishare.correctness.fadvise"]),
    );
    expect(unmeasured).toHaveLength(10);
    expect(new Set(unmeasured.map((t) => t.status))).toEqual(new Set(["MISS"]));
    expect(unmeasured[0]!.misc!.why).toBe("the tool failed before this was measured");
    expect(tests.some((t) => t.status === "ERROR")).toBe(false);
  });

  it("keeps ERROR for a test that ran without a result: a cell with every boot left out, a check that errored", () => {
    const run = builtRun({ correctness: [correctnessResult("fadvise", "error", "the check's helper crashed")] });
    const cell = run.cells.find((c) => c.workload === "redis" && c.path === "read" && c.mode === "off")!;
    cell.afterB = { ...cell.afterB, median: NaN, n: 0 };
    const data = asSubmitted(renderKcidb([{ run, place: place() }]));
    expect(testAt(data, "erofs.ishare.readall.redis.read.off").status).toBe("ERROR");
    expect(testAt(data, "erofs.ishare.correctness.fadvise").status).toBe("ERROR");
  });

  function buildOfStopped(status: RunRecord["status"], error: string, patchFailed = false) {
    const run = stoppedRun(status, error);
    run.kernel = { ...run.kernel!, build: undefined };
    if (patchFailed) {
      run.kernel.apply = {
        base: "c".repeat(40),
        head: "d".repeat(40),
        method: "patch",
        attempts: [],
        fixups: [],
        patchSource: "mbox",
        mbox: "v8.mbox",
        mboxSha256: "e".repeat(64),
        patches: [
          {
            index: 1,
            total: 1,
            subject: "[PATCH] erofs: x",
            messageId: "a@b",
            method: "patch",
            status: "failed",
            hunks: [],
          },
        ],
      };
    }
    return asSubmitted(renderKcidb([{ run, place: place() }])).builds![0]!;
  }

  it("gives a build the harness stopped MISS, one whose own step failed ERROR, a compiler error FAIL", () => {
    expect(buildOfStopped("failed", "images: mkfs.erofs failed (exit 1)")).toMatchObject({
      status: "MISS",
      log_excerpt: "images: mkfs.erofs failed (exit 1)",
    });
    expect(buildOfStopped("interrupted", "interrupted (SIGINT)").status).toBe("MISS");
    expect(
      buildOfStopped("failed", "kernel config lost requested symbols after olddefconfig: CONFIG_EROFS_FS").status,
    ).toBe("ERROR");
    expect(buildOfStopped("failed", "kernel build failed: fs/erofs/ishare.c:52:14: error: x").status).toBe("FAIL");
    // a series that did not apply is the checkout's verdict: its build was never begun
    expect(buildOfStopped("failed", "patch 1/1 failed to apply", true).status).toBeUndefined();
    expect(buildOfStopped("running", "").status).toBeUndefined();
  });
});
