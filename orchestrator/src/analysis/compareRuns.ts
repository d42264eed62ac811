import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { BenchError } from "../util/errors.js";
import { failedCells } from "./cells.js";

/**
 * Run-to-run comparison, the way the nightly job judges tonight's run
 * against the last good one. Only what a verdict needs is read from run.json,
 * validated here at the edge, so a run written by an older tool still loads.
 */

const StatSchema = z.object({ median: z.number().nullable(), min: z.number().nullable(), max: z.number().nullable(), n: z.number() });

const ComparisonSchema = z.object({
  workload: z.string(),
  path: z.string(),
  off: z.object({ afterB: StatSchema }).optional(),
  on: z.object({ afterB: StatSchema }).optional(),
  reductionPct: z.number().nullable().optional(),
  expectedReductionPct: z.number(),
  efficiencyPct: z.number().nullable().optional(),
  splitShared: z.boolean(),
  noisy: z.boolean(),
});

const RuntimeCellSchema = z.object({
  workload: z.string(),
  mode: z.string(),
  memory: StatSchema,
  reductionPct: z.number().nullable().optional(),
  failures: z.array(z.string()),
});

export const RunSummarySchema = z.object({
  runId: z.string(),
  status: z.enum(["running", "complete", "failed", "interrupted"]),
  error: z.string().optional(),
  startedAt: z.string(),
  series: z.object({ name: z.string(), specSha256: z.string() }),
  plan: z.object({ workloads: z.array(z.string()), modes: z.array(z.string()), paths: z.array(z.string()), reps: z.number(), phases: z.array(z.string()).default(["readall"]), quick: z.boolean().default(false) }),
  accel: z.object({ accel: z.string() }).optional(),
  kernel: z.object({ release: z.string().optional(), source: z.unknown(), buildKey: z.string() }).optional(),
  erofsUtils: z.object({ version: z.string() }).optional(),
  initramfs: z.object({ initramfsSha256: z.string() }).optional(),
  host: z.object({ qemu: z.string().optional() }).optional(),
  workloads: z.array(z.object({ name: z.string(), versions: z.string(), imageA: z.object({ imageSha256: z.string() }), imageB: z.object({ imageSha256: z.string() }) })),
  comparisons: z.array(ComparisonSchema),
  failedBoots: z.array(z.object({ workload: z.string(), mode: z.string(), path: z.string(), failure: z.string() })).default([]),
  runtimeCells: z.array(RuntimeCellSchema).default([]),
});
export type RunSummary = z.infer<typeof RunSummarySchema>;

export async function loadRunSummary(dir: string): Promise<RunSummary> {
  const file = path.join(dir, "run.json");
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw new BenchError(`cannot read ${file}: ${(e as Error).message}`, "pass a run folder (one that holds run.json)");
  }
  const parsed = RunSummarySchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new BenchError(`${file} is not a run record this tool can compare: ${first?.path.join(".")}: ${first?.message}`, "compare folders written by erofs-share-bench");
  }
  return parsed.data;
}

