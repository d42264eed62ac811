import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { CellSchema, ComparisonSchema } from "../analysis/cells.js";
import { GapEvidenceSchema } from "../analysis/gap.js";
import { RepetitionDecisionSchema } from "../analysis/repetitions.js";
import { CorrectnessResultSchema } from "../analysis/correctnessVerdicts.js";
import { RuntimeCellSchema } from "../analysis/runtimeCells.js";
import { SharingAnalysisSchema } from "../analysis/sharing.js";
import { AcceleratorChoiceSchema } from "../guest/accelerator.js";
import { InitramfsRecordSchema } from "../guest/initramfs.js";
import { ACCESS_PATHS, MODES } from "../guest/modes.js";
import { BootMeasurementSchema } from "../guest/readAll.js";
import { RuntimeMeasurementSchema } from "../guest/runtime.js";
import { CorrectnessImagesRecordSchema } from "../images/correctnessImages.js";
import { ErofsUtilsRecordSchema } from "../images/erofsUtils.js";
import { LockRecordSchema } from "../images/lockFile.js";
import { PairRecordSchema } from "../images/pairs.js";
import { KernelBuildRecordSchema } from "../kernel/build.js";
import { KernelTreeRecordSchema } from "../kernel/prepare.js";
import { MutantBuildRecordSchema } from "../kernel/mutantBuild.js";
import { CommitBuildRecordSchema } from "../kernel/commitBuild.js";
import { BenchError } from "../util/errors.js";
import { PlanSchema, ShardSchema } from "./jobSpec.js";
import { RECORD_STATUSES } from "./recordHeader.js";

/**
 * run.json: everything a run used and measured, enough to reproduce it and to
 * re-render its reports. The one schema its writer fills and every reader
 * (report, compare, nightly, the tests) parses.
 */
export const RUN_RECORD_SCHEMA = 2;

const StageTimeSchema = z.object({
  stage: z.string(),
  seconds: z.number(),
  reused: z.boolean(),
  /** Seconds after the run began that the stage did: stages before the boots run side by side, so their sum is not the time they took. */
  startedS: z.number().optional(),
});

export const WorkloadRecordSchema = PairRecordSchema.extend({ sharing: SharingAnalysisSchema });
export type WorkloadRecord = z.infer<typeof WorkloadRecordSchema>;

/** A read-all boot whose guest panicked, hung or gave no result; its cell is measured from the other boots. */
const FailedBootSchema = z.object({
  phase: z.literal("read-all"),
  workload: z.string(),
  mode: z.enum(MODES),
  path: z.enum(ACCESS_PATHS),
  rep: z.number().int(),
  failure: z.string(),
  bootDir: z.string(),
});

/** The kernel under test: its tree (source, apply report), then its build once done. */
export const KernelRecordSchema = KernelTreeRecordSchema.extend({
  build: KernelBuildRecordSchema.optional(),
  /** The build's cache key (the mutant's, for a mutant); "" until it is built. */
  buildKey: z.string(),
  /** Another commit of the tree (a prefix of the series, a bisection step), built on `build`: the run measured it. */
  variant: CommitBuildRecordSchema.optional(),
  /** A kernel broken on purpose (kernel/mutants/), built on `build`: the run measured it, not the series. */
  mutant: MutantBuildRecordSchema.optional(),
  /** Your own patch (--patch), built on `build` the same way: the run measured the series with it on top. */
  patch: MutantBuildRecordSchema.optional(),
  release: z.string().optional(),
  /** The same kernel built again with kernel/sanitizer.config, which the correctness checks boot (--check-kernel sanitizer). */
  sanitizer: z
    .object({
      build: KernelBuildRecordSchema,
      buildKey: z.string(),
      release: z.string(),
      mutant: MutantBuildRecordSchema.optional(),
    })
    .optional(),
});

/** A run stands where any long run does. */
export const RUN_STATUSES = RECORD_STATUSES;

