import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { kcidbCommand } from "../../../src/commands/kcidb.js";
import type { RunRecord } from "../../../src/record/runRecord.js";
import { patchsetHash } from "../../../src/report/kcidb/checkout.js";
import type { RunPlace } from "../../../src/report/kcidb/place.js";
import { renderKcidb } from "../../../src/report/kcidb/render.js";
import { KcidbDataSchema, type KcidbData, type KcidbTest } from "../../../src/report/kcidb/kcidbSchema.js";
import { sha256 } from "../../../src/util/fsx.js";
import { fixtureRun } from "../../helpers/runFixture.js";
import { correctnessResult } from "../../helpers/runRecord.js";

const place = (over: Partial<RunPlace> = {}): RunPlace => ({
  folder: "20261115T021503Z-k3x9",
  has: () => true,
  ...over,
});

/** What a reader gets: the file's text parsed, checked against the KCIDB schema. */
function asSubmitted(data: KcidbData): KcidbData {
  return KcidbDataSchema.parse(JSON.parse(JSON.stringify(data)));
}

const CHECKS = [
  correctnessResult("private-write", "pass"),
  correctnessResult("fadvise", "fail", "DONTNEED through A dropped 0 KiB of page cache"),
  correctnessResult("corrupt", "oops", "in case fp-len-huge: BUG: kernel NULL pointer dereference"),
  correctnessResult("reclaim", "na", "no reclaim happened in the group"),
  correctnessResult("trust-same-domain", "finding", "the forged image was served the other file's pages"),
];

function v8Run(over: Partial<RunRecord> = {}): RunRecord {
  const run = fixtureRun({ correctness: CHECKS, ...over });
  const patch = (index: number, subject: string, messageId: string) => ({
    index,
    total: 2,
    subject,
    messageId,
    method: "patch" as const,
    status: "offset" as const,
    hunks: [],
  });
  run.series = {
    ...run.series,
    name: "v8",
    title: "erofs: page cache sharing v8",
    messageId: "20251114095516.207555-1-lihongbo22@huawei.com",
  };
  run.kernel = {
    ...run.kernel!,
    source: { kind: "git", repo: "/home/me/linux", ref: "v6.19", commit: "c".repeat(40), kernelVersion: "6.19.0" },
    apply: {
      base: "c".repeat(40),
      head: "d".repeat(40),
      method: "patch",
      attempts: [],
      fixups: [
        { name: "i_state.patch", status: "clean", files: ["fs/erofs/ishare.c"], added: 1, removed: 1, hunks: [] },
      ],
      patches: [
        patch(1, "[PATCH v8 1/2] iomap: stash iomap read ctx", "20251114095516.207555-2-lihongbo22@huawei.com"),
        patch(
          2,
          "[PATCH v8 2/2] erofs: support inode page cache share",
          "20251114095516.207555-3-lihongbo22@huawei.com",
        ),
      ],
      patchSource: "mbox",
      mbox: "v8.mbox",
      mboxSha256: "e".repeat(64),
      patchDiffSha256: [sha256("diff 1"), sha256("diff 2")],
    },
    build: {
      bzImage: "bzImage",
      config: "config",
      log: "build.log",
      kernelRelease: "6.19.0",
      configSha256: "f".repeat(64),
      compiler: "gcc (Debian 12.2.0-14) 12.2.0",
      buildSeconds: 331,
      jobs: 2,
    },
    buildKey: "0123456789abcdef",
    release: "6.19.0",
  };
  return run;
}

const testAt = (data: KcidbData, p: string): KcidbTest => {
  const t = data.tests!.find((x) => x.path === p);
  if (!t) throw new Error(`no test ${p} in ${data.tests!.map((x) => x.path).join(", ")}`);
  return t;
};

