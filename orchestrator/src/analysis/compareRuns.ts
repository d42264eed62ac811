import { z } from "zod";
import { fisherGreater, fisherLess, formatP } from "./fisher.js";
import { ImageMoveSchema, imagesMoved, type ImagesView } from "./imagesMoved.js";
import { acceleratorLabel } from "../guest/accelerator.js";
import { isFailed } from "../guest/checks.js";
import { failureRate, resultWithRate } from "./correctnessVerdicts.js";
import { failedCells, type FailureSource } from "./failures.js";
import {
  PAGE_CACHE_RESOLUTION_MIB,
  reductionRange,
  scaled,
  separation,
  SignificanceSchema,
  widened,
  type BootRange,
  type Significance,
} from "./significance.js";

/**
 * Run-to-run comparison, the way the nightly job judges tonight's run
 * against the last good one. It reads the fields of two run records named in
 * ComparableRun; a parsed run.json is one.
 */
export interface ComparableRun extends FailureSource, ImagesView {
  runId: string;
  status: string;
  error?: string;
  series: { name: string; specSha256: string };
  plan: FailureSource["plan"] & { quick: boolean };
  accel?: { accel: string; tcgThread?: string };
  kernel?: { release?: string; buildKey: string; source: KernelSourceView };
  erofsUtils?: { version: string };
  initramfs?: { initramfsSha256: string };
  host: { qemu?: string };
  workloads: Array<ImagesView["workloads"][number] & { versions: string }>;
  comparisons: Array<{
    workload: string;
    path: string;
    off?: { afterB: BootRange & { median: number } };
    on?: { afterB: BootRange & { median: number } };
    split?: { afterB: BootRange & { median: number } };
    expectedReductionPct: number;
    reductionPct?: number;
    efficiencyPct?: number;
    splitShared: boolean;
    noisy: boolean;
  }>;
  runtimeCells: Array<FailureSource["runtimeCells"][number] & { reductionPct?: number; memory: BootRange }>;
  /** Absent in runs made before the correctness phase. */
  correctness?: Array<{
    workload: string;
    name: string;
    result: string;
    reason: string;
    boots?: { of: number; failed: number };
  }>;
}

/** A kernel source as either kind of record describes it. */
interface KernelSourceView {
  kind: string;
  package?: string;
  packageVersion?: string;
  commit?: string;
}

const ThresholdsSchema = z.object({
  /** Read-all: a drop of the sharing efficiency (measured / expected reduction) by more than this many points. */
  efficiencyPoints: z.number(),
  /** Runtime: a drop of the on-vs-off memory reduction by more than this many points. */
  runtimePoints: z.number(),
  /** Off-mode page cache moving by more than this share (percent) is reported as a change of the baseline. */
  offChangePct: z.number(),
});
export type Thresholds = z.infer<typeof ThresholdsSchema>;

export const DEFAULT_THRESHOLDS: Thresholds = { efficiencyPoints: 3, runtimePoints: 5, offChangePct: 2 };

/** "unjudged": measured on images that moved between the two runs, so it says nothing about the kernel. */
const VERDICTS = ["ok", "regression", "improvement", "changed", "new", "missing", "unjudged"] as const;
export type Verdict = (typeof VERDICTS)[number];

const MetricRowSchema = z.object({
  workload: z.string(),
  /** "read-all read", "runtime", ... */
  where: z.string(),
  metric: z.string(),
  unit: z.enum(["%", "MiB", "count", ""]),
  baseline: z.number().optional(),
  current: z.number().optional(),
  verdict: z.enum(VERDICTS),
  /** Whether baseline and current differ beyond noise (analysis/significance.ts); absent for rows without a figure. */
  significance: SignificanceSchema.optional(),
  note: z.string().optional(),
});
export type MetricRow = z.infer<typeof MetricRowSchema>;

const RunRefSchema = z.object({ runId: z.string(), dir: z.string(), status: z.string() });

export const RunComparisonSchema = z.object({
  baseline: RunRefSchema,
  current: RunRefSchema,
  /** Inputs that differ between the two runs (what a regression may be blamed on). */
  inputsChanged: z.array(z.object({ input: z.string(), baseline: z.string(), current: z.string() })),
  /** Sides of workloads whose images differ between the runs (their rows are not judged); empty: the same images. */
  imagesMoved: z.array(ImageMoveSchema).default([]),
  /** Rows measured on moved images, left unjudged. */
  unjudged: z.number().int().default(0),
  rows: z.array(MetricRowSchema),
  regressions: z.number().int(),
  thresholds: ThresholdsSchema,
});
export type RunComparison = z.infer<typeof RunComparisonSchema>;

