import { esc, urlPath } from "./escape.js";
import type { NightEntry, NightRegression } from "./nightEntries.js";
import { badge } from "./page.js";
import type { PointMark, XAnnotation } from "./lineChart.js";

/**
 * What nightly.html draws on its time axes: a label per night, the input
 * changes between nights (numbered, as dashed lines) and the nights judged a
 * regression (marks that link to what explains them).
 */

/**
 * Axis and table labels for the nights: "01-15" when every night is on its
 * own day, "01-15 02:15" when a day has more than one, with the year when
 * the nights span more than one.
 */
export function timeLabels(nights: NightEntry[]): string[] {
  const parts = nights.map((n) => /^(\d{4})-(\d{2}-\d{2})T(\d{2}:\d{2})/.exec(n.startedAt));
  if (parts.some((m) => !m)) return nights.map((n) => n.startedAt);
  const years = new Set(parts.map((m) => m![1]));
  const days = parts.map((m) => (years.size > 1 ? `${m![1]}-${m![2]}` : m![2]));
  const unique = new Set(days).size === days.length;
  return parts.map((m, i) => (unique ? days[i]! : `${days[i]} ${m![3]}`));
}

export function whereText(r: NightRegression): string {
  return `${r.workload === "*" ? "" : `${r.workload} `}${r.where}: ${r.metric}${r.note ? ` (${r.note})` : ""}`;
}

function reportHref(n: NightEntry): string | null {
  return n.report === undefined ? urlPath(n.folder || n.runId, "report.html") : n.report;
}

/** Where a regression is explained: the night's comparison, else its report. */
function verdictHref(n: NightEntry): string | null {
  return n.comparison ?? reportHref(n);
}

interface InputChange {
  /** Night index where the new input was first used. */
  index: number;
  /** Workload the change concerns; undefined for kernel and mkfs.erofs (all workloads). */
  workload?: string;
  what: string;
  from: string;
  to: string;
}

function inputChanges(nights: NightEntry[]): InputChange[] {
  const out: InputChange[] = [];
  for (let i = 1; i < nights.length; i++) {
    const a = nights[i - 1]!;
    const b = nights[i]!;
    if ((a.kernelRelease ?? "?") !== (b.kernelRelease ?? "?"))
      out.push({ index: i, what: "kernel", from: a.kernelRelease ?? "?", to: b.kernelRelease ?? "?" });
    if ((a.mkfsVersion ?? "?") !== (b.mkfsVersion ?? "?"))
      out.push({ index: i, what: "mkfs.erofs", from: a.mkfsVersion ?? "?", to: b.mkfsVersion ?? "?" });
    for (const w of new Set([...Object.keys(a.images), ...Object.keys(b.images)])) {
      const x = a.images[w];
      const y = b.images[w];
      // a workload joining or leaving the plan is not an input change of the others
      if (x !== undefined && y !== undefined && x !== y)
        out.push({ index: i, workload: w, what: `${w} images`, from: x, to: y });
    }
  }
  return out;
}

/** Numbered changes, one group per night that had any; the number is what the charts show. */
export interface ChangeGroup {
  tag: string;
  index: number;
  changes: InputChange[];
}

export function changeGroups(nights: NightEntry[]): ChangeGroup[] {
  const groups: ChangeGroup[] = [];
  for (const ch of inputChanges(nights)) {
    let g = groups.find((x) => x.index === ch.index);
    if (!g) {
      g = { tag: String(groups.length + 1), index: ch.index, changes: [] };
      groups.push(g);
    }
    g.changes.push(ch);
  }
  return groups;
}

/** The changes that concern a workload's charts: its own images, the kernel and mkfs.erofs. */
export function annotationsFor(groups: ChangeGroup[], workload: string): XAnnotation[] {
  return groups
    .map((g) => ({ g, cs: g.changes.filter((c) => c.workload === undefined || c.workload === workload) }))
    .filter((x) => x.cs.length)
    .map(({ g, cs }) => ({
      index: g.index,
      tag: g.tag,
      label: cs.map((c) => `${c.what}: ${c.from} → ${c.to}`).join("; "),
    }));
}

/** Does a regressed metric belong on the read-all charts of (workload, path)? */
export function onReadAll(r: NightRegression, workload: string, p: string): boolean {
  if (r.workload !== workload && r.workload !== "*") return false;
  return (
    r.where === "run" || r.where === `read-all ${p}` || (r.where.startsWith("read-all ") && r.where.endsWith(`/${p}`))
  );
}

export function onRuntime(r: NightRegression, workload: string): boolean {
  return (r.workload === workload || r.workload === "*") && (r.where === "run" || r.where.startsWith("runtime"));
}

export function marksFor(nights: NightEntry[], relevant: (r: NightRegression) => boolean): PointMark[] {
  const marks: PointMark[] = [];
  nights.forEach((n, i) => {
    if (!n.regressions) return;
    // a count without rows (a failed first night) concerns every chart
    const rows = n.regressed.length
      ? n.regressed.filter(relevant)
      : [{ workload: "*", where: "run", metric: n.status === "complete" ? "regression" : `run ${n.status}` }];
    if (!rows.length) return;
    const href = verdictHref(n);
    marks.push({
      index: i,
      label: `${n.runId}: ${rows.map(whereText).join("; ")}${href ? " (open the night's verdict)" : ""}`,
      ...(href ? { href } : {}),
    });
  });
  return marks;
}

export function runLink(n: NightEntry): string {
  const href = reportHref(n);
  return href ? `<a href="${esc(href)}" class="mono">${esc(n.runId)}</a>` : `<span class="mono">${esc(n.runId)}</span>`;
}

export function regressionBadge(n: NightEntry): string {
  if (n.regressions === null)
    return n.status === "complete" ? badge("not judged", "muted") : badge("no verdict", "bad");
  const b =
    n.regressions > 0
      ? badge(`${n.regressions} regression${n.regressions > 1 ? "s" : ""}`, "bad")
      : badge("no regression", "ok");
  // a night on moved images is neither better nor worse: said beside its verdict, with what moved on hover
  const moved = n.imagesMoved?.length
    ? ` <span title="${esc(n.imagesMoved.join("\n"))}">${badge("images moved: not judged", "warn")}</span>`
    : "";
  return (n.comparison ? `<a href="${esc(n.comparison)}">${b}</a>` : b) + moved;
}
