/**
 * The ASCII table the EROFS page cache sharing cover letters use: one block of
 * three lines per image (share No / Yes), centred cells, a "-" for the
 * baseline's reduction.
 */
export interface TableRow {
  image: string;
  /** "7.2.4 & 7.2.5" */
  versions: string;
  off: string;
  on: string;
  /** "33%" */
  reduction: string;
}

interface TableOptions {
  /** The unit in the memory header, "MB" as the seeds print it or "MiB". */
  unit?: string;
}

const MIN_WIDTHS = [19, 18, 13, 15] as const;

/** Centre with the odd space on the right (how the data cells are laid out). */
function centre(text: string, width: number): string {
  const pad = width - text.length;
  const left = Math.ceil(pad / 2);
  return " ".repeat(left) + text + " ".repeat(pad - left);
}

/** Centre with the odd space on the left (how the header cells are laid out). */
function centreHeader(text: string, width: number): string {
  const pad = width - text.length;
  const left = Math.floor(pad / 2);
  return " ".repeat(left) + text + " ".repeat(pad - left);
}

export function renderCoverLetterTable(rows: TableRow[], opts: TableOptions = {}): string {
  const memHeader = `Memory (${opts.unit ?? "MB"})`;
  const w = [
    Math.max(MIN_WIDTHS[0], ...rows.flatMap((r) => [r.image.length + 2, r.versions.length + 2])),
    MIN_WIDTHS[1],
    Math.max(MIN_WIDTHS[2], memHeader.length + 2, ...rows.flatMap((r) => [r.off.length + 2, r.on.length + 2])),
    Math.max(MIN_WIDTHS[3], ...rows.map((r) => r.reduction.length + 2)),
  ] as const;
  const rule = "+" + w.map((n) => "-".repeat(n)).join("+") + "+";
  const line = (cells: string[], f = centre) => "|" + cells.map((c, i) => f(c, w[i]!)).join("|") + "|";
  const out = [
    rule,
    line(["Image", "Page Cache Share", memHeader, "Memory"], centreHeader),
    line(["", "", "", "Reduction (%)"], centreHeader),
    rule,
  ];
  for (const r of rows) {
    // a version label that fills its cell moves up beside the name, as in the seeds
    const full = r.versions.length >= w[0] - 2;
    const [top, mid, bottom] = full ? [r.image, r.versions, ""] : ["", r.image, r.versions];
    out.push(line([top, "No", r.off, "-"]));
    out.push(
      "|" +
        centre(mid, w[0]) +
        "+" +
        w
          .slice(1)
          .map((n) => "-".repeat(n))
          .join("+") +
        "+",
    );
    out.push(line([bottom, "Yes", r.on, r.reduction]));
    out.push(rule);
  }
  return out.join("\n") + "\n";
}

export function formatMiB(v: number, decimals: 0 | 1): string {
  return decimals === 0 ? String(Math.round(v)) : v.toFixed(1);
}

export function formatReduction(pct: number | undefined): string {
  return pct === undefined || !Number.isFinite(pct) ? "n/a" : `${Math.round(pct)}%`;
}
