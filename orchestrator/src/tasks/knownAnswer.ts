import { mkdir } from "node:fs/promises";
import path from "node:path";
import { judgeTargets, signalsOf, type Expectation, type MeasuredTarget } from "../analysis/knownAnswerVerdicts.js";
import { RESULT_NAMES } from "../guest/checks.js";
import { loadAllMutants, READALL_SIGNALS } from "../kernel/mutants.js";
import { KNOWN_ANSWER_SCHEMA, KnownAnswerRecordSchema, type KnownAnswerRecord } from "../record/knownAnswerRecord.js";
import {
  knownAnswerNotes,
  knownAnswerProblems,
  renderKnownAnswerMarkdown,
  renderKnownAnswerText,
} from "../report/knownAnswerTable.js";
import { BenchError, describeError } from "../util/errors.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/fsx.js";
import { fmtElapsed, Progress } from "../util/progress.js";
import { CHECKS_WORKLOAD } from "../pipeline/buildArtefacts.js";
import type { JobInput, JobSpec } from "../record/jobSpec.js";
import { runBench } from "../pipeline/run.js";
import { checksPairRun } from "../pipeline/taskRuns.js";
import type { RunFolder } from "../pipeline/runFolder.js";

/**
 * The known-answer run: the mutant set's base series (mainline) and each of
 * its kernel mutants measured the same way (the checks' pair: read-all on
 * every access path and mode, one boot each, and every correctness check),
 * each in a run folder of its own under `out`, then judged as a matrix.
 */

/** Every signal the matrix has a column for: the read-all verdicts, then each correctness result. */
export const SIGNALS: readonly string[] = [...READALL_SIGNALS, ...RESULT_NAMES];

/** What a known-answer run does unless told otherwise: a failing check gets one more boot, enough to tell a steady failure from a race at the least cost. */
export const KNOWN_ANSWER_DEFAULTS: JobInput = { checkReruns: 1 };

interface KnownAnswerOptions {
  /** Options every target's run shares (accelerator, parallel, kernel package, digest, jobs, command). */
  bench: JobSpec;
  out: string;
  /** Only these mutants (all of them when absent). */
  mutants?: string[];
  /** Also write the matrix here once every target has run (the repository's docs/known-answer.md): the table in the docs is the tool's output, never edited by hand. */
  docs?: string;
}

