import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApplyError, applySeries, loadFixups } from "../../../src/kernel/apply.js";
import { hunkResults, renderApplyReport } from "../../../src/kernel/applyReport.js";
import { diffSections } from "../../../src/kernel/patches/diff.js";
import { gitInitTree, makeWorktree } from "../../../src/kernel/worktree.js";
import { seriesFromMbox, type SeriesPatch } from "../../../src/kernel/patches/select.js";
import { SeriesSpecSchema } from "../../../src/kernel/series.js";
import { prepareSeriesTree } from "../../../src/kernel/seriesTree.js";
import { sha256File } from "../../../src/util/fsx.js";
import { Progress } from "../../../src/util/progress.js";
import { exists } from "../../../src/util/fsx.js";
import {
  BASE_FILES,
  buildSeriesRepo,
  commitFiles,
  concatMbox,
  editLine,
  formatPatches,
  git,
  initRepo,
  isolateGitFromUser,
  numbered,
  plainTree,
  tempDir,
} from "../../helpers/gitSeries.js";

let root: string;
let upstream: string;
let patches: SeriesPatch[];
const A = BASE_FILES["src/a.c"] ?? "";
const B = BASE_FILES["src/b.c"] ?? "";

beforeAll(async () => {
  isolateGitFromUser();
  root = await tempDir();
  ({ repo: upstream } = await buildSeriesRepo(root));
  const mails = await formatPatches(upstream, "HEAD~3", { version: 3, cover: true });
  patches = seriesFromMbox(concatMbox(mails), { source: "v3.mbox", version: "v3", expectedCount: 3 }).patches;
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh base tree (as from a tarball) with some files changed, made a git repo. */
async function baseTree(name: string, overrides: Record<string, string> = {}): Promise<string> {
  const dir = await plainTree(path.join(root, name), overrides);
  await gitInitTree(dir);
  return dir;
}

async function subjects(dir: string, n: number): Promise<string[]> {
  return (await git(dir, "log", `-${n}`, "--reverse", "--format=%s|%an")).split("\n");
}

describe("applySeries", () => {
  it("applies a clean series with git am, one commit per patch with the original author", async () => {
    const dir = await baseTree("clean");
    const report = await applySeries({ worktree: dir, patches, logFile: path.join(root, "clean.log") });
    expect(report.method).toBe("git-am");
    expect(report.attempts).toEqual([{ method: "git-am", ok: true }]);
    expect(report.patches.map((p) => [p.index, p.status, p.method])).toEqual([
      [1, "clean", "git-am"],
      [2, "clean", "git-am"],
      [3, "clean", "git-am"],
    ]);
    expect(report.patches[2]?.hunks.map((h) => h.result)).toEqual(["clean", "clean"]);
    expect(await subjects(dir, 3)).toEqual([
      "demo: change a|Test Author",
      "demo: add c|Test Author",
      "demo: change b twice|Test Author",
    ]);
    expect(report.head).toBe(await git(dir, "rev-parse", "HEAD"));
    expect(await readFile(path.join(dir, "src/c.c"), "utf8")).toContain("return 3;");
  });

  it("reports offsets that git am applies silently", async () => {
    const dir = await baseTree("offset", { "src/a.c": numbered("extra", 4) + A });
    const report = await applySeries({ worktree: dir, patches, logFile: path.join(root, "offset.log") });
    expect(report.method).toBe("git-am");
    const p1 = report.patches[0];
    expect(p1?.status).toBe("offset");
    expect(p1?.hunks).toEqual([
      {
        file: "src/a.c",
        hunk: 1,
        hunkHeader: expect.stringMatching(/^@@ -17,7 \+17,7 @@/),
        result: "offset 4",
        offset: 4,
        fuzz: 0,
      },
    ]);
    expect(report.patches[1]?.status).toBe("clean");
    expect(renderApplyReport(report)).toMatch(/\[1\/3\] demo: change a +offset \+4 \(src\/a\.c @@ -17,7 \+17,7 @@\)/);
  });

  it("falls back to patch with fuzz when a context line changed", async () => {
    const dir = await baseTree("fuzz", { "src/a.c": editLine(A, "a line 18", "a line 18 renamed") });
    const report = await applySeries({ worktree: dir, patches, logFile: path.join(root, "fuzz.log") });
    expect(report.method).toBe("patch");
    expect(report.attempts.map((a) => `${a.method}:${a.ok}`)).toEqual([
      "git-am:false",
      "git-am-3way:false",
      "patch:true",
    ]);
    const p1 = report.patches[0];
    expect(p1?.status).toBe("fuzz");
    expect(p1?.hunks).toEqual([
      {
        file: "src/a.c",
        hunk: 1,
        hunkHeader: expect.stringMatching(/^@@ -17,7 \+17,7 @@/),
        result: "fuzz 2",
        offset: 0,
        fuzz: 2,
      },
    ]);
    expect(report.patches.map((p) => p.status)).toEqual(["fuzz", "clean", "clean"]);
    expect(await subjects(dir, 3)).toEqual([
      "demo: change a|Test Author",
      "demo: add c|Test Author",
      "demo: change b twice|Test Author",
    ]);
    expect(await git(dir, "status", "--porcelain")).toBe("");
    expect(await readFile(path.join(dir, "src/a.c"), "utf8")).toContain(
      "a line 18 renamed\na line 19\na line 20 changed\n",
    );
    expect(renderApplyReport(report)).toMatch(/\[1\/3\] demo: change a +fuzz 2 \(src\/a\.c @@ -17,7 \+17,7 @@\)/);
  });

  it("stops at a real conflict naming patch, file and hunk, with nothing half applied", async () => {
    const conflicted = editLine(B, "b line 30", "b line 30 local");
    const dir = await baseTree("conflict", { "src/b.c": conflicted });
    const err = await applySeries({ worktree: dir, patches, logFile: path.join(root, "conflict.log") }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplyError);
    const e = err as ApplyError;
    expect(e.message).toMatch(
      /^patch \[3\/3\] "demo: change b twice" does not apply: src\/b\.c hunk #2 @@ -27,7 \+27,7 @@.* failed$/,
    );
    expect(e.files).toEqual([path.join(root, "conflict.log")]);
    expect(e.report.patches.map((p) => p.status)).toEqual(["clean", "clean", "failed"]);
    expect(e.report.patches[2]?.hunks.map((h) => h.result)).toEqual(["clean", "failed"]);
    // 1/3 and 2/3 are committed; 3/3's applicable first hunk is not in the tree.
    expect(await git(dir, "status", "--porcelain")).toBe("");
    expect(await readFile(path.join(dir, "src/b.c"), "utf8")).toBe(conflicted);
    expect(await subjects(dir, 2)).toEqual(["demo: change a|Test Author", "demo: add c|Test Author"]);
    expect(renderApplyReport(e.report)).toMatch(
      /\[3\/3\] demo: change b twice +FAILED \(src\/b\.c @@ -27,7 \+27,7 @@\)/,
    );
  });

  it("applies fixups after the series and records them", async () => {
    const dir = await baseTree("fixup");
    const fix = [
      "--- a/src/c.c",
      "+++ b/src/c.c",
      "@@ -1,4 +1,4 @@",
      " int c(void)",
      " {",
      "-\treturn 3;",
      "+\treturn 4;",
      " }",
      "",
    ].join("\n");
    const report = await applySeries({
      worktree: dir,
      patches,
      fixups: [{ name: "c-returns-4.patch", text: fix }],
      logFile: path.join(root, "fixup.log"),
    });
    expect(report.fixups).toEqual([
      {
        name: "c-returns-4.patch",
        status: "clean",
        files: ["src/c.c"],
        added: 1,
        removed: 1,
        hunks: [expect.objectContaining({ file: "src/c.c", result: "clean" })],
        commit: report.head,
      },
    ]);
    expect(await git(dir, "log", "-1", "--format=%s")).toBe("fixup: c-returns-4.patch");
    expect(await readFile(path.join(dir, "src/c.c"), "utf8")).toContain("return 4;");
    expect(renderApplyReport(report)).toContain("  fixup c-returns-4.patch: src/c.c (+1 -1)");
  });

  it("rejects a fixup that does not fit, leaving the tree clean", async () => {
    const dir = await baseTree("badfixup");
    const fix = [
      "--- a/src/c.c",
      "+++ b/src/c.c",
      "@@ -1,4 +1,4 @@",
      " int nothing(void)",
      " {",
      "-\treturn 99;",
      "+\treturn 4;",
      " }",
      "",
    ].join("\n");
    const err = (await applySeries({
      worktree: dir,
      patches,
      fixups: [{ name: "stale.patch", text: fix }],
      logFile: path.join(root, "bad.log"),
    }).catch((e: unknown) => e)) as ApplyError;
    expect(err).toBeInstanceOf(ApplyError);
    expect(err.message).toMatch(
      /^fixup stale\.patch does not apply after the series: src\/c\.c hunk #1 @@ -1,4 \+1,4 @@ failed$/,
    );
    expect(err.report.patches).toHaveLength(3);
    expect(await git(dir, "status", "--porcelain")).toBe("");
  });
});

describe("makeWorktree", () => {
  let kernel: string;
  let tagged: string;
  let headBefore: string;

  beforeAll(async () => {
    kernel = path.join(root, "linux");
    tagged = await initRepo(kernel, BASE_FILES, "Linux 6.19");
    await git(kernel, "tag", "v6.19");
    // A branch carrying the series, so 3-way merge has the blobs it needs.
    await git(kernel, "checkout", "-q", "-b", "series");
    await commitFiles(kernel, { "src/a.c": editLine(A, "a line 20", "a line 20 changed") }, "demo: change a");
    await git(kernel, "checkout", "-q", "main");
    await commitFiles(
      kernel,
      {
        Makefile: "VERSION = 6\nPATCHLEVEL = 20\nSUBLEVEL = 0\n",
        "src/a.c": editLine(A, "a line 23", "a line 23 moved on"),
      },
      "Linux 6.20",
    );
    headBefore = await git(kernel, "rev-parse", "HEAD");
  });

  it("checks out a ref detached without touching the clone's HEAD or branches", async () => {
    const dest = path.join(root, "wt-6.19");
    const wt = await makeWorktree({ kernelSrc: kernel, ref: "v6.19", expectVersion: "6.19", dest });
    expect(wt).toEqual({ dir: dest, repo: kernel, ref: "v6.19", commit: tagged, version: "6.19" });
    expect(await git(dest, "rev-parse", "HEAD")).toBe(tagged);
    expect(await git(dest, "symbolic-ref", "-q", "HEAD").catch(() => "detached")).toBe("detached");
    expect(await git(kernel, "symbolic-ref", "HEAD")).toBe("refs/heads/main");
    expect(await git(kernel, "rev-parse", "HEAD")).toBe(headBefore);
    expect(await git(kernel, "branch", "--format=%(refname:short)")).toBe("main\nseries");
    expect(await git(kernel, "status", "--porcelain")).toBe("");
  });

  it("applies with git am --3way when the blobs are known and marks the merged patch", async () => {
    const dest = path.join(root, "wt-3way");
    await makeWorktree({ kernelSrc: kernel, ref: "main", dest });
    const mails = await formatPatches(kernel, "main..series", { version: 2 });
    const series = seriesFromMbox(concatMbox(mails), { source: "3way.mbox" });
    const report = await applySeries({ worktree: dest, patches: series.patches, logFile: path.join(root, "3way.log") });
    expect(report.method).toBe("git-am-3way");
    expect(report.patches.map((p) => [p.status, p.method])).toEqual([["3way", "git-am-3way"]]);
    expect(await readFile(path.join(dest, "src/a.c"), "utf8")).toContain(
      "a line 20 changed\na line 21\na line 22\na line 23 moved on\n",
    );
    expect(await git(kernel, "rev-parse", "HEAD")).toBe(headBefore);
  });

  it("checks out of a bare clone (a mirror) as of any other", async () => {
    const bare = path.join(root, "linux-bare.git");
    await git(root, "clone", "-q", "--bare", kernel, bare);
    const dest = path.join(root, "wt-bare");
    const wt = await makeWorktree({ kernelSrc: bare, ref: "v6.19", expectVersion: "6.19", dest });
    expect(wt.commit).toBe(tagged);
    expect(await readFile(path.join(dest, "Makefile"), "utf8")).toContain("PATCHLEVEL = 19");
  });

  it("names the ref and the repository when the ref is missing", async () => {
    const dest = path.join(root, "wt-missing");
    const err = (await makeWorktree({ kernelSrc: kernel, ref: "v9.99", dest }).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe(`ref "v9.99" not found in ${kernel}`);
    expect(await exists(dest)).toBe(false);
  });

  it("says which version the ref has when it is not the expected one", async () => {
    const dest = path.join(root, "wt-wrong");
    const err = (await makeWorktree({ kernelSrc: kernel, ref: "main", expectVersion: "6.19", dest }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err.message).toBe(`main in ${kernel} is Linux 6.20, the series needs 6.19`);
    expect(await exists(dest)).toBe(false);
    expect(await git(kernel, "worktree", "list", "--porcelain")).not.toContain("wt-wrong");
  });
});

describe("gitInitTree", () => {
  it("commits every file of a plain tree, ignored ones included", async () => {
    const dir = await plainTree(path.join(root, "plain"), { ".gitignore": "*.o\n", "prebuilt.o": "obj\n" });
    const commit = await gitInitTree(dir);
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    expect((await git(dir, "ls-files")).split("\n")).toEqual([
      ".gitignore",
      "Makefile",
      "prebuilt.o",
      "src/a.c",
      "src/b.c",
    ]);
    expect(await gitInitTree(dir)).toBe(commit);
  });

  it("does an import that was cut short again, and takes a finished one as it is", async () => {
    const dir = await plainTree(path.join(root, "plain2"), {});
    const commit = await gitInitTree(dir);
    await rm(path.join(dir, ".git", "esb-imported"));
    // the marker is written last: without it the import counts as unfinished and is redone, to the same commit
    expect(await gitInitTree(dir)).toBe(commit);
    expect(await readFile(path.join(dir, ".git", "esb-imported"), "utf8")).toBe(commit + "\n");
  });
});

describe("patch output parsing", () => {
  const patch = [
    "diff --git a/fs/x.c b/fs/x.c",
    "--- a/fs/x.c",
    "+++ b/fs/x.c",
    "@@ -10,3 +10,3 @@ int f(void)",
    " a",
    "--- a line that starts like a file header",
    "+++ and its replacement",
    " b",
    "@@ -116,2 +116,3 @@ int g(void)",
    " c",
    "+d",
    " e",
    "@@ -196,3 +197,3 @@",
    "-f",
    "+g",
    " h",
    " i",
    "--- a/fs/y.c",
    "+++ b/fs/y.c",
    "@@ -50,2 +50,2 @@ static int h(void)",
    "-j",
    "+k",
    " l",
    "",
  ].join("\n");

  it("splits files and hunks without mistaking hunk lines for headers", () => {
    expect(diffSections(patch)).toEqual([
      {
        file: "fs/x.c",
        headers: ["@@ -10,3 +10,3 @@ int f(void)", "@@ -116,2 +116,3 @@ int g(void)", "@@ -196,3 +197,3 @@"],
      },
      { file: "fs/y.c", headers: ["@@ -50,2 +50,2 @@ static int h(void)"] },
    ]);
  });

  it("maps GNU patch hunk numbers to hunk headers", () => {
    const out = [
      "patching file fs/x.c",
      "Hunk #2 succeeded at 120 (offset 4 lines).",
      "Hunk #3 FAILED at 200.",
      "1 out of 3 hunks FAILED",
      "patching file fs/y.c",
      "Hunk #1 succeeded at 50 with fuzz 2 (offset -3 lines).",
    ].join("\n");
    expect(
      hunkResults(patch, out).map((h) => [h.file, h.hunk, h.hunkHeader.slice(0, 17), h.result, h.offset, h.fuzz]),
    ).toEqual([
      ["fs/x.c", 1, "@@ -10,3 +10,3 @@", "clean", 0, 0],
      ["fs/x.c", 2, "@@ -116,2 +116,3 ", "offset 4", 4, 0],
      ["fs/x.c", 3, "@@ -196,3 +197,3 ", "failed", 0, 0],
      ["fs/y.c", 1, "@@ -50,2 +50,2 @@", "fuzz 2", -3, 2],
    ]);
  });

  it("ships every fixup the series specs name, as a diff", async () => {
    const [fx] = await loadFixups(["v8-i_state-v6.19.patch"]);
    expect(diffSections(fx?.text ?? "")).toEqual([{ file: "fs/erofs/ishare.c", headers: ["@@ -132,7 +132,7 @@"] }]);
    await expect(loadFixups(["no-such.patch"])).rejects.toThrow(/fixup no-such\.patch not found/);
  });
});

describe("prepareSeriesTree from a release tarball", () => {
  it("unpacks and imports the tarball once, applies the series, and records the tarball's digest", async () => {
    const saved = process.env.ESB_CACHE;
    process.env.ESB_CACHE = await tempDir("esb-cache-");
    try {
      const staging = await plainTree(path.join(root, "linux-6.19"));
      const tarball = path.join(root, "linux-6.19.tar.gz");
      await execa("tar", ["-czf", tarball, "-C", root, "linux-6.19"]);
      await rm(staging, { recursive: true });
      const mbox = path.join(root, "series.mbox");
      await writeFile(mbox, concatMbox(await formatPatches(upstream, "HEAD~3", { version: 3, cover: true })));
      const spec = SeriesSpecSchema.parse({
        name: "demo",
        title: "demo",
        messageId: "cover@example.org",
        patches: 3,
        version: "v3",
        base: { kind: "git", ref: "v6.19", expectVersion: "6.19" },
        symbols: {},
        shareMountOptions: "",
        imageProfile: { format: "xattr-inode-digest" },
      });
      const req = { spec, kernelSrc: tarball, mbox, exclude: [], logDir: root, progress: new Progress(true) };
      const first = await prepareSeriesTree(req);
      expect(first.record.tarball).toEqual({ file: tarball, sha256: await sha256File(tarball) });
      expect(first.record.version).toBe("6.19");
      expect(first.record.apply.patches.map((p) => p.status)).toEqual(["clean", "clean", "clean"]);
      expect(await readFile(path.join(first.tree, "src/c.c"), "utf8")).toContain("return 3;");
      // the same tarball imports to the same commit, so the applied tree is reused
      const again = await prepareSeriesTree(req);
      expect(again.reused).toBe(true);
      expect(again.record.baseCommit).toBe(first.record.baseCommit);
      await expect(prepareSeriesTree({ ...req, baseRef: "v6.19" })).rejects.toThrow(
        /--base-ref v6.19 names a commit, but --kernel-src .* is a tarball/,
      );
      await expect(prepareSeriesTree({ ...req, kernelSrc: mbox })).rejects.toThrow(
        /is neither a directory nor a \.tar/,
      );
    } finally {
      if (saved === undefined) delete process.env.ESB_CACHE;
      else process.env.ESB_CACHE = saved;
    }
  });
});