/** The inputs a reader would blame a change on, flattened to strings. */
export function inputsOf(r: ComparableRun): Record<string, string> {
  const src = r.kernel?.source;
  const out: Record<string, string> = {
    series: `${r.series.name} (spec ${r.series.specSha256.slice(0, 12)})`,
    "kernel release": r.kernel?.release ?? "?",
    "kernel source": src
      ? [src.package, src.packageVersion, src.commit?.slice(0, 12)].filter(Boolean).join(" ") || src.kind
      : "?",
    "kernel build": r.kernel?.buildKey ?? "?",
    "mkfs.erofs": r.erofsUtils?.version ?? "?",
    // by content: one lock checked out in two places is the same lock
    lock: r.lock ? `sha256 ${r.lock.sha256.slice(0, 12)} (${r.lock.file.split("/").pop()})` : "none",
    // the guest's probe and init decide how files are read: a new one is a new measuring instrument
    "guest initramfs": r.initramfs?.initramfsSha256.slice(0, 12) ?? "?",
    qemu: r.host.qemu ?? "?",
    accelerator: r.accel ? acceleratorLabel(r.accel) : "?",
    plan: `reps ${r.plan.reps}${r.plan.quick ? ", quick" : ""}`,
  };
  for (const w of r.workloads) {
    out[`${w.name} images`] =
      `${w.versions} (${w.imageA.imageSha256.slice(0, 8)}, ${w.imageB.imageSha256.slice(0, 8)})`;
  }
  return out;
}

function pointsVerdict(base: number | undefined, cur: number | undefined, tolerance: number): Verdict {
  if (base === undefined) return cur === undefined ? "ok" : "new";
  if (cur === undefined) return "missing";
  if (cur < base - tolerance) return "regression";
  if (cur > base + tolerance) return "improvement";
  return "ok";
}

/** Cells of two runs paired by workload and `part` (access path or mode); either side may lack one. */
function matched<T extends { workload: string }>(
  base: T[],
  cur: T[],
  part: (x: T) => string,
): Array<{ b?: T; c?: T; workload: string; part: string }> {
  const key = (x: T) => `${x.workload}\0${part(x)}`;
  const bm = new Map(base.map((x) => [key(x), x]));
  const cm = new Map(cur.map((x) => [key(x), x]));
  return [...new Set([...bm.keys(), ...cm.keys()])].map((k) => {
    const [workload, p] = k.split("\0") as [string, string];
    return { b: bm.get(k), c: cm.get(k), workload, part: p };
  });
}

const num = (v: number | null | undefined): number | undefined =>
  v === null || v === undefined || Number.isNaN(v) ? undefined : v;

type Side = ComparableRun["comparisons"][number] | undefined;

/** A read-all cell's boots, widened by what a page cache reading can resolve. */
function pageCache(cell: { afterB: BootRange } | undefined): BootRange | undefined {
  return cell ? widened(cell.afterB, PAGE_CACHE_RESOLUTION_MIB) : undefined;
}

/** The range of a read-all reduction (or, divided by the expected reduction, its efficiency) its boots allow. */
function readAllRange(c: Side, figure: "reduction" | "efficiency"): BootRange | undefined {
  const off = pageCache(c?.off);
  const on = pageCache(c?.on);
  if (!c || !off || !on) return undefined;
  const r = reductionRange(off, on);
  return figure === "reduction" ? r : scaled(r, 100 / c.expectedReductionPct);
}

/** A read-all reduction (or efficiency) of both runs' cell: the two figures, and whether their boots' ranges are apart. */
function readAllFigure(
  b: Side,
  c: Side,
  figure: "reduction" | "efficiency",
): Pick<MetricRow, "baseline" | "current" | "significance"> {
  const value = (s: Side) => num(figure === "reduction" ? s?.reductionPct : s?.efficiencyPct);
  return {
    baseline: value(b),
    current: value(c),
    significance: significanceOf(readAllRange(b, figure), readAllRange(c, figure)),
  };
}

function significanceOf(b: BootRange | undefined, c: BootRange | undefined): Significance | undefined {
  return b && c ? separation(b, c) : undefined;
}

