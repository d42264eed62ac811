import { gapTables } from "../analysis/gap.js";
import type { RunRecord } from "../record/runRecord.js";

const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : "n/a");

/**
 * "The gap to 100%": per workload and access path, how far page cache with
 * sharing on stayed above the model's expectation, and what explains it:
 * identical files that did not share (by cause, measured in the guest), the
 * directory and inode pages every mount costs, and the rest.
 */
export function renderGap(run: RunRecord): string[] {
  const rows = gapTables(run);
  if (!rows.length) return [];
  const out = [
    "## The gap to 100%",
    "",
    "With sharing on, page cache above what the model expects (every identical file sharing one copy), and why. Which identical files shared is measured in the guest: after A is read and before B is, the pages of B's files already in the page cache (mincore).",
    "",
    "| workload | path | gap MiB | identical but not shared (MiB, files, cause) | directories and inodes MiB | rest MiB | rest % of off |",
    "|---|---|---:|---|---:|---:|---:|",
  ];
  for (const g of rows) {
    const ns = g.notShared.length
      ? g.notShared.map((x) => `${f1(x.MiB)} in ${x.files} (${x.cause}, e.g. ${x.example})`).join("; ")
      : "none";
    out.push(
      `| ${g.workload} | ${g.path} | ${f1(g.gapMiB)} | ${ns} | ${f1(g.metadataMiB)} | ${f1(g.restMiB)} | ${f1((g.restMiB / g.offMiB) * 100)} |`,
    );
  }
  return [...out, ""];
}
