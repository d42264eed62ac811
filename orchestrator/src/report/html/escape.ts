/**
 * Escaping for the HTML views. Every string that did not come from this
 * module's own literals goes through `esc` (text and attribute values alike).
 */

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text or a quoted attribute value, safe inside HTML and SVG. */
export function esc(value: unknown): string {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/**
 * A relative URL to a file inside the history or run folder: each path
 * segment percent-encoded, so a run id with `?` or `#` stays a path. Still
 * goes through `esc` when it is put in an attribute.
 */
export function urlPath(...segments: string[]): string {
  return segments
    .flatMap((s) => s.split("/"))
    .map((s) => encodeURIComponent(s))
    .join("/");
}

/** A number that can be drawn or printed: finite (JSON turns NaN into null, so null counts as missing too). */
export function isNum(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

/** Fixed decimals; what rounds to zero is "0.0", never "-0.0". */
export function fixed(v: number, decimals: number): string {
  const s = v.toFixed(decimals);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

/** Fixed decimals, or "n/a" for a missing value. */
export function fmtNum(v: unknown, decimals = 1): string {
  return isNum(v) ? fixed(v, decimals) : "n/a";
}