/** Runtime memory reduction of `mode` against off: the range both cells' boots allow (memory.current is read once, at its own precision). */
function runtimeRange(run: ComparableRun, workload: string, mode: string): BootRange | undefined {
  const off = run.runtimeCells.find((x) => x.workload === workload && x.mode === "off");
  const cur = run.runtimeCells.find((x) => x.workload === workload && x.mode === mode);
  return off && cur ? reductionRange(off.memory, cur.memory) : undefined;
}

/**
 * Correctness checks side by side, by how often each failed: a check that
 * never failed and now fails in any boot is a regression, one that always
 * failed and now passes an improvement. A known intermittent failure (it
 * failed in some boots of the baseline) that shows again, or not tonight,
 * is no news: the nightly does not flap on a race it already knows.
 */
function correctnessRows(base: ComparableRun, cur: ComparableRun): MetricRow[] {
  const rows: MetricRow[] = [];
  for (const { b, c, workload, part: name } of matched(base.correctness ?? [], cur.correctness ?? [], (x) => x.name)) {
    const where = `correctness ${name}`;
    if (!c) {
      rows.push({
        workload,
        where,
        metric: "check result",
        unit: "",
        verdict: "missing",
        note: `${b!.result} in the baseline, not run now`,
      });
      continue;
    }
    if (!b) {
      rows.push({ workload, where, metric: "check result", unit: "", verdict: "new", note: resultWithRate(c) });
      continue;
    }
    const rb = failureRate(b);
    const rc = failureRate(c);
    const intermittent = (rb.failed > 0 && rb.failed < rb.of) || (rc.failed > 0 && rc.failed < rc.of);
    const change = `${resultWithRate(b)} -> ${resultWithRate(c)}`;
    const why = isFailed(c.result) || c.result === "na" || c.result === "error" ? `: ${c.reason.split("\n")[0]}` : "";
    // the rates side by side with Fisher's exact test, one-sided in the direction they moved
    const more = fisherGreater(rb.failed, rb.of, rc.failed, rc.of);
    const less = fisherLess(rb.failed, rb.of, rc.failed, rc.of);
    const p = rc.failed / rc.of >= rb.failed / rb.of ? more : less;
    const rate = `${rb.failed}/${rb.of} boots vs ${rc.failed}/${rc.of}, ${formatP(p)}`;
    // with so few boots that no split could be rare (1 against 1: p = 0.5 at best), the test has nothing to say
    const decidable = fisherGreater(0, rb.of, rc.of, rc.of) < 0.05;
    const significance: Significance | undefined =
      rb.failed === rc.failed && rb.of === rc.of
        ? undefined
        : !decidable
          ? "not enough boots"
          : p < 0.05
            ? "significant"
            : "not significant";
    let verdict: Verdict;
    let note: string;
    // a failure where none was is a broken guarantee at any rate; between two failing kernels the rates decide
    if (rb.failed === 0 && rc.failed > 0) [verdict, note] = ["regression", `${change}${why} (${rate})`];
    else if (rb.failed > 0 && rc.failed === 0)
      [verdict, note] =
        intermittent && less >= 0.05
          ? ["ok", `known intermittent (${resultWithRate(b)} in the baseline), not seen now (${rate})`]
          : ["improvement", `${change} (${rate})`];
    else if (rb.failed > 0 && more < 0.05) [verdict, note] = ["regression", `fails more often: ${rate}${why}`];
    else if (rb.failed > 0 && less < 0.05) [verdict, note] = ["improvement", `fails less often: ${rate}`];
    else if (rb.failed > 0)
      [verdict, note] = ["ok", intermittent ? `known intermittent: ${change} (${rate})` : resultWithRate(c)];
    else [verdict, note] = b.result === c.result ? ["ok", c.result] : ["changed", `${change}${why}`];
    rows.push({
      workload,
      where,
      metric: "check result",
      unit: "",
      verdict,
      note,
      ...(significance ? { significance } : {}),
    });
  }
  return rows;
}

