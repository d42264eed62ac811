import type { AccessPath, BootMeasurement, Mode } from "../guest/readAll.js";
import type { SharingAnalysis } from "./sharing.js";

export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function stat(values: number[]): Stat {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

export interface Cell {
  workload: string;
  phase: "read-all";
  path: AccessPath;
  mode: Mode;
  /** Page cache MiB after reading A, and after reading A and B. */
  afterA: Stat;
  afterB: Stat;
  expectedAfterB: number;
  /** (off - this) / off on medians, percent; absent for off itself. */
  reductionPct?: number;
}

export interface Comparison {
  workload: string;
  path: AccessPath;
  off?: Cell;
  on?: Cell;
  split?: Cell;
  reductionPct?: number;
  expectedReductionPct: number;
  /** measured / expected reduction, percent. */
  efficiencyPct?: number;
  splitReductionPct?: number;
  /** The security boundary failed: images in different domains shared page cache. */
  splitShared: boolean;
  /** The spread of off or on is larger than the effect. */
  noisy: boolean;
  /** on saved under INACTIVE_EFFICIENCY_PCT of what the analysis expects: this path does not share at all. */
  sharingInactive: boolean;
}

/** Below this efficiency the saving is measurement noise, not sharing. */
export const INACTIVE_EFFICIENCY_PCT = 10;

const KIB_PER_MIB = 1024;

export function buildCells(ms: BootMeasurement[], analyses: Map<string, SharingAnalysis>): Cell[] {
  const groups = new Map<string, BootMeasurement[]>();
  for (const m of ms) {
    const k = `${m.workload}\0${m.path}\0${m.mode}`;
    groups.set(k, [...(groups.get(k) ?? []), m]);
  }
  const cells: Cell[] = [];
  for (const g of groups.values()) {
    const first = g[0]!;
    const an = analyses.get(first.workload);
    cells.push({
      workload: first.workload,
      phase: "read-all",
      path: first.path,
      mode: first.mode,
      afterA: stat(g.map((m) => m.afterAKiB / KIB_PER_MIB)),
      afterB: stat(g.map((m) => m.afterBKiB / KIB_PER_MIB)),
      expectedAfterB: an ? an.expected[first.mode].afterB : NaN,
    });
  }
  for (const c of cells) {
    if (c.mode === "off") continue;
    const off = cells.find((o) => o.workload === c.workload && o.path === c.path && o.mode === "off");
    if (off && off.afterB.median > 0) c.reductionPct = ((off.afterB.median - c.afterB.median) / off.afterB.median) * 100;
  }
  return cells;
}

/** Split saving more than this share of what sharing across domains would save means the domains leaked. */
export const SPLIT_LEAK_FRACTION = 0.25;

/**
 * Split mode still shares identical files within one image (one domain), so
 * it is judged against its own expectation: page cache well below that is
 * content shared across the two domains.
 */
export function splitLeaked(split: Cell, an: SharingAnalysis | undefined): boolean {
  if (!an) return false;
  const crossDomain = an.expected.split.afterB - an.expected.on.afterB;
  const below = an.expected.split.afterB - split.afterB.median;
  return crossDomain > 0 && below > Math.max(crossDomain * SPLIT_LEAK_FRACTION, an.expected.off.afterB * 0.02);
}

export function compare(cells: Cell[], analyses: Map<string, SharingAnalysis>): Comparison[] {
  const keys = [...new Set(cells.map((c) => `${c.workload}\0${c.path}`))];
  return keys.map((k) => {
    const [workload, p] = k.split("\0") as [string, AccessPath];
    const get = (mode: Mode) => cells.find((c) => c.workload === workload && c.path === p && c.mode === mode);
    const off = get("off");
    const on = get("on");
    const split = get("split");
    const expected = analyses.get(workload)?.expectedReductionPct ?? NaN;
    const effect = off && on ? Math.abs(off.afterB.median - on.afterB.median) : NaN;
    const spread = Math.max(off ? off.afterB.max - off.afterB.min : 0, on ? on.afterB.max - on.afterB.min : 0);
    const efficiencyPct = on?.reductionPct !== undefined && expected > 0 ? (on.reductionPct / expected) * 100 : undefined;
    return {
      workload,
      path: p,
      off,
      on,
      split,
      reductionPct: on?.reductionPct,
      expectedReductionPct: expected,
      efficiencyPct,
      splitReductionPct: split?.reductionPct,
      splitShared: split ? splitLeaked(split, analyses.get(workload)) : false,
      noisy: Number.isFinite(effect) && spread > effect,
      sharingInactive: expected >= 1 && efficiencyPct !== undefined && efficiencyPct < INACTIVE_EFFICIENCY_PCT,
    };
  });
}

/** What the runtime table shows per (workload, mode): memory, page cache and load figures over reps. */
export interface RuntimeCell {
  workload: string;
  mode: Mode;
  /** Sum of both containers' memory.current, MiB. */
  memory: Stat;
  /** Global page cache growth after both workloads ran, MiB. */
  pageCache: Stat;
  /** Each container's memory.stat file/anon/shmem, MiB medians. */
  file: Stat;
  anon: Stat;
  shmem: Stat;
  reductionPct?: number;
  /** on vs split: the saving from sharing across images alone, with the sharing code path in both. */
  reductionVsSplitPct?: number;
  failures: string[];
  /** Median throughput per (container, step). */
  load: Array<{ container: string; step: string; unit: string; throughput: Stat; latencyAvgMs?: Stat }>;
}

export interface RuntimeInput {
  workload: string;
  mode: Mode;
  ok: boolean;
  failure?: string;
  memoryMiB?: number;
  pageCache: { afterBKiB: number };
  cgroups: { A?: { fileKiB: number; anonKiB: number; shmemKiB: number }; B?: { fileKiB: number; anonKiB: number; shmemKiB: number } };
  load: Array<{ container: string; step: string; throughput?: number; throughputUnit?: string; latencyMs?: { avg?: number } }>;
}

export function buildRuntimeCells(ms: RuntimeInput[]): RuntimeCell[] {
  const keys = [...new Set(ms.map((m) => `${m.workload}\0${m.mode}`))];
  const cells: RuntimeCell[] = keys.map((k) => {
    const [workload, mode] = k.split("\0") as [string, Mode];
    const all = ms.filter((m) => m.workload === workload && m.mode === mode);
    const ok = all.filter((m) => m.ok);
    const sum = (f: (c: { fileKiB: number; anonKiB: number; shmemKiB: number }) => number) =>
      stat(ok.map((m) => ((m.cgroups.A ? f(m.cgroups.A) : 0) + (m.cgroups.B ? f(m.cgroups.B) : 0)) / KIB_PER_MIB));
    const steps = [...new Set(ok.flatMap((m) => m.load.filter((l) => l.throughput !== undefined).map((l) => `${l.container}\0${l.step}`)))];
    return {
      workload,
      mode,
      memory: stat(ok.map((m) => m.memoryMiB!).filter((v) => v !== undefined)),
      pageCache: stat(ok.map((m) => m.pageCache.afterBKiB / KIB_PER_MIB)),
      file: sum((c) => c.fileKiB),
      anon: sum((c) => c.anonKiB),
      shmem: sum((c) => c.shmemKiB),
      failures: all.filter((m) => !m.ok).map((m) => m.failure ?? "failed"),
      load: steps.map((s) => {
        const [container, step] = s.split("\0") as [string, string];
        const figs = ok.flatMap((m) => m.load.filter((l) => l.container === container && l.step === step && l.throughput !== undefined));
        const lat = figs.map((f) => f.latencyMs?.avg).filter((v): v is number => v !== undefined);
        return { container, step, unit: figs[0]?.throughputUnit ?? "", throughput: stat(figs.map((f) => f.throughput!)), latencyAvgMs: lat.length ? stat(lat) : undefined };
      }),
    };
  });
  for (const c of cells) {
    if (c.mode === "off") continue;
    const off = cells.find((o) => o.workload === c.workload && o.mode === "off");
    if (off && off.memory.n && c.memory.n && off.memory.median > 0) c.reductionPct = ((off.memory.median - c.memory.median) / off.memory.median) * 100;
    const split = cells.find((o) => o.workload === c.workload && o.mode === "split");
    if (c.mode === "on" && split && split.memory.n && c.memory.n && split.memory.median > 0) {
      c.reductionVsSplitPct = ((split.memory.median - c.memory.median) / split.memory.median) * 100;
    }
  }
  return cells;
}

/** What failedCells reads: a run record, or the summary of one the comparison loads. */
export interface FailureSource {
  plan: { reps: number };
  failedBoots?: Array<{ workload: string; mode: string; path: string; failure: string }>;
  runtimeCells: Array<{ workload: string; mode: string; failures: string[] }>;
}

export interface FailedCell {
  workload: string;
  /** "read-all on/mmap" or "runtime on". */
  where: string;
  count: number;
  of: number;
  /** The first failure's headline, without the boot's name and the console tail. */
  first: string;
  /** The first failure, whole. */
  detail: string;
}

/** Failed boots per cell, read-all and runtime. */
export function failedCells(run: FailureSource): FailedCell[] {
  const out: FailedCell[] = [];
  const failed = run.failedBoots ?? [];
  for (const key of [...new Set(failed.map((f) => `${f.workload}\0${f.mode}\0${f.path}`))]) {
    const all = failed.filter((f) => `${f.workload}\0${f.mode}\0${f.path}` === key);
    const f = all[0]!;
    out.push({ workload: f.workload, where: `read-all ${f.mode}/${f.path}`, count: all.length, of: run.plan.reps, first: headlineOf(f.failure), detail: f.failure });
  }
  for (const c of run.runtimeCells.filter((x) => x.failures.length)) {
    out.push({ workload: c.workload, where: `runtime ${c.mode}`, count: c.failures.length, of: run.plan.reps, first: headlineOf(c.failures[0]!), detail: c.failures[0]! });
  }
  return out;
}

/** "guest kernel panicked; BUG: ... at func+0x31/0x6b" without the boot's name and the console tail. */
function headlineOf(failure: string): string {
  const line = failure.split("\n")[0]!;
  return line.replace(/^[^:]*rep \d+: /, "").replace(/; console tail:$/, "");
}
