import { BenchError } from "../util/errors.js";
import { stat } from "./stats.js";

const median = (xs: number[]) => stat(xs).median;

/**
 * How a bisection decides a step from noisy measurements: like GOOD, like
 * BAD, or not sure yet (measure again, up to a cap, then skip the commit).
 * Figures (a sharing efficiency) are judged against the two ends' own
 * samples; a check by its failures: one failing boot is BAD (GOOD was seen
 * never to fail), and passing boots count as GOOD only once so many of them
 * in a row would be unlikely (below `alpha`) at BAD's failure rate.
 */

type StepVerdict = "good" | "bad" | "unsure";

/** What a bisection judges: a correctness result, or a read-all sharing efficiency of a workload's access path. */
export type BisectRow = { kind: "check"; name: string } | { kind: "efficiency"; workload: string; path: string };

export function parseBisectRow(spec: string, checkNames: readonly string[], paths: readonly string[]): BisectRow {
  const m = /^(check|efficiency):(.+)$/.exec(spec.trim());
  const fix = `--row check:NAME (one of ${checkNames.join(", ")}) or efficiency:WORKLOAD/PATH (PATH one of ${paths.join(", ")})`;
  if (!m) throw new BenchError(`--row "${spec}" is neither check:NAME nor efficiency:WORKLOAD/PATH`, fix);
  if (m[1] === "check") {
    if (!checkNames.includes(m[2]!)) throw new BenchError(`--row ${spec}: no correctness result named ${m[2]}`, fix);
    return { kind: "check", name: m[2]! };
  }
  const [workload, p] = m[2]!.split("/");
  if (!workload || !p || !paths.includes(p))
    throw new BenchError(`--row ${spec}: not WORKLOAD/PATH with a known path`, fix);
  return { kind: "efficiency", workload, path: p };
}

export function rowName(r: BisectRow): string {
  return r.kind === "check" ? `check:${r.name}` : `efficiency:${r.workload}/${r.path}`;
}

/** A figure's two ends, and the noise below which a difference is not one. */
export interface FigureEnds {
  good: number[];
  bad: number[];
  /** The smallest difference that counts, whatever the samples' spread (points of efficiency). */
  floor: number;
}

const spread = (xs: number[]) => (xs.length ? Math.max(...xs) - Math.min(...xs) : 0);

/** The noise of a figure: the larger spread of the ends, at least `floor`. */
function figureNoise(e: FigureEnds): number {
  return Math.max(e.floor, spread(e.good), spread(e.bad));
}

/** GOOD and BAD must differ by more than twice their noise, or no step can be told apart. */
export function endsDiffer(e: FigureEnds): boolean {
  return Math.abs(median(e.bad) - median(e.good)) > 2 * figureNoise(e);
}

/**
 * A step of a figure: decided when it has at least `min` samples, all on one
 * side of the midpoint between the ends' medians, with their median at least
 * half the noise away from it; otherwise not sure.
 */
export function decideFigure(step: number[], e: FigureEnds, min = 2): StepVerdict {
  if (step.length < min) return "unsure";
  const g = median(e.good);
  const b = median(e.bad);
  const mid = (g + b) / 2;
  const towardBad = (x: number) => (b > g ? x > mid : x < mid);
  const sides = new Set(step.map(towardBad));
  if (sides.size !== 1) return "unsure";
  if (Math.abs(median(step) - mid) < figureNoise(e) / 2) return "unsure";
  return towardBad(step[0]!) ? "bad" : "good";
}

/** Passing boots in a row it takes to call a step GOOD when BAD fails `badRate` of its boots. */
export function passesNeeded(badRate: number, alpha = 0.1): number {
  if (badRate <= 0) return Infinity;
  if (badRate >= 1) return 1;
  return Math.ceil(Math.log(alpha) / Math.log(1 - badRate));
}

/** A step of a check: any failing boot is BAD; enough passes in a row are GOOD. */
export function decideCheck(step: { failed: number; of: number }, badRate: number, alpha = 0.1): StepVerdict {
  if (step.failed > 0) return "bad";
  return step.of >= passesNeeded(badRate, alpha) ? "good" : "unsure";
}

/** What to do with a step after this measurement: decide it, measure again, or give up on it (skip) at the cap. */
export function nextAction(verdict: StepVerdict, samples: number, cap: number): "good" | "bad" | "again" | "skip" {
  if (verdict !== "unsure") return verdict;
  return samples >= cap ? "skip" : "again";
}
