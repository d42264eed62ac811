import { describe, expect, it } from "vitest";
import { barChart, type BarChartSpec } from "../../../src/report/html/barChart.js";
import { esc, fixed, urlPath } from "../../../src/report/html/escape.js";
import { signed, when } from "../../../src/report/html/figures.js";
import { lineChart } from "../../../src/report/html/lineChart.js";
import { niceScale, TONES } from "../../../src/report/html/svg.js";

/** Rectangles drawn as bars (they carry a <title>), with their geometry. */
function bars(svg: string): Array<{ x: number; width: number; fill: string; title: string }> {
  return [
    ...svg.matchAll(
      /<rect x="([\d.-]+)" y="[\d.-]+" width="([\d.-]+)" height="16" rx="2" fill="(#[0-9A-Fa-f]{6})"><title>([^<]*)<\/title><\/rect>/g,
    ),
  ].map((m) => ({
    x: Number(m[1]),
    width: Number(m[2]),
    fill: m[3]!,
    title: m[4]!,
  }));
}

function wellFormed(svg: string): void {
  expect(svg.startsWith("<svg ")).toBe(true);
  expect(svg.endsWith("</svg>")).toBe(true);
  for (const tag of ["svg", "g", "text", "title", "desc", "rect", "a"]) {
    // opening tags that are not self-closing
    const open = svg.match(new RegExp(`<${tag}(?:\\s[^>]*)?(?<!/)>`, "g"))?.length ?? 0;
    const close = svg.match(new RegExp(`</${tag}>`, "g"))?.length ?? 0;
    expect(close, `<${tag}> opened ${open}, closed ${close}`).toBe(open);
  }
  expect(svg).not.toMatch(/NaN|Infinity|undefined|null/);
}

const pageCache: BarChartSpec = {
  id: "redis-readall",
  title: "redis: page cache after A+B",
  desc: "off, on and split per access path",
  unit: "MiB",
  legend: [
    { label: "off", tone: "off" },
    { label: "on", tone: "on" },
    { label: "split", tone: "split" },
  ],
  referenceLabel: "expected",
  groups: [
    {
      label: "read(2)",
      bars: [
        { label: "off", value: 240, reference: 240, tone: "off" },
        { label: "on", value: 160, reference: 146, tone: "on" },
        { label: "split", value: 236, reference: 236, tone: "split" },
      ],
    },
    {
      label: "mmap",
      bars: [
        { label: "off", value: 120, tone: "off" },
        { label: "on", value: 60, tone: "on" },
      ],
    },
  ],
};

describe("niceScale", () => {
  it("covers the data with round steps", () => {
    const s = niceScale(0, 241);
    expect(s.lo).toBe(0);
    expect(s.hi).toBeGreaterThanOrEqual(241);
    expect(s.ticks[0]).toBe(0);
    expect(s.ticks[s.ticks.length - 1]).toBe(s.hi);
    expect([1, 2, 2.5, 5].map((m) => m * 10 ** Math.floor(Math.log10(s.step)))).toContain(s.step);
  });

  it("survives a flat or empty range", () => {
    for (const [lo, hi] of [
      [0, 0],
      [5, 5],
      [NaN, NaN],
      [-3, -3],
    ]) {
      const s = niceScale(lo!, hi!);
      expect(s.hi).toBeGreaterThan(s.lo);
      expect(s.ticks.every(Number.isFinite)).toBe(true);
    }
  });
});

