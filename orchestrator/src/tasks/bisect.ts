import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import {
  decideCheck,
  decideFigure,
  endsDiffer,
  nextAction,
  passesNeeded,
  rowName,
  type BisectRow,
  type FigureEnds,
} from "../analysis/bisectRule.js";
import { failureRate } from "../analysis/correctnessVerdicts.js";
import { CHECKS } from "../guest/checks.js";
import { BISECT_SCHEMA, BisectRecordSchema, type BisectRecord, type BisectStep } from "../record/bisectRecord.js";
import type { RunRecord } from "../record/runRecord.js";
import { renderBisectMarkdown } from "../report/bisectReport.js";
import { BenchError } from "../util/errors.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/fsx.js";
import { git, gitOk } from "../util/git.js";
import { Progress } from "../util/progress.js";
import { CHECKS_WORKLOAD } from "../pipeline/buildArtefacts.js";
import type { JobSpec } from "../record/jobSpec.js";
import { runBench } from "../pipeline/run.js";
import { taskRun } from "../pipeline/taskRuns.js";
import type { RunFolder } from "../pipeline/runFolder.js";

/**
 * A bisection of the user's own tree for the commit that changed one row
 * (a correctness result, or a path's sharing efficiency): `git bisect`
 * in a worktree of their clone without a checkout (theirs is never
 * touched), each step built on the build of BAD so only what differs
 * recompiles, and judged against the two ends' own measurements. A step that
 * does not build, lacks the feature, or stays unsure up to the cap is
 * skipped. Run again with the same --out, it replays the steps it decided.
 */
interface BisectOptions {
  bench: JobSpec;
  good: string;
  bad: string;
  row: BisectRow;
  out: string;
  /** The most measurements a step of a figure gets; the most boots a check step gets. */
  cap: number;
}

/** The most measurements an unsure step gets before it is skipped, unless told otherwise. */
export const DEFAULT_BISECT_CAP = 4;

/** A figure's samples or a check's boots, from one run folder. */
interface Measured {
  samples: number[];
  failed: number;
  of: number;
  runDir: string;
}

/** The sharing efficiency of each repetition of a path (its off and on boots paired by rep). */
function efficiencySamples(run: Pick<RunRecord, "boots" | "workloads">, workload: string, p: string): number[] {
  const expected = run.workloads.find((w) => w.name === workload)?.sharing.expectedReductionPct;
  if (!expected) return [];
  const boots = run.boots.filter((b) => b.workload === workload && b.path === p && !b.excluded);
  const reps = [...new Set(boots.map((b) => b.rep))];
  return reps.flatMap((rep) => {
    const off = boots.find((b) => b.rep === rep && b.mode === "off");
    const on = boots.find((b) => b.rep === rep && b.mode === "on");
    return off && on && off.afterBKiB > 0
      ? [((((off.afterBKiB - on.afterBKiB) / off.afterBKiB) * 100) / expected) * 100]
      : [];
  });
}

/** Measures one commit `reps` times into `runDir` (a run of the pipeline; a test gives its own). */
export type MeasureCommit = (commit: string, reps: number, runDir: string) => Promise<Omit<Measured, "runDir">>;

