import type { Cell, Comparison } from "../../src/analysis/cells.js";
import type { CorrectnessResult } from "../../src/analysis/correctnessVerdicts.js";
import type { RuntimeCell } from "../../src/analysis/runtimeCells.js";
import { type RepetitionDecision, SETTLE_RULES } from "../../src/analysis/repetitions.js";
import { analyseSharing } from "../../src/analysis/sharing.js";
import type { AccessPath, Mode } from "../../src/guest/modes.js";
import type { BootMeasurement } from "../../src/guest/readAll.js";
import type { ImageRecord } from "../../src/images/image.js";
import { emptyResults, RUN_RECORD_SCHEMA, RunRecordSchema, type RunRecord } from "../../src/record/runRecord.js";
import { fileEntry } from "./manifest.js";

/** Fixtures for readers of run.json: complete, schema-valid run records built from a few figures. */

export const stat = (median: number, n = 3) => ({ median, min: median, max: median, n });

export function imageRecord(sha: string): ImageRecord {
  return {
    label: "x",
    source: "dir:/x",
    image: "image.erofs",
    imageSha256: sha,
    imageBytes: 4096,
    manifest: "manifest.json",
    manifestSha256: "m",
    mkfsVersion: "1.9.4",
    mkfsArgs: [],
    profile: "xattr-inode-digest",
    superblock: { featureCompat: 0x21, ishareByte: 0 },
  };
}

const file = (sha: string) => fileEntry("f", 40 * 4096, sha);
export const SHARING = analyseSharing({ entries: [file("x")] }, { entries: [file("x")] });

/** One read-all boot of redis on the read path, every field the schema requires set; `over` sets what a test is about. */
export function bootMeasurement(over: Partial<BootMeasurement> = {}): BootMeasurement {
  return {
    workload: "redis",
    mode: "off",
    path: "read",
    rep: 1,
    accel: "tcg",
    release: "7.3.4",
    bootDir: "",
    wallMs: 1,
    afterAKiB: 0,
    afterBKiB: 0,
    baselineKiB: 0,
    stable: true,
    reclaim: { pgscan: 0, pgsteal: 0 },
    verifiedFiles: 0,
    hashedFiles: 0,
    digest: "xxh64",
    shareBannerSeen: false,
    readMs: { A: 0, B: 0 },
    ...over,
  };
}

/** The repetitions decision of a redis read group that settled after 2 boots, below a cap of 3. */
export const SETTLED_DECISION: RepetitionDecision = {
  phase: "read-all",
  workload: "redis",
  path: "read",
  boots: 2,
  settled: true,
  why: "settled after 2 boots (every cell within its band)",
  rule: SETTLE_RULES.readall,
  fixed: false,
};

export function cell(workload: string, path: AccessPath, mode: Mode, afterB: number, reductionPct?: number): Cell {
  return {
    workload,
    phase: "read-all",
    path,
    mode,
    afterA: stat(afterB / 2),
    afterB: stat(afterB),
    expectedAfterB: afterB,
    reductionPct,
    excluded: [],
  };
}

export function comparison(c: Partial<Comparison> & { workload: string; path: AccessPath }): Comparison {
  return { expectedReductionPct: 45.5, splitShared: false, noisy: false, sharingInactive: false, ...c };
}

export function runtimeCell(
  workload: string,
  mode: Mode,
  memory: number,
  over: Partial<RuntimeCell> = {},
): RuntimeCell {
  return {
    workload,
    mode,
    memory: stat(memory),
    pageCache: stat(0),
    file: stat(0),
    anon: stat(0),
    shmem: stat(0),
    failures: [],
    load: [],
    ...over,
  };
}

