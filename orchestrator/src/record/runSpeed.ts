import { z } from "zod";
import type { RunRecord } from "./runRecord.js";
import { bandOf, SETTLE_RULES, type SettleRule } from "../analysis/repetitions.js";
import { stat } from "../analysis/stats.js";

/**
 * The speed of a finished run, phase by phase: how long the phase took on
 * the wall against the sum of its boots' own wall times (below 1 when guests
 * overlapped), and the median boot to /init. With a reference run, how far
 * every figure moved: a speed change is only kept when this stays inside
 * each figure's settle band.
 */
const PHASE_STAGES = {
  "read-all": "read-all phase (all boots)",
  runtime: "runtime phase (all boots)",
  correctness: "correctness phase (all boots)",
} as const;
type SpeedPhase = keyof typeof PHASE_STAGES;

const PhaseSpeedSchema = z.object({
  phase: z.enum(["read-all", "runtime", "correctness"]),
  wallMs: z.number(),
  boots: z.number().int(),
  bootWallSumMs: z.number(),
  /** wall / sum of boot walls: 1.00 when nothing overlapped, 0.50 when two guests ran side by side all along. */
  ratio: z.number().nullable(),
  bootToInitMedianMs: z.number().nullable(),
});
type PhaseSpeed = z.infer<typeof PhaseSpeedSchema>;

const FigureMoveSchema = z.object({
  figure: z.string(),
  referenceMiB: z.number(),
  thisMiB: z.number(),
  diffMiB: z.number(),
  bandMiB: z.number(),
});
export type FigureMove = z.infer<typeof FigureMoveSchema>;

const ReferenceDifferenceSchema = z.object({
  referenceDir: z.string(),
  compared: z.number().int(),
  largest: FigureMoveSchema.nullable(),
  /** Figures that moved further than the band a cell's own boots must agree within. */
  outsideBand: z.array(FigureMoveSchema),
  /** Figures in one run and not in the other. */
  unmatched: z.array(z.string()),
  /**
   * Inputs that are not the same in both runs (the kernel build, an image of
   * a workload): figures of different inputs may differ for that reason alone.
   */
  inputsDiffer: z.array(z.string()),
  /** Checks whose verdict differs. */
  verdicts: z.array(z.object({ check: z.string(), reference: z.string(), this: z.string() })),
});
export type ReferenceDifference = z.infer<typeof ReferenceDifferenceSchema>;

export const RunSpeedSchema = z.object({
  runDir: z.string(),
  parallel: z.number().int().nullable(),
  runtimeAlone: z.boolean().nullable(),
  runWallMs: z.number().nullable(),
  /** Everything but the boot phases: kernel, images, initramfs (a cached stage costs well under a second). */
  prepareMs: z.number(),
  phases: z.array(PhaseSpeedSchema),
  reference: ReferenceDifferenceSchema.optional(),
});
export type RunSpeed = z.infer<typeof RunSpeedSchema>;

function phaseOf(run: RunRecord, phase: SpeedPhase): PhaseSpeed | undefined {
  const stage = run.stageTimes.filter((t) => t.stage === PHASE_STAGES[phase]);
  if (!stage.length) return undefined;
  const walls: number[] = [];
  const toInit: number[] = [];
  if (phase === "read-all") {
    for (const b of run.boots) {
      walls.push(b.wallMs);
      if (b.timing) toInit.push(b.timing.bootMs);
    }
  } else if (phase === "runtime") {
    for (const m of run.runtime) {
      walls.push(m.wallMs);
      const boot = m.timing?.find((t) => t.kind === "boot");
      if (boot) toInit.push(boot.ms);
    }
  } else {
    // one boot gives a check's every result (trust gives two); a check booted again stands for its reruns with the wall it recorded
    const seen = new Set<string>();
    for (const c of run.correctness) {
      const key = `${c.workload} ${c.check}`;
      if (seen.has(key)) continue;
      seen.add(key);
      for (let i = 0; i < (c.boots?.of ?? 1); i++) walls.push(c.wallMs);
      if (c.timing?.bootMs) toInit.push(c.timing.bootMs);
    }
  }
  const wallMs = stage.reduce((s, t) => s + t.seconds * 1000, 0);
  const bootWallSumMs = walls.reduce((s, x) => s + x, 0);
  return {
    phase,
    wallMs,
    boots: walls.length,
    bootWallSumMs,
    ratio: bootWallSumMs > 0 ? wallMs / bootWallSumMs : null,
    bootToInitMedianMs: toInit.length ? stat(toInit).median : null,
  };
}

