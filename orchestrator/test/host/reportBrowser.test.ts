import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadNightEntries } from "../../src/report/html/nightEntries.js";
import { renderNightlyHtml } from "../../src/report/html/nightlyPage.js";
import { renderRunHtml } from "../../src/report/html/runPage.js";
import { TONES } from "../../src/report/html/svg.js";
import { Chromium, findChromium, type PageShot } from "../helpers/chromium.js";
import { needHost } from "../helpers/host.js";
import { writeHistory } from "../helpers/nightFixture.js";
import { decodePng, imageStats } from "../helpers/png.js";
import { fixtureRun } from "../helpers/runFixture.js";

/**
 * The HTML reports as a person sees them: rendered by headless Chromium
 * (Debian package `chromium`, installed like any host tool) at a desktop
 * and a phone width. The page must draw something (not one colour; the
 * charts' colours are on it), log no console error, request nothing but its
 * own files, and never be wider than the window (wide tables scroll inside
 * their own region).
 *
 * Screenshots go to $ESB_SCREENSHOTS when set (to look at them), otherwise
 * to a temporary folder removed afterwards.
 */
describe("HTML reports in headless Chromium", () => {
  let browser: Chromium;
  let dir: string;

  beforeAll(async () => {
    await needHost("browser");
    dir = process.env.ESB_SCREENSHOTS
      ? path.resolve(process.env.ESB_SCREENSHOTS)
      : await mkdtemp(path.join(os.tmpdir(), "esb-html-"));
    await mkdir(dir, { recursive: true });
    browser = await Chromium.launch(findChromium());
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    if (!process.env.ESB_SCREENSHOTS && dir) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  async function shoot(file: string, width: number, name: string): Promise<PageShot> {
    const shot = await browser.shoot(pathToFileURL(file).href, width);
    await writeFile(path.join(dir, name), shot.png);
    return shot;
  }

  function expectReadable(shot: PageShot, width: number, colours: string[]): void {
    expect(shot.problems).toEqual([]);
    // self-contained: the page itself is the only request
    expect(shot.requests.filter((u) => !u.startsWith("file:"))).toEqual([]);
    expect(shot.layout.viewportWidth).toBe(width);
    expect(shot.layout.scrollWidth).toBeLessThanOrEqual(width);
    expect(shot.layout.widestChart).toBeLessThanOrEqual(width);
    const img = decodePng(shot.png);
    expect(img.width).toBe(width);
    const stats = imageStats(img, colours);
    expect(stats.colours).toBeGreaterThan(50);
    expect(stats.inkFraction).toBeGreaterThan(0.03);
    for (const c of colours) expect(stats.counts[c], `pixels of ${c}`).toBeGreaterThan(200);
  }

  it("report.html of a run with two workloads, a runtime phase, a failed boot and warnings", async () => {
    const file = path.join(dir, "report.html");
    await writeFile(file, renderRunHtml(fixtureRun()));
    for (const width of [1200, 400]) {
      const shot = await shoot(file, width, `report-${width}.png`);
      // one chart for the efficiencies, one per workload, redis' gap to 100%, memory and throughput of the runtime phase
      expect(shot.layout.charts).toBe(6);
      expectReadable(shot, width, [TONES.off, TONES.on, TONES.split]);
    }
  }, 120_000);

  it("nightly.html of a two-night history with a regression and a kernel change, and the night's comparison.html", async () => {
    const history = path.join(dir, "history");
    await rm(history, { recursive: true, force: true });
    const ids = await writeHistory(
      history,
      [
        { day: 0 },
        { day: 1, kernelRelease: "7.3.5", efficiency: (w, p) => (w === "redis" && p === "mmap" ? 0.5 : undefined) },
      ],
      { pages: true },
    );
    const { nights, notes } = await loadNightEntries(history);
    expect(notes).toEqual([]);
    const file = path.join(history, "nightly.html");
    await writeFile(file, renderNightlyHtml(nights, { notes }));
    for (const width of [1200, 400]) {
      const shot = await shoot(file, width, `nightly-${width}.png`);
      // per workload: efficiency and page cache for 3 paths, plus runtime for redis
      expect(shot.layout.charts).toBe(6 + 7);
      expectReadable(shot, width, [TONES.off, TONES.on]);
      const cmp = await shoot(path.join(history, ids[1]!, "comparison.html"), width, `comparison-${width}.png`);
      expect(cmp.layout.charts).toBe(1);
      expectReadable(cmp, width, [TONES.neutral, TONES.on]);
    }
  }, 120_000);
});
