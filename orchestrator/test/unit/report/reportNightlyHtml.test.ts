import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadNightEntries, type NightEntry } from "../../../src/report/html/nightEntries.js";
import { renderNightlyHtml } from "../../../src/report/html/nightlyPage.js";
import { at, EVIL, EVIL_ESCAPED, selfContained } from "../../helpers/html.js";
import { writeHistory } from "../../helpers/nightFixture.js";

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("nightly.html", () => {
  it("loads every night of a history folder, passing over what it cannot read with a note", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "esb-nightly-html-"));
    const ids = await writeHistory(
      dir,
      [
        { day: 0 },
        { day: 1, kernelRelease: "7.3.5", efficiency: (w, p) => (w === "redis" && p === "mmap" ? 0.5 : undefined) },
        { day: 2, redisImageSha: "e" },
      ],
      { pages: true },
    );
    await mkdir(path.join(dir, "garbage"));
    await writeFile(path.join(dir, "garbage", "run.json"), "{ not json");
    await mkdir(path.join(dir, "empty"));
    await mkdir(path.join(dir, "other"));
    await writeFile(path.join(dir, "other", "run.json"), JSON.stringify({ schema: 1, runId: "old" }));
    const { nights, notes } = await loadNightEntries(dir);
    expect(nights.map((n) => n.runId)).toEqual(ids);
    // a folder without run.json is not a night and goes unmentioned
    expect(notes).toHaveLength(2);
    expect(notes.find((n) => n.startsWith("garbage:"))).toMatch(/^garbage: skipped: .*run\.json is not JSON/);
    expect(notes.find((n) => n.startsWith("other:"))).toMatch(
      /^other: skipped: .*run record schema 1, written by an older erofs-share-bench/,
    );
    const [n0, n1, n2] = nights as [NightEntry, NightEntry, NightEntry];
    expect(n0.regressions).toBe(0);
    expect(n0.baseline).toBeNull();
    expect(n0.comparison).toBeNull();
    expect(n1.regressions).toBe(1);
    expect(n1.baseline).toBe(ids[0]);
    expect(n1.regressed).toEqual([
      { workload: "redis", where: "read-all mmap", metric: "sharing efficiency (measured / expected reduction)" },
    ]);
    expect(n1.kernelRelease).toBe("7.3.5");
    expect(n1.report).toBe(`${ids[1]}/report.html`);
    expect(n1.comparison).toBe(`${ids[1]}/comparison.html`);
    // a regression never becomes the next night's baseline
    expect(n2.baseline).toBe(ids[0]);
    expect(n2.images.redis).not.toBe(n1.images.redis);
    const c = n1.cells.find((x) => x.workload === "redis" && x.path === "mmap")!;
    expect(c.efficiencyPct).toBeGreaterThan(40);
    expect(c.efficiencyPct).toBeLessThan(60);
    expect(c.offMiB).toBeGreaterThan(c.onMiB!);
    expect(n1.runtime.map((r) => r.mode)).toEqual(["on", "split"]);

    const html = renderNightlyHtml(nights, { notes });
    selfContained(html);
    // 2 charts per (workload, path) and one runtime chart for redis
    expect(html.match(/<svg /g)).toHaveLength(2 * 3 * 2 + 1);
    // the regression is marked on redis mmap (efficiency and page cache) and links to that night's comparison
    expect(html.match(new RegExp(`<a href="${ids[1]}/comparison.html" class="mark">`, "g"))).toHaveLength(2);
    at(
      html,
      `<title>${ids[1]}: redis read-all mmap: sharing efficiency (measured / expected reduction) (open the night&#39;s verdict)</title>`,
    );
    // the kernel change is on every chart, the image change on redis' only
    expect(html.match(/<title>1: kernel: 7\.3\.4 → 7\.3\.5<\/title>/g)).toHaveLength(13);
    expect(html.match(/<title>2: redis images: /g)).toHaveLength(7);
    at(html, "<h2>Input changes</h2>");
    at(html, "Skipped while loading");
    at(html, "garbage: skipped");
  });

  it("escapes names from the history and survives missing figures", () => {
    const night = (i: number, extra: Partial<NightEntry> = {}): NightEntry => ({
      folder: `${EVIL}${i}`,
      runId: `${EVIL}${i}`,
      startedAt: `2026-02-0${i + 1}T02:00:00.000Z`,
      status: "complete",
      regressions: 0,
      regressed: [],
      baseline: null,
      kernelRelease: EVIL,
      mkfsVersion: null,
      images: { [EVIL]: `v${i}` },
      cells: [{ workload: EVIL, path: "read", efficiencyPct: i ? null : 90, offMiB: null, onMiB: 50 }],
      runtime: [{ workload: EVIL, mode: "on", reductionPct: null }],
      ...extra,
    });
    const html = renderNightlyHtml([
      night(0),
      night(1, {
        regressions: 1,
        regressed: [{ workload: EVIL, where: "read-all read", metric: EVIL }],
        report: null,
        comparison: null,
      }),
    ]);
    selfContained(html);
    expect(html).not.toContain("<script");
    expect(html).toContain(EVIL_ESCAPED);
    // nothing to link: the mark is drawn, not linked
    expect(html).toContain(`<g class="mark">`);
    // a folder name cannot hold "/"; the rest is percent-encoded
    expect(html).toContain(`href="%3Cscript%3Ealert(%22x%22)%3C/script%3E0/report.html"`);
    expect(renderNightlyHtml([])).toContain("No nights in this history folder yet.");
  });
});