/**
 * How long the run took before its first boot: the end of its last
 * preparing stage where the record says when each began (the images are
 * made while the kernel compiles), else the sum of their times.
 */
function prepareMs(stages: RunRecord["stageTimes"]): number {
  if (stages.length && stages.every((t) => t.startedS !== undefined))
    return Math.max(...stages.map((t) => (t.startedS! + t.seconds) * 1000));
  return stages.reduce((s, t) => s + t.seconds * 1000, 0);
}

export function speedOf(runDir: string, run: RunRecord): RunSpeed {
  const phases = (Object.keys(PHASE_STAGES) as SpeedPhase[])
    .map((p) => phaseOf(run, p))
    .filter((p): p is PhaseSpeed => p !== undefined);
  const phaseStages = new Set<string>(Object.values(PHASE_STAGES));
  const runWallMs = run.finishedAt ? Date.parse(run.finishedAt) - Date.parse(run.startedAt) : null;
  return {
    runDir,
    parallel: run.scheduling?.parallel ?? null,
    runtimeAlone: run.scheduling?.runtimeAlone ?? null,
    runWallMs,
    prepareMs: prepareMs(run.stageTimes.filter((t) => !phaseStages.has(t.stage))),
    phases,
  };
}

/** Every figure of a run the cover letter prints, by a name both runs give it, with the band its boots settle within. */
function figuresOf(run: RunRecord): Map<string, { mib: number; rule: SettleRule }> {
  const out = new Map<string, { mib: number; rule: SettleRule }>();
  for (const c of run.cells) {
    const where = `${c.workload} read-all ${c.path} ${c.mode}`;
    if (Number.isFinite(c.afterA.median))
      out.set(`${where} after A`, { mib: c.afterA.median, rule: SETTLE_RULES.readall });
    if (Number.isFinite(c.afterB.median))
      out.set(`${where} after A+B`, { mib: c.afterB.median, rule: SETTLE_RULES.readall });
  }
  for (const c of run.runtimeCells) {
    const where = `${c.workload} runtime ${c.mode}`;
    if (Number.isFinite(c.memory.median))
      out.set(`${where} memory`, { mib: c.memory.median, rule: SETTLE_RULES.runtime });
    if (Number.isFinite(c.pageCache.median))
      out.set(`${where} page cache`, { mib: c.pageCache.median, rule: SETTLE_RULES.runtime });
  }
  return out;
}

/** How far `run`'s figures moved from `reference`'s, each against its settle band. */
export function differenceFrom(referenceDir: string, reference: RunRecord, run: RunRecord): ReferenceDifference {
  const [ref, cur] = [figuresOf(reference), figuresOf(run)];
  const moves: FigureMove[] = [];
  const unmatched: string[] = [];
  for (const [figure, r] of ref) {
    const c = cur.get(figure);
    if (!c) {
      unmatched.push(`${figure} (only in the reference)`);
      continue;
    }
    moves.push({
      figure,
      referenceMiB: r.mib,
      thisMiB: c.mib,
      diffMiB: c.mib - r.mib,
      bandMiB: bandOf([r.mib], r.rule),
    });
  }
  for (const figure of cur.keys()) if (!ref.has(figure)) unmatched.push(`${figure} (only in this run)`);
  const largest = moves.reduce<FigureMove | null>(
    (m, x) => (!m || Math.abs(x.diffMiB) > Math.abs(m.diffMiB) ? x : m),
    null,
  );
  const verdictOf = (r: RunRecord) =>
    new Map(r.correctness.map((c) => [`${c.workload} ${c.name}`, c.result as string]));
  const [rv, cv] = [verdictOf(reference), verdictOf(run)];
  const verdicts = [...rv]
    .filter(([k, v]) => cv.has(k) && cv.get(k) !== v)
    .map(([check, v]) => ({ check, reference: v, this: cv.get(check)! }));
  const inputsDiffer: string[] = [];
  if (reference.kernel?.buildKey !== run.kernel?.buildKey) inputsDiffer.push("kernel build");
  for (const w of run.workloads) {
    const r = reference.workloads.find((x) => x.name === w.name);
    if (r && (r.imageA.imageSha256 !== w.imageA.imageSha256 || r.imageB.imageSha256 !== w.imageB.imageSha256))
      inputsDiffer.push(`${w.name} images (${r.versions} then ${w.versions})`);
  }
  return {
    referenceDir,
    compared: moves.length,
    inputsDiffer,
    largest,
    outsideBand: moves.filter((m) => Math.abs(m.diffMiB) > m.bandMiB),
    unmatched,
    verdicts,
  };
}
