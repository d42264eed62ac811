import { mkdir, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { kernelDir, resultsDir } from "./paths.js";
import { RunFolder, newRunId, type RunRecord, type WorkloadRecord } from "./runRecord.js";
import { buildCells, compare } from "./stages/aggregate.js";
import { buildKernel, compilerVersion, type KernelBuild } from "./stages/build.js";
import { mergeFragments, parseConfig } from "./stages/config.js";
import { prepareErofsUtils } from "./stages/erofsUtils.js";
import { prepareInitramfs } from "./stages/guest.js";
import { buildImage, syntheticSource, userImageSource, type BuiltImage } from "./stages/images.js";
import { measureOnce, type AccessPath, type Mode, type PairToMeasure } from "./stages/measure.js";
import { DebianArchive, ensureHostPackages } from "./stages/provision.js";
import { renderCoverLetter, renderCsv, renderMarkdown } from "./stages/report.js";
import { loadSeries, shareOptions, type SeriesSpec } from "./stages/series.js";
import { analyseSharing } from "./stages/sharing.js";
import { prepareDebianKernelSource, type KernelSource } from "./stages/source.js";
import { chooseAccelerator, qemuVersion, type Accelerator } from "./stages/vm.js";
import { loadWorkload } from "./stages/workloads.js";
import { BenchError } from "./util/errors.js";
import { sha256 } from "./util/fsx.js";
import type { Progress } from "./util/progress.js";

export interface BenchOptions {
  series: string;
  workloads: string[];
  images?: [string, string];
  reps: number;
  modes: Mode[];
  paths: AccessPath[];
  out?: string;
  accel?: Accelerator;
  kernelDeb?: { package?: string; version?: string };
  buildOnly: boolean;
  jobs?: number;
  command: string[];
}

export interface BenchHandle {
  folder: RunFolder;
}

/** Kernel the series needs: its base tree (patched where it has patches), configured and built. */
async function prepareKernel(spec: SeriesSpec, opts: BenchOptions, folder: RunFolder, progress: Progress): Promise<KernelBuild> {
  const archive = new DebianArchive();
  let source: KernelSource;
  if (spec.base.kind === "debian") {
    source = await timed(folder, "kernel source", () => prepareDebianKernelSource(archive, { ...spec.base, ...opts.kernelDeb }, progress));
  } else {
    throw new BenchError(`series ${spec.name} is based on git ref ${spec.base.ref}`, "pass --kernel-src PATH to a Linux git clone that has it");
  }
  const guest = parseConfig(await readFile(path.join(kernelDir, "guest.config"), "utf8"));
  const fragment = mergeFragments(guest, new Map(Object.entries(spec.symbols)));
  const build = await timed(folder, "kernel build", () =>
    buildKernel({ tree: source.tree, treeIdentity: { source: source.record }, fragment, progress, jobs: opts.jobs }),
  );
  folder.record.kernel = { source: source.record, build: build.record, buildKey: build.key, release: build.record.kernelRelease };
  progress.info(`kernel: ${build.record.kernelRelease} ${build.reused ? "(cached)" : `(built in ${build.record.buildSeconds}s)`} ${build.bzImage}`);
  return build;
}

/** Runs a stage and records its wall time and whether its output came from the cache. */
async function timed<T extends { reused?: boolean }>(folder: RunFolder, stage: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const out = await fn();
  folder.record.stageTimes.push({ stage, seconds: (Date.now() - t0) / 1000, reused: Boolean(out.reused) });
  await folder.save();
  return out;
}

async function imagePairs(opts: BenchOptions, spec: SeriesSpec, erofs: Awaited<ReturnType<typeof prepareErofsUtils>>, folder: RunFolder, progress: Progress) {
  const pairs: Array<{ record: Omit<WorkloadRecord, "sharing">; a: BuiltImage; b: BuiltImage }> = [];
  const make = async (name: string, image: string, versions: string, srcA: Parameters<typeof buildImage>[0]["source"], srcB: typeof srcA) => {
    const a = await timed(folder, `image ${name} A`, () => buildImage({ source: srcA, erofsUtils: erofs, profile: spec.imageProfile, progress }));
    const b = await timed(folder, `image ${name} B`, () => buildImage({ source: srcB, erofsUtils: erofs, profile: spec.imageProfile, progress }));
    pairs.push({ record: { name, image, versions, imageA: a.record, imageB: b.record }, a, b });
  };
  if (opts.images) {
    const [sa, sb] = await Promise.all(opts.images.map((p) => userImageSource(p)));
    await make("images", "images", `${sa!.label} & ${sb!.label}`, sa!, sb!);
    return pairs;
  }
  for (const name of opts.workloads) {
    const w = await loadWorkload(name);
    if (w.kind === "synthetic") await make(w.name, w.image, "A & B", await syntheticSource("a"), await syntheticSource("b"));
  }
  return pairs;
}

export async function runBench(opts: BenchOptions, progress: Progress, onFolder?: (f: RunFolder) => void): Promise<RunFolder> {
  const spec = await loadSeries(opts.series);
  if (spec.notRunnable) throw new BenchError(`series ${spec.name} cannot be run: ${spec.notRunnable}`);
  const runId = newRunId();
  const dir = path.resolve(opts.out ?? path.join(resultsDir, runId));
  await mkdir(dir, { recursive: true });
  const record: RunRecord = {
    schema: 1,
    runId,
    status: "running",
    startedAt: new Date().toISOString(),
    command: opts.command,
    host: { node: process.version, hostKernel: os.release(), cpus: os.availableParallelism() },
    series: {
      name: spec.name, title: spec.title, shareMountOptions: spec.shareMountOptions,
      specSha256: sha256(JSON.stringify(spec)),
    },
    plan: { workloads: opts.images ? ["images"] : opts.workloads, modes: opts.modes, paths: opts.paths, reps: opts.reps },
    workloads: [],
    boots: [],
    cells: [],
    comparisons: [],
    stageTimes: [],
    warnings: [],
  };
  const folder = new RunFolder(dir, record);
  onFolder?.(folder);
  progress.setLogFile(path.join(dir, "progress.log"));
  progress.info(`run ${runId}: series ${spec.name}, results in ${dir}`);
  await folder.save();

  await ensureHostPackages(["vm", "kernel", "erofsUtils"], progress);
  record.host.qemu = await qemuVersion();
  record.host.compiler = await compilerVersion();
  const kernel = await prepareKernel(spec, opts, folder, progress);
  if (opts.buildOnly) {
    record.status = "complete";
    record.finishedAt = new Date().toISOString();
    await writeReports(folder);
    return folder;
  }

  const erofs = await timed(folder, "erofs-utils", () => prepareErofsUtils({ archive: new DebianArchive(), progress }));
  record.erofsUtils = erofs.record;
  const pairs = await imagePairs(opts, spec, erofs, folder, progress);
  const analyses = new Map<string, ReturnType<typeof analyseSharing>>();
  for (const p of pairs) {
    const sharing = analyseSharing(p.a.manifest, p.b.manifest);
    analyses.set(p.record.name, sharing);
    record.workloads.push({ ...p.record, sharing });
    progress.info(
      `${p.record.name}: ${(sharing.a.bytes / 2 ** 20).toFixed(1)} + ${(sharing.b.bytes / 2 ** 20).toFixed(1)} MiB, ` +
        `${(sharing.sharedBytes / 2 ** 20).toFixed(1)} MiB identical: expected reduction ${sharing.expectedReductionPct.toFixed(1)}%`,
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

  const total = pairs.length * opts.reps * opts.modes.length * opts.paths.length;
  let n = 0;
  const t0 = Date.now();
  for (const p of pairs) {
    const pair: PairToMeasure = {
      workload: p.record.name, imageA: p.a.image, imageB: p.b.image, manifestA: p.a.manifest, manifestB: p.b.manifest,
    };
    for (let rep = 1; rep <= opts.reps; rep++) {
      for (const mode of opts.modes) {
        for (const accessPath of opts.paths) {
          n++;
          progress.info(`boot ${n}/${total}: ${pair.workload} mode=${mode} path=${accessPath} rep=${rep}`);
          const { measurement, samples } = await measureOnce({
            pair, mode, path: accessPath, rep, kernel: kernel.bzImage, initramfs: initramfs.file, accel: accel.accel,
            shareOptions: (d) => shareOptions(spec, d), shareBanner: spec.shareBanner, runDir: dir, progress,
          });
          if (mode !== "off" && spec.shareBanner && !measurement.shareBannerSeen) {
            const w = `${pair.workload} ${mode}/${accessPath} rep ${rep}: kernel never logged "${spec.shareBanner}"; sharing may be inactive`;
            if (!record.warnings.includes(w)) record.warnings.push(w);
          }
          record.boots.push(measurement);
          await folder.appendSamples(samples);
          progress.info(
            `  page cache +${(measurement.afterAKiB / 1024).toFixed(1)} MiB after A, +${(measurement.afterBKiB / 1024).toFixed(1)} MiB after A+B` +
              `${measurement.verifiedFiles ? `, ${measurement.verifiedFiles} files verified` : ""} (${(measurement.wallMs / 1000).toFixed(1)}s)`,
          );
          record.cells = buildCells(record.boots, analyses);
          record.comparisons = compare(record.cells, analyses);
          await writeReports(folder);
        }
      }
    }
  }
  record.stageTimes.push({ stage: "measure (all boots)", seconds: (Date.now() - t0) / 1000, reused: false });
  for (const c of record.comparisons) {
    if (c.splitShared) {
      record.warnings.push(
        `SECURITY: ${c.workload}/${c.path}: images in different domains shared page cache (split reduction ${c.splitReductionPct?.toFixed(1)}%)`,
      );
    }
  }
  record.status = "complete";
  record.finishedAt = new Date().toISOString();
  await writeReports(folder);
  return folder;
}

export async function writeReports(folder: RunFolder): Promise<void> {
  await folder.save();
  const run = folder.record;
  if (run.cells.length) {
    await folder.writeText("cover-letter.txt", renderCoverLetter(run));
    await folder.writeText("results.csv", renderCsv(run));
  }
  await folder.writeText("report.md", renderMarkdown(run));
}
