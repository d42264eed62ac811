import { mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describeAccelerator, prepareMachine } from "../guest/accelerator.js";
import { qemuVersion } from "../guest/qemu.js";
import { guestMemoryMiB } from "../guest/readAll.js";
import { RUNTIME_BASIS } from "../guest/runtime.js";
import { ensureHostPackages } from "../host/provision.js";
import { shareOptions, type SeriesSpec } from "../kernel/series.js";
import { planOf, type JobSpec } from "../record/jobSpec.js";
import { emptyResults, RUN_RECORD_SCHEMA, type RunRecord } from "../record/runRecord.js";
import { BenchError } from "../util/errors.js";
import { sha256 } from "../util/fsx.js";
import { resultsDir } from "../util/paths.js";
import type { Progress } from "../util/progress.js";
import { exportArtifacts, importArtifacts } from "./artifacts.js";
import { buildArtefacts, type Artefacts } from "./buildArtefacts.js";
import { runReadAll, runRuntime, toPair, type PhaseContext } from "./phases.js";
import { defaultParallel, runtimeSideBySide } from "./scheduler.js";
import { runCorrectness } from "./correctnessPhase.js";
import { newRunId, RunFolder } from "./runFolder.js";
import { stageTimer } from "./timing.js";
import { checkInputs } from "./checkInputs.js";
import { conclusions } from "./conclusions.js";

function newRecord(runId: string, opts: JobSpec, spec: SeriesSpec): RunRecord {
  return {
    schema: RUN_RECORD_SCHEMA,
    runId,
    status: "running",
    startedAt: new Date().toISOString(),
    command: opts.command,
    host: { node: process.version, hostKernel: os.release(), cpus: os.availableParallelism() },
    series: {
      name: spec.name,
      title: spec.title,
      shareMountOptions: spec.shareMountOptions,
      specSha256: sha256(JSON.stringify(spec)),
      ...(spec.messageId ? { messageId: spec.messageId } : {}),
    },
    plan: planOf(opts),
    ...emptyResults(),
    ...(opts.shard ? { shard: opts.shard } : {}),
    runtimeBasis: RUNTIME_BASIS,
  };
}

/**
 * The whole pipeline: kernel, tools, images, guest, the measured phases,
 * reports. Every stage returns its artefact and its record; this is the one
 * place that puts the records into the run record.
 */
export async function runBench(
  opts: JobSpec,
  progress: Progress,
  onFolder?: (f: RunFolder) => void,
): Promise<RunFolder> {
  const { spec, workloads, lock } = await checkInputs(opts);
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

  let art: Artefacts | undefined;
  if (opts.artifacts) {
    // built elsewhere: measured here exactly as exported, nothing rebuilt
    const imported = await importArtifacts(opts.artifacts, progress);
    if (imported.manifest.specSha256 !== record.series.specSha256) {
      throw new BenchError(
        `--artifacts ${opts.artifacts} were built for another version of series ${spec.name}`,
        "export and measure from the same checkout",
      );
    }
    await ensureHostPackages(["vm"], progress);
    record.host.qemu = await qemuVersion();
    record.kernel = imported.manifest.kernel;
    record.erofsUtils = imported.manifest.erofsUtils;
    if (imported.manifest.lock) record.lock = imported.manifest.lock;
    record.initramfs = imported.manifest.initramfs;
    record.workloads = imported.manifest.workloads.map(({ runtime: _runtime, ...w }) => w);
    record.plan.workloads = record.workloads.map((w) => w.name);
    art = imported.artefacts;
  } else {
    art = await buildArtefacts(spec, workloads, opts, {
      folder,
      progress,
      time,
      lock,
      kernelOnly: opts.buildOnly && !opts.export,
    });
  }
  if (!art) return finish(folder);
  if (opts.export) {
    await exportArtifacts(path.resolve(opts.export), art, spec, record, progress);
    progress.info(`artefacts exported to ${path.resolve(opts.export)}`);
    return finish(folder);
  }
  const { pairs } = art;
  const analyses = new Map(record.workloads.map((w) => [w.name, w.sharing]));
  const { machine, choice } = await progress.stage("vm", "choosing the accelerator (KVM probe)", () =>
    prepareMachine({
      kernel: art.kernel,
      initramfs: art.initramfs,
      request: { accel: opts.accel, tcgThread: opts.tcgThread },
      dir: path.join(dir, "kvm-probe"),
    }),
  );
  record.accel = choice;
  progress.info(`accelerator: ${describeAccelerator(choice)}`);
  await folder.save();

  const guestMiB = Math.max(machine.memoryMiB, ...pairs.map((p) => guestMemoryMiB(toPair(p), machine)));
  const auto = defaultParallel(
    { cpus: os.availableParallelism(), freeMiB: os.freemem() / 2 ** 20 },
    { accel: machine.accel, cpus: machine.cpus, memoryMiB: guestMiB },
  );
  const parallel = opts.parallel ?? auto.parallel;
  const runtime = runtimeSideBySide(machine.accel, opts.runtimeShared);
  record.scheduling = {
    parallel,
    why: opts.parallel ? `--parallel ${opts.parallel}` : auto.why,
    runtimeAlone: !runtime.shared,
    runtimeWhy: runtime.why,
  };
  progress.info(
    `read-all: ${parallel} guest(s) at once (${record.scheduling.why}); runtime boots ${runtime.shared ? "share the host" : "run alone"} (${runtime.why})`,
  );
  const ctx: PhaseContext = {
    opts,
    folder,
    progress,
    machine,
    shareOptions: (d) => shareOptions(spec, d),
    shareBanner: spec.shareBanner,
    analyses,
    parallel,
    runtimeShared: runtime.shared,
    imageFormat: spec.imageProfile.format,
  };
  const { phases } = opts;
  if (phases.includes("readall"))
    await time("read-all phase (all boots)", async () => (await runReadAll(pairs, ctx), {}));
  if (phases.includes("runtime"))
    await time("runtime phase (all boots)", async () => (await runRuntime(pairs, ctx), {}));
  // the checks are one unit of work: the first shard runs them, the merge carries them over
  const checksHere = !opts.shard || opts.shard.index === 1;
  if (phases.includes("correctness") && checksHere) {
    const checks = art.kernel.checks;
    if (!checks && !record.checksKernel)
      record.checksKernel = {
        kind: "plain",
        release: record.kernel?.release ?? "",
        why: "the exported artefacts carry no sanitizer kernel",
      };
    // the checks boot their own kernel (the sanitizer build) on the same accelerator and initramfs
    const checksCtx = checks
      ? { ...ctx, machine: { ...machine, kernel: checks.bzImage, vmlinux: checks.vmlinux }, sanitizer: true }
      : { ...ctx, sanitizer: false };
    await time(
      "correctness phase (all boots)",
      async () => (await runCorrectness(art.checks, { ...checksCtx, series: spec }), {}),
    );
  }
  // conclusions are about the whole job: a shard's part cannot draw them, its merge does
  if (!opts.shard) record.warnings.push(...conclusions(record));
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
