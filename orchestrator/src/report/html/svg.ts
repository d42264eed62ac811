import { esc, isNum } from "./escape.js";

/**
 * What the SVG charts of the HTML reports share (barChart.ts, lineChart.ts):
 * colours, the value scale, the chart's head and legend. Sizes are viewBox
 * units, so a chart scales with the width the page gives it; missing values
 * (undefined, null, NaN) are drawn as "n/a" or as a gap, never as a
 * coordinate.
 */

/** Colours by meaning (Okabe-Ito, readable with colour-blindness and in greyscale print by position and label). */
export const TONES = {
  off: "#0072B2",
  on: "#009E73",
  split: "#E69F00",
  neutral: "#7A7A7A",
  bad: "#D55E00",
  extra: "#CC79A7",
} as const;
export type Tone = keyof typeof TONES;

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="13"';
/** Approximate advance of one character at the chart font size (for layout only). */
export const CH = 7.4;
export const INK = "#1f2328";
export const MUTED = "#57606a";
export const GRID = "#d0d7de";

/** A coordinate rounded for the markup; anything not finite is clamped to 0 so no NaN reaches the output. */
export function c(v: number): string {
  return isNum(v) ? String(Math.round(v * 10) / 10) : "0";
}

function idOf(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, "_") || "chart";
}

interface Scale {
  lo: number;
  hi: number;
  step: number;
  ticks: number[];
  decimals: number;
}

/** Round tick steps (1, 2, 2.5, 5 x 10^k) covering [lo, hi]. */
export function niceScale(lo: number, hi: number, count = 5): Scale {
  if (!isNum(lo) || !isNum(hi)) [lo, hi] = [0, 1];
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    [lo, hi] = [lo >= 0 ? Math.max(0, lo - pad) : lo - pad, hi + pad];
  }
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const start = Math.floor(lo / step + 1e-9) * step;
  const end = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let t = start; t <= end + step / 2; t += step) ticks.push(Math.abs(t) < step / 1e6 ? 0 : t);
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9) + (step / mag === 2.5 ? 1 : 0));
  return { lo: start, hi: end, step, ticks, decimals };
}

export function svgHead(id: string, width: number, height: number, title: string, desc: string): string {
  const i = idOf(id);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${c(width)} ${c(height)}" width="${c(width)}" height="${c(height)}" ` +
    `role="img" aria-labelledby="${i}-title ${i}-desc" ${FONT} style="max-width:${c(width * 1.2)}px">` +
    `<title id="${i}-title">${esc(title)}</title><desc id="${i}-desc">${esc(desc)}</desc>`
  );
}

export function legend(
  items: Array<{ label: string; tone?: Tone; marker?: "reference" | "regression" | "change" }>,
  width: number,
): { svg: string; height: number } {
  if (!items.length) return { svg: "", height: 0 };
  let x = 0;
  let y = 12;
  const parts: string[] = [];
  for (const it of items) {
    const w = 22 + it.label.length * CH + 14;
    if (x > 0 && x + w > width) {
      x = 0;
      y += 18;
    }
    if (it.marker === "reference") {
      parts.push(
        `<line x1="${c(x + 7)}" y1="${c(y - 8)}" x2="${c(x + 7)}" y2="${c(y + 4)}" stroke="${INK}" stroke-width="2.5"/>`,
      );
    } else if (it.marker === "regression") {
      parts.push(
        `<circle cx="${c(x + 7)}" cy="${c(y - 2)}" r="6" fill="${TONES.bad}"/><text x="${c(x + 7)}" y="${c(y + 2)}" text-anchor="middle" font-size="10" font-weight="700" fill="#fff">!</text>`,
      );
    } else if (it.marker === "change") {
      parts.push(
        `<line x1="${c(x + 7)}" y1="${c(y - 8)}" x2="${c(x + 7)}" y2="${c(y + 4)}" stroke="${MUTED}" stroke-width="1.5" stroke-dasharray="3 2"/>`,
      );
    } else {
      parts.push(
        `<rect x="${c(x)}" y="${c(y - 9)}" width="14" height="12" rx="2" fill="${TONES[it.tone ?? "neutral"]}"/>`,
      );
    }
    parts.push(`<text x="${c(x + 20)}" y="${c(y + 2)}" fill="${INK}">${esc(it.label)}</text>`);
    x += w;
  }
  return { svg: `<g class="legend">${parts.join("")}</g>`, height: y + 10 };
}
