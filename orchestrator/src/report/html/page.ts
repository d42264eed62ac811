import { esc } from "./escape.js";
import { CSS } from "./style.js";

/**
 * The page shell the HTML views share: one self-contained document (inline
 * CSS, no script, no external resource), readable from 360 px up and on
 * paper.
 */
export function page(opts: { title: string; body: string }): string {
  return (
    "<!DOCTYPE html>\n" +
    `<html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta name="generator" content="erofs-share-bench">` +
    `<title>${esc(opts.title)}</title><style>${CSS}</style></head>\n` +
    `<body><main>\n${opts.body}\n</main></body></html>\n`
  );
}

export interface Column<T> {
  head: string;
  /** Markup for the cell: escape what you put in. */
  cell: (row: T) => string;
  num?: boolean;
  wrap?: boolean;
  nowrap?: boolean;
}

/** A table in a horizontally scrolling region (a wide table never widens the page). */
export function table<T>(
  caption: string,
  cols: Array<Column<T>>,
  rows: T[],
  rowClass?: (row: T) => string | undefined,
): string {
  const cls = (c: Column<T>) => (c.num ? ` class="num"` : c.wrap ? ` class="wrap"` : c.nowrap ? ` class="nw"` : "");
  const head = cols.map((c) => `<th scope="col"${cls(c)}>${esc(c.head)}</th>`).join("");
  const body = rows
    .map((r) => {
      const rc = rowClass?.(r);
      return `<tr${rc ? ` class="${esc(rc)}"` : ""}>${cols.map((c) => `<td${cls(c)}>${c.cell(r)}</td>`).join("")}</tr>`;
    })
    .join("\n");
  return (
    `<div class="scroll" role="region" aria-label="${esc(caption)}" tabindex="0"><table>` +
    `<caption>${esc(caption)}</caption><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`
  );
}

export function badge(text: string, tone: "ok" | "bad" | "warn" | "muted"): string {
  return `<span class="badge ${tone}">${esc(text)}</span>`;
}

/** Key/value list; values are markup. */
export function kv(pairs: Array<[string, string]>): string {
  return `<dl class="kv">${pairs.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join("")}</dl>`;
}

export function statusBadge(status: string): string {
  return badge(status, status === "complete" ? "ok" : status === "running" ? "warn" : "bad");
}

/** A chart with its caption and a note, the figures beside it in a table. */
export function figure(caption: string, svg: string, note?: string): string {
  return `<figure><figcaption>${esc(caption)}</figcaption>${svg}${note ? `<p class="note">${note}</p>` : ""}</figure>`;
}
