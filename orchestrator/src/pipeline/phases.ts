import path from "node:path";
import { gapEvidence } from "../analysis/gap.js";
import { imageFileLayouts } from "../images/fileLayout.js";
import type { ImageFormat } from "../images/fingerprintKey.js";
import { deriveResults } from "../analysis/results.js";
import type { SharingAnalysis } from "../analysis/sharing.js";
import type { AccessPath, Mode } from "../guest/modes.js";
import type { GuestMachine } from "../guest/machine.js";
import { GuestFailure } from "../guest/qemu.js";
import { guestMemoryMiB, measureOnce, ReadBackFailure, type PairToMeasure } from "../guest/readAll.js";
import { measureRuntime, type RuntimeMeasurement } from "../guest/runtime.js";
import type { ImagePair } from "../images/pairs.js";
import { fmtElapsed, type Progress } from "../util/progress.js";
import type { JobSpec } from "../record/jobSpec.js";
import type { RunFolder } from "./runFolder.js";
import { SETTLE_RULES } from "../analysis/repetitions.js";
import { measureInRounds } from "./rounds.js";
import { schedule, type Finished, type Job } from "./scheduler.js";
import { inShard, type BootGroup } from "./shard.js";

export interface PhaseContext {
  opts: JobSpec;
  folder: RunFolder;
  progress: Progress;
  machine: GuestMachine;
  shareOptions: (domain: string) => string;
  shareBanner?: string;
  analyses: Map<string, SharingAnalysis>;
  /** Guests at once for read-all boots. */
  parallel: number;
  /** Runtime boots share the host with other guests (their throughput is then disturbed). */
  runtimeShared: boolean;
  /** How the series' images carry fingerprints (to tell why a file did not share). */
  imageFormat?: ImageFormat;
}

/** A warning said once, however many boots of a cell give it. */
function warnOnce(record: RunFolder["record"], w: string): void {
  if (!record.warnings.includes(w)) record.warnings.push(w);
}

/** A kernel WARNING in a boot that finished is worth a line of its own. */
function noteSplat(record: RunFolder["record"], where: string, splat: string | undefined): void {
  if (splat) warnOnce(record, `kernel splat in ${where}: ${splat} (see oops.txt in the boot folder)`);
}

export function toPair(p: ImagePair): PairToMeasure {
  return {
    workload: p.record.name,
    imageA: p.a.image,
    imageB: p.b.image,
    manifestA: p.a.manifest,
    manifestB: p.b.manifest,
  };
}

/** "7/36 done, ~12m40s left": the estimate is the phase's time so far per finished boot, times what is left. */
export function progressOf(done: number, total: number, elapsedMs: number): string {
  const left = done ? (elapsedMs / done) * (total - done) : NaN;
  return `${done}/${total} done${Number.isFinite(left) && done < total ? `, ~${fmtElapsed(left)} left` : ""}`;
}

/** A job's result, or a guest failure to keep as a finding; anything else (a host or tool error) stops the phase. */
function outcome<T>(f: Finished<T>): { ok: true; value: T } | { ok: false; failure: GuestFailure } {
  if (f.result.ok) return f.result;
  if (f.result.error instanceof GuestFailure) return { ok: false, failure: f.result.error };
  throw f.result.error;
}

interface ReadAllCell {
  pair: PairToMeasure;
  mode: Mode;
  path: AccessPath;
  rep: number;
}

const MIB = 2 ** 20;
/** A boot's fixed cost (booting, settling) in the same unit as a MiB read. */
const BOOT_COST = 50;

/**
 * Every mode and rep of one (workload, path) goes to one shard: whether the
 * group needs another rep is decided from all of its boots. Its cost grows
 * with what the guests read.
 */
export function readAllGroup(c: { pair: PairToMeasure; path: string }): BootGroup {
  const bytes = [c.pair.manifestA, c.pair.manifestB]
    .flatMap((m) => m.entries)
    .reduce((s, e) => s + (e.type === "file" ? e.size : 0), 0);
  return { key: `${c.pair.workload}|${c.path}`, cost: bytes / MIB + BOOT_COST };
}