describe("barChart", () => {
  it("draws bars whose lengths are proportional to the values, from one zero", () => {
    const svg = barChart(pageCache);
    wellFormed(svg);
    const b = bars(svg);
    expect(b).toHaveLength(5);
    expect(new Set(b.map((x) => x.x)).size).toBe(1);
    const [off, on, split, mOff, mOn] = b;
    expect(on!.width / off!.width).toBeCloseTo(160 / 240, 2);
    expect(split!.width / off!.width).toBeCloseTo(236 / 240, 2);
    expect(mOn!.width / mOff!.width).toBeCloseTo(0.5, 2);
    expect(off!.fill).toBe(TONES.off);
    expect(on!.fill).toBe(TONES.on);
    expect(split!.fill).toBe(TONES.split);
  });

  it("labels groups, bars, values, the axis and the legend, and is titled for screen readers", () => {
    const svg = barChart(pageCache);
    for (const text of [
      ">read(2)<",
      ">mmap<",
      ">off<",
      ">on<",
      ">split<",
      ">240.0<",
      ">160.0<",
      ">60.0<",
      ">MiB<",
      ">expected<",
    ])
      expect(svg).toContain(text);
    expect(svg).toContain('role="img"');
    expect(svg).toContain('aria-labelledby="redis-readall-title redis-readall-desc"');
    expect(svg).toContain('<title id="redis-readall-title">redis: page cache after A+B</title>');
    expect(svg).toContain('<desc id="redis-readall-desc">off, on and split per access path</desc>');
    // one reference tick per bar that has one
    expect(svg.match(/stroke-width="2.5"><title>expected: /g)).toHaveLength(3);
    expect(svg).toMatch(/viewBox="0 0 400 \d+(\.\d)?"/);
  });

  it("writes n/a for a missing value and never a NaN, whatever is missing", () => {
    const svg = barChart({
      ...pageCache,
      groups: [
        {
          label: "read",
          bars: [
            { label: "off", value: 100 },
            { label: "on", value: undefined, reference: NaN },
            { label: "split", value: null, reference: null },
            { label: "x", value: NaN },
          ],
        },
      ],
    });
    wellFormed(svg);
    expect(bars(svg)).toHaveLength(1);
    expect(svg.match(/>n\/a</g)).toHaveLength(3);
    const none = barChart({ ...pageCache, groups: [{ label: "g", bars: [{ label: "a", value: undefined }] }] });
    wellFormed(none);
    expect(barChart({ ...pageCache, groups: [] })).not.toMatch(/NaN|Infinity/);
  });

  it("draws negative values left of zero", () => {
    const svg = barChart({
      id: "t",
      title: "t",
      desc: "d",
      unit: "%",
      groups: [
        {
          label: "",
          bars: [
            { label: "on", value: -3 },
            { label: "split", value: 1 },
          ],
        },
      ],
    });
    wellFormed(svg);
    const [neg, pos] = bars(svg);
    expect(neg!.x + neg!.width).toBeCloseTo(pos!.x, 0);
    expect(neg!.width / pos!.width).toBeCloseTo(3, 1);
  });

  it("escapes every label and title", () => {
    const evil = `<script>alert("x")</script>&`;
    const svg = barChart({
      id: `"><x`,
      title: evil,
      desc: evil,
      unit: evil,
      groups: [{ label: evil, bars: [{ label: evil, value: 1 }] }],
      legend: [{ label: evil, tone: "on" }],
    });
    wellFormed(svg);
    expect(svg).not.toContain("<script");
    expect(svg).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;");
    expect(svg).toContain('id="___x-title"');
  });
});

