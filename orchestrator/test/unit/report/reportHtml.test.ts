import { describe, expect, it } from "vitest";
import { compareRuns } from "../../../src/analysis/compareRuns.js";
import { parseRunRecord, type RunRecord } from "../../../src/record/runRecord.js";
import { renderComparisonHtml } from "../../../src/report/html/comparePage.js";
import { renderRunHtml } from "../../../src/report/html/runPage.js";
import { correctnessResult } from "../../helpers/runRecord.js";
import { at, EVIL, EVIL_ESCAPED, selfContained } from "../../helpers/html.js";
import { fixtureRun } from "../../helpers/runFixture.js";

/** A run record as a reader gets it back from run.json: NaN written as null, parsed by the schema. */
function readBack(r: RunRecord): RunRecord {
  return parseRunRecord(JSON.parse(JSON.stringify(r)), "run.json");
}

describe("report.html", () => {
  it("puts failed boots, flags and warnings first, then efficiency, the workloads, the runtime phase and the inputs", () => {
    const html = renderRunHtml(fixtureRun());
    selfContained(html);
    const failed = at(html, "<h3>Failed boots</h3>");
    at(html, "redis read-all on/mmap</strong>: 1 of 3 failed");
    at(html, "guest kernel panicked; BUG: kernel NULL pointer dereference");
    at(html, "redis runtime split</strong>: 1 of 3 failed");
    const flags = at(html, "<h3>Flags</h3>");
    at(html, "redis sendfile: no sharing on this path");
    const left = at(html, "<h3>Boots left out of the medians</h3>");
    at(html, "synthetic off/sendfile rep 3: reclaim during the read");
    const warnings = at(html, "<h3>Warnings (2)</h3>");
    at(html, "kernel WARNING at mm/filemap.c:1520");
    const eff = at(html, `<section id="efficiency">`);
    const synthetic = at(html, `<h2>synthetic: synthetic A &amp; B</h2>`);
    const redis = at(html, `<h2>redis: redis 8.0.2-3+deb13u2 &amp; 8.0.2-3+deb13u3</h2>`);
    const runtime = at(html, `<section id="runtime">`);
    const inputs = at(html, `<section id="inputs"><h2>Inputs</h2><details>`);
    const order = [failed, flags, left, warnings, eff, synthetic, redis, runtime, inputs];
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it("has a titled chart per workload with its figures in a table, and the efficiency per cell", () => {
    const html = renderRunHtml(fixtureRun());
    at(html, '<title id="w0-readall-title">synthetic: page cache after reading A and B, per access path</title>');
    at(html, '<title id="w1-readall-title">redis: page cache after reading A and B, per access path</title>');
    // efficiency, one per workload, redis' gap to 100%, runtime memory and throughput
    expect(html.match(/<svg [^>]*role="img"/g)).toHaveLength(6);
    expect(html.match(/<desc id=/g)).toHaveLength(6);
    for (const p of ["read(2)", "mmap, every page touched", "sendfile(2) into a pipe"])
      expect(html.split(`>${p}</text>`)).toHaveLength(3);
    // every mode of every path of both workloads has its expectation beside it
    expect(html.match(/<title>expected: /g)).toHaveLength(18);
    at(html, "<caption>redis: read-all figures</caption>");
    at(html, "<caption>Sharing efficiency per cell (read-all phase)</caption>");
    // redis sendfile is the path of the fixture that does not share, efficiency about 4%
    expect(html).toMatch(/<td>redis<\/td><td>sendfile<\/td>.*<strong>4\.\d<\/strong>.*no sharing/);
    // a cell measured from fewer boots than planned says so in its row
    at(html, `<span class="badge warn">2 of 3 boots</span>`);
    at(html, "<caption>Runtime memory per workload and mode</caption>");
    at(html, "<caption>Load per container and step: throughput median [min–max], average latency</caption>");
    at(html, '<title id="runtime-memory-title">');
    at(html, '<title id="runtime-throughput-title">');
  });

  it("lists every input in the collapsed section", () => {
    const html = renderRunHtml(fixtureRun());
    const inputs = html.slice(at(html, `<section id="inputs">`));
    for (const s of [
      "7.3.4",
      "<code>k1</code>",
      "linux-source-7.3",
      "inode_share,domain_id={domain}",
      'kvm <span class="meta">(/dev/kvm booted the probe kernel)</span>',
      "QEMU emulator version 7.2.0",
      "3333333333333333",
      "--xattr-inode-digest -zlz4hc",
      "5:8.0.2-3+deb13u3",
      "trixie, trixie-security",
      "reads checked with xxh64",
      "kernel build",
      "1830.2",
      "Stage times (their sum 3452 s; the images are made while the kernel compiles)",
    ]) {
      expect(inputs, s).toContain(s);
    }
  });

  it("says how the boots were run, and which part of the plan a shard or a merge is", () => {
    const merged = renderRunHtml(
      fixtureRun({
        scheduling: { parallel: 2, why: "2 cores, 7.6 GiB", runtimeAlone: true },
        mergedFrom: ["/r/s1", "/r/s2"],
      }),
    );
    at(merged, "read-all: 2 guest(s) at once (2 cores, 7.6 GiB); runtime boots alone on the host");
    at(merged, "<dt>merged from</dt><dd><code>/r/s1</code><br><code>/r/s2</code></dd>");
    const shard = renderRunHtml(fixtureRun({ shard: { index: 2, count: 3 } }));
    at(shard, "3 rep(s), shard 2 of 3; started");
    at(shard, "<dt>shard</dt><dd>2 of 3</dd>");
  });

  it("escapes a workload named <script> and every other string from the record", () => {
    const run = fixtureRun();
    const rename = <T extends { workload: string }>(x: T): T => (x.workload === "redis" ? { ...x, workload: EVIL } : x);
    const evil: RunRecord = {
      ...run,
      runId: EVIL,
      warnings: [EVIL],
      workloads: run.workloads.map((w) => (w.name === "redis" ? { ...w, name: EVIL, versions: EVIL } : w)),
      comparisons: run.comparisons.map(rename),
      cells: run.cells.map((c) => ({ ...rename(c), excluded: c.excluded.map((x) => ({ ...x, reason: EVIL })) })),
      runtimeCells: run.runtimeCells.map((c) => ({ ...rename(c), load: c.load.map((l) => ({ ...l, step: EVIL })) })),
      failedBoots: run.failedBoots.map((f) => ({ ...rename(f), failure: EVIL })),
      stageTimes: [{ stage: EVIL, seconds: 1, reused: false }],
    };
    evil.gapEvidence = run.gapEvidence.map((e) => ({
      ...rename(e),
      notShared: e.notShared.map((x) => ({ ...x, example: EVIL })),
    }));
    evil.correctness = [correctnessResult(EVIL, "fail", EVIL, { series: EVIL, proves: EVIL })];
    const html = renderRunHtml(evil);
    selfContained(html);
    expect(html).toContain(EVIL_ESCAPED);
    expect(html).not.toContain("<script");
    expect(html).not.toContain('alert("x")');
  });

  it("renders a record read back from run.json, with a cell whose boots all failed, and a run that stopped early", () => {
    const bare = renderRunHtml(
      readBack(fixtureRun({ failedBoots: [], warnings: [], runtimeCells: [], runtime: [], gapEvidence: [] })),
    );
    selfContained(bare);
    expect(bare).not.toContain("Failed boots");
    expect(bare).not.toContain(`id="runtime"`);
    expect(bare).not.toContain(`id="correctness"`);
    expect(bare).not.toContain("The gap to 100%");
    const run = fixtureRun({ kernel: undefined, accel: undefined });
    const c = run.comparisons.find((x) => x.workload === "redis" && x.path === "mmap")!;
    c.on!.afterB = { median: NaN, min: NaN, max: NaN, n: 0 };
    delete c.efficiencyPct;
    const html = renderRunHtml(readBack(run));
    selfContained(html);
    expect(html).toContain(">n/a<");
    at(html, "QEMU ?");
    const interrupted = renderRunHtml({
      ...fixtureRun(),
      status: "interrupted",
      error: "interrupted (SIGINT) during read-all",
    });
    expect(at(interrupted, "<h3>Run interrupted</h3>")).toBeLessThan(at(interrupted, "<h3>Failed boots</h3>"));
  });

  it("splits the gap to 100% by what explains it, in the workload's section", () => {
    const html = renderRunHtml(fixtureRun());
    const redis = html.slice(at(html, `<section id="w1">`), at(html, `<section id="runtime">`));
    at(redis, "<h3>The gap to 100%</h3>");
    at(redis, '<title id="w1-gap-title">redis: the gap to 100%, by what explains it</title>');
    // /usr/lib/7.so half resident: 0.8 MiB of 1.5; /usr/lib/9.so not at all: 1.5 MiB
    expect(redis).toMatch(
      /0\.8 MiB in 1 \(partly shared, e\.g\. <code>\/usr\/lib\/7\.so<\/code>\)<br>1\.5 MiB in 1 \(unexplained, e\.g\. <code>\/usr\/lib\/9\.so<\/code>\)/,
    );
    expect(redis.match(/<tr><td>(read|mmap)<\/td><td class="num">/g)).toHaveLength(2);
    expect(html.slice(0, at(html, `<section id="w1">`))).not.toContain("The gap to 100%");
  });

  it("renders the run's correctness checks, with how often a failing one failed", () => {
    const html = renderRunHtml(
      fixtureRun({
        correctness: [
          correctnessResult("umount-shared", "pass", "split within 1% of expected"),
          correctnessResult("mount-cycles", "oops", "oops in erofs_read_begin", {
            boots: { of: 4, failed: 1, results: ["oops", "pass", "pass", "pass"] },
          }),
          correctnessResult("corrupt", "na", "no packed key"),
          correctnessResult("reclaim", "error", "OOM-killed under the check's own limit"),
        ],
      }),
    );
    selfContained(html);
    at(html, `<section id="correctness"><h2>Correctness</h2><p>1 pass, 1 oops, 1 na, 1 error.</p>`);
    at(html, `<span class="badge bad">oops 1/4 boots</span>`);
    at(html, `<span class="badge muted">n/a</span>`);
    at(html, `<span class="badge muted">error</span>`);
    // a failed check is named at the top as well
    expect(at(html, "1 check(s) failed: mount-cycles")).toBeLessThan(at(html, `<section id="efficiency">`));
  });
});

describe("comparison.html", () => {
  it("shows the changed inputs, every metric with its delta and verdict, and the regressions first", () => {
    const base = readBack(fixtureRun({ runId: "base" }));
    const cur = readBack(
      fixtureRun(
        { runId: "cur" },
        { efficiency: (w, p) => (w === "redis" && p === "mmap" ? 0.5 : undefined), seed: 2 },
      ),
    );
    cur.kernel = { ...cur.kernel!, release: "7.3.5" };
    const cmp = compareRuns(base, cur, { baseline: "/r/base", current: "/r/cur" });
    expect(cmp.regressions).toBe(1);
    const html = renderComparisonHtml(cmp, { baselineHref: "../base/report.html" });
    selfContained(html);
    at(html, `<h1>cur against base</h1><p><span class="badge bad">REGRESSION (1)</span></p>`);
    expect(at(html, "<h3>Regressions</h3>")).toBeLessThan(at(html, "<h2>Inputs that changed</h2>"));
    expect(html).toMatch(
      /<td>kernel release<\/td><td class="wrap"><code>7\.3\.4<\/code><\/td><td class="wrap"><code>7\.3\.5<\/code><\/td>/,
    );
    expect(html.match(/<tr class="regression">/g)).toHaveLength(1);
    expect(html).toMatch(
      /<tr class="regression"><td>redis<\/td><td class="nw">read-all mmap<\/td><td class="wrap">sharing efficiency[^<]*<\/td><td class="num">[\d.]+<\/td><td class="num">[\d.]+<\/td><td class="num">−[\d.]+ pt<\/td><td class="nw"><span class="badge muted">not enough boots<\/span><\/td><td><span class="badge bad">REGRESSION<\/span>/,
    );
    expect(html.match(/<tr[^>]*><td>/g)!.length).toBeGreaterThanOrEqual(cmp.rows.length + cmp.inputsChanged.length);
    at(html, `<a href="../base/report.html">`);
    at(html, '<title id="cmp-pct-title">');
  });

  it("says when nothing changed, and escapes", () => {
    const r = readBack(fixtureRun({ runId: EVIL }));
    const html = renderComparisonHtml(compareRuns(r, r, { baseline: EVIL, current: EVIL }));
    selfContained(html);
    expect(html).not.toContain("<script");
    at(html, "no regression");
    at(html, "Identical: kernel, images, mkfs.erofs, guest initramfs, QEMU, accelerator, plan.");
  });
});
