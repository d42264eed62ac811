import { esc, isNum } from "./escape.js";
import { c, CH, GRID, INK, legend, MUTED, niceScale, svgHead, TONES, type Tone } from "./svg.js";

export interface Bar {
  label: string;
  value: number | null | undefined;
  /** Drawn as a dark tick across the bar (e.g. the expected value). */
  reference?: number | null;
  tone?: Tone;
}

export interface BarGroup {
  label: string;
  bars: Bar[];
}

export interface BarChartSpec {
  /** Unique within the page: the title and desc ids derive from it. */
  id: string;
  title: string;
  desc: string;
  /** Axis title, e.g. "MiB". */
  unit: string;
  groups: BarGroup[];
  /** Legend entries for the tones used, in order. */
  legend?: Array<{ label: string; tone: Tone }>;
  /** Legend text of the reference tick; shown when a bar has one. */
  referenceLabel?: string;
  decimals?: number;
  /** viewBox width; 400 stays legible in a phone-width column. */
  width?: number;
}

/** Longest label drawn left of the bars; longer ones go on their own line above the bar. */
const MAX_SIDE_LABEL = 130;

/** Horizontal bars, one row per bar, grouped under a group label; value printed at the bar's end. */
export function barChart(spec: BarChartSpec): string {
  const width = spec.width ?? 400;
  const decimals = spec.decimals ?? 1;
  const longest = Math.max(3, ...spec.groups.flatMap((g) => g.bars.map((b) => b.label.length))) * CH;
  const above = longest > MAX_SIDE_LABEL;
  const labelW = above ? 2 : 10 + longest;
  const valueW =
    8 +
    Math.max(
      3,
      ...spec.groups.flatMap((g) => g.bars.map((b) => (isNum(b.value) ? b.value.toFixed(decimals).length : 3))),
    ) *
      CH;
  const barH = 16;
  const rowH = above ? 38 : 22;
  const groupLabelH = spec.groups.some((g) => g.label) ? 20 : 0;
  const groupGap = 10;

  const all = spec.groups.flatMap((g) => g.bars.flatMap((b) => [b.value, b.reference])).filter(isNum);
  const scale = niceScale(Math.min(0, ...all), Math.max(0, ...all, all.length ? -Infinity : 1));
  const x0 = labelW;
  const x1 = width - valueW;
  const x = (v: number) => x0 + ((v - scale.lo) / (scale.hi - scale.lo)) * (x1 - x0);

  const leg = legend(
    [
      ...(spec.legend ?? []),
      ...(spec.referenceLabel && spec.groups.some((g) => g.bars.some((b) => isNum(b.reference)))
        ? [{ label: spec.referenceLabel, marker: "reference" as const }]
        : []),
    ],
    width,
  );
  let y = leg.height ? leg.height + 8 : 4;
  const body: string[] = [];
  /** Vertical extents of the bar rows: grid lines run there and not through group labels. */
  const spans: Array<[number, number]> = [];
  for (const g of spec.groups) {
    if (g.label) body.push(`<text x="0" y="${c(y + 14)}" font-weight="600" fill="${INK}">${esc(g.label)}</text>`);
    y += groupLabelH;
    const spanTop = y;
    for (const b of g.bars) {
      if (above) {
        body.push(`<text x="${c(x0)}" y="${c(y + 13)}" fill="${INK}">${esc(b.label)}</text>`);
        y += 18;
        // grid lines stop short of a label line
        spans.push([y - 3, y + barH + 3]);
      }
      const mid = y + barH / 2;
      if (!above)
        body.push(
          `<text x="${c(labelW - 6)}" y="${c(mid + 4.5)}" text-anchor="end" fill="${INK}">${esc(b.label)}</text>`,
        );
      if (isNum(b.value)) {
        const a = x(Math.min(0, b.value));
        const e = x(Math.max(0, b.value));
        const text = b.value.toFixed(decimals);
        body.push(
          `<rect x="${c(a)}" y="${c(y)}" width="${c(Math.max(0.5, e - a))}" height="${barH}" rx="2" fill="${TONES[b.tone ?? "neutral"]}">` +
            `<title>${esc(`${g.label ? `${g.label}, ` : ""}${b.label}: ${text} ${spec.unit}`)}</title></rect>`,
        );
        // the value sits past whatever ends further right: the bar, the reference tick, or zero for a negative bar
        const right = Math.max(e, isNum(b.reference) ? x(b.reference) : -Infinity);
        body.push(`<text x="${c(right + 5)}" y="${c(mid + 4.5)}" fill="${INK}">${esc(text)}</text>`);
      } else {
        body.push(`<text x="${c(x(0) + 4)}" y="${c(mid + 4.5)}" fill="${MUTED}" font-style="italic">n/a</text>`);
      }
      if (isNum(b.reference)) {
        const rx = x(b.reference);
        body.push(
          `<line x1="${c(rx)}" y1="${c(y - 3)}" x2="${c(rx)}" y2="${c(y + barH + 3)}" stroke="${INK}" stroke-width="2.5">` +
            `<title>${esc(`${spec.referenceLabel ?? "reference"}: ${b.reference.toFixed(decimals)} ${spec.unit}`)}</title></line>`,
        );
      }
      y += above ? rowH - 18 : rowH;
    }
    if (!above) spans.push([spanTop - 2, y - rowH + barH + 3]);
    y += groupGap;
  }
  const bottom = y - groupGap + 2;
  const grid: string[] = [];
  for (const t of scale.ticks) {
    const tx = x(t);
    for (const [a, b] of spans)
      grid.push(
        `<line x1="${c(tx)}" y1="${c(a)}" x2="${c(tx)}" y2="${c(b)}" stroke="${t === 0 ? MUTED : GRID}" stroke-width="1"/>`,
      );
    grid.push(`<line x1="${c(tx)}" y1="${c(bottom)}" x2="${c(tx)}" y2="${c(bottom + 4)}" stroke="${MUTED}"/>`);
    grid.push(
      `<text x="${c(tx)}" y="${c(bottom + 17)}" text-anchor="middle" fill="${MUTED}">${esc(t.toFixed(scale.decimals))}</text>`,
    );
  }
  grid.push(`<line x1="${c(x0)}" y1="${c(bottom)}" x2="${c(x1)}" y2="${c(bottom)}" stroke="${MUTED}"/>`);
  grid.push(
    `<text x="${c((x0 + x1) / 2)}" y="${c(bottom + 34)}" text-anchor="middle" fill="${MUTED}">${esc(spec.unit)}</text>`,
  );
  const height = bottom + 42;
  return (
    svgHead(spec.id, width, height, spec.title, spec.desc) +
    leg.svg +
    `<g class="grid">${grid.join("")}</g>` +
    `<g class="bars">${body.join("")}</g></svg>`
  );
}
