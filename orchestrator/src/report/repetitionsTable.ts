import type { RunRecord } from "../record/runRecord.js";

/**
 * "Repetitions": how many boots each group of cells got and why it stopped
 * there, with the band its boots had to agree within, so a reader sees which
 * medians rest on two agreeing boots and which on boots that never agreed.
 */
export function renderRepetitions(run: RunRecord): string[] {
  if (!run.repetitions.length) return [];
  const rules = [...new Map(run.repetitions.map((d) => [d.phase, d.rule])).entries()].map(
    ([phase, r]) =>
      `${phase}: max - min of a cell's boots within ${r.floorMiB} MiB or ${(r.fraction * 100).toFixed(2)}% of its median, whichever is larger`,
  );
  const unsettled = run.repetitions.filter((d) => !d.settled && !d.fixed);
  return [
    "## Repetitions",
    "",
    run.repetitions[0]!.fixed
      ? `Every cell got ${run.plan.reps} boot(s)${run.plan.fixedReps ? " (--fixed-reps)" : ""}, settled or not.`
      : `At most ${run.plan.reps} boots per cell, at least two; a group stops when every cell's boots agree (${rules.join("; ")}).` +
        (unsettled.length
          ? ` **${unsettled.length} group(s) did not settle by the cap**: their medians rest on boots that disagree.`
          : ""),
    "",
    "| phase | workload | path | boots | settled | why |",
    "|---|---|---|---:|---|---|",
    ...run.repetitions.map(
      (d) =>
        `| ${d.phase} | ${d.workload} | ${d.path ?? ""} | ${d.boots} | ${d.fixed ? "fixed" : d.settled ? "yes" : "**no**"} | ${d.why} |`,
    ),
    "",
  ];
}
