import path from "node:path";
import { buildCells, compare } from "../analysis/cells.js";
import { buildRuntimeCells } from "../analysis/runtimeCells.js";
import type { SharingAnalysis } from "../analysis/sharing.js";
import { GuestFailure, type Accelerator } from "../guest/qemu.js";
import { guestMemoryMiB, measureOnce, ReadBackFailure, type PairToMeasure } from "../guest/readAll.js";
import { measureRuntime } from "../guest/runtime.js";
import type { ImagePair } from "../images/pairs.js";
import type { Progress } from "../util/progress.js";
import type { BenchOptions } from "./options.js";
import type { RunFolder } from "./runFolder.js";

export interface PhaseContext {
  opts: BenchOptions;
  folder: RunFolder;
  progress: Progress;
  kernel: string;
  initramfs: string;
  accel: Accelerator;
  shareOptions: (domain: string) => string;
  shareBanner?: string;
  analyses: Map<string, SharingAnalysis>;
}

/** A warning said once, however many boots of a cell give it. */
function warnOnce(record: RunFolder["record"], w: string): void {
  if (!record.warnings.includes(w)) record.warnings.push(w);
}

/** A kernel WARNING in a boot that finished is worth a line of its own. */
function noteSplat(record: RunFolder["record"], where: string, splat: string | undefined): void {
  if (splat) warnOnce(record, `kernel splat in ${where}: ${splat} (see oops.txt in the boot folder)`);
}

function toPair(p: ImagePair): PairToMeasure {
  return { workload: p.record.name, imageA: p.a.image, imageB: p.b.image, manifestA: p.a.manifest, manifestB: p.b.manifest };
}

/** read-all: every (rep, mode, access path) a fresh boot; modes interleaved so drift spreads evenly. */
export async function runReadAll(pairs: ImagePair[], ctx: PhaseContext): Promise<void> {
  const { opts, folder, progress } = ctx;
  const record = folder.record;
  const total = pairs.length * opts.reps * opts.modes.length * opts.paths.length;
  let n = 0;
  for (const p of pairs) {
    const pair = toPair(p);
    for (let rep = 1; rep <= opts.reps; rep++) {
      for (const mode of opts.modes) {
        for (const accessPath of opts.paths) {
          n++;
          progress.info(`read-all ${n}/${total}: ${pair.workload} mode=${mode} path=${accessPath} rep=${rep}`);
          let measured: Awaited<ReturnType<typeof measureOnce>>;
          try {
            measured = await measureOnce({
              pair, mode, path: accessPath, rep, kernel: ctx.kernel, initramfs: ctx.initramfs, accel: ctx.accel,
              shareOptions: ctx.shareOptions, shareBanner: ctx.shareBanner, digest: opts.digest ?? "xxh64", runDir: folder.dir, progress,
            });
          } catch (e) {
            // a crashed guest is a finding about the kernel: keep it and measure the other cells
            if (!(e instanceof GuestFailure)) throw e;
            progress.info(`  FAILED: ${e.message.split("\n")[0]}`);
            if (e instanceof ReadBackFailure && e.corrupt) {
              warnOnce(record, `DATA CORRUPTION: ${pair.workload} ${mode}/${accessPath}: files read back with other content than the image holds (see report.md, failed boots)`);
            }
            record.failedBoots.push({
              phase: "read-all", workload: pair.workload, mode, path: accessPath, rep, failure: e.message, bootDir: e.files[0] ? path.dirname(e.files[0]) : "",
            });
            await folder.save();
            continue;
          }
          const { measurement, samples } = measured;
          noteSplat(record, `${pair.workload} read-all ${mode}/${accessPath}`, measurement.kernelSplat);
          if (mode !== "off" && ctx.shareBanner && !measurement.shareBannerSeen) {
            warnOnce(record, `${pair.workload} ${mode}: kernel never logged "${ctx.shareBanner}"; sharing may be inactive`);
          }
          if (measurement.excluded) {
            progress.info(`  left out of the median: ${measurement.excluded}`);
            warnOnce(record, `${pair.workload} read-all ${mode}/${accessPath}: boot(s) left out of the median: ${measurement.excluded}`);
          }
          if (!measurement.reclaim) warnOnce(record, "the guest kernel has no VM event counters: reclaim during reads cannot be ruled out");
          record.boots.push(measurement);
          await folder.appendSamples(samples);
          progress.info(
            `  page cache +${(measurement.afterAKiB / 1024).toFixed(1)} MiB after A, +${(measurement.afterBKiB / 1024).toFixed(1)} MiB after A+B` +
              `, ${measurement.verifiedFiles} files read whole${measurement.hashedFiles ? `, ${measurement.hashedFiles} digests compared` : ""} (${(measurement.wallMs / 1000).toFixed(1)}s)`,
          );
          record.cells = buildCells(record.boots, ctx.analyses);
          record.comparisons = compare(record.cells, ctx.analyses);
          await folder.save();
        }
      }
    }
  }
}

/** runtime: both images as containers running the workload; a failing cell is recorded and the rest go on. */
export async function runRuntime(pairs: ImagePair[], ctx: PhaseContext): Promise<void> {
  const { opts, folder, progress } = ctx;
  const record = folder.record;
  const withRuntime = pairs.filter((p) => p.runtime);
  const total = withRuntime.length * opts.reps * opts.modes.length;
  let n = 0;
  for (const p of withRuntime) {
    const memoryMiB = Math.max(1024, guestMemoryMiB(toPair(p)) + 512);
    for (let rep = 1; rep <= opts.reps; rep++) {
      for (const mode of opts.modes) {
        n++;
        progress.info(`runtime ${n}/${total}: ${p.record.name} mode=${mode} rep=${rep} (containers A then B)`);
        try {
          const m = await measureRuntime({
            workload: p.record.name, runtime: p.runtime!, quick: Boolean(opts.quick), imageA: p.a.image, imageB: p.b.image,
            mode, rep, kernel: ctx.kernel, initramfs: ctx.initramfs, accel: ctx.accel, memoryMiB, shareOptions: ctx.shareOptions,
            runDir: folder.dir,
          });
          record.runtime.push(m);
          noteSplat(record, `${p.record.name} runtime ${mode}`, m.kernelSplat);
          if (m.ok) {
            const load = m.load.filter((l) => l.throughput !== undefined).map((l) => `${l.container} ${l.step} ${l.throughput!.toFixed(0)} ${l.throughputUnit}`);
            progress.info(`  containers ${m.memoryMiB!.toFixed(1)} MiB, page cache +${(m.pageCache.afterBKiB / 1024).toFixed(1)} MiB; ${load.join("; ")}`);
          } else {
            progress.info(`  FAILED: ${m.failure?.split("\n")[0]}`);
          }
        } catch (e) {
          // a guest that crashed is this cell's finding; a host or tool problem stops the run
          if (!(e instanceof GuestFailure)) throw e;
          const msg = e.message;
          progress.info(`  FAILED: ${msg.split("\n")[0]}`);
          record.runtime.push({
            workload: p.record.name, mode, rep, accel: ctx.accel, bootDir: "", wallMs: 0, ok: false, failure: msg,
            pageCache: { afterAKiB: NaN, afterBKiB: NaN }, cgroups: {}, load: [],
          });
        }
        record.runtimeCells = buildRuntimeCells(record.runtime);
        await folder.save();
      }
    }
  }
}
