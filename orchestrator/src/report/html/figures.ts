import type { Stat } from "../../analysis/stats.js";
import type { Mode } from "../../guest/modes.js";
import { esc, fixed, isNum } from "./escape.js";
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
  if (!isNum(s.min) || !isNum(s.max) || fixed(s.min, d) === fixed(s.max, d)) return esc(fixed(s.median, d));
  return `${esc(fixed(s.median, d))}<span class="rng">[${esc(fixed(s.min, d))}–${esc(fixed(s.max, d))}]</span>`;
}

export const pct = (v: unknown): string => (isNum(v) ? fixed(v, 1) : "n/a");
export const mib = (bytes: number): string => (isNum(bytes) ? fixed(bytes / 2 ** 20, 1) : "n/a");

/** A change with its sign: +1.2, -3.0, and 0.0 for what rounds to zero. */
export function signed(v: unknown): string {
  if (!isNum(v)) return "n/a";
  const s = fixed(v, 1);
  return v > 0 && Number(s) !== 0 ? `+${s}` : s;
}

/** "2026-11-23 04:23:41 UTC" from an ISO time; anything else as it is. */
export function when(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?Z$/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}
