import type { Stat } from "../../analysis/stats.js";
import type { Mode } from "../../guest/modes.js";
import { esc, isNum } from "./escape.js";
import type { Tone } from "./svg.js";

/** How the run page prints figures and orders and colours the modes. */

export const MODE_ORDER: readonly Mode[] = ["off", "on", "split"];
export const MODE_TONE: Record<Mode, Tone> = { off: "off", on: "on", split: "split" };
export const MODE_LEGEND = MODE_ORDER.map((m) => ({ label: m, tone: MODE_TONE[m] }));

export function sortModes<T extends { mode: Mode }>(xs: T[]): T[] {
  return [...xs].sort((a, b) => MODE_ORDER.indexOf(a.mode) - MODE_ORDER.indexOf(b.mode));
}

/** Decimals that suit a figure's size: 90 615 req/s needs none, 0.31 ms needs two. */
function autoDecimals(v: number): number {
  const a = Math.abs(v);
  return a >= 1000 ? 0 : a >= 10 ? 1 : 2;
}

/** Median, with [min–max] under it when the boots differ; n/a when there is none. */
export function spread(s: Stat | undefined, decimals?: number): string {
  if (!s || !isNum(s.median)) return "n/a";
  const d = decimals ?? autoDecimals(s.median);
  if (!isNum(s.min) || !isNum(s.max) || s.min.toFixed(d) === s.max.toFixed(d)) return esc(s.median.toFixed(d));
  return `${esc(s.median.toFixed(d))}<span class="rng">[${esc(s.min.toFixed(d))}–${esc(s.max.toFixed(d))}]</span>`;
}

export const pct = (v: unknown): string => (isNum(v) ? v.toFixed(1) : "n/a");
export const signed = (v: unknown): string => (isNum(v) ? `${v > 0 ? "+" : ""}${v.toFixed(1)}` : "n/a");
export const mib = (bytes: number): string => (isNum(bytes) ? (bytes / 2 ** 20).toFixed(1) : "n/a");
