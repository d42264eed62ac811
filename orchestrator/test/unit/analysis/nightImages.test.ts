import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareRuns } from "../../../src/analysis/compareRuns.js";
import { compareCommand } from "../../../src/commands/compare.js";
import { judgeCommand } from "../../../src/commands/judge.js";
import { RunFolder } from "../../../src/pipeline/runFolder.js";
import { NightLineSchema, NightlyVerdictSchema } from "../../../src/record/nightHistory.js";
import type { RunRecord } from "../../../src/record/runRecord.js";
import { renderComparison } from "../../../src/report/comparison.js";
import { renderNight } from "../../../src/report/nightSummary.js";
import { tempDir } from "../../helpers/gitSeries.js";
import { imageRecord, nightRun } from "../../helpers/runRecord.js";

/**
 * A night on images that moved says so and judges nothing it measured on
 * them; a night whose kernel moved on the same images is judged as before.
 */

const rootfs = (suites: string[], pkgs: Record<string, string>) => ({
  tar: "rootfs.tar",
  tarSha256: "5".repeat(64),
  tarBytes: 1,
  suites,
  installed: { "redis-server": pkgs["redis-server"]! },
  packages: pkgs,
  label: pkgs["redis-server"]!,
  mmdebstrap: "mmdebstrap 1.3.5",
  seconds: 1,
});

const A = { "redis-server": "5:7.0.15-1~deb12u7", libc6: "2.36-9+deb12u13", libssl3: "3.0.17-1~deb12u2" };
const B = { "redis-server": "5:7.0.15-1~deb12u10", libc6: "2.36-9+deb12u13", libssl3: "3.0.17-1~deb12u2" };
const B_MOVED = { "redis-server": "5:7.0.15-1~deb12u11", libc6: "2.36-9+deb12u14", libssl3: "3.0.17-1~deb12u2" };

/** A night of the redis job: `imageB` and `bPackages` say what image B was built from; `runtimeOn` and `efficiency` what it measured. */
function night(
  runId: string,
  startedAt: string,
  over: {
    imageB?: string;
    bPackages?: Record<string, string>;
    runtimeOn?: number;
    efficiency?: number;
    release?: string;
  } = {},
): RunRecord {
  const r = nightRun({
    runId,
    startedAt,
    runtimeOn: over.runtimeOn,
    efficiency: over.efficiency,
    release: over.release,
  });
  const w = r.workloads[0]!;
  w.imageB = imageRecord((over.imageB ?? "bb").repeat(32));
  w.rootfs = { a: rootfs(["bookworm"], A), b: rootfs(["bookworm", "bookworm-security"], over.bPackages ?? B) };
  r.lock = {
    file: "/repo/workloads/lock.json",
    sha256: over.imageB === "cc" ? "2".repeat(64) : "1".repeat(64),
    lockedAt: "2026-12-07T21:28:44.412Z",
    erofsUtils: "1.9.4-1",
    workloads: {},
  };
  return r;
}

