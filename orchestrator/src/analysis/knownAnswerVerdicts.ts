import { z } from "zod";
import { isFailed } from "../guest/checks.js";
import { failureRate, resultWithRate } from "./correctnessVerdicts.js";

/**
 * The known-answer judgement: mainline must come out clean (findings by
 * design aside), and each kernel mutant must be caught by the signals its
 * entry names and by nothing it does not imply. A signal is a correctness
 * result or one of the read-all phase's verdicts; what each target showed is
 * read off its run record.
 */

/** What a run showed for one signal. */
const SIGNAL_STATES = ["clean", "fail", "oops", "finding", "na", "error", "absent"] as const;
type SignalState = (typeof SIGNAL_STATES)[number];

const ObservedSchema = z.object({
  state: z.enum(SIGNAL_STATES),
  /** "fail 1/4 boots", a leak's cell, a corrupted file. */
  detail: z.string(),
  /** The whole reason of a check's result (a mutant's evidence is looked for here). */
  reason: z.string().optional(),
  /** Failing runs of a check out of all its runs, when it ran more than once. */
  failed: z.number().int().optional(),
  of: z.number().int().optional(),
});
export type Observed = z.infer<typeof ObservedSchema>;

/** The parts of a run record the signals are read from. */
interface SignalSource {
  status: string;
  failedBoots: Array<{ mode: string; path: string; failure: string }>;
  comparisons: Array<{ workload: string; path: string; splitShared: boolean }>;
  correctness: Array<{ name: string; result: string; reason: string; boots?: { of: number; failed: number } }>;
}

const CORRUPTION = /DATA CORRUPTION|not read back whole/;

/** Every signal of a run: the three read-all verdicts, then each correctness result by name. */
export function signalsOf(run: SignalSource, checkNames: readonly string[]): Map<string, Observed> {
  const out = new Map<string, Observed>();
  const first = (x: string) => x.split("\n")[0]!.slice(0, 160);
  const corrupt = run.failedBoots.filter((f) => CORRUPTION.test(f.failure));
  const other = run.failedBoots.filter((f) => !CORRUPTION.test(f.failure));
  const leaks = run.comparisons.filter((c) => c.splitShared);
  out.set(
    "readall-corruption",
    corrupt.length
      ? {
          state: "fail",
          detail: `${corrupt.length} boot(s) read files back wrong, e.g. ${corrupt[0]!.mode}/${corrupt[0]!.path}: ${first(corrupt[0]!.failure)}`,
        }
      : { state: "clean", detail: "every file of every boot read back right" },
  );
  out.set(
    "readall-leak",
    leaks.length
      ? {
          state: "fail",
          detail: `split shared across domains on ${leaks.map((l) => `${l.workload}/${l.path}`).join(", ")}`,
        }
      : { state: "clean", detail: "split shared nothing across domains" },
  );
  out.set(
    "readall-boot",
    other.length
      ? {
          state: other.some((f) => /oops|panic|BUG/i.test(f.failure)) ? "oops" : "fail",
          detail: `${other.length} boot(s) failed, e.g. ${other[0]!.mode}/${other[0]!.path}: ${first(other[0]!.failure)}`,
        }
      : { state: "clean", detail: "no read-all boot failed" },
  );
  for (const name of checkNames) {
    const r = run.correctness.find((c) => c.name === name);
    if (!r) {
      out.set(name, { state: "absent", detail: "not run" });
      continue;
    }
    const rate = failureRate(r);
    const state: SignalState = r.result === "pass" ? "clean" : (r.result as SignalState);
    out.set(name, {
      state,
      detail: `${resultWithRate(r)}: ${first(r.reason)}`,
      reason: r.reason,
      ...(r.boots ? { failed: rate.failed, of: rate.of } : {}),
    });
  }
  return out;
}

/** What a cell of the matrix says. */
const VERDICTS = [
  "ok",
  "caught",
  "missed",
  "unexpected",
  "implied",
  "finding",
  "intermittent",
  "known",
  "inconclusive",
  "otherwise",
] as const;
export type KnownVerdict = (typeof VERDICTS)[number];

/** The expectation of one target: mainline (clean), or a mutant with what must and may catch it. */
export interface Expectation {
  name: string;
  caughtBy: string[];
  mayAlsoFail: string[];
  /** What a failure of caughtBy must say (kernel/mutants/mutants.yaml, evidence). */
  evidence?: string;
}

