import { mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { resultsDir } from "../util/paths.js";
import { prepareKernel } from "../kernel/prepare.js";
import { imagePairs } from "../images/pairs.js";
import { runReadAll, runRuntime, type PhaseContext } from "./phases.js";
import { timed } from "./timing.js";
import { RunFolder, newRunId, type RunRecord } from "../record/runRecord.js";
import { compilerVersion } from "../kernel/build.js";
import { loadFixups } from "../kernel/apply.js";
import { prepareErofsUtils } from "../images/erofsUtils.js";
import { prepareInitramfs } from "../guest/initramfs.js";
import type { AccessPath, Mode } from "../guest/readAll.js";
import { DebianArchive } from "../host/debianArchive.js";
import { ensureHostPackages, type HostPart } from "../host/provision.js";
import { failedCells } from "../analysis/cells.js";
import { renderCoverLetter, renderCsv, renderMarkdown } from "../report/runReports.js";
import { RUNTIME_BASIS } from "../guest/runtime.js";
import { loadSeries, shareOptions } from "../kernel/series.js";
import { analyseSharing, type SharingAnalysis } from "../analysis/sharing.js";
import { chooseAccelerator, qemuVersion, type Accelerator } from "../guest/qemu.js";
import { loadWorkload } from "../images/workloads.js";
import { BenchError } from "../util/errors.js";
import { sha256 } from "../util/fsx.js";
import type { Progress } from "../util/progress.js";

export const PHASES = ["readall", "runtime"] as const;
export type Phase = (typeof PHASES)[number];

export interface BenchOptions {
  series: string;
  workloads: string[];
  images?: [string, string];
  reps: number;
  modes: Mode[];
  paths: AccessPath[];
  phases?: Phase[];
  quick?: boolean;
  /** The run folder itself; else <outRoot or results>/<run-id>. */
  out?: string;
  outRoot?: string;
  accel?: Accelerator;
  kernelDeb?: { package?: string; version?: string };
  /** A Linux git clone for series based on a git ref. */
  kernelSrc?: string;
  baseRef?: string;
  kernelSrcExclude?: string[];
  noFixups?: boolean;
  mbox?: string;
  buildOnly: boolean;
  jobs?: number;
  command: string[];
}

function newRecord(runId: string, opts: BenchOptions, spec: Awaited<ReturnType<typeof loadSeries>>): RunRecord {
  return {
    schema: 1,
    runId,
    status: "running",
    startedAt: new Date().toISOString(),
    command: opts.command,
    host: { node: process.version, hostKernel: os.release(), cpus: os.availableParallelism() },
    series: { name: spec.name, title: spec.title, shareMountOptions: spec.shareMountOptions, specSha256: sha256(JSON.stringify(spec)) },
    plan: {
      workloads: opts.images ? ["images"] : opts.workloads,
      modes: opts.modes,
      paths: opts.paths,
      reps: opts.reps,
      phases: opts.phases ?? [...PHASES],
      quick: Boolean(opts.quick),
    },
    workloads: [],
    boots: [],
    failedBoots: [],
    cells: [],
    comparisons: [],
    runtime: [],
    runtimeCells: [],
    runtimeBasis: RUNTIME_BASIS,
    stageTimes: [],
    warnings: [],
  };
}

/** The whole pipeline: kernel, tools, images, guest, the measured phases, reports. */
export async function runBench(opts: BenchOptions, progress: Progress, onFolder?: (f: RunFolder) => void): Promise<RunFolder> {
  const spec = await loadSeries(opts.series);
  if (spec.notRunnable && !opts.buildOnly) {
    throw new BenchError(`series ${spec.name} cannot be run: ${spec.notRunnable}`, "--build-only still fetches, applies and builds it");
  }
  if (spec.base.kind === "git" && !opts.kernelSrc) {
    throw new BenchError(
      `series ${spec.name} applies to ${spec.base.ref} (Linux ${spec.base.expectVersion ?? "?"}), and no kernel tree was given`,
      `pass --kernel-src PATH to a Linux git clone that has ${spec.base.ref} (or --base-ref COMMIT for the base commit), or to the linux-${spec.base.expectVersion ?? "N.M"}.tar.xz release tarball`,
    );
  }
  const workloads = opts.images ? [] : await Promise.all(opts.workloads.map((w) => loadWorkload(w)));
  const runId = newRunId();
  const dir = path.resolve(opts.out ?? path.join(opts.outRoot ?? resultsDir, runId));
  await mkdir(dir, { recursive: true });
  const folder = new RunFolder(dir, newRecord(runId, opts, spec));
  const record = folder.record;
  onFolder?.(folder);
  progress.setLogFile(path.join(dir, "progress.log"));
  progress.info(`run ${runId}: series ${spec.name}, results in ${dir}`);
  await folder.save();

  const parts: HostPart[] = ["vm", "kernel", "erofsUtils"];
  if (spec.base.kind === "git") parts.push("git");
  if (workloads.some((w) => w.kind === "debian")) parts.push("rootfs");
  await ensureHostPackages(parts, progress);
  record.host.qemu = await qemuVersion();
  record.host.compiler = await compilerVersion();
  const kernel = await prepareKernel(spec, opts, folder, progress);
  if (opts.buildOnly) return finish(folder);

  // erofs-utils patches are diffs named like fixups (kernel/fixups/) or absolute paths
  const erofsPatches = await loadFixups(spec.erofsUtilsPatches);
  const erofs = await timed(folder, "erofs-utils", () => prepareErofsUtils({ archive: new DebianArchive(), progress, patches: erofsPatches }));
  record.erofsUtils = erofs.record;
  const pairs = await imagePairs(opts, spec, erofs, folder, progress);
  const analyses = new Map<string, SharingAnalysis>();
  for (const p of pairs) {
    const sharing = analyseSharing(p.a.manifest, p.b.manifest);
    analyses.set(p.record.name, sharing);
    record.workloads.push({ ...p.record, sharing });
    progress.info(
      `${p.record.name} (${p.record.versions}): ${(sharing.a.bytes / 2 ** 20).toFixed(1)} + ${(sharing.b.bytes / 2 ** 20).toFixed(1)} MiB, ` +
        `${(sharing.sharedBytes / 2 ** 20).toFixed(1)} MiB identical: expected read-all reduction ${sharing.expectedReductionPct.toFixed(1)}%`,
    );
  }
  const initramfs = await timed(folder, "initramfs", () => prepareInitramfs(progress));
  record.initramfs = initramfs.record;
  const accel = await progress.stage("vm", "choosing the accelerator (KVM probe)", () =>
    chooseAccelerator({ kernel: kernel.bzImage, initramfs: initramfs.file, dir: path.join(dir, "kvm-probe"), forced: opts.accel }),
  );
  record.accel = accel;
  progress.info(`accelerator: ${accel.accel} (${accel.reason})`);
  await folder.save();

  const ctx: PhaseContext = {
    opts, folder, progress, kernel: kernel.bzImage, initramfs: initramfs.file, accel: accel.accel,
    shareOptions: (d) => shareOptions(spec, d), shareBanner: spec.shareBanner, analyses, save: () => writeReports(folder),
  };
  const phases = opts.phases ?? [...PHASES];
  if (phases.includes("readall")) await timed(folder, "read-all phase (all boots)", async () => (await runReadAll(pairs, ctx), {}));
  if (phases.includes("runtime")) await timed(folder, "runtime phase (all boots)", async () => (await runRuntime(pairs, ctx), {}));
  for (const c of record.comparisons) {
    if (c.splitShared) {
      record.warnings.push(`SECURITY: ${c.workload}/${c.path}: images in different domains shared page cache (split reduction ${c.splitReductionPct?.toFixed(1)}%)`);
    }
    if (c.sharingInactive) {
      record.warnings.push(
        `${c.workload}/${c.path}: sharing on saved ${c.reductionPct?.toFixed(1)}% of page cache where ${c.expectedReductionPct.toFixed(1)}% is expected: this access path does not share`,
      );
    }
  }
  for (const f of failedCells(record)) record.warnings.push(`${f.workload} ${f.where}: ${f.count} of ${f.of} boot(s) failed: ${f.first}`);
  return finish(folder);
}

async function finish(folder: RunFolder): Promise<RunFolder> {
  folder.record.status = "complete";
  folder.record.finishedAt = new Date().toISOString();
  await writeReports(folder);
  return folder;
}

/**
 * Ends a run that did not complete: its status and why, with run.json and the
 * reports rewritten so what was measured stays readable. A run that already
 * ended keeps its first ending.
 */
export async function endRunEarly(folder: RunFolder, status: "failed" | "interrupted", error: string): Promise<void> {
  if (folder.record.status !== "running") return;
  folder.record.status = status;
  folder.record.error = error;
  folder.record.finishedAt = new Date().toISOString();
  await writeReports(folder).catch(() => undefined);
}

export async function writeReports(folder: RunFolder): Promise<void> {
  await folder.save();
  const run = folder.record;
  if (run.cells.length || run.runtimeCells.length) {
    await folder.writeText("cover-letter.txt", renderCoverLetter(run));
    await folder.writeText("results.csv", renderCsv(run));
  }
  await folder.writeText("report.md", renderMarkdown(run));
}