describe("lineChart", () => {
  const x = ["01-10", "01-11", "01-12", "01-13", "01-14"];

  it("draws one path per series, breaking it at a missing night, and a point per value", () => {
    const svg = lineChart({
      id: "eff",
      title: "efficiency",
      desc: "per night",
      unit: "%",
      x,
      series: [
        { label: "on", values: [80, 81, null, 79, 60], tone: "on" },
        { label: "split", values: [undefined, undefined, undefined, undefined, undefined] },
      ],
    });
    wellFormed(svg);
    const paths = [...svg.matchAll(/<path d="([^"]+)"/g)].map((m) => m[1]!);
    expect(paths).toHaveLength(1);
    expect(paths[0]!.match(/M/g)).toHaveLength(2);
    expect(svg.match(/<circle [^>]*r="3.2"/g)).toHaveLength(4);
    expect(svg).toContain("<title>on, 01-14: 60.0 %</title>");
    // lower values are lower on the page
    const ys = [...svg.matchAll(/<circle cx="[\d.]+" cy="([\d.]+)" r="3.2"/g)].map((m) => Number(m[1]));
    expect(ys[2]).toBeLessThan(ys[3]!);
  });

  it("marks regressions with an escaped link and numbers the input changes", () => {
    const svg = lineChart({
      id: "eff",
      title: "t",
      desc: "d",
      unit: "%",
      x,
      series: [{ label: "on", values: [80, 81, 82, 79, 60] }],
      marks: [{ index: 4, label: "night 5: efficiency <dropped>", href: urlPath("2026 01 14?x", "report.html") }],
      annotations: [
        { index: 2, label: "kernel: 6.15-rc3 → 6.15-rc4", tag: "1" },
        { index: 0, label: "ignored: nothing before night 1" },
      ],
    });
    wellFormed(svg);
    expect(svg).toContain(
      '<a href="2026%2001%2014%3Fx/report.html" class="mark"><title>night 5: efficiency &lt;dropped&gt;</title>',
    );
    expect(svg).toContain("<title>1: kernel: 6.15-rc3 → 6.15-rc4</title>");
    expect(svg.match(/class="change"/g)).toHaveLength(1);
    expect(svg).toContain(">regression<");
    expect(svg).toContain(">input changed<");
  });

  it("stays well formed for one night, no values, and a flat line", () => {
    wellFormed(
      lineChart({
        id: "a",
        title: "t",
        desc: "d",
        unit: "MiB",
        x: ["01-10"],
        series: [{ label: "off", values: [100] }],
      }),
    );
    wellFormed(
      lineChart({ id: "b", title: "t", desc: "d", unit: "MiB", x: [], series: [{ label: "off", values: [] }] }),
    );
    wellFormed(
      lineChart({
        id: "c",
        title: "t",
        desc: "d",
        unit: "MiB",
        x,
        series: [{ label: "off", values: [null, NaN, undefined, null, null] }],
      }),
    );
    const flat = lineChart({
      id: "d",
      title: "t",
      desc: "d",
      unit: "%",
      x,
      series: [{ label: "on", values: [50, 50, 50, 50, 50] }],
      minSpan: 10,
    });
    wellFormed(flat);
    expect(flat).toContain(">45.0<");
    expect(flat).toContain(">55.0<");
  });

  it("never lets x labels overlap", () => {
    const many = Array.from({ length: 60 }, (_, i) => `01-${String(i + 1).padStart(2, "0")} 02:00`);
    const svg = lineChart({
      id: "m",
      title: "t",
      desc: "d",
      unit: "%",
      x: many,
      series: [{ label: "on", values: many.map((_, i) => 80 + (i % 3)) }],
    });
    wellFormed(svg);
    const labels = [
      ...svg.matchAll(/<text x="([\d.]+)" y="[\d.]+" text-anchor="(start|middle|end)" fill="#57606a">01-/g),
    ].map((m) => Number(m[1]));
    expect(labels.length).toBeGreaterThanOrEqual(2);
    expect(labels.length).toBeLessThan(10);
    expect(svg).toContain(">01-01 02:00<");
    expect(svg).toContain(">01-60 02:00<");
  });
});

describe("esc", () => {
  it("escapes the five HTML specials, and stringifies anything", () => {
    expect(esc(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    expect(esc(undefined)).toBe("");
    expect(esc(3)).toBe("3");
  });
});

describe("numbers and times on the pages", () => {
  it("never prints -0.0, and signs only what is not zero", () => {
    expect(fixed(-0.04, 1)).toBe("0.0");
    expect(fixed(-0.05, 1)).toBe("-0.1");
    expect(fixed(-0.4, 0)).toBe("0");
    expect([signed(0.04), signed(-0.04), signed(1.25), signed(-3), signed(NaN)]).toEqual([
      "0.0",
      "0.0",
      "+1.3",
      "-3.0",
      "n/a",
    ]);
  });

  it("writes an ISO time as date, time and UTC", () => {
    expect(when("2026-11-23T04:23:41.685Z")).toBe("2026-11-23 04:23:41 UTC");
    expect(when("yesterday")).toBe("yesterday");
  });
});