const failedState = (s: SignalState) => isFailed(s === "clean" ? "pass" : s);

/**
 * One cell. For mainline: a failure is unexpected unless it is intermittent
 * (it failed in some boots only: reported with its rate, a race to chase, not
 * a broken verdict); a finding is one by design. For a mutant: each signal of
 * `caughtBy` must fail (or be a finding where `=finding` says so, and mainline
 * was not already one); every other signal must come out as on mainline,
 * except those `mayAlsoFail` names. A check that could not judge (error, na,
 * absent) where it had to catch is inconclusive: a defect to look at, never a pass.
 * A signal the base itself fails (`knownOnBase`) is known wherever it fails.
 */
export function judgeSignal(
  signal: string,
  seen: Observed,
  want: Expectation | null,
  onMainline: Observed | undefined,
  knownOnBase: readonly string[] = [],
): KnownVerdict {
  const failing = failedState(seen.state);
  const intermittent = failing && seen.of !== undefined && seen.failed !== undefined && seen.failed < seen.of;
  // a failure the base itself has (a bug of the kernel, found by the check) is reported as known wherever it shows
  if (failing && knownOnBase.includes(signal) && !want?.caughtBy.some((s) => s.replace(/=finding$/, "") === signal))
    return "known";
  if (!want) {
    if (failing) return intermittent ? "intermittent" : "unexpected";
    if (seen.state === "error" || seen.state === "absent") return "inconclusive";
    return seen.state === "finding" ? "finding" : "ok";
  }
  const must = want.caughtBy.find((s) => s.replace(/=finding$/, "") === signal);
  if (must) {
    if (must.endsWith("=finding"))
      return seen.state === "finding" && onMainline?.state !== "finding" ? "caught" : failing ? "unexpected" : "missed";
    // caught for the reason the entry names, or failed otherwise: a failure for another reason proves nothing
    if (failing)
      return !want.evidence || new RegExp(want.evidence).test(seen.reason ?? seen.detail) ? "caught" : "otherwise";
    return seen.state === "error" || seen.state === "absent" || seen.state === "na" ? "inconclusive" : "missed";
  }
  const may = want.mayAlsoFail.some((s) => s.replace(/=finding$/, "") === signal);
  if (failing) return may ? "implied" : "unexpected";
  if (seen.state === "finding" && onMainline?.state !== "finding") return may ? "implied" : "unexpected";
  if (seen.state === "error") return "inconclusive";
  return seen.state === "finding" ? "finding" : "ok";
}

export const TargetResultSchema = z.object({
  target: z.string(),
  breaks: z.string().optional(),
  /** The folder of a reviewer's own mutant (--mutants-dir); absent for mainline and the tool's mutants. */
  from: z.string().optional(),
  runDir: z.string(),
  /** Why the target could not be measured at all (its patch did not apply, its build failed). */
  error: z.string().optional(),
  signals: z.record(z.string(), ObservedSchema),
  verdicts: z.record(z.string(), z.enum(VERDICTS)),
});
export type TargetResult = z.infer<typeof TargetResultSchema>;

/** Verdicts that make the known-answer run fail: a defect of this tool, to be fixed before anything else. */
export const BAD_VERDICTS: readonly KnownVerdict[] = ["missed", "unexpected", "inconclusive", "otherwise"];

/** A target as the run measured it: its signals, or the error that kept it from being measured; mainline expects nothing. */
export interface MeasuredTarget {
  target: string;
  breaks?: string;
  from?: string;
  runDir: string;
  error?: string;
  signals?: Map<string, Observed>;
  expect: Expectation | null;
}

export function judgeTargets(
  targets: MeasuredTarget[],
  signalNames: readonly string[],
  knownOnBase: readonly string[] = [],
): TargetResult[] {
  const mainline = targets.find((t) => !t.expect)?.signals;
  return targets.map((t) => {
    const verdicts: Record<string, KnownVerdict> = {};
    const signals: Record<string, Observed> = {};
    for (const s of signalNames) {
      const seen = t.signals?.get(s) ?? { state: "absent" as const, detail: t.error ?? "not measured" };
      signals[s] = seen;
      verdicts[s] = judgeSignal(s, seen, t.expect, mainline?.get(s), knownOnBase);
    }
    return {
      target: t.target,
      breaks: t.breaks,
      ...(t.from ? { from: t.from } : {}),
      runDir: t.runDir,
      error: t.error,
      signals,
      verdicts,
    };
  });
}
