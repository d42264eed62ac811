import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSeries, treeSpec } from "../../../src/kernel/series.js";
import { prepareSeriesTree } from "../../../src/kernel/seriesTree.js";
import { resolveJob } from "../../../src/record/jobSpec.js";
import { checkInputs } from "../../../src/pipeline/checkInputs.js";
import { Progress } from "../../../src/util/progress.js";
import { git, initRepo, isolateGitFromUser, tempDir } from "../../helpers/gitSeries.js";

let root: string;
let repo: string;

beforeAll(async () => {
  isolateGitFromUser();
  root = await tempDir("esb-profile-");
  process.env.ESB_CACHE = path.join(root, "cache");
  repo = path.join(root, "linux");
  await initRepo(repo, {
    Makefile: "VERSION = 6\nPATCHLEVEL = 19\nSUBLEVEL = 0\nEXTRAVERSION =\n",
    "fs/erofs/ishare.c": "int v9(void) { return 1; }\n",
  });
  await git(repo, "checkout", "-q", "-b", "my-branch");
  await git(repo, "commit", "-q", "--allow-empty", "-m", "v9 in progress");
  await git(repo, "checkout", "-q", "main");
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("a developer's own tree (--profile)", () => {
  it("benches the branch as it is, with the profile's symbol, image format and mount options, and no mails", async () => {
    const v8 = await loadSeries("v8");
    const spec = treeSpec(v8, "my-branch");
    expect(spec).toMatchObject({
      name: "v8-tree",
      patches: 0,
      base: { kind: "git", ref: "my-branch" },
      symbols: v8.symbols,
      imageProfile: v8.imageProfile,
      shareMountOptions: v8.shareMountOptions,
      fixups: [],
    });
    const tree = await prepareSeriesTree({
      spec,
      kernelSrc: repo,
      exclude: [],
      logDir: root,
      progress: new Progress(true),
    });
    expect(tree.record.apply.method).toBe("none");
    expect(tree.record.baseCommit).toBe(await git(repo, "rev-parse", "my-branch"));
    expect(await readFile(path.join(tree.tree, "fs/erofs/ishare.c"), "utf8")).toContain("v9");
    expect(await git(repo, "rev-parse", "--abbrev-ref", "HEAD")).toBe("main");
  });

  it("checks the tree and its ref before anything is built", async () => {
    const base = {
      series: "mainline",
      workloads: ["synthetic"],
      reps: 1,
      modes: ["off" as const],
      paths: ["read" as const],
    };
    const job = (over: object) => resolveJob({ ...base, ...over }, "test");
    await expect(checkInputs(job({ profile: "v8" }))).rejects.toThrow(
      "--profile benches your own tree: it needs --kernel-src",
    );
    await expect(checkInputs(job({ profile: "v8", kernelSrc: repo, baseRef: "no-such-branch" }))).rejects.toThrow(
      'ref "no-such-branch" not found',
    );
    expect((await checkInputs(job({ profile: "mainline", kernelSrc: repo, baseRef: "my-branch" }))).spec.name).toBe(
      "mainline-tree",
    );
  });
});
