import { bisectHints, type BisectHint } from "./bisectHint.js";
import { compareRuns, type ComparableRun, type RunComparison, type Thresholds } from "./compareRuns.js";
import { EXIT } from "../util/exitStatus.js";

/**
 * A night judged against the history of its job: which earlier night is its
 * baseline, what the comparison with it says, and the status of a night of
 * many jobs. Reading and writing the history's files is the pipeline's.
 */

/** What a night's judgement reads of a run record. */
interface JudgedRun extends ComparableRun {
  startedAt: string;
  plan: ComparableRun["plan"] & { workloads: string[]; modes: string[]; paths: string[]; phases: string[] };
  kernel?: ComparableRun["kernel"] & {
    source: { kind: string; repo?: string; commit?: string; package?: string; packageVersion?: string };
    apply?: { patches: unknown[] };
  };
}

/** An earlier night of the history: its folder, its run and, once judged, how many regressions it had. */
interface EarlierNight<R extends JudgedRun = JudgedRun> {
  dir: string;
  run: R;
  verdict: { regressions: number } | null;
}

function samePlan(a: JudgedRun, b: JudgedRun): boolean {
  const p = (r: JudgedRun) =>
    JSON.stringify([
      r.series.name,
      [...r.plan.workloads].sort(),
      [...r.plan.modes].sort(),
      [...r.plan.paths].sort(),
      [...r.plan.phases].sort(),
      r.plan.quick,
    ]);
  return p(a) === p(b);
}

/**
 * The last good night to judge `current` against: complete, same series and
 * plan, older, and not itself judged a regression (so a regression does not
 * become tomorrow's baseline). `nights` are oldest first.
 */
export function findBaseline<N extends EarlierNight>(nights: N[], current: JudgedRun): N | null {
  const good = nights.filter((n) => {
    const r = n.run;
    const regressed = (n.verdict?.regressions ?? 0) > 0;
    return (
      r.runId !== current.runId &&
      r.status === "complete" &&
      !regressed &&
      samePlan(r, current) &&
      r.startedAt < current.startedAt
    );
  });
  return good[good.length - 1] ?? null;
}

export interface NightJudgement {
  comparison: RunComparison | null;
  /** Why there is no comparison (the first night of a plan). */
  note?: string;
  /** The comparison's regressions; without one, a run that did not complete counts as one. */
  regressions: number;
  /** For each regressed row a bisection can judge, where to look. */
  hints: BisectHint[];
}

/** `current` (in `dir`) against its baseline, if it has one in `history`. */
export function judgeNight(
  current: JudgedRun,
  dir: string,
  baseline: EarlierNight | null,
  history: string,
  thresholds?: Thresholds,
): NightJudgement {
  if (!baseline) {
    return {
      comparison: null,
      note: `no earlier complete run of series ${current.series.name} with the same plan in ${history}: this run is the first baseline`,
      regressions: current.status === "complete" ? 0 : 1,
      hints: [],
    };
  }
  const comparison = compareRuns(baseline.run, current, { baseline: baseline.dir, current: dir }, thresholds);
  return {
    comparison,
    regressions: comparison.regressions,
    hints: bisectHints(baseline.run, current, comparison.rows),
  };
}

/**
 * One status for a night of many jobs: a regression anywhere is 3, else
 * failed boots 4, else a job that could not run 1, else rows left unjudged
 * because their images moved 6.
 */
export function nightExitStatus(
  jobs: Array<{ status: string; regressions: number; failedBoots: number; imagesMoved?: string[] }>,
): number {
  if (jobs.some((j) => j.regressions > 0)) return EXIT.regression;
  if (jobs.some((j) => j.failedBoots > 0)) return EXIT.failedBoots;
  if (jobs.some((j) => j.status === "error" || j.status === "failed")) return EXIT.error;
  if (jobs.some((j) => j.imagesMoved?.length)) return EXIT.imagesMoved;
  return EXIT.ok;
}

/** The status of one comparison: 3 on a regression, 6 when it judged everything it could but images moved, else 0. */
export function comparisonExitStatus(cmp: { regressions: number; imagesMoved: unknown[] } | null | undefined): number {
  if (cmp?.regressions) return EXIT.regression;
  if (cmp?.imagesMoved.length) return EXIT.imagesMoved;
  return EXIT.ok;
}