export const RunRecordSchema = z.object({
  schema: z.literal(RUN_RECORD_SCHEMA),
  runId: z.string(),
  status: z.enum(RUN_STATUSES),
  error: z.string().optional(),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  command: z.array(z.string()),
  host: z.object({
    node: z.string(),
    qemu: z.string().optional(),
    compiler: z.string().optional(),
    hostKernel: z.string(),
    cpus: z.number(),
  }),
  accel: AcceleratorChoiceSchema.optional(),
  series: z.object({
    name: z.string(),
    title: z.string(),
    specSha256: z.string(),
    shareMountOptions: z.string(),
    /** The series' Message-ID (its cover letter's) when it was mailed; absent for mainline and --profile. */
    messageId: z.string().optional(),
  }),
  kernel: KernelRecordSchema.optional(),
  erofsUtils: ErofsUtilsRecordSchema.optional(),
  /** The lock the images were built from (absent: runs made before locks, and --images pairs of your own). */
  lock: LockRecordSchema.optional(),
  initramfs: InitramfsRecordSchema.optional(),
  plan: PlanSchema,
  /** Set when this run measured the K-th of N parts of its plan's boots; merge joins the parts. */
  shard: ShardSchema.optional(),
  /** Shard folders this run was merged from. */
  mergedFrom: z.array(z.string()).optional(),
  /** How boots were run: guests at once for read-all and why; whether runtime boots had the host to themselves. */
  scheduling: z
    .object({
      parallel: z.number().int(),
      why: z.string(),
      runtimeAlone: z.boolean(),
      runtimeWhy: z.string().optional(),
    })
    .optional(),
  workloads: z.array(WorkloadRecordSchema),
  /** How many boots each group of cells got, and why it stopped there (absent: every cell got plan.reps). */
  repetitions: z.array(RepetitionDecisionSchema).default([]),
  boots: z.array(BootMeasurementSchema),
  failedBoots: z.array(FailedBootSchema),
  cells: z.array(CellSchema),
  comparisons: z.array(ComparisonSchema),
  /** Which identical files of B shared A's pages, by cause when they did not (from the residency walk of on-mode boots). */
  gapEvidence: z.array(GapEvidenceSchema).default([]),
  runtime: z.array(RuntimeMeasurementSchema),
  runtimeCells: z.array(RuntimeCellSchema),
  /** The correctness phase: one result per check (two for trust); absent in runs made before it existed. */
  correctness: z.array(CorrectnessResultSchema).default([]),
  /** The kernel every correctness check booted: which build, and why it is the plain one when it is (absent in runs made before sanitizer kernels). */
  checksKernel: z
    .object({ kind: z.enum(["sanitizer", "plain"]), release: z.string(), why: z.string().optional() })
    .optional(),
  /** The pair the checks booted when it is not one of the measured workloads (built for the checks alone). */
  checksPair: PairRecordSchema.optional(),
  /** The forged and corrupted images the checks used: which file, which bytes, what each change means. */
  correctnessImages: CorrectnessImagesRecordSchema.extend({ workload: z.string(), dir: z.string() }).optional(),
  /** What the runtime table's memory column is. */
  runtimeBasis: z.string(),
  stageTimes: z.array(StageTimeSchema),
  warnings: z.array(z.string()),
});
export type RunRecord = z.infer<typeof RunRecordSchema>;

/** What a run has measured before its first stage: nothing yet. */
export function emptyResults(): Pick<
  RunRecord,
  | "workloads"
  | "repetitions"
  | "boots"
  | "failedBoots"
  | "cells"
  | "comparisons"
  | "gapEvidence"
  | "runtime"
  | "runtimeCells"
  | "correctness"
  | "stageTimes"
  | "warnings"
> {
  return {
    workloads: [],
    repetitions: [],
    boots: [],
    failedBoots: [],
    cells: [],
    comparisons: [],
    gapEvidence: [],
    runtime: [],
    runtimeCells: [],
    correctness: [],
    stageTimes: [],
    warnings: [],
  };
}

/** A run record from parsed JSON; `source` names it in errors. */
export function parseRunRecord(raw: unknown, source: string): RunRecord {
  const version = (raw as { schema?: unknown } | null)?.schema;
  if (version !== RUN_RECORD_SCHEMA) {
    const which = typeof version === "number" ? (version < RUN_RECORD_SCHEMA ? "an older" : "a newer") : "an unknown";
    throw new BenchError(
      `${source} has run record schema ${JSON.stringify(version ?? null)}, written by ${which} erofs-share-bench; this one reads schema ${RUN_RECORD_SCHEMA}`,
      "use the erofs-share-bench version that wrote it, or measure again with this one",
    );
  }
  const parsed = RunRecordSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`)
      .join("; ");
    throw new BenchError(
      `${source} is not a valid run record: ${issues}`,
      "pass a run folder written by erofs-share-bench (one that holds run.json)",
    );
  }
  return parsed.data;
}

/** The run record of a run folder. */
export async function loadRunRecord(dir: string): Promise<RunRecord> {
  const file = path.join(dir, "run.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message;
    throw new BenchError(`cannot read ${file}: ${why}`, "pass a run folder (one that holds run.json)");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BenchError(`${file} is not JSON: ${(e as Error).message}`, "the file is damaged; measure again");
  }
  return parseRunRecord(raw, file);
}