export async function runBisect(
  opts: BisectOptions,
  progress: Progress,
  onFolder?: (f: RunFolder) => void,
  measureCommit?: MeasureCommit,
): Promise<BisectRecord> {
  const { bench, row } = opts;
  const clone = bench.kernelSrc;
  if (!clone || !bench.profile)
    throw new BenchError(
      "bisect bisects your own tree: it needs --kernel-src and --profile",
      "bisect GOOD..BAD --kernel-src ~/linux --profile mainline --row check:fadvise",
    );
  const good = await gitOk(clone, ["rev-parse", "--verify", `${opts.good}^{commit}`]).catch(() => {
    throw new BenchError(`GOOD ${opts.good} is not a commit of ${clone}`);
  });
  const bad = await gitOk(clone, ["rev-parse", "--verify", `${opts.bad}^{commit}`]).catch(() => {
    throw new BenchError(`BAD ${opts.bad} is not a commit of ${clone}`);
  });
  if ((await git(clone, ["merge-base", "--is-ancestor", good, bad])).exitCode !== 0)
    throw new BenchError(`GOOD ${opts.good} is not an ancestor of BAD ${opts.bad}`, "name GOOD..BAD in history order");
  const dir = path.resolve(opts.out);
  await mkdir(dir, { recursive: true });
  progress.setLogFile(path.join(dir, "progress.log"));
  const file = path.join(dir, "bisect.json");
  const earlier = await readFile(file, "utf8").then(
    (t) => BisectRecordSchema.safeParse(JSON.parse(t)),
    () => null,
  );
  const resumed =
    earlier?.success && earlier.data.good === good && earlier.data.bad === bad && earlier.data.row === rowName(row)
      ? earlier.data
      : undefined;
  const record: BisectRecord = resumed ?? {
    schema: BISECT_SCHEMA,
    status: "running",
    startedAt: new Date().toISOString(),
    command: bench.command,
    repo: clone,
    profile: bench.profile,
    good,
    bad,
    row: rowName(row),
    cap: opts.cap,
    steps: [],
    log: "",
  };
  record.status = "running";
  const save = async () => {
    BisectRecordSchema.parse(record);
    await writeJsonAtomic(file, record);
    await writeFileAtomic(path.join(dir, "bisect.md"), renderBisectMarkdown(record));
  };
  const check = row.kind === "check" ? CHECKS.find((c) => c.results.some((r) => r.name === row.name))!.name : undefined;
  let runs = 0;
  const measureRun: MeasureCommit = async (commit, reps, runDir) => {
    const folder = await runBench(
      {
        ...taskRun(bench, runDir),
        baseRef: bad,
        commit: commit === bad ? undefined : commit,
        ...(row.kind === "check"
          ? {
              workloads: [CHECKS_WORKLOAD],
              phases: ["correctness" as const],
              checks: [check!],
              checkReps: reps,
              checkReruns: 0,
            }
          : {
              workloads: [row.workload],
              phases: ["readall" as const],
              paths: [row.path as "read"],
              modes: ["off" as const, "on" as const],
              reps,
            }),
      },
      new Progress(),
      onFolder,
    );
    const rec = folder.record;
    if (rec.status !== "complete")
      throw new BenchError(
        `the run of ${commit.slice(0, 12)} did not complete: ${rec.error ?? rec.status}`,
        undefined,
        [runDir],
      );
    if (row.kind === "check") {
      const r = rec.correctness.find((c) => c.name === row.name);
      if (!r || r.result === "error" || r.result === "na")
        throw new BenchError(
          `${row.name} could not judge ${commit.slice(0, 12)}: ${r?.reason ?? "no result"}`,
          undefined,
          [runDir],
        );
      return { samples: [], ...failureRate(r) };
    }
    return { samples: efficiencySamples(rec, row.workload, row.path), failed: 0, of: 0 };
  };
  const measure = async (commit: string, reps: number, label: string): Promise<Measured> => {
    const runDir = path.join(
      dir,
      `${label}-${String(++runs + record.steps.reduce((n, s) => n + s.runDirs.length, 0)).padStart(3, "0")}`,
    );
    return { ...(await (measureCommit ?? measureRun)(commit, reps, runDir)), runDir };
  };

  // the two ends first: BAD must show the change, GOOD must not, or there is nothing to find
  if (!record.ends) {
    progress.info(`bisect: measuring BAD ${bad.slice(0, 12)} and GOOD ${good.slice(0, 12)} for ${record.row}`);
    const b = await measure(bad, row.kind === "check" ? opts.cap : 3, "bad");
    if (row.kind === "check" && b.failed === 0)
      throw new BenchError(
        `BAD ${opts.bad} passed ${row.name} in all ${b.of} boots: nothing to bisect`,
        "raise --cap, or check the row",
        [b.runDir],
      );
    const need = row.kind === "check" ? Math.min(passesNeeded(b.failed / b.of), opts.cap * 4) : 3;
    const g = await measure(good, need, "good");
    if (row.kind === "check" && g.failed > 0)
      throw new BenchError(
        `GOOD ${opts.good} fails ${row.name} too (${g.failed} of ${g.of} boots)`,
        "pick an older GOOD",
        [g.runDir],
      );
    record.ends = {
      good: { samples: g.samples, failed: g.failed, of: g.of, runDir: g.runDir },
      bad: { samples: b.samples, failed: b.failed, of: b.of, runDir: b.runDir },
    };
    if (row.kind === "efficiency" && !endsDiffer(figureEnds(record))) {
      throw new BenchError(
        `GOOD and BAD do not differ beyond their noise on ${record.row} (GOOD ${fmt(g.samples)}, BAD ${fmt(b.samples)})`,
        "pick other ends, or another row",
      );
    }
    await save();
  }

  const wt = path.join(dir, "bisect-tree");
  await rm(wt, { recursive: true, force: true });
  await git(clone, ["worktree", "prune"]);
  await gitOk(clone, ["worktree", "add", "--no-checkout", "--detach", wt, bad]);
  try {
    let outcome = await bisectCommand(wt, ["start", "--no-checkout", bad, good]);
    for (const s of record.steps) outcome = await bisectCommand(wt, [s.action, s.commit]);
    while (!outcome.done) {
      const commit = await gitOk(wt, ["rev-parse", "BISECT_HEAD"]);
      const subject = await gitOk(clone, ["log", "-1", "--format=%s", commit]);
      const step: BisectStep = {
        commit,
        subject,
        samples: [],
        failed: 0,
        of: 0,
        verdict: "unsure",
        action: "skip",
        runDirs: [],
      };
      progress.info(`bisect: step ${record.steps.length + 1}: ${commit.slice(0, 12)} ${subject}`);
      const badRate = record.ends!.bad.of ? record.ends!.bad.failed / record.ends!.bad.of : 0;
      // a check gets the boots it takes to call it GOOD at BAD's rate (capped); a figure two samples, then one more while unsure
      const cap = row.kind === "check" ? Math.min(passesNeeded(badRate), opts.cap) : opts.cap;
      for (;;) {
        try {
          const reps = row.kind === "check" ? cap - step.of : step.samples.length ? 1 : 2;
          const m = await measure(commit, Math.max(1, reps), `step-${commit.slice(0, 8)}`);
          step.runDirs.push(m.runDir);
          step.samples.push(...m.samples);
          step.failed += m.failed;
          step.of += m.of;
        } catch (e) {
          if (!(e instanceof BenchError)) throw e;
          // a commit that does not build, lacks the feature, or cannot be judged is skipped, as git bisect skip means
          step.note = e.message.split("\n")[0];
          step.action = "skip";
          break;
        }
        step.verdict =
          row.kind === "check" ? decideCheck(step, badRate) : decideFigure(step.samples, figureEnds(record));
        const action = nextAction(step.verdict, row.kind === "check" ? step.of : step.samples.length, cap);
        if (action !== "again") {
          step.action = action;
          break;
        }
      }
      progress.info(
        `  ${commit.slice(0, 12)}: ${step.action}${step.note ? ` (${step.note})` : ""}${step.samples.length ? ` ${fmt(step.samples)}` : step.of ? ` (failed ${step.failed} of ${step.of} boots)` : ""}`,
      );
      record.steps.push(step);
      await save();
      outcome = await bisectCommand(wt, [step.action, commit]);
    }
    Object.assign(record, outcome.done);
  } finally {
    record.log = (await git(wt, ["bisect", "log"])).stdout || record.log;
    await git(wt, ["bisect", "reset"]);
    await git(clone, ["worktree", "remove", "--force", wt]);
  }
  record.status = "complete";
  record.finishedAt = new Date().toISOString();
  await writeFileAtomic(path.join(dir, "bisect.log"), record.log);
  await save();
  return record;
}

