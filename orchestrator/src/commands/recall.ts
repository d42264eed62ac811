import path from "node:path";
import { recallRows, recallSummary } from "../analysis/recall.js";
import { loadSeries } from "../kernel/series.js";
import { loadRunRecord, type RunRecord } from "../record/runRecord.js";
import { renderRecallMarkdown } from "../report/recallTable.js";
import { BenchError } from "../util/errors.js";
import { EXIT } from "../util/exitStatus.js";
import { writeFileAtomic } from "../util/fsx.js";
import { addJsonOption, folders, Verb } from "./verb.js";

/** A folder as the table names it: relative to here when it lies below, else whole. */
const shown = (dir: string) => {
  const rel = path.relative(process.cwd(), dir);
  return rel && !rel.startsWith("..") ? rel : dir;
};
const kernelOf = (r: RunRecord) => {
  const release = r.kernel?.release ?? r.kernel?.build?.kernelRelease ?? "kernel not recorded";
  return r.checksKernel ? `${release}, checks on its ${r.checksKernel.kind} build` : release;
};

/**
 * `recall SERIES_RUN MAINLINE_RUN`: the series' laterUpstream changes with
 * the verdicts of the checks that see them on both runs. Exit 5 when a
 * change a check sees was not told apart (missed, or mainline failing it).
 */
export async function recallCommand(dirs: string[], json: boolean, docs?: string): Promise<number> {
  if (dirs.length !== 2 || !dirs[0] || !dirs[1])
    throw new BenchError(`recall takes two run folders, got "${dirs.join(",")}"`, "recall SERIES_RUN MAINLINE_RUN");
  const [sDir, mDir] = [path.resolve(dirs[0]), path.resolve(dirs[1])];
  const [sRun, mRun] = [await loadRunRecord(sDir), await loadRunRecord(mDir)];
  if (mRun.series.name !== "mainline")
    throw new BenchError(
      `${mDir} measured ${mRun.series.name}, not mainline`,
      "give a run of the series first and a run of mainline second",
    );
  for (const [dir, run] of [
    [sDir, sRun],
    [mDir, mRun],
  ] as const) {
    if (run.kernel?.mutant)
      throw new BenchError(
        `${dir} measured the mutant ${run.kernel.mutant.mutant}, not the kernel as it is`,
        "give runs of the series and of mainline as they are (npm run bench -- --series NAME --phases correctness)",
      );
  }
  const spec = await loadSeries(sRun.series.name);
  if (!spec.laterUpstream.length)
    throw new BenchError(
      `kernel/series/${spec.name}.yaml lists no laterUpstream changes`,
      "recall needs a series whose spec says what upstream changed after it (v8 has them)",
    );
  const outcomes = (r: RunRecord) => r.correctness.map((c) => ({ name: c.name, result: c.result, reason: c.reason }));
  const rows = recallRows(spec.laterUpstream, outcomes(sRun), outcomes(mRun));
  const runs = {
    series: { name: spec.name, kernel: kernelOf(sRun), dir: shown(sDir) },
    mainline: { name: "mainline", kernel: kernelOf(mRun), dir: shown(mDir) },
  };
  const markdown = renderRecallMarkdown(rows, runs);
  if (docs) {
    await writeFileAtomic(path.resolve(docs), markdown);
    process.stderr.write(`recall table: ${path.resolve(docs)}\n`);
  }
  process.stdout.write(json ? JSON.stringify({ runs, summary: recallSummary(rows), rows }, null, 2) + "\n" : markdown);
  const bad = rows.some((r) => r.status === "missed" || r.status === "mainline-fails");
  return bad ? EXIT.knownAnswerMissed : EXIT.ok;
}

export function recallVerb(): Verb {
  const v = new Verb("recall")
    .summary(
      "upstream's later changes as the known answer: each one's check, judged on a series run and a mainline run",
    )
    .description(
      "For each change upstream made after a series that a test can observe (kernel/series/<series>.yaml, laterUpstream), the verdict of the checks that see it on a run of the series and on a run of mainline, and whether they told the two apart; changes no check sees say why. Exit 5 when a check that should see a change did not.",
    )
    .argument("<runs...>", "a run of the series and a run of mainline: SERIES_RUN MAINLINE_RUN")
    .option("--docs <file>", "also write the table here (docs/recall.md)") as Verb;
  addJsonOption(v);
  return v.runs(async ([runs], o: { json?: boolean; docs?: string }) =>
    recallCommand(folders(runs as string[]), Boolean(o.json), o.docs),
  );
}