export interface Thresholds {
  /** Read-all: a drop of the sharing efficiency (measured / expected reduction) by more than this many points. */
  efficiencyPoints: number;
  /** Runtime: a drop of the on-vs-off memory reduction by more than this many points. */
  runtimePoints: number;
  /** Off-mode page cache moving by more than this share (percent) is reported as a change of the baseline. */
  offChangePct: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { efficiencyPoints: 3, runtimePoints: 5, offChangePct: 2 };

export type Verdict = "ok" | "regression" | "improvement" | "changed" | "new" | "missing";

export interface MetricRow {
  workload: string;
  /** "read-all read", "runtime", ... */
  where: string;
  metric: string;
  unit: "%" | "MiB" | "count" | "";
  baseline?: number;
  current?: number;
  verdict: Verdict;
  note?: string;
}

export interface RunComparison {
  baseline: { runId: string; dir: string; status: string };
  current: { runId: string; dir: string; status: string };
  /** Inputs that differ between the two runs (what a regression may be blamed on). */
  inputsChanged: Array<{ input: string; baseline: string; current: string }>;
  rows: MetricRow[];
  regressions: number;
  thresholds: Thresholds;
}

/** The inputs a reader would blame a change on, flattened to strings. */
export function inputsOf(r: RunSummary): Record<string, string> {
  const src = z.object({ kind: z.string(), package: z.string().optional(), version: z.string().optional(), commit: z.string().optional() }).safeParse(r.kernel?.source);
  const out: Record<string, string> = {
    series: `${r.series.name} (spec ${r.series.specSha256.slice(0, 12)})`,
    "kernel release": r.kernel?.release ?? "?",
    "kernel source": src.success ? [src.data.package, src.data.version, src.data.commit?.slice(0, 12)].filter(Boolean).join(" ") || src.data.kind : "?",
    "kernel build": r.kernel?.buildKey ?? "?",
    "mkfs.erofs": r.erofsUtils?.version ?? "?",
    // the guest's probe and init decide how files are read: a new one is a new measuring instrument
    "guest initramfs": r.initramfs?.initramfsSha256.slice(0, 12) ?? "?",
    qemu: r.host?.qemu ?? "?",
    accelerator: r.accel?.accel ?? "?",
    plan: `reps ${r.plan.reps}${r.plan.quick ? ", quick" : ""}`,
  };
  for (const w of r.workloads) {
    out[`${w.name} images`] = `${w.versions} (${w.imageA.imageSha256.slice(0, 8)}, ${w.imageB.imageSha256.slice(0, 8)})`;
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
function matched<T extends { workload: string }>(base: T[], cur: T[], part: (x: T) => string): Array<{ b?: T; c?: T; workload: string; part: string }> {
  const key = (x: T) => `${x.workload}\0${part(x)}`;
  const bm = new Map(base.map((x) => [key(x), x]));
  const cm = new Map(cur.map((x) => [key(x), x]));
  return [...new Set([...bm.keys(), ...cm.keys()])].map((k) => {
    const [workload, p] = k.split("\0") as [string, string];
    return { b: bm.get(k), c: cm.get(k), workload, part: p };
  });
}

const num = (v: number | null | undefined): number | undefined => (v === null || v === undefined || Number.isNaN(v) ? undefined : v);

export function compareRuns(
  base: RunSummary,
  cur: RunSummary,
  dirs: { baseline: string; current: string },
  t: Thresholds = DEFAULT_THRESHOLDS,
): RunComparison {
  const rows: MetricRow[] = [];
  if (cur.status !== "complete") {
    rows.push({ workload: "*", where: "run", metric: "status", unit: "", verdict: "regression", note: `run ${cur.status}${cur.error ? `: ${cur.error}` : ""}` });
  }

  for (const { b, c, workload, part: p } of matched(base.comparisons, cur.comparisons, (x) => x.path)) {
    const where = `read-all ${p}`;
    const noisy = Boolean(b?.noisy || c?.noisy);
    const eff = pointsVerdict(num(b?.efficiencyPct), num(c?.efficiencyPct), t.efficiencyPoints);
    rows.push({
      workload, where, metric: "sharing efficiency (measured / expected reduction)", unit: "%",
      baseline: num(b?.efficiencyPct), current: num(c?.efficiencyPct), verdict: eff,
      note: noisy && (eff === "regression" || eff === "improvement") ? "spread of a cell is larger than its effect" : undefined,
    });
    rows.push({ workload, where, metric: "reduction on vs off", unit: "%", baseline: num(b?.reductionPct), current: num(c?.reductionPct), verdict: "ok" });
    const offB = num(b?.off?.afterB.median);
    const offC = num(c?.off?.afterB.median);
    const offMoved = offB !== undefined && offC !== undefined && Math.abs(offC - offB) > (offB * t.offChangePct) / 100;
    rows.push({ workload, where, metric: "page cache, sharing off", unit: "MiB", baseline: offB, current: offC, verdict: offMoved ? "changed" : "ok" });
    if (c?.splitShared && !b?.splitShared) {
      rows.push({ workload, where, metric: "domains isolated (split)", unit: "", verdict: "regression", note: "images in different domains now share page cache" });
    }
  }

  for (const { b, c, workload, part: mode } of matched(base.runtimeCells, cur.runtimeCells, (x) => x.mode)) {
    if (mode !== "off") {
      rows.push({
        workload, where: `runtime ${mode}`, metric: "memory reduction vs off (memory.current)", unit: "%",
        baseline: num(b?.reductionPct), current: num(c?.reductionPct), verdict: pointsVerdict(num(b?.reductionPct), num(c?.reductionPct), t.runtimePoints),
      });
    }
  }

  // read-all and runtime alike: a cell with more failed boots than before
  const failedBefore = new Map(failedCells(base).map((f) => [`${f.workload}\0${f.where}`, f.count]));
  for (const f of failedCells(cur)) {
    const before = failedBefore.get(`${f.workload}\0${f.where}`) ?? 0;
    if (f.count > before) {
      rows.push({ workload: f.workload, where: f.where, metric: "failed boots", unit: "count", baseline: before, current: f.count, verdict: "regression", note: f.detail.split("\n")[0] });
    }
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
    rows,
    regressions: rows.filter((r) => r.verdict === "regression").length,
    thresholds: t,
  };
}

function fmt(v: number | undefined, unit: MetricRow["unit"]): string {
  if (v === undefined) return "-";
  return unit === "count" ? String(v) : v.toFixed(1);
}

function delta(r: MetricRow): string {
  if (r.baseline === undefined || r.current === undefined) return "";
  const d = r.current - r.baseline;
  const sign = d > 0 ? "+" : "";
  if (r.unit === "%") return `${sign}${d.toFixed(1)} pt`;
  if (r.unit === "MiB") return `${sign}${d.toFixed(1)} MiB`;
  return `${sign}${d}`;
}

/** Side by side, one row per metric, verdict last (the mmtests compare habit). */
export function renderComparison(cmp: RunComparison): string {
  const lines: string[] = [];
  const verdict = cmp.regressions ? `REGRESSION (${cmp.regressions})` : "no regression";
  lines.push(`# ${cmp.current.runId} against ${cmp.baseline.runId}: ${verdict}`, "");
  lines.push(`baseline: ${cmp.baseline.dir} (${cmp.baseline.status})`, `current:  ${cmp.current.dir} (${cmp.current.status})`, "");
  lines.push(
    `Thresholds: read-all sharing efficiency -${cmp.thresholds.efficiencyPoints} pt, runtime reduction -${cmp.thresholds.runtimePoints} pt, ` +
      `off-mode page cache ±${cmp.thresholds.offChangePct}% (reported as changed).`,
    "",
  );
  if (cmp.inputsChanged.length) {
    lines.push("## Inputs that changed", "", "| input | baseline | current |", "|---|---|---|");
    for (const i of cmp.inputsChanged) lines.push(`| ${i.input} | ${i.baseline} | ${i.current} |`);
    lines.push("");
  } else {
    lines.push("Inputs: identical (kernel, images, mkfs.erofs, guest initramfs, QEMU, accelerator, plan).", "");
  }
  lines.push("## Metrics", "", "| workload | where | metric | baseline | current | delta | verdict |", "|---|---|---|---:|---:|---:|---|");
  for (const r of cmp.rows) {
    const v = r.verdict === "regression" ? "**REGRESSION**" : r.verdict;
    lines.push(`| ${r.workload} | ${r.where} | ${r.metric} | ${fmt(r.baseline, r.unit)} | ${fmt(r.current, r.unit)} | ${delta(r)} | ${v}${r.note ? ` (${r.note})` : ""} |`);
  }
  return lines.join("\n") + "\n";
}