const fmt = (xs: number[]) => `[${xs.map((x) => x.toFixed(1)).join(", ")}]`;

function figureEnds(r: BisectRecord): FigureEnds {
  return { good: r.ends!.good.samples, bad: r.ends!.bad.samples, floor: 1 };
}

/** `git bisect ARGS`, and what it concluded once it has: the first bad commit, or the commits it could be when only skipped ones are left. */
export function parseBisectOutput(out: string): { done?: { firstBad?: string; candidates?: string[] } } {
  const first = /^([0-9a-f]{40}) is the first bad commit/m.exec(out);
  if (first) return { done: { firstBad: first[1]! } };
  if (/only 'skip'ped commits left to test/.test(out))
    return { done: { candidates: [...out.matchAll(/^([0-9a-f]{40})\b/gm)].map((m) => m[1]!) } };
  return {};
}

async function bisectCommand(
  wt: string,
  args: string[],
): Promise<{ done?: { firstBad?: string; candidates?: string[] } }> {
  const r = await git(wt, ["bisect", ...args]);
  const parsed = parseBisectOutput(r.stdout + r.stderr);
  if (r.exitCode !== 0 && !parsed.done)
    throw new BenchError(`git bisect ${args.join(" ")} failed in ${wt}: ${(r.stderr || r.stdout).trim()}`);
  return parsed;
}
