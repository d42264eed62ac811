import type { CorrectnessResult } from "../analysis/correctness.js";

/** The correctness results in the reports: a plain table for the cover letter, a fuller one for report.md. */

const oneLine = (s: string, max: number) => {
  const line = s.split("\n")[0]!.trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

const seconds = (ms: number | undefined) => (ms === undefined ? "-" : `${(ms / 1000).toFixed(1)} s`);

/** Which pair and series the checks ran on, for a table's title. */
function subject(results: CorrectnessResult[]): string {
  const workloads = [...new Set(results.map((r) => r.workload))].join(", ");
  const series = [...new Set(results.map((r) => r.series))].join(", ");
  return `${workloads}, series ${series}`;
}

/** One line per check: name, result, one-line reason; plain text, as a mail wants it. */
export function renderCorrectnessText(results: CorrectnessResult[]): string[] {
  if (!results.length) return [];
  const w = Math.max(...results.map((r) => r.name.length));
  const rows = results.map((r) => `  ${r.name.padEnd(w)}  ${r.result.toUpperCase().padEnd(7)}  ${oneLine(r.reason, 120)}`);
  const failed = results.filter((r) => r.result === "fail" || r.result === "oops").length;
  return [
    `Correctness of page cache sharing (${subject(results)}), one boot per check${failed ? `: ${failed} FAILED` : ""}:`,
    "",
    ...rows,
    "",
  ];
}

/** What each check proves, its result, why, and how long it took. */
export function renderCorrectnessMarkdown(results: CorrectnessResult[]): string[] {
  if (!results.length) return [];
  const cell = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");
  const out = [
    "## Correctness",
    "",
    `Checks of page cache sharing on ${subject(results)}: one fresh boot per check, sharing on, every read compared with what the image holds ` +
      "(read with sharing off first). A WARNING, BUG or oops in the kernel log fails the check; `na` means the check could not prove anything here, " +
      "and says why; a finding is documented behaviour worth knowing.",
    "",
    "| check | result | what it proves | reason | time (guest / boot) |",
    "|---|---|---|---|---|",
  ];
  for (const r of results) {
    const result = r.result === "fail" || r.result === "oops" ? `**${r.result.toUpperCase()}**` : r.result;
    out.push(`| ${r.name} | ${result} | ${cell(r.proves)} | ${cell(r.reason)} | ${seconds(r.ms)} / ${seconds(r.wallMs)} |`);
  }
  out.push("", "Each check's details (counts, kernel log lines, corrupted cases) are in run.json under `correctness`, its boot in `bootDir`.", "");
  return out;
}
