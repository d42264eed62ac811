import type { MetricRow, RunComparison } from "../analysis/compareRuns.js";
import { SIGNIFICANCE_RULE } from "./significanceText.js";
import { describeImages } from "../analysis/imagesMoved.js";

function fmt(v: number | undefined, unit: MetricRow["unit"]): string {
  if (v === undefined) return "-";
  return unit === "count" ? String(v) : v.toFixed(1);
}

function delta(r: MetricRow): string {
  if (r.baseline === undefined || r.current === undefined) return "";
  const d = r.current - r.baseline;
  const sign = d > 0 ? "+" : "";
  if (r.unit === "%") return `${sign}${d.toFixed(1)} pt`;
  if (r.unit === "MiB") return `${sign}${d.toFixed(1)} MiB`;
  return `${sign}${d}`;
}

/** Said before any figure: whether the two runs measured the same images, and what a moved image means for the verdict. */
export function imagesSentence(cmp: Pick<RunComparison, "imagesMoved" | "unjudged">): string {
  if (!cmp.imagesMoved.length) return "Images: same (every image of both runs has the same content hash).";
  return (
    `${describeImages(cmp.imagesMoved).replace(/^images/, "Images")}. ` +
    `Rows of those workloads are not judged (${cmp.unjudged}): an image change is never a kernel regression nor an improvement; ` +
    "the next run on the same images judges them."
  );
}

/** Side by side, one row per metric, verdict last (the mmtests compare habit). */
export function renderComparison(cmp: RunComparison): string {
  const lines: string[] = [];
  const verdict =
    (cmp.regressions ? `REGRESSION (${cmp.regressions})` : "no regression") +
    (cmp.unjudged ? `, ${cmp.unjudged} row(s) not judged: images moved` : "");
  lines.push(`# ${cmp.current.runId} against ${cmp.baseline.runId}: ${verdict}`, "");
  lines.push(
    `baseline: ${cmp.baseline.dir} (${cmp.baseline.status})`,
    `current:  ${cmp.current.dir} (${cmp.current.status})`,
    "",
  );
  lines.push(
    `Thresholds: read-all sharing efficiency -${cmp.thresholds.efficiencyPoints} pt, runtime reduction -${cmp.thresholds.runtimePoints} pt, ` +
      `off-mode page cache ±${cmp.thresholds.offChangePct}% (reported as changed).`,
    "",
  );
  lines.push(imagesSentence(cmp), "");
  if (cmp.inputsChanged.length) {
    lines.push("## Inputs that changed", "", "| input | baseline | current |", "|---|---|---|");
    for (const i of cmp.inputsChanged) lines.push(`| ${i.input} | ${i.baseline} | ${i.current} |`);
    lines.push("");
  } else {
    lines.push("Inputs: identical (kernel, images, mkfs.erofs, guest initramfs, QEMU, accelerator, plan).", "");
  }
  lines.push(
    "## Metrics",
    "",
    SIGNIFICANCE_RULE,
    "",
    "| workload | where | metric | baseline | current | delta | significance | verdict |",
    "|---|---|---|---:|---:|---:|---|---|",
  );
  for (const r of cmp.rows) {
    const v = r.verdict === "regression" ? "**REGRESSION**" : r.verdict;
    lines.push(
      `| ${r.workload} | ${r.where} | ${r.metric} | ${fmt(r.baseline, r.unit)} | ${fmt(r.current, r.unit)} | ${delta(r)} | ${r.significance ?? ""} | ${v}${r.note ? ` (${r.note})` : ""} |`,
    );
  }
  return lines.join("\n") + "\n";
}