/** A complete run of one workload; every field a reader needs, valid against the schema. */
export function runRecord(over: Partial<RunRecord> = {}): RunRecord {
  const r: RunRecord = {
    schema: RUN_RECORD_SCHEMA,
    runId: "r1",
    status: "complete",
    startedAt: "2026-11-20T02:00:00.000Z",
    command: [],
    host: { node: "v20", hostKernel: "6.1", cpus: 2, qemu: "QEMU emulator version 7.2.0" },
    accel: { accel: "tcg", reason: "test" },
    series: {
      name: "mainline",
      title: "t",
      specSha256: "ab".repeat(32),
      shareMountOptions: "inode_share,domain_id={domain}",
    },
    kernel: {
      source: {
        kind: "debian",
        description: "Debian linux-source-7.3",
        package: "linux-source-7.3",
        packageVersion: "7.3.4-1",
        kernelVersion: "7.3.4",
        tree: "t",
      },
      buildKey: "k1",
      release: "7.3.4",
    },
    erofsUtils: {
      mkfs: "mkfs.erofs",
      version: "1.9.4",
      sourcePackage: "erofs-utils 1.9.4",
      suite: "forky",
      dscSha256: "d",
      patches: [],
      log: "build.log",
    },
    plan: {
      workloads: ["redis"],
      modes: ["off", "on", "split"],
      paths: ["read"],
      reps: 3,
      phases: ["readall", "runtime"],
      quick: false,
      digest: "xxh64",
    },
    ...emptyResults(),
    workloads: [
      {
        name: "redis",
        image: "redis",
        versions: "8.0.2-3+deb13u2 & 8.0.2-3+deb13u3",
        imageA: imageRecord("aa".repeat(32)),
        imageB: imageRecord("bb".repeat(32)),
        sharing: SHARING,
      },
    ],
    runtimeBasis: "sum of memory.current",
    ...over,
  };
  return RunRecordSchema.parse(r);
}

/** One correctness result, as the phase records it. */
export function correctnessResult(
  name: string,
  result: CorrectnessResult["result"],
  reason = "all verified",
  over: Partial<CorrectnessResult> = {},
): CorrectnessResult {
  return {
    workload: "synthetic",
    check: name.startsWith("trust") ? "trust" : name,
    name,
    series: "mainline",
    result,
    reason,
    proves: `what ${name} proves`,
    ms: 7500,
    wallMs: 40_000,
    details: {},
    bootDir: `/r/boots/correctness-synthetic-${name}`,
    ...over,
  };
}

/** A run of redis on the read path, with its sharing efficiency, off-mode page cache and runtime saving as a night would record them. */
export function nightRun(over: {
  runId: string;
  startedAt?: string;
  efficiency?: number;
  off?: number;
  splitShared?: boolean;
  runtimeOn?: number;
  failures?: string[];
  status?: RunRecord["status"];
  release?: string;
  quick?: boolean;
}): RunRecord {
  const eff = over.efficiency ?? 98;
  const off = over.off ?? 272.5;
  const runtimeOn = over.runtimeOn ?? 35.3;
  const base = runRecord();
  return runRecord({
    runId: over.runId,
    status: over.status ?? "complete",
    startedAt: over.startedAt ?? "2026-11-20T02:00:00.000Z",
    plan: { ...base.plan, quick: over.quick ?? false },
    kernel: { ...base.kernel!, release: over.release ?? "7.3.4" },
    comparisons: [
      comparison({
        // the on cell is what the efficiency says, so that the boots and the figures agree
        workload: "redis",
        path: "read",
        off: cell("redis", "read", "off", off),
        on: cell("redis", "read", "on", off * (1 - (45.5 * eff) / 10_000)),
        reductionPct: (45.5 * eff) / 100,
        expectedReductionPct: 45.5,
        efficiencyPct: eff,
        splitShared: over.splitShared ?? false,
        noisy: false,
      }),
    ],
    runtimeCells: [
      runtimeCell("redis", "off", 53.6),
      runtimeCell("redis", "on", 53.6 * (1 - runtimeOn / 100), {
        reductionPct: runtimeOn,
        failures: over.failures ?? [],
      }),
    ],
  });
}