describe("KCIDB schema (the rules of kcidb-io v5.3 this tool relies on)", () => {
  const minimal = {
    version: { major: 5, minor: 3 },
    tests: [
      {
        id: "o:1",
        build_id: "o:b",
        origin: "o",
        path: "erofs.ishare",
        status: "DONE",
        number: { value: 1.5, unit: "MiB" },
      },
    ],
  };
  const withTest = (t: Record<string, unknown>) => ({ ...minimal, tests: [{ ...minimal.tests[0], ...t }] });

  it("takes a valid submission", () => {
    expect(KcidbDataSchema.safeParse(minimal).success).toBe(true);
    expect(KcidbDataSchema.safeParse({ version: { major: 5 } }).success).toBe(true);
  });

  it.each([
    ["another major version", { ...minimal, version: { major: 4, minor: 0 } }],
    ["a minor version past the one followed", { ...minimal, version: { major: 5, minor: 4 } }],
    ["an unknown top-level list", { ...minimal, results: [] }],
    ["an id without its origin", withTest({ id: "1" })],
    ["an origin with capitals", withTest({ origin: "Erofs" })],
    ["a null property", withTest({ comment: null })],
    ["a property the schema does not name", withTest({ value: 3 })],
    ["a status outside the enum", withTest({ status: "OK" })],
    ["an empty path part", withTest({ path: "erofs..ishare" })],
    ["a space in a path", withTest({ path: "erofs.read all" })],
    ["a number without its value", withTest({ number: { unit: "MiB" } })],
    ["a number with another field", withTest({ number: { value: 1, unit: "MiB", n: 3 } })],
    ["NaN as a number (null in JSON)", withTest({ number: { value: null } })],
    ["a relative log_url", withTest({ log_url: "boots/x/console.log" })],
    [
      "an output file name with a directory",
      withTest({ output_files: [{ name: "boots/x.log", url: "https://h/x.log" }] }),
    ],
    ["a log excerpt past 16384 characters", withTest({ log_excerpt: "x".repeat(16385) })],
    ["a NUL in a log excerpt", withTest({ log_excerpt: "oops\u0000" })],
    ["a NUL in a comment", withTest({ comment: "a\u0000b" })],
    ["a NUL in misc (PostgreSQL refuses it)", withTest({ misc: { reason: "a\u0000b" } })],
    ["a log_url that is not ASCII", withTest({ log_url: "https://example.org/résultats/x.log" })],
    ["a log_url with a space", withTest({ log_url: "https://example.org/run 1/x.log" })],
    ["a Message-ID in angle brackets", { ...minimal, checkouts: [{ id: "o:c", origin: "o", message_id: "<a@b>" }] }],
    [
      "a patchset hash that is not sha256",
      { ...minimal, checkouts: [{ id: "o:c", origin: "o", patchset_hash: "abc" }] },
    ],
    ["a build without its checkout", { ...minimal, builds: [{ id: "o:b", origin: "o" }] }],
  ])("refuses %s", (_, data) => {
    expect(KcidbDataSchema.safeParse(data).success).toBe(false);
  });
});

