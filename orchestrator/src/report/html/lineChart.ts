import { esc, isNum } from "./escape.js";
import { c, CH, GRID, INK, legend, MUTED, niceScale, svgHead, TONES, type Tone } from "./svg.js";

interface LineSeries {
  label: string;
  values: Array<number | null | undefined>;
  tone?: Tone;
}

/** A point flagged on every series at `index`, e.g. a regression, optionally linked. */
export interface PointMark {
  index: number;
  label: string;
  /** A URL (not yet HTML-escaped), e.g. from urlPath. */
  href?: string;
}

/** A change between point index-1 and index (an input changed), shown as a dashed line with a short tag. */
export interface XAnnotation {
  index: number;
  label: string;
  /** What the box on the line says (1, 2, ...); defaults to the position in the list, from 1. */
  tag?: string;
}

interface LineChartSpec {
  id: string;
  title: string;
  desc: string;
  unit: string;
  /** One label per point, in order (dates of nights). */
  x: string[];
  series: LineSeries[];
  marks?: PointMark[];
  annotations?: XAnnotation[];
  /** Keep 0 inside the value axis (percentages of a whole). */
  includeZero?: boolean;
  /** The value axis spans at least this much (so noise on a flat line stays small); default a tenth of the largest value, at least 1. */
  minSpan?: number;
  decimals?: number;
  width?: number;
  height?: number;
}