export async function runKnownAnswer(
  opts: KnownAnswerOptions,
  progress: Progress,
  onFolder?: (f: RunFolder) => void,
): Promise<KnownAnswerRecord> {
  const set = await loadAllMutants(RESULT_NAMES, opts.bench.mutantsDir);
  for (const m of opts.mutants ?? []) {
    if (!set.placed.some((x) => x.name === m))
      throw new BenchError(`no kernel mutant named ${m}`, `choose from: ${set.placed.map((x) => x.name).join(", ")}`);
  }
  const chosen = set.placed.filter((m) => !opts.mutants || opts.mutants.includes(m.name));
  const targets: Array<{ target: string; breaks?: string; from?: string; expect: Expectation | null }> = [
    { target: set.base, expect: null },
    ...chosen.map((m) => ({
      target: m.name,
      breaks: m.breaks,
      ...(m.outside ? { from: m.dir } : {}),
      expect: { name: m.name, caughtBy: m.caughtBy, mayAlsoFail: m.mayAlsoFail, evidence: m.evidence },
    })),
  ];
  const dir = path.resolve(opts.out);
  await mkdir(dir, { recursive: true });
  progress.setLogFile(path.join(dir, "progress.log"));
  const record: KnownAnswerRecord = {
    schema: KNOWN_ANSWER_SCHEMA,
    status: "running",
    startedAt: new Date().toISOString(),
    command: opts.bench.command,
    series: set.base,
    workload: CHECKS_WORKLOAD,
    signals: [...SIGNALS],
    targets: [],
    costs: [],
    problems: [],
    notes: [],
  };
  const measured: MeasuredTarget[] = [];
  const save = async () => {
    record.targets = judgeTargets(measured, SIGNALS, Object.keys(set.knownOnBase));
    record.problems = knownAnswerProblems(record.targets, SIGNALS);
    record.notes = knownAnswerNotes(record.targets, SIGNALS);
    KnownAnswerRecordSchema.parse(record);
    await writeJsonAtomic(path.join(dir, "known-answer.json"), record);
    await writeFileAtomic(path.join(dir, "known-answer.md"), renderKnownAnswerDoc(record));
  };
  const t0 = Date.now();
  for (const [i, t] of targets.entries()) {
    const left = i ? ` (~${fmtElapsed(((Date.now() - t0) / i) * (targets.length - i))} left)` : "";
    progress.info(
      `known answer ${i + 1}/${targets.length}: ${t.expect ? `mutant ${t.target}` : `${t.target} as it is`}${left}`,
    );
    const runDir = path.join(dir, t.target);
    const started = Date.now();
    let folder: RunFolder | undefined;
    try {
      folder = await runBench(
        {
          ...checksPairRun(opts.bench, runDir),
          series: set.base,
          profile: undefined,
          mutant: t.expect ? t.target : undefined,
        },
        new Progress(),
        onFolder,
      );
      measured.push({ ...t, runDir, signals: signalsOf(folder.record, RESULT_NAMES) });
      record.kernelRelease ??= folder.record.kernel?.build?.kernelRelease;
    } catch (e) {
      progress.info(`  ${t.target}: not measured: ${describeError(e).split("\n")[0]}`);
      measured.push({ ...t, runDir, error: describeError(e).split("\n")[0]! });
    }
    const builds =
      folder?.record.stageTimes.filter((s) => s.stage === "kernel build" || s.stage === "mutant build") ?? [];
    record.costs.push({
      target: t.target,
      wallSeconds: Math.round((Date.now() - started) / 1000),
      buildSeconds: Math.round(builds.filter((s) => !s.reused).reduce((n, s) => n + s.seconds, 0)),
      reusedBuild: builds.every((s) => s.reused),
    });
    await save();
    const row = record.targets[record.targets.length - 1]!;
    progress.info(
      `  ${t.target}: ${
        SIGNALS.filter((s) => row.verdicts[s] !== "ok")
          .map((s) => `${s} ${row.verdicts[s]}`)
          .join(", ") || "as expected, nothing failed"
      }`,
    );
  }
  record.status = "complete";
  record.finishedAt = new Date().toISOString();
  await save();
  // a subset of the mutants is a question of its own, not the project's known answer
  if (opts.docs && !opts.mutants) {
    const from = `Written by \`npm run validate\` (validate --docs) on ${record.finishedAt.slice(0, 10)}, run folder ${dir}; do not edit by hand.\n\n`;
    await writeFileAtomic(path.resolve(opts.docs), from + renderKnownAnswerDoc(record));
    progress.info(`known answer: the matrix written to ${opts.docs}`);
  }
  return record;
}

/** The run's verdict in one sentence: defects of this tool first, then what the base kernel fails on its own. */
export function verdictLine(r: Pick<KnownAnswerRecord, "problems" | "notes">): string {
  if (r.problems.length) return `**${r.problems.length} cell(s) not as expected.**`;
  return `Every mutant caught, mainline clean${r.notes.length ? ` but for ${r.notes.length} failure(s) of the base kernel itself or intermittent ones (listed below)` : ""}.`;
}

/** known-answer.md: the matrix, what each mutant breaks, what was not as expected, and the cost. */
function renderKnownAnswerDoc(r: KnownAnswerRecord): string {
  const total = r.costs.reduce((n, c) => n + c.wallSeconds, 0);
  const build = r.costs.reduce((n, c) => n + c.buildSeconds, 0);
  return [
    `# Known-answer run: ${r.series}${r.kernelRelease ? ` ${r.kernelRelease}` : ""} and ${r.targets.length - 1} kernel mutant(s)`,
    "",
    `Status: ${r.status}. Pair: ${r.workload}; each target: read-all on every access path and mode (one boot each) and every correctness check, ` +
      `a failing check booted again. ${verdictLine(r)}`,
    "",
    renderKnownAnswerMarkdown(r.targets, r.signals),
    "| target | wall | kernel build | run folder |",
    "|---|---|---|---|",
    ...r.costs.map(
      (c) =>
        `| ${c.target} | ${fmtElapsed(c.wallSeconds * 1000)} | ${c.reusedBuild ? "cached" : fmtElapsed(c.buildSeconds * 1000)} | ${r.targets.find((t) => t.target === c.target)?.runDir ?? ""} |`,
    ),
    `| all | ${fmtElapsed(total * 1000)} | ${fmtElapsed(build * 1000)} | |`,
    "",
  ].join("\n");
}

export { renderKnownAnswerText };
