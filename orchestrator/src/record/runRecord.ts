import path from "node:path";
import type { Cell, Comparison, RuntimeCell } from "../analysis/cells.js";
import type { RuntimeMeasurement } from "../guest/runtime.js";
import type { BootMeasurement } from "../guest/readAll.js";
import type { SharingAnalysis } from "../analysis/sharing.js";
import type { ImageRecord } from "../images/image.js";
import type { RootfsRecord } from "../images/rootfs.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/fsx.js";

export interface StageTime {
  stage: string;
  seconds: number;
  reused: boolean;
}

export interface WorkloadRecord {
  name: string;
  /** Table label, e.g. "synthetic" and "A & B". */
  image: string;
  versions: string;
  imageA: ImageRecord;
  imageB: ImageRecord;
  /** For Debian-built pairs: suites, resolved and installed package versions. */
  rootfs?: { a: RootfsRecord; b: RootfsRecord };
  sharing: SharingAnalysis;
}

/** A read-all boot whose guest panicked, hung or gave no result; its cell is measured from the other boots. */
export interface FailedBoot {
  phase: "read-all";
  workload: string;
  mode: string;
  path: string;
  rep: number;
  failure: string;
  bootDir: string;
}

/** Everything a run used and measured: enough to reproduce it and to re-render its reports. */
export interface RunRecord {
  schema: 1;
  runId: string;
  status: "running" | "complete" | "failed" | "interrupted";
  error?: string;
  startedAt: string;
  finishedAt?: string;
  command: string[];
  host: { node: string; qemu?: string; compiler?: string; hostKernel: string; cpus: number };
  accel?: { accel: string; reason: string };
  series: { name: string; title: string; specSha256: string; shareMountOptions: string };
  kernel?: {
    source: unknown;
    build: unknown;
    buildKey: string;
    release?: string;
    apply?: unknown;
  };
  erofsUtils?: unknown;
  initramfs?: unknown;
  plan: { workloads: string[]; modes: string[]; paths: string[]; reps: number; phases: string[]; quick: boolean };
  workloads: WorkloadRecord[];
  boots: BootMeasurement[];
  /** Absent in runs written before failed boots were kept. */
  failedBoots?: FailedBoot[];
  cells: Cell[];
  comparisons: Comparison[];
  runtime: RuntimeMeasurement[];
  runtimeCells: RuntimeCell[];
  /** What the runtime table's memory column is. */
  runtimeBasis: string;
  stageTimes: StageTime[];
  warnings: string[];
}

export class RunFolder {
  constructor(readonly dir: string, readonly record: RunRecord) {}

  get runJson(): string {
    return path.join(this.dir, "run.json");
  }

  async save(): Promise<void> {
    await writeJsonAtomic(this.runJson, this.record);
  }

  async appendSamples(lines: unknown[]): Promise<void> {
    const { appendFile } = await import("node:fs/promises");
    await appendFile(path.join(this.dir, "samples.jsonl"), lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
  }

  async writeText(name: string, text: string): Promise<void> {
    await writeFileAtomic(path.join(this.dir, name), text);
  }
}

export function newRunId(now = new Date()): string {
  const ts = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `${ts}-${Math.random().toString(36).slice(2, 6)}`;
}