/** Every mode and rep of one workload's runtime phase goes to one shard. */
function runtimeGroup(c: { p: ImagePair }): BootGroup {
  return { key: `${c.p.record.name}|runtime`, cost: 20 * BOOT_COST };
}

/**
 * read-all: every (rep, mode, access path) a fresh boot, up to `parallel`
 * side by side (each guest measures its own page cache); modes interleaved
 * in the order started so drift spreads evenly. Reps come in rounds
 * (rounds.ts): a (workload, path) group whose boots agree gets no more.
 */
export async function runReadAll(pairs: ImagePair[], ctx: PhaseContext): Promise<void> {
  const { opts, folder, progress } = ctx;
  const record = folder.record;
  const groups = inShard(
    pairs.flatMap((p) => opts.paths.map((accessPath) => ({ pair: toPair(p), path: accessPath }))),
    readAllGroup,
    opts.shard,
  ).map((g) => ({ ...g, key: readAllGroup(g).key, workload: g.pair.workload }));
  // a cell's figures: page cache after A and after A+B, from the boots that were not left out
  const figures = (workload: string, accessPath: AccessPath, mode: Mode) => {
    const boots = record.boots.filter(
      (b) => b.workload === workload && b.path === accessPath && b.mode === mode && !b.excluded,
    );
    return [
      { name: `${mode} after A`, values: boots.map((b) => b.afterAKiB / 1024) },
      { name: `${mode} after A+B`, values: boots.map((b) => b.afterBKiB / 1024) },
    ];
  };
  await measureInRounds({
    phase: "read-all",
    groups,
    cap: opts.reps,
    fixed: opts.fixedReps,
    rule: SETTLE_RULES.readall,
    measure: (items, round) =>
      measureReadAllCells(
        items.flatMap(({ group, rep }) =>
          opts.modes.map((mode) => ({ pair: group.pair, mode, path: group.path, rep })),
        ),
        round,
        ctx,
      ),
    cellsOf: (g) => opts.modes.flatMap((mode) => figures(g.workload, g.path, mode)),
    onMore: (g, why) => progress.info(`read-all ${g.workload} ${g.path}: ${why}`),
    decided: async (d) => {
      record.repetitions.push(d);
      progress.info(`read-all ${d.workload} ${d.path}: ${d.why}`);
      await folder.save();
    },
  });
}

