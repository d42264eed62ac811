import { cellOf, type PerPatchRow } from "../../analysis/perPatchRows.js";
import type { PerPatchRecord } from "../../record/perPatchRecord.js";
import { perPatchChanges, perPatchColumns } from "../perPatchText.js";
import { esc } from "./escape.js";
import { page, table } from "./page.js";

/** The per-patch table as a page. */
export function renderPerPatchHtml(r: PerPatchRecord): string {
  const cols = perPatchColumns(r);
  const body =
    `<header><h1>Per patch: ${esc(r.title)}</h1><p>${esc(`${r.status}; ${r.rows.length} prefixes on the ${r.workload} pair`)}</p></header>` +
    table(
      "Per patch",
      [
        { head: "patch", cell: (row: PerPatchRow) => esc(`${row.index}/${row.total}`) },
        {
          head: "subject",
          cell: (row: PerPatchRow) => esc(row.status === "measured" ? row.subject : `${row.subject} (${row.status})`),
          wrap: true,
        },
        ...cols.map((c) => ({ head: c, cell: (row: PerPatchRow) => esc(cellOf(row, c)) })),
      ],
      r.rows,
      (row) => (row.status === "measured" ? undefined : "regression"),
    ) +
    `<section><h2>Where each column changed</h2><ul>${perPatchChanges(r)
      .map((l) => `<li>${esc(l)}</li>`)
      .join("")}</ul></section>`;
  return page({ title: `erofs-share-bench per patch: ${r.series}`, body });
}