describe("a run as KCIDB", () => {
  const run = v8Run();
  const data = asSubmitted(renderKcidb([{ run, place: place() }]));

  it("names its checkout: the tree, the series' patches with their hash and the series' Message-ID", () => {
    expect(data.version).toEqual({ major: 5, minor: 3 });
    expect(data.checkouts).toHaveLength(1);
    const c = data.checkouts![0]!;
    expect(c.id).toMatch(/^erofs_share_bench:checkout-[0-9a-f]{16}$/);
    expect(c).toMatchObject({
      origin: "erofs_share_bench",
      git_commit_hash: "c".repeat(40),
      git_commit_name: "v6.19",
      valid: true,
      message_id: "20251114095516.207555-1-lihongbo22@huawei.com",
      patchset_hash: sha256(`${sha256("diff 1")}\n${sha256("diff 2")}\n`),
    });
    expect(c.patchset_files).toEqual([
      {
        name: "0001-patch-v8-1-2-iomap-stash-iomap-read-ctx.patch",
        url: "https://lore.kernel.org/all/20251114095516.207555-2-lihongbo22@huawei.com/raw",
      },
      {
        name: "0002-patch-v8-2-2-erofs-support-inode-page-cache-share.patch",
        url: "https://lore.kernel.org/all/20251114095516.207555-3-lihongbo22@huawei.com/raw",
      },
    ]);
    expect(c.misc).toMatchObject({
      fixups: [{ name: "i_state.patch", status: "clean", files: ["fs/erofs/ishare.c"] }],
    });
    // "sha256sum *.patch | cut -c-64 | sha256sum" over two patches
    expect(patchsetHash(["a".repeat(64), "b".repeat(64)])).toBe(sha256(`${"a".repeat(64)}\n${"b".repeat(64)}\n`));
    expect(patchsetHash([])).toBe("");
  });

  it("names its build: the guest kernel's config, compiler and log", () => {
    expect(data.builds).toEqual([
      expect.objectContaining({
        id: "erofs_share_bench:build-0123456789abcdef",
        checkout_id: data.checkouts![0]!.id,
        status: "PASS",
        architecture: "x86_64",
        compiler: "gcc (Debian 12.2.0-14) 12.2.0",
        config_name: "tinyconfig+guest.config+v8",
        duration: 331,
        misc: expect.objectContaining({
          config_sha256: "f".repeat(64),
          log_path: "build.log",
          kernel_release: "6.19.0",
        }),
      }),
    ]);
  });

  it("has a test per read-all cell with its figure, status and logs", () => {
    const cells = new Set([...run.boots, ...run.failedBoots].map((b) => `${b.workload}.${b.path}.${b.mode}`));
    expect(
      data
        .tests!.filter((t) => t.path!.startsWith("erofs.ishare.readall."))
        .map((t) => t.path!.slice("erofs.ishare.readall.".length))
        .sort(),
    ).toEqual([...cells].sort());
    const cell = run.cells.find((c) => c.workload === "redis" && c.path === "read" && c.mode === "on")!;
    const t = testAt(data, "erofs.ishare.readall.redis.read.on");
    expect(t).toMatchObject({
      id: "erofs_share_bench:20261115T021503Z-k3x9:erofs.ishare.readall.redis.read.on",
      build_id: data.builds![0]!.id,
      status: "DONE",
      number: { value: cell.afterB.median, unit: "MiB" },
    });
    expect(t.misc).toMatchObject({
      logs: [
        "boots/redis-on-read-r1/console.log",
        "boots/redis-on-read-r2/console.log",
        "boots/redis-on-read-r3/console.log",
      ],
      note: "paths are relative to the run folder 20261115T021503Z-k3x9",
    });
    expect(t.log_url).toBeUndefined();
    // a cell with a boot that oopsed fails, with the oops as its excerpt, and keeps the figure of the others
    const failed = testAt(data, "erofs.ishare.readall.redis.mmap.on");
    expect(failed).toMatchObject({ status: "FAIL", number: { unit: "MiB" } });
    expect(failed.log_excerpt).toMatch(/guest kernel panicked; BUG: kernel NULL pointer dereference/);
    expect((failed.misc!.logs as string[]).at(-1)).toBe("boots/redis-on-mmap-r2/console.log");
    // a boot left out of the median is named with why
    expect(testAt(data, "erofs.ishare.readall.synthetic.sendfile.off").misc).toMatchObject({
      boots: 2,
      excluded: [{ rep: 3, reason: expect.stringMatching(/^reclaim/) }],
    });
  });

  it("has runtime tests for memory and each load step, and a failed boot fails its cell", () => {
    expect(testAt(data, "erofs.ishare.runtime.redis.on")).toMatchObject({ status: "DONE", number: { unit: "MiB" } });
    expect(testAt(data, "erofs.ishare.runtime.redis.split")).toMatchObject({
      status: "FAIL",
      log_excerpt: expect.stringMatching(/container B exited 137/),
    });
    expect(testAt(data, "erofs.ishare.runtime.redis.on.load.B.GET")).toMatchObject({
      status: "DONE",
      number: { unit: "req/s" },
    });
    expect(testAt(data, "erofs.ishare.runtime.redis.on.load.B.GET").misc!.emulation_noise).toBeUndefined();
    const tcg = asSubmitted(
      renderKcidb([{ run: v8Run({ accel: { accel: "tcg", reason: "kvm hung" } }), place: place() }]),
    );
    expect(testAt(tcg, "erofs.ishare.runtime.redis.on.load.B.GET").misc!.emulation_noise).toMatch(/QEMU TCG/);
  });

  it("maps check results: pass PASS, fail and oops FAIL, na SKIP, a finding DONE marked as one", () => {
    const status = (name: string) => testAt(data, `erofs.ishare.correctness.${name}`);
    expect(status("private-write").status).toBe("PASS");
    expect(status("fadvise")).toMatchObject({
      status: "FAIL",
      log_excerpt: "DONTNEED through A dropped 0 KiB of page cache",
    });
    expect(status("corrupt").status).toBe("FAIL");
    expect(status("reclaim").status).toBe("SKIP");
    expect(status("trust-same-domain")).toMatchObject({
      status: "DONE",
      misc: expect.objectContaining({ finding: true }),
    });
  });

  it("gives the same ids to the same run, the same checkout and build to another run of the same kernel", () => {
    expect(asSubmitted(renderKcidb([{ run, place: place() }]))).toEqual(data);
    const other = v8Run({ runId: "20261116T021503Z-zzzz" });
    const both = asSubmitted(
      renderKcidb([
        { run, place: place() },
        { run: other, place: place({ folder: other.runId }) },
      ]),
    );
    expect(both.checkouts).toHaveLength(1);
    expect(both.builds).toHaveLength(1);
    expect(both.tests).toHaveLength(2 * data.tests!.length);
    expect(new Set(both.tests!.map((t) => t.id)).size).toBe(both.tests!.length);
    // another patch set is another checkout
    const changed = v8Run();
    changed.kernel!.apply!.patchDiffSha256 = [sha256("diff 1"), sha256("diff 2, v2")];
    expect(renderKcidb([{ run: changed, place: place() }]).checkouts![0]!.id).not.toBe(data.checkouts![0]!.id);
  });

  it("names logs by URL when the run folders are published, and only files that are there", () => {
    const published = asSubmitted(
      renderKcidb([
        {
          run,
          place: place({
            baseUrl: "https://ci.example.org/esb/",
            has: (f) => f !== "boots/redis-on-read-r3/console.log",
          }),
        },
      ]),
    );
    const t = testAt(published, "erofs.ishare.readall.redis.read.on");
    expect(t.log_url).toBe("https://ci.example.org/esb/20261115T021503Z-k3x9/boots/redis-on-read-r1/console.log");
    expect(t.output_files).toEqual([
      {
        name: "redis-on-read-r2-console.log",
        url: "https://ci.example.org/esb/20261115T021503Z-k3x9/boots/redis-on-read-r2/console.log",
      },
    ]);
    expect(published.builds![0]!.log_url).toBe("https://ci.example.org/esb/20261115T021503Z-k3x9/build.log");
  });

  it("says MISS for what a failed or interrupted run never measured, nothing for a shard's other parts", () => {
    const failed = v8Run({
      status: "failed",
      error: "QEMU exited with status 1",
      correctness: [],
      plan: { ...fixtureRun().plan, phases: ["readall", "correctness"], checks: ["fadvise"] },
    });
    failed.boots = failed.boots.filter((b) => b.workload === "synthetic");
    failed.failedBoots = [];
    const missed = asSubmitted(renderKcidb([{ run: failed, place: place() }])).tests!.filter(
      (t) => t.status === "MISS",
    );
    expect(missed.map((t) => t.path)).toEqual(
      expect.arrayContaining([
        "erofs.ishare.readall.redis.read.off",
        "erofs.ishare.readall.redis.mmap.on",
        "erofs.ishare.correctness.fadvise",
      ]),
    );
    expect(missed).toHaveLength(9 + 1);
    expect(missed[0]!.log_excerpt).toBe("QEMU exited with status 1");
    const interrupted = asSubmitted(
      renderKcidb([{ run: { ...failed, status: "interrupted" }, place: place() }]),
    ).tests!.filter((t) => t.status === "MISS");
    expect(interrupted).toHaveLength(10);
    expect(interrupted[0]!.misc!.why).toBe("the run was interrupted before this was measured");
    expect(
      renderKcidb([{ run: { ...failed, shard: { index: 1, count: 2 } }, place: place() }]).tests!.some(
        (t) => t.status === "MISS",
      ),
    ).toBe(false);
  });

  it("reports a kernel that did not compile as a failed build with the error, and no tests for what it never ran", () => {
    const broken = v8Run({
      status: "failed",
      error: "kernel build failed: fs/erofs/ishare.c:52:14: error: invalid operands to binary &",
      boots: [],
      failedBoots: [],
      cells: [],
      comparisons: [],
      runtime: [],
      runtimeCells: [],
      correctness: [],
    });
    broken.kernel = { ...broken.kernel!, build: undefined, buildKey: "", release: undefined };
    const out = asSubmitted(renderKcidb([{ run: broken, place: place() }]));
    expect(out.builds![0]).toMatchObject({
      status: "FAIL",
      log_excerpt: expect.stringMatching(/ishare\.c:52:14/),
      id: `erofs_share_bench:build-${broken.runId}`,
    });
    expect(out.tests).toEqual([]);
  });
});