/** One round of read-all boots: these cells, side by side. */
async function measureReadAllCells(cells: ReadAllCell[], round: number, ctx: PhaseContext): Promise<void> {
  const { opts, folder, progress } = ctx;
  const record = folder.record;
  const name = (c: ReadAllCell) => `${c.pair.workload} ${c.mode}/${c.path} rep ${c.rep}`;
  const jobs: Array<Job<Awaited<ReturnType<typeof measureOnce>>> & { cell: ReadAllCell }> = cells.map((cell) => ({
    cell,
    id: name(cell),
    exclusive: false,
    run: () =>
      measureOnce(ctx.machine, {
        pair: cell.pair,
        mode: cell.mode,
        path: cell.path,
        rep: cell.rep,
        shareOptions: ctx.shareOptions,
        shareBanner: ctx.shareBanner,
        digest: opts.digest,
        runDir: folder.dir,
        progress,
        // one walk per (workload, path) explains the gap to the expected saving; more would only cost time
        residentBeforeB: cell.mode === "on" && cell.rep === 1,
      }),
  }));
  const t0 = Date.now();
  await schedule(jobs, {
    parallel: ctx.parallel,
    onStart: (job, running) =>
      progress.info(`read-all: ${job.id} started${running > 1 ? ` (${running} guests running)` : ""}`),
    onFinished: async (f) => {
      const { cell } = f.job as (typeof jobs)[number];
      const state = `read-all${round > 1 ? ` round ${round}` : ""} ${progressOf(f.done, f.total, Date.now() - t0)}`;
      const r = outcome(f);
      if (!r.ok) {
        // a crashed guest is a finding about the kernel: keep it and measure the other cells
        const e = r.failure;
        progress.info(`${state}: ${f.job.id} FAILED: ${e.message.split("\n")[0]}`);
        if (e instanceof ReadBackFailure && e.corrupt) {
          warnOnce(
            record,
            `DATA CORRUPTION: ${cell.pair.workload} ${cell.mode}/${cell.path}: files read back with other content than the image holds (see report.md, failed boots)`,
          );
        }
        record.failedBoots.push({
          phase: "read-all",
          workload: cell.pair.workload,
          mode: cell.mode,
          path: cell.path,
          rep: cell.rep,
          failure: e.message,
          bootDir: e.files[0] ? path.dirname(e.files[0]) : "",
        });
        await folder.save();
        return;
      }
      const { measurement, samples } = r.value;
      noteSplat(record, `${cell.pair.workload} read-all ${cell.mode}/${cell.path}`, measurement.kernelSplat);
      if (cell.mode !== "off" && ctx.shareBanner && !measurement.shareBannerSeen) {
        warnOnce(
          record,
          `${cell.pair.workload} ${cell.mode}: kernel never logged "${ctx.shareBanner}"; sharing may be inactive`,
        );
      }
      if (measurement.excluded) {
        progress.info(`  ${f.job.id}: left out of the median: ${measurement.excluded}`);
        warnOnce(
          record,
          `${cell.pair.workload} read-all ${cell.mode}/${cell.path}: boot(s) left out of the median: ${measurement.excluded}`,
        );
      }
      if (!measurement.reclaim)
        warnOnce(record, "the guest kernel has no VM event counters: reclaim during reads cannot be ruled out");
      record.boots.push(measurement);
      await folder.appendSamples(samples);
      if (r.value.resident.length) {
        const walk = {
          workload: cell.pair.workload,
          path: cell.path,
          manifestA: cell.pair.manifestA,
          manifestB: cell.pair.manifestB,
          residentB: r.value.resident,
        };
        const evidence = gapEvidence(walk);
        // image B is read for its files' layout only when some identical file did not share
        const layoutB = evidence.notShared.length
          ? await imageFileLayouts(cell.pair.imageB, ctx.imageFormat).catch(() => undefined)
          : undefined;
        record.gapEvidence.push(layoutB ? gapEvidence({ ...walk, layoutB }) : evidence);
      }
      progress.info(
        `${state}: ${f.job.id}: page cache +${(measurement.afterAKiB / 1024).toFixed(1)} MiB after A, +${(measurement.afterBKiB / 1024).toFixed(1)} MiB after A+B` +
          `, ${measurement.verifiedFiles} files read whole${measurement.hashedFiles ? ` and checked (${measurement.digest})` : ""} (${(measurement.wallMs / 1000).toFixed(1)}s)`,
      );
      Object.assign(record, deriveResults(record));
      await folder.save();
    },
  });
}

/**
 * runtime: both images as containers running the workload. A runtime boot
 * measures throughput too, so it has the host to itself unless asked
 * otherwise; a failing cell is recorded and the rest go on.
 */