/** Values over an ordinal axis; missing values leave a gap in the line. */
export function lineChart(spec: LineChartSpec): string {
  const width = spec.width ?? 420;
  const plotH = spec.height ?? 150;
  const decimals = spec.decimals ?? 1;
  const n = spec.x.length;
  const marks = (spec.marks ?? []).filter((m) => m.index >= 0 && m.index < n);
  const notes = (spec.annotations ?? []).filter((a) => a.index > 0 && a.index < n);

  const leg = legend(
    [
      ...spec.series.map((s) => ({ label: s.label, tone: s.tone })),
      ...(marks.length ? [{ label: "regression", marker: "regression" as const }] : []),
      ...(notes.length ? [{ label: "input changed", marker: "change" as const }] : []),
    ],
    width,
  );
  const all = spec.series.flatMap((s) => s.values).filter(isNum);
  let lo = Math.min(...all, spec.includeZero ? 0 : Infinity);
  let hi = Math.max(...all, spec.includeZero ? 0 : -Infinity);
  if (!all.length) [lo, hi] = [0, 1];
  // a flat line stays a flat line: the axis spans at least a tenth of the value (or 1)
  const minSpan = spec.minSpan ?? Math.max(Math.abs(hi) * 0.1, 1);
  if (hi - lo < minSpan) {
    const mid = (hi + lo) / 2;
    [lo, hi] = [mid - minSpan / 2, mid + minSpan / 2];
    if (spec.includeZero || (all.length && Math.min(...all) >= 0)) lo = Math.max(lo, Math.min(0, ...all));
  }
  const scale = niceScale(lo, hi, 4);
  const left = 10 + Math.max(...scale.ticks.map((t) => t.toFixed(scale.decimals).length)) * CH;
  const right = 14;
  const top = leg.height + 18;
  const bottom = top + plotH;
  const px = (i: number) => (n <= 1 ? (left + width - right) / 2 : left + (i * (width - right - left)) / (n - 1));
  const py = (v: number) => bottom - ((v - scale.lo) / (scale.hi - scale.lo)) * plotH;

  const out: string[] = [];
  for (const t of scale.ticks) {
    out.push(`<line x1="${c(left)}" y1="${c(py(t))}" x2="${c(width - right)}" y2="${c(py(t))}" stroke="${GRID}"/>`);
    out.push(
      `<text x="${c(left - 5)}" y="${c(py(t) + 4)}" text-anchor="end" fill="${MUTED}">${esc(t.toFixed(scale.decimals))}</text>`,
    );
  }
  out.push(`<text x="2" y="${c(top - 8)}" fill="${MUTED}">${esc(spec.unit)}</text>`);
  // x labels: first and last, then as many between as fit without overlapping
  const extent = (i: number): [number, number] => {
    const w = (spec.x[i] ?? "").length * CH;
    const at = px(i);
    if (n > 1 && i === 0) return [at, at + w];
    if (n > 1 && i === n - 1) return [at - w, at];
    return [at - w / 2, at + w / 2];
  };
  const shown: number[] = [];
  const fits = (i: number) => {
    const [a, b] = extent(i);
    return shown.every((j) => {
      const [p, q] = extent(j);
      return b + 8 <= p || a >= q + 8;
    });
  };
  for (const i of [0, n - 1, ...Array.from({ length: Math.max(0, n - 2) }, (_, k) => k + 1)]) {
    if (i >= 0 && i < n && !shown.includes(i) && fits(i)) shown.push(i);
  }
  for (const i of shown) {
    const anchor = n === 1 ? "middle" : i === 0 ? "start" : i === n - 1 ? "end" : "middle";
    out.push(`<line x1="${c(px(i))}" y1="${c(bottom)}" x2="${c(px(i))}" y2="${c(bottom + 4)}" stroke="${MUTED}"/>`);
    out.push(
      `<text x="${c(px(i))}" y="${c(bottom + 17)}" text-anchor="${anchor}" fill="${MUTED}">${esc(spec.x[i])}</text>`,
    );
  }
  out.push(`<line x1="${c(left)}" y1="${c(bottom)}" x2="${c(width - right)}" y2="${c(bottom)}" stroke="${MUTED}"/>`);
  notes.forEach((a, k) => {
    const ax = (px(a.index - 1) + px(a.index)) / 2;
    const tag = a.tag ?? String(k + 1);
    const w = 10 + tag.length * 6.5;
    out.push(
      `<g class="change"><title>${esc(`${tag}: ${a.label}`)}</title>` +
        `<line x1="${c(ax)}" y1="${c(top - 4)}" x2="${c(ax)}" y2="${c(bottom)}" stroke="${MUTED}" stroke-width="1.5" stroke-dasharray="4 3"/>` +
        `<rect x="${c(ax - w / 2)}" y="${c(top - 18)}" width="${c(w)}" height="15" rx="3" fill="#fff" stroke="${MUTED}"/>` +
        `<text x="${c(ax)}" y="${c(top - 6.5)}" text-anchor="middle" font-size="11" fill="${INK}">${esc(tag)}</text></g>`,
    );
  });
  for (const m of marks) {
    const mx = px(m.index);
    out.push(
      `<rect x="${c(mx - 6)}" y="${c(top)}" width="12" height="${c(plotH)}" fill="${TONES.bad}" fill-opacity="0.12"/>`,
    );
  }
  for (const s of spec.series) {
    const color = TONES[s.tone ?? "neutral"];
    let d = "";
    let pen = false;
    s.values.forEach((v, i) => {
      if (!isNum(v)) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${c(px(i))} ${c(py(v))}`;
      pen = true;
    });
    if (d) out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2" stroke-linejoin="round"/>`);
    s.values.forEach((v, i) => {
      if (!isNum(v)) return;
      out.push(
        `<circle cx="${c(px(i))}" cy="${c(py(v))}" r="3.2" fill="${color}"><title>${esc(`${s.label}, ${spec.x[i] ?? ""}: ${v.toFixed(decimals)} ${spec.unit}`)}</title></circle>`,
      );
    });
  }
  for (const m of marks) {
    const mx = px(m.index);
    const dot =
      `<circle cx="${c(mx)}" cy="${c(top + 8)}" r="7" fill="${TONES.bad}"/>` +
      `<text x="${c(mx)}" y="${c(top + 12)}" text-anchor="middle" font-size="11" font-weight="700" fill="#fff">!</text>`;
    const title = `<title>${esc(m.label)}</title>`;
    out.push(
      m.href ? `<a href="${esc(m.href)}" class="mark">${title}${dot}</a>` : `<g class="mark">${title}${dot}</g>`,
    );
  }
  const height = bottom + 26;
  return svgHead(spec.id, width, height, spec.title, spec.desc) + leg.svg + out.join("") + "</svg>";
}
