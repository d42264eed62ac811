import type { BisectRecord, BisectStep } from "../record/bisectRecord.js";

/** bisect.md: the first bad commit with the figures of the last good and first bad, then every step and git's log. */

function figures(m: { samples: number[]; failed: number; of: number } | undefined): string {
  if (!m) return "-";
  if (m.samples.length) return `${m.samples.map((x) => x.toFixed(1)).join(", ")} (% efficiency)`;
  return `failed ${m.failed} of ${m.of} boots`;
}

export function renderBisectMarkdown(r: BisectRecord): string {
  const step = (c?: string) => r.steps.find((s) => s.commit === c);
  const firstBad = r.firstBad === r.bad ? { ...r.ends?.bad, subject: "(BAD itself)" } : step(r.firstBad);
  const goods = r.steps.filter((s) => s.action === "good");
  const lastGood: (Partial<BisectStep> & { samples: number[]; failed: number; of: number }) | undefined = goods.length
    ? goods[goods.length - 1]
    : r.ends?.good;
  const lastGoodCommit = goods.length ? goods[goods.length - 1]!.commit : r.good;
  const head = r.firstBad
    ? `**First bad commit: ${r.firstBad.slice(0, 12)}** ${firstBad && "subject" in firstBad ? (firstBad.subject ?? "") : ""}`
    : r.candidates
      ? `**Only skipped commits were left: the first bad commit is one of ${r.candidates.map((c) => c.slice(0, 12)).join(", ")}**`
      : `Status: ${r.status}, ${r.steps.length} step(s) so far.`;
  return [
    `# Bisection of ${r.row}: ${r.good.slice(0, 12)}..${r.bad.slice(0, 12)}`,
    "",
    head,
    "",
    `Tree ${r.repo}, profile ${r.profile}; each step built on BAD's build (only what differs recompiles) and judged against the ends: a check's failing boot is BAD, ` +
      `enough passing boots at BAD's rate are GOOD; a figure is GOOD or BAD when its samples all fall on one side of the ends' midpoint, clear of their noise. ` +
      `Unsure steps are measured again up to ${r.cap}, then skipped; a commit that does not build is skipped.`,
    "",
    "| | commit | figures |",
    "|---|---|---|",
    `| GOOD | ${r.good.slice(0, 12)} | ${figures(r.ends?.good)} |`,
    `| BAD | ${r.bad.slice(0, 12)} | ${figures(r.ends?.bad)} |`,
    ...(r.firstBad
      ? [
          `| last good | ${lastGoodCommit.slice(0, 12)} | ${figures(lastGood)} |`,
          `| first bad | ${r.firstBad.slice(0, 12)} | ${figures(firstBad as { samples: number[]; failed: number; of: number } | undefined)} |`,
        ]
      : []),
    "",
    "| step | commit | subject | figures | verdict | git bisect |",
    "|---:|---|---|---|---|---|",
    ...r.steps.map(
      (s, i) =>
        `| ${i + 1} | ${s.commit.slice(0, 12)} | ${s.subject.replaceAll("|", "\\|")} | ${s.note ? s.note.replaceAll("|", "\\|") : figures(s)} | ${s.verdict} | ${s.action} |`,
    ),
    "",
    "```",
    r.log.trim(),
    "```",
    "",
  ].join("\n");
}
