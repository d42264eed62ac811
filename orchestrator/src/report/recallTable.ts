import { recallSummary, type RecallRow, type RecallStatus } from "../analysis/recall.js";

const STATUS_WORDS: Record<RecallStatus, string> = {
  recalled: "recalled",
  missed: "MISSED",
  "mainline-fails": "mainline fails",
  "not-run": "not run",
  unseen: "no check",
};

const cell = (o: { result: string } | null) => (o ? o.result.toUpperCase() : "not run");
const md = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export interface RecallRuns {
  series: { name: string; kernel: string; dir: string };
  mainline: { name: string; kernel: string; dir: string };
}

/** The recall table as Markdown: the docs' page and what the verb prints. */
export function renderRecallMarkdown(rows: RecallRow[], runs: RecallRuns): string {
  const s = recallSummary(rows);
  const out = [
    `# Upstream's later changes as the known answer: ${runs.series.name} against ${runs.mainline.name}`,
    "",
    `Each change upstream made after ${runs.series.name} that a test can observe, the check that sees it, and`,
    `its verdict on ${runs.series.name} (${runs.series.kernel}) and on ${runs.mainline.name} (${runs.mainline.kernel}).`,
    `A change is recalled when a check tells the two apart: a fail or finding on ${runs.series.name}, a pass on ${runs.mainline.name}.`,
    `Written by \`recall\` from kernel/series/${runs.series.name}.yaml (laterUpstream) and two run folders:`,
    `${runs.series.dir} and ${runs.mainline.dir}. Again, on your own runs:`,
    "",
    "```sh",
    `npm run bench -- --series ${runs.series.name} --kernel-src LINUX --mbox ${runs.series.name}.mbox --workload synthetic --phases correctness --out S`,
    "npm run bench -- --workload synthetic --phases correctness --out M",
    `npm run bench -- recall S M --docs docs/recall.md`,
    "```",
    "",
    `**${s.recalled} of ${s.total} changes recalled; ${s.unseen} seen by no check yet.**`,
    "",
    `| change | landed | check | ${runs.series.name} | ${runs.mainline.name} | recall |`,
    "|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    if (!r.checks.length) {
      out.push(`| ${md(r.change)} | ${md(r.landed)} | none | | | ${STATUS_WORDS[r.status]} |`);
      continue;
    }
    for (const [i, c] of r.checks.entries()) {
      const first = i === 0;
      out.push(
        `| ${first ? md(r.change) : ""} | ${first ? md(r.landed) : ""} | \`${c.name}\` | ${cell(c.series)} | ${cell(c.mainline)} | ${first ? STATUS_WORDS[r.status] : ""} |`,
      );
    }
  }
  out.push("", "## What each check saw", "");
  for (const r of rows.filter((x) => x.checks.length)) {
    out.push(`- **${r.change}** (${r.observable})`);
    for (const c of r.checks) {
      out.push(
        `  - \`${c.name}\` on ${runs.series.name}: ${c.series ? `${c.series.result}: ${c.series.reason}` : "not run"}`,
      );
      out.push(
        `  - \`${c.name}\` on ${runs.mainline.name}: ${c.mainline ? `${c.mainline.result}: ${c.mainline.reason}` : "not run"}`,
      );
    }
  }
  const unseen = rows.filter((r) => r.status === "unseen");
  if (unseen.length) {
    out.push("", "## Changes no check sees yet, and why", "");
    for (const r of unseen) out.push(`- **${r.change}** (${r.landed}): ${r.observable}. ${r.unseen ?? ""}`);
  }
  return out.join("\n") + "\n";
}