export function compareRuns(
  base: ComparableRun,
  cur: ComparableRun,
  dirs: { baseline: string; current: string },
  t: Thresholds = DEFAULT_THRESHOLDS,
): RunComparison {
  const rows: MetricRow[] = [];
  if (cur.status !== "complete") {
    rows.push({
      workload: "*",
      where: "run",
      metric: "status",
      unit: "",
      verdict: "regression",
      note: `run ${cur.status}${cur.error ? `: ${cur.error}` : ""}`,
    });
  }

  for (const { b, c, workload, part: p } of matched(base.comparisons, cur.comparisons, (x) => x.path)) {
    const where = `read-all ${p}`;
    const noisy = Boolean(b?.noisy || c?.noisy);
    const efficiency = readAllFigure(b, c, "efficiency");
    const eff = pointsVerdict(efficiency.baseline, efficiency.current, t.efficiencyPoints);
    rows.push({
      workload,
      where,
      metric: "sharing efficiency (measured / expected reduction)",
      unit: "%",
      ...efficiency,
      verdict: eff,
      note:
        noisy && (eff === "regression" || eff === "improvement")
          ? "spread of a cell is larger than its effect"
          : undefined,
    });
    rows.push({
      workload,
      where,
      metric: "reduction on vs off",
      unit: "%",
      ...readAllFigure(b, c, "reduction"),
      verdict: "ok",
    });
    const offB = num(b?.off?.afterB.median);
    const offC = num(c?.off?.afterB.median);
    const offMoved = offB !== undefined && offC !== undefined && Math.abs(offC - offB) > (offB * t.offChangePct) / 100;
    rows.push({
      workload,
      where,
      metric: "page cache, sharing off",
      unit: "MiB",
      baseline: offB,
      current: offC,
      verdict: offMoved ? "changed" : "ok",
      significance: significanceOf(pageCache(b?.off), pageCache(c?.off)),
    });
    if (c?.splitShared && !b?.splitShared) {
      // the figures that show it: split's page cache fell toward on's, and whether that is beyond noise
      rows.push({
        workload,
        where,
        metric: "domains isolated (split): page cache after A+B",
        unit: "MiB",
        baseline: num(b?.split?.afterB.median),
        current: num(c?.split?.afterB.median),
        verdict: "regression",
        significance: significanceOf(pageCache(b?.split), pageCache(c?.split)),
        note: "images in different domains now share page cache",
      });
    }
  }

  for (const { b, c, workload, part: mode } of matched(base.runtimeCells, cur.runtimeCells, (x) => x.mode)) {
    if (mode !== "off") {
      rows.push({
        workload,
        where: `runtime ${mode}`,
        metric: "memory reduction vs off (memory.current)",
        unit: "%",
        baseline: num(b?.reductionPct),
        current: num(c?.reductionPct),
        verdict: pointsVerdict(num(b?.reductionPct), num(c?.reductionPct), t.runtimePoints),
        significance: significanceOf(runtimeRange(base, workload, mode), runtimeRange(cur, workload, mode)),
      });
    }
  }

  rows.push(...correctnessRows(base, cur));

  // read-all and runtime alike: a cell with more failed boots than before
  const failedBefore = new Map(failedCells(base).map((f) => [`${f.workload}\0${f.where}`, f.count]));
  for (const f of failedCells(cur)) {
    const before = failedBefore.get(`${f.workload}\0${f.where}`) ?? 0;
    if (f.count > before) {
      rows.push({
        workload: f.workload,
        where: f.where,
        metric: "failed boots",
        unit: "count",
        baseline: before,
        current: f.count,
        verdict: "regression",
        note: f.detail.split("\n")[0],
      });
    }
  }

  // a row measured on images that moved is about the images: never a kernel regression, never an improvement
  const moved = imagesMoved(base, cur);
  for (const r of rows) {
    const m = moved.filter((x) => x.workload === r.workload);
    if (!m.length) continue;
    const was = r.verdict === "ok" ? "" : ` (would have been ${r.verdict}${r.note ? `: ${r.note}` : ""})`;
    r.verdict = "unjudged";
    r.note = `images moved: not judged${was}; ${m.map((x) => `${x.side}: ${x.detail}`).join("; ")}`;
  }

  const bi = inputsOf(base);
  const ci = inputsOf(cur);
  const inputsChanged = [...new Set([...Object.keys(bi), ...Object.keys(ci)])]
    .filter((k) => bi[k] !== ci[k])
    .map((k) => ({ input: k, baseline: bi[k] ?? "-", current: ci[k] ?? "-" }));
  return {
    baseline: { runId: base.runId, dir: dirs.baseline, status: base.status },
    current: { runId: cur.runId, dir: dirs.current, status: cur.status },
    inputsChanged,
    imagesMoved: moved,
    unjudged: rows.filter((r) => r.verdict === "unjudged").length,
    rows,
    regressions: rows.filter((r) => r.verdict === "regression").length,
    thresholds: t,
  };
}