let dir: string;
beforeAll(async () => {
  dir = await tempDir("esb-night-images-");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function history(name: string, baseline: RunRecord): Promise<string> {
  const h = path.join(dir, name);
  await new RunFolder(path.join(h, baseline.runId), baseline).save();
  await writeFile(
    path.join(h, baseline.runId, "nightly.json"),
    JSON.stringify({ regressions: 0, baseline: null, note: null, comparison: null }),
  );
  return h;
}

async function merged(name: string, run: RunRecord): Promise<string> {
  const d = path.join(dir, name);
  await mkdir(d, { recursive: true });
  await new RunFolder(d, run).save();
  return d;
}

describe("a night where only the images moved", () => {
  it("reports neither a regression nor an improvement, says what moved, and exits 6, not 3", async () => {
    const h = await history("moved", night("n1", "2026-12-07T02:00:00.000Z"));
    // B rebuilt from a moved lock: redis and libc moved, and the figures with them (a drop that would read as a regression)
    const tonight = night("n2", "2026-12-08T02:00:00.000Z", {
      imageB: "cc",
      bPackages: B_MOVED,
      runtimeOn: 28.0,
      efficiency: 80,
    });
    expect(await judgeCommand(await merged("m-moved", tonight), h, undefined, true)).toBe(6);

    const verdict = NightlyVerdictSchema.parse(JSON.parse(await readFile(path.join(h, "n2", "nightly.json"), "utf8")));
    expect(verdict.regressions).toBe(0);
    const rows = verdict.comparison!.rows.filter((r) => r.workload === "redis");
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.verdict === "unjudged")).toBe(true);
    expect(verdict.comparison!.rows.some((r) => r.verdict === "regression" || r.verdict === "improvement")).toBe(false);
    // what would have been said, and why it is not
    expect(rows.find((r) => r.where === "runtime on")?.note).toMatch(
      /^images moved: not judged \(would have been regression\)/,
    );
    expect(verdict.imagesMoved).toEqual([
      "redis B: redis-server 5:7.0.15-1~deb12u10 -> 5:7.0.15-1~deb12u11, libc6 2.36-9+deb12u13 -> 2.36-9+deb12u14",
    ]);
    expect(verdict.bisect).toEqual([]);

    const [line] = (await readFile(path.join(h, "nightly.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => NightLineSchema.parse(JSON.parse(l)));
    expect(line).toMatchObject({ runId: "n2", regressions: 0, imagesMoved: verdict.imagesMoved });
    const text = renderComparison(verdict.comparison!);
    expect(text).toContain("not judged: images moved");
    expect(text).toContain("Images moved: redis B redis-server 5:7.0.15-1~deb12u10 -> 5:7.0.15-1~deb12u11");
    expect(await readFile(path.join(h, "nightly.html"), "utf8")).toContain("images moved: not judged");
  });

  it("does not call sides that converged an improvement either", () => {
    const base = night("n1", "2026-12-07T02:00:00.000Z", { runtimeOn: 20 });
    const cur = night("n2", "2026-12-08T02:00:00.000Z", { imageB: "cc", bPackages: A, runtimeOn: 45 });
    const cmp = compareRuns(base, cur, { baseline: "/h/n1", current: "/h/n2" });
    expect(cmp.rows.filter((r) => r.verdict === "improvement")).toEqual([]);
    expect(cmp.imagesMoved).toEqual([
      { workload: "redis", side: "B", detail: "redis-server 5:7.0.15-1~deb12u10 -> 5:7.0.15-1~deb12u7" },
    ]);
  });

  it("names the image's own inputs when the packages are the same", () => {
    const cur = night("n2", "2026-12-08T02:00:00.000Z", { imageB: "cc" });
    const cmp = compareRuns(night("n1", "2026-12-07T02:00:00.000Z"), cur, { baseline: "/h/n1", current: "/h/n2" });
    expect(cmp.imagesMoved[0]?.detail).toMatch(/^image bbbbbbbbbbbb -> cccccccccccc \(same packages/);
  });
});

describe("a night where the kernel changed on the same images", () => {
  it("still reports the regression, and exits 3", async () => {
    const h = await history("kernel", night("n1", "2026-12-07T02:00:00.000Z"));
    const tonight = night("n2", "2026-12-08T02:00:00.000Z", { runtimeOn: 28.0, release: "7.3.5" });
    expect(await judgeCommand(await merged("m-kernel", tonight), h, undefined, true)).toBe(3);
    const verdict = NightlyVerdictSchema.parse(JSON.parse(await readFile(path.join(h, "n2", "nightly.json"), "utf8")));
    expect(verdict.regressions).toBe(1);
    expect(verdict.imagesMoved).toEqual([]);
    expect(renderComparison(verdict.comparison!)).toContain("Images: same");
  });
});

describe("compare", () => {
  it("says whether the images are the same before any figure", async () => {
    const a = await merged("c-a", night("n1", "2026-12-07T02:00:00.000Z"));
    const b = await merged("c-b", night("n2", "2026-12-08T02:00:00.000Z", { imageB: "cc", bPackages: B_MOVED }));
    expect(await compareCommand([a, b], true)).toBe(6);
    expect(await compareCommand([a, a], true)).toBe(0);
  });

  it("puts the moved images into the night's summary", () => {
    const text = renderNight({
      night: "N",
      matrix: "nightly.yaml",
      startedAt: "s",
      finishedAt: "f",
      regressions: 0,
      exitStatus: 6,
      jobs: [
        {
          job: "mainline",
          status: "complete",
          regressions: 0,
          failedBoots: 0,
          baseline: "n1",
          imagesMoved: ["redis B: redis-server 1 -> 2"],
        },
      ],
    });
    expect(text).toContain("- mainline: redis B: redis-server 1 -> 2");
  });
});
