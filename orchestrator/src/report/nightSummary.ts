import type { NightSummary } from "../record/nightHistory.js";

/** <history>/nights/<night>.md: every job of a night of the matrix, and the night's verdict. */
export function renderNight(s: NightSummary): string {
  const verdict = s.regressions ? `REGRESSION (${s.regressions})` : "no regression";
  const lines = [
    `# Night ${s.night}: ${verdict}`,
    "",
    `Matrix ${s.matrix}, ${s.startedAt} to ${s.finishedAt}; exit status ${s.exitStatus}.`,
    "",
  ];
  lines.push("| job | status | regressions | failed boots | run | baseline |", "|---|---|---:|---:|---|---|");
  for (const j of s.jobs) {
    lines.push(
      `| ${j.job} | ${j.status}${j.reason ? ` (${j.reason})` : ""} | ${j.regressions} | ${j.failedBoots} | ${j.runDir ?? "-"} | ${j.baseline ?? "-"} |`,
    );
  }
  const moved = s.jobs.filter((j) => j.imagesMoved.length);
  if (moved.length) {
    lines.push(
      "",
      "Images moved since the baseline (those rows were not judged: an image change is never a kernel regression):",
    );
    for (const j of moved) for (const m of j.imagesMoved) lines.push(`- ${j.job}: ${m}`);
  }
  return lines.join("\n") + "\n";
}
