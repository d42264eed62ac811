import { expect } from "vitest";

/** Checks the HTML views' tests share. */

/** A page that opens from disk alone: no script, no stylesheet, font, image or frame from elsewhere, no unprintable value. */
export function selfContained(html: string): void {
  expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
  expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(|src=/i);
  // the only absolute URL is the SVG namespace
  expect(html.replaceAll('xmlns="http://www.w3.org/2000/svg"', "")).not.toMatch(/https?:\/\//);
  expect(html).not.toMatch(/NaN|Infinity|\bundefined\b|\[object Object\]/);
}

/** Position of a string in the page (it must be there). */
export function at(html: string, s: string): number {
  const i = html.indexOf(s);
  expect(i, `"${s}" in the page`).toBeGreaterThanOrEqual(0);
  return i;
}

export const EVIL = `<script>alert("x")</script>`;
export const EVIL_ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;";