describe("kcidb FILE --from", () => {
  async function runFolder(root: string, run: RunRecord): Promise<string> {
    const dir = path.join(root, run.runId);
    await mkdir(path.join(dir, "boots", "redis-on-read-r1"), { recursive: true });
    await writeFile(path.join(dir, "boots", "redis-on-read-r1", "console.log"), "[0.0] Linux version 6.19.0\n");
    await writeFile(path.join(dir, "build.log"), "make\n");
    await writeFile(path.join(dir, "run.json"), JSON.stringify(run));
    return dir;
  }

  it("writes a run folder's submission, naming only the logs the folder holds", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), "esb-kcidb-"));
    const dir = await runFolder(root, v8Run());
    const file = path.join(root, "out.json");
    expect(await kcidbCommand([dir], file)).toBe(0);
    const data = KcidbDataSchema.parse(JSON.parse(await readFile(file, "utf8")));
    expect(testAt(data, "erofs.ishare.readall.redis.read.on").misc!.logs).toEqual([
      "boots/redis-on-read-r1/console.log",
    ]);
    expect(testAt(data, "erofs.ishare.readall.redis.read.off").misc!.logs).toBeUndefined();
  });

  it("takes a night's summary as the runs of its jobs", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), "esb-kcidb-"));
    const a = await runFolder(root, v8Run());
    const b = await runFolder(root, fixtureRun({ runId: "20261115T040000Z-main" }));
    const job = (name: string, runDir?: string) => ({
      job: name,
      status: runDir ? "complete" : "skipped",
      runDir,
      regressions: 0,
      failedBoots: 0,
      baseline: null,
    });
    const night = path.join(root, "night.json");
    await writeFile(
      night,
      JSON.stringify({
        night: "n1",
        matrix: "nightly.yaml",
        startedAt: "x",
        finishedAt: "y",
        jobs: [job("v8", a), job("mainline", b), job("rfc-v7")],
        regressions: 0,
        exitStatus: 0,
      }),
    );
    const file = path.join(root, "night.kcidb.json");
    await kcidbCommand([night], file);
    const data = KcidbDataSchema.parse(JSON.parse(await readFile(file, "utf8")));
    expect(data.checkouts).toHaveLength(2);
    expect(data.builds).toHaveLength(2);
  });

  it("refuses what is neither a run folder nor a night, and a base URL that is not one, with the fix", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), "esb-kcidb-"));
    await writeFile(path.join(root, "x.json"), "{}");
    await expect(kcidbCommand([path.join(root, "x.json")], path.join(root, "o.json"))).rejects.toMatchObject({
      name: "BenchError",
      message: expect.stringMatching(/neither a run folder nor a night/),
    });
    await expect(kcidbCommand([path.join(root, "missing")], path.join(root, "o.json"))).rejects.toMatchObject({
      name: "BenchError",
    });
    await expect(kcidbCommand([root], path.join(root, "o.json"), { baseUrl: "results/" })).rejects.toMatchObject({
      message: expect.stringMatching(/not an http\(s\) URL/),
    });
  });
});
