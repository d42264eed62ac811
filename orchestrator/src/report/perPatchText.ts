import { cellOf, columnChanges, type PerPatchRow } from "../analysis/perPatchRows.js";
import type { PerPatchRecord } from "../record/perPatchRecord.js";

/** The per-patch table: as text for a cover letter's appendix and as markdown (html/perPatchPage.ts makes the page). */

export function perPatchColumns(r: PerPatchRecord): string[] {
  return [...r.paths, ...r.checks];
}

const short = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** "read: none at 4/9, full at 7/9", one line per column: where it appeared and every change after. */
export function perPatchChanges(r: PerPatchRecord): string[] {
  const total = r.rows[0]?.total ?? "?";
  return columnChanges(r.rows, perPatchColumns(r)).map((c) =>
    c.changes.length
      ? `${c.column}: ${c.changes.map((x) => `${x.to} at ${x.index}/${total}`).join(", ")}`
      : `${c.column}: never measured`,
  );
}

export function renderPerPatchText(r: PerPatchRecord): string {
  const cols = perPatchColumns(r);
  const w = cols.map((c) => Math.max(c.length, ...r.rows.map((row) => cellOf(row, c).length)));
  const head = `${"patch".padEnd(7)}${cols.map((c, i) => c.padEnd(w[i]! + 2)).join("")}`;
  const rows = r.rows.map((row) =>
    `${`${row.index}/${row.total}`.padEnd(7)}${cols.map((c, i) => cellOf(row, c).padEnd(w[i]! + 2)).join("")}`.trimEnd(),
  );
  const subjects = r.rows.map(
    (row) =>
      `  ${row.index}/${row.total} ${short(row.subject, 70)}${row.status === "measured" ? "" : `: ${row.status}${row.reason ? ` (${short(row.reason, 90)})` : ""}`}`,
  );
  return [
    `Per patch: ${r.title}, each prefix on the ${r.workload} pair (read-all, one boot per path and mode; every correctness check).`,
    "Sharing: full = at least 90% of what identical files allow, partial, none, LEAK = split shared across domains.",
    "",
    head.trimEnd(),
    ...rows,
    "",
    ...subjects,
    "",
    "Where each column changed (it appears with the feature; the last change is the patch that gave it its final value):",
    ...perPatchChanges(r).map((l) => `  ${l}`),
    "",
  ].join("\n");
}

export function renderPerPatchMarkdown(r: PerPatchRecord): string {
  const cols = perPatchColumns(r);
  const cell = (s: string) => s.replaceAll("|", "\\|");
  const build = (row: PerPatchRow) =>
    row.buildSeconds === undefined ? "-" : `${row.buildSeconds} s, ${row.compiled ?? "?"} objects`;
  return [
    `# Per patch: ${r.title}`,
    "",
    `Status: ${r.status}; ${r.rows.length} prefix(es) on the ${r.workload} pair; ${Math.round(r.wallSeconds / 60)} min in all` +
      `${r.baseBuildSeconds !== undefined ? `, the whole series' build ${r.baseBuildSeconds} s (each prefix is built on it: only what differs recompiles)` : ""}.`,
    "",
    `| patch | subject | ${cols.join(" | ")} | prefix build |`,
    `|---|---|${cols.map(() => "---").join("|")}|---|`,
    ...r.rows.map(
      (row) =>
        `| ${row.index}/${row.total} | ${cell(short(row.subject, 60))}${row.status === "measured" ? "" : ` (**${row.status}**)`} | ${cols.map((c) => cell(cellOf(row, c))).join(" | ")} | ${build(row)} |`,
    ),
    "",
    "Sharing per path: full = at least 90% of the saving identical files allow, partial, none, LEAK = split shared across domains.",
    "",
    "Where each column changed (the last change is the patch that gave it its final value):",
    "",
    ...perPatchChanges(r).map((l) => `- ${l}`),
    "",
    ...r.rows.filter((row) => row.reason).map((row) => `- ${row.index}/${row.total}: ${cell(row.reason!)}`),
    "",
  ].join("\n");
}
