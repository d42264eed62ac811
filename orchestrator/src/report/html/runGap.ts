import { gapTables, type GapTable } from "../../analysis/gap.js";
import type { RunRecord } from "../../record/runRecord.js";
import { PATH_TITLES } from "../coverLetter.js";
import { barChart, type Bar } from "./barChart.js";
import { esc, fmtNum, isNum } from "./escape.js";
import { figure, table } from "./page.js";

/**
 * "The gap to 100%" of one workload in report.html: how far page cache with
 * sharing on stayed above the model's expectation per access path, split
 * into identical files that did not share (by cause, from the residency walk
 * in the guest), the directory and inode pages every mount costs, and the
 * rest. The same figures as report.md's table (analysis/gap.ts).
 */

const title = (p: string) => PATH_TITLES[p as keyof typeof PATH_TITLES] ?? p;

function parts(g: GapTable): Bar[] {
  return [
    ...g.notShared.map((x) => ({ label: `not shared: ${x.cause}`, value: x.MiB, tone: "split" as const })),
    { label: "directories and inodes", value: g.metadataMiB, tone: "off" as const },
    { label: "rest", value: g.restMiB, tone: "neutral" as const },
  ];
}

export function gapSection(run: RunRecord, workload: string, index: number): string {
  const rows = gapTables(run).filter((g) => g.workload === workload);
  if (!rows.length) return "";
  const chart = barChart({
    id: `w${index}-gap`,
    title: `${workload}: the gap to 100%, by what explains it`,
    desc: "Per access path, MiB of page cache with sharing on above the expectation, split into identical files that did not share (by cause), directory and inode pages, and the rest.",
    unit: "MiB above the expectation",
    groups: rows.map((g) => ({ label: `${title(g.path)}: gap ${fmtNum(g.gapMiB)} MiB`, bars: parts(g) })),
  });
  const notShared = (g: GapTable) =>
    g.notShared.length
      ? g.notShared
          .map(
            (x) =>
              `${esc(fmtNum(x.MiB))} MiB in ${esc(x.files)} (${esc(x.cause)}, e.g. <code>${esc(x.example)}</code>)`,
          )
          .join("<br>")
      : "none";
  return (
    `<h3>The gap to 100%</h3>` +
    `<p class="note">Which identical files shared is measured in the guest: after A is read and before B is, the pages of B's files already in the page cache (mincore).</p>` +
    `<div class="charts">${figure("With sharing on, above the expectation (MiB)", chart)}</div>` +
    table(
      `${workload}: the gap to 100%`,
      [
        { head: "path", cell: (g) => esc(g.path) },
        { head: "gap MiB", cell: (g) => fmtNum(g.gapMiB), num: true },
        { head: "identical but not shared", cell: notShared, wrap: true },
        { head: "directories and inodes MiB", cell: (g) => fmtNum(g.metadataMiB), num: true },
        { head: "rest MiB", cell: (g) => fmtNum(g.restMiB), num: true },
        {
          head: "rest % of off",
          cell: (g) => (isNum(g.offMiB) && g.offMiB > 0 ? fmtNum((g.restMiB / g.offMiB) * 100) : "n/a"),
          num: true,
        },
      ],
      rows,
    )
  );
}
