import { mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { failedCells } from "../analysis/failures.js";
import { analyseSharing, type SharingAnalysis } from "../analysis/sharing.js";
import { chooseAccelerator } from "../guest/accelerator.js";
import { prepareInitramfs } from "../guest/initramfs.js";
import { PHASES } from "../guest/modes.js";
import { qemuVersion } from "../guest/qemu.js";
import { RUNTIME_BASIS } from "../guest/runtime.js";
import { DebianArchive } from "../host/debianArchive.js";
import { ensureHostPackages, type HostPart } from "../host/provision.js";
import { prepareErofsUtils } from "../images/erofsUtils.js";
import { imagePairs } from "../images/pairs.js";
import { loadFixups } from "../kernel/apply.js";
import { buildKernel, compilerVersion } from "../kernel/build.js";
import { kernelFragment, prepareKernelTree } from "../kernel/prepare.js";
import { shareOptions, type SeriesSpec } from "../kernel/series.js";
import { emptyResults, RUN_RECORD_SCHEMA, type RunRecord } from "../record/runRecord.js";
import { sha256 } from "../util/fsx.js";
import { resultsDir } from "../util/paths.js";
import type { Progress } from "../util/progress.js";
import type { BenchOptions } from "./options.js";
import { runCorrectness } from "./correctnessPhase.js";
import { runReadAll, runRuntime, type PhaseContext } from "./phases.js";
import { newRunId, RunFolder } from "./runFolder.js";
import { stageTimer } from "./timing.js";
import { checkInputs } from "./validate.js";

function newRecord(runId: string, opts: BenchOptions, spec: SeriesSpec): RunRecord {
  return {
    schema: RUN_RECORD_SCHEMA,
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
      digest: opts.digest ?? "xxh64",
      checks: opts.checks,
    },
    ...emptyResults(),
    runtimeBasis: RUNTIME_BASIS,
  };
}

/**
 * The whole pipeline: kernel, tools, images, guest, the measured phases,
 * reports. Every stage returns its artefact and its record; this is the one
 * place that puts the records into the run record.
 */
export async function runBench(opts: BenchOptions, progress: Progress, onFolder?: (f: RunFolder) => void): Promise<RunFolder> {
  const { spec, workloads } = await checkInputs(opts);
  const runId = newRunId();
  const dir = path.resolve(opts.out ?? path.join(opts.outRoot ?? resultsDir, runId));
  await mkdir(dir, { recursive: true });
  const folder = new RunFolder(dir, newRecord(runId, opts, spec));
  const record = folder.record;
  const time = stageTimer(folder);
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

  const tree = await time(spec.base.kind === "debian" ? "kernel source" : "series + apply", () =>
    prepareKernelTree(spec, {
      kernelDeb: opts.kernelDeb, kernelSrc: opts.kernelSrc, baseRef: opts.baseRef, exclude: opts.kernelSrcExclude, mbox: opts.mbox,
      noFixups: opts.noFixups, logDir: dir, progress,
    }),
  );
  record.kernel = { ...tree.record, buildKey: "" };
  await folder.save();
  const kernel = await time("kernel build", async () =>
    buildKernel({
      tree: tree.tree, treeIdentity: tree.identity, fragment: await kernelFragment(spec), progress, jobs: opts.jobs, explainError: tree.explainError, runDir: dir,
    }),
  );
  record.kernel = { ...record.kernel, build: kernel.record, buildKey: kernel.key, release: kernel.record.kernelRelease };
  progress.info(`kernel: ${kernel.record.kernelRelease} ${kernel.reused ? "(cached)" : `(built in ${kernel.record.buildSeconds}s)`} ${kernel.bzImage}`);
  await folder.save();
  if (opts.buildOnly) return finish(folder);

  // erofs-utils patches are diffs named like fixups (kernel/fixups/) or absolute paths
  const erofsPatches = await loadFixups(spec.erofsUtilsPatches);
  const erofs = await time("erofs-utils", () => prepareErofsUtils({ archive: new DebianArchive(), progress, patches: erofsPatches }));
  record.erofsUtils = erofs.record;
  const pairs = await imagePairs({ images: opts.images, workloads: opts.workloads, profile: spec.imageProfile, erofs, progress, time });
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
  const initramfs = await time("initramfs", () => prepareInitramfs(progress));
  record.initramfs = initramfs.record;
  const accel = await progress.stage("vm", "choosing the accelerator (KVM probe)", () =>
    chooseAccelerator({ kernel: kernel.bzImage, initramfs: initramfs.file, dir: path.join(dir, "kvm-probe"), forced: opts.accel }),
  );
  record.accel = accel;
  progress.info(`accelerator: ${accel.accel} (${accel.reason})`);
  await folder.save();

  const ctx: PhaseContext = {
    opts, folder, progress, kernel: kernel.bzImage, initramfs: initramfs.file, accel: accel.accel,
    shareOptions: (d) => shareOptions(spec, d), shareBanner: spec.shareBanner, analyses,
  };
  const phases = opts.phases ?? [...PHASES];
  if (phases.includes("readall")) await time("read-all phase (all boots)", async () => (await runReadAll(pairs, ctx), {}));
  if (phases.includes("runtime")) await time("runtime phase (all boots)", async () => (await runRuntime(pairs, ctx), {}));
  if (phases.includes("correctness")) await time("correctness phase (all boots)", async () => (await runCorrectness(pairs, { ...ctx, series: spec }), {}));
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
  await folder.save();
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
  await folder.save().catch(() => undefined);
}