export async function runRuntime(pairs: ImagePair[], ctx: PhaseContext): Promise<void> {
  const { opts, folder, progress } = ctx;
  const record = folder.record;
  const groups = inShard(
    pairs.filter((p) => p.runtime).map((p) => ({ p })),
    runtimeGroup,
    opts.shard,
  ).map((g) => ({ ...g, key: runtimeGroup(g).key, workload: g.p.record.name }));
  // a cell's figures: the containers' memory and the page cache after B, from the boots that finished
  const figures = (workload: string, mode: Mode) => {
    const ok = record.runtime.filter((m) => m.workload === workload && m.mode === mode && m.ok);
    return [
      { name: `${mode} containers`, values: ok.flatMap((m) => (m.memoryMiB === undefined ? [] : [m.memoryMiB])) },
      { name: `${mode} page cache`, values: ok.map((m) => m.pageCache.afterBKiB / 1024) },
    ];
  };
  await measureInRounds({
    phase: "runtime",
    groups,
    cap: opts.reps,
    fixed: opts.fixedReps,
    rule: SETTLE_RULES.runtime,
    measure: (items, round) =>
      measureRuntimeCells(
        items.flatMap(({ group, rep }) => opts.modes.map((mode) => ({ p: group.p, mode, rep }))),
        round,
        ctx,
      ),
    cellsOf: (g) => opts.modes.flatMap((mode) => figures(g.workload, mode)),
    onMore: (g, why) => progress.info(`runtime ${g.workload}: ${why}`),
    decided: async (d) => {
      record.repetitions.push(d);
      progress.info(`runtime ${d.workload}: ${d.why}`);
      await folder.save();
    },
  });
}

/** One round of runtime boots: these cells, alone on the host unless asked otherwise. */
async function measureRuntimeCells(
  cells: Array<{ p: ImagePair; mode: Mode; rep: number }>,
  round: number,
  ctx: PhaseContext,
): Promise<void> {
  const { opts, folder, progress } = ctx;
  const record = folder.record;
  const jobs: Array<Job<RuntimeMeasurement> & { cell: (typeof cells)[number] }> = cells.map((cell) => ({
    cell,
    id: `${cell.p.record.name} runtime ${cell.mode} rep ${cell.rep}`,
    exclusive: !ctx.runtimeShared,
    run: () =>
      measureRuntime(ctx.machine, {
        workload: cell.p.record.name,
        runtime: cell.p.runtime!,
        quick: opts.quick,
        imageA: cell.p.a.image,
        imageB: cell.p.b.image,
        mode: cell.mode,
        rep: cell.rep,
        memoryMiB: Math.max(1024, guestMemoryMiB(toPair(cell.p), ctx.machine) + 512),
        shareOptions: ctx.shareOptions,
        runDir: folder.dir,
      }),
  }));
  const t0 = Date.now();
  await schedule(jobs, {
    parallel: ctx.runtimeShared ? ctx.parallel : 1,
    onStart: (job) => progress.info(`runtime: ${job.id} started (containers A then B)`),
    onFinished: async (f) => {
      const { cell } = f.job as (typeof jobs)[number];
      const state = `runtime${round > 1 ? ` round ${round}` : ""} ${progressOf(f.done, f.total, Date.now() - t0)}`;
      const r = outcome(f);
      if (!r.ok) {
        progress.info(`${state}: ${f.job.id} FAILED: ${r.failure.message.split("\n")[0]}`);
        record.runtime.push({
          workload: cell.p.record.name,
          mode: cell.mode,
          rep: cell.rep,
          accel: ctx.machine.accel,
          bootDir: "",
          wallMs: f.ms,
          ok: false,
          failure: r.failure.message,
          pageCache: { afterAKiB: NaN, afterBKiB: NaN },
          cgroups: {},
          load: [],
        });
      } else {
        const m = r.value;
        record.runtime.push(m);
        noteSplat(record, `${cell.p.record.name} runtime ${cell.mode}`, m.kernelSplat);
        if (m.ok) {
          const load = m.load
            .filter((l) => l.throughput !== undefined)
            .map((l) => `${l.container} ${l.step} ${l.throughput!.toFixed(0)} ${l.throughputUnit}`);
          progress.info(
            `${state}: ${f.job.id}: containers ${m.memoryMiB!.toFixed(1)} MiB, page cache +${(m.pageCache.afterBKiB / 1024).toFixed(1)} MiB; ${load.join("; ")}`,
          );
        } else {
          progress.info(`${state}: ${f.job.id} FAILED: ${m.failure?.split("\n")[0]}`);
        }
      }
      Object.assign(record, deriveResults(record));
      await folder.save();
    },
  });
}
