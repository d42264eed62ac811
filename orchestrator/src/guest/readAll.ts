import { mkdir } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { regularFiles, type Manifest } from "../images/manifest.js";
import { BenchError } from "../util/errors.js";
import type { Progress } from "../util/progress.js";
import { ACCESS_PATHS, MODES, mountOptions, type AccessPath, type Mode } from "./modes.js";
import { parseMeminfo, parseVmstat, readGuestReport, reclaimBetween, splatOf, type GuestReport } from "./protocol.js";
import { ACCELERATORS, type GuestMachine } from "./machine.js";
import { bootPastInit, EarlyHangSchema, GuestFailure } from "./qemu.js";
import { DIGESTS, verifyReads, type Digest } from "./verify.js";

export interface PairToMeasure {
  workload: string;
  imageA: string;
  imageB: string;
  manifestA: Manifest;
  manifestB: Manifest;
}

/** One /proc/meminfo reading as samples.jsonl keeps it. */
export const RawSampleSchema = z.object({
  workload: z.string(),
  mode: z.enum(MODES),
  path: z.string(),
  rep: z.number().int(),
  point: z.string(),
  pageCacheKiB: z.number(),
  tries: z.number(),
  stable: z.boolean(),
  /** Every Cached - Shmem reading taken while settling, KiB. */
  readings: z.array(z.number()),
  meminfo: z.record(z.string(), z.number()),
  vmstat: z.record(z.string(), z.number()),
});
export type RawSample = z.infer<typeof RawSampleSchema>;

/**
 * Where one boot's time went: the kernel booting to init, settling page
 * cache, reading A and B, the residency walk, everything else the guest did
 * (mounts), checking the reads on the host, and what QEMU spent outside the
 * guest's clock (firmware before the kernel, power-off, exit).
 */
const BootTimingSchema = z.object({
  bootMs: z.number(),
  settleMs: z.number(),
  readAMs: z.number(),
  readBMs: z.number(),
  residentMs: z.number(),
  guestOtherMs: z.number(),
  verifyMs: z.number(),
  qemuOutsideMs: z.number(),
});
type BootTiming = z.infer<typeof BootTimingSchema>;

/** Where the time of a boot went, from the guest's clock (ms since it booted) and the host's wall time. */
function bootTiming(
  report: GuestReport,
  wallMs: number,
  verifyMs: number,
  readMs: { A: number; B: number },
): BootTiming | undefined {
  const bootMs = report.hello?.up;
  if (bootMs === undefined || report.endUp === undefined) return undefined;
  const settleMs = report.samples.reduce((s, x) => s + (x.ms ?? 0), 0);
  const residentMs = report.residentDone.reduce((s, x) => s + x.ms, 0);
  const guestOtherMs = Math.max(0, report.endUp - bootMs - settleMs - readMs.A - readMs.B - residentMs);
  return {
    bootMs,
    settleMs,
    readAMs: readMs.A,
    readBMs: readMs.B,
    residentMs,
    guestOtherMs,
    verifyMs,
    qemuOutsideMs: Math.max(0, wallMs - report.endUp),
  };
}

/** What one read-all boot measured. */
export const BootMeasurementSchema = z.object({
  workload: z.string(),
  mode: z.enum(MODES),
  path: z.enum(ACCESS_PATHS),
  rep: z.number().int(),
  accel: z.enum(ACCELERATORS),
  release: z.string(),
  bootDir: z.string(),
  wallMs: z.number(),
  /** Page cache (Cached - Shmem) growth over the baseline, KiB. */
  afterAKiB: z.number(),
  afterBKiB: z.number(),
  baselineKiB: z.number(),
  /** Boots of this cell that stalled before init and were started again. */
  earlyHangs: z.array(EarlyHangSchema).optional(),
  /** Every sample settled (two readings within 64 KiB). */
  stable: z.boolean(),
  /** Pages scanned and stolen by reclaim between the baseline and the last sample; null when the kernel cannot tell. */
  reclaim: z.object({ pgscan: z.number(), pgsteal: z.number() }).nullable(),
  /** Why this boot is left out of its cell's median (an unsettled sample, reclaim during the read). */
  excluded: z.string().optional(),
  /** Files read whole as the manifest says, in both images. */
  verifiedFiles: z.number().int(),
  /** Of those, files whose digest was compared, and which digest. */
  hashedFiles: z.number().int(),
  digest: z.enum(DIGESTS).nullable(),
  /** Where the boot's wall time went, ms (see BootTimingSchema). */
  timing: BootTimingSchema.optional(),
  shareBannerSeen: z.boolean(),
  readMs: z.object({ A: z.number(), B: z.number() }),
  /** A kernel WARNING (or oops the guest survived) during the boot: "headline at func+off/size". */
  kernelSplat: z.string().optional(),
});
export type BootMeasurement = z.infer<typeof BootMeasurementSchema>;

/** A boot whose files did not read back as the manifest says: the cell fails, the run goes on. */
export class ReadBackFailure extends GuestFailure {
  override name = "ReadBackFailure";
  constructor(
    message: string,
    readonly corrupt: boolean,
    files: string[],
  ) {
    super(message, undefined, files);
  }
}

/** Why a boot's figure cannot be trusted, if it cannot. */
function exclusionOf(samples: GuestReport["samples"], reclaim: BootMeasurement["reclaim"]): string | undefined {
  const unsettled = samples.filter((s) => !s.stable);
  if (unsettled.length) {
    const s = unsettled[0]!;
    return `page cache did not settle at ${s.point} (${s.tries} readings, last ${s.readings.slice(-3).join(", ")} KiB)`;
  }
  if (reclaim && (reclaim.pgscan > 0 || reclaim.pgsteal > 0))
    return `reclaim during the read (pgscan +${reclaim.pgscan}, pgsteal +${reclaim.pgsteal} pages)`;
  return undefined;
}

/** A read-all guest's memory: room for both images' page cache, and the machine's at least. */
export function guestMemoryMiB(pair: PairToMeasure, machine: Pick<GuestMachine, "memoryMiB">): number {
  const bytes = (m: Manifest) => regularFiles(m).reduce((s, f) => s + f.size, 0);
  const mib = (bytes(pair.manifestA) + bytes(pair.manifestB)) / 2 ** 20;
  return Math.max(machine.memoryMiB, Math.ceil((256 + 1.5 * mib) / 64) * 64);
}

/** One fresh boot: mount both images in `mode`, read A then B through `path`, sample page cache. */
export async function measureOnce(
  machine: GuestMachine,
  opts: {
    pair: PairToMeasure;
    mode: Mode;
    path: AccessPath;
    rep: number;
    shareOptions: (domain: string) => string;
    shareBanner?: string;
    /** What each file read is checked with. */
    digest: Digest;
    /** Walk B's files for their resident pages after A is read and before B is (which of B's files share A's copy). */
    residentBeforeB?: boolean;
    runDir: string;
    progress: Progress;
  },
): Promise<{ measurement: BootMeasurement; samples: RawSample[]; resident: GuestReport["resident"] }> {
  const { pair, mode } = opts;
  const bootDir = path.join(opts.runDir, "boots", `${pair.workload}-${mode}-${opts.path}-r${opts.rep}`);
  await mkdir(bootDir, { recursive: true });
  const opt = mountOptions(mode, opts.shareOptions);
  // every boot checks that each file was read whole and, by its digest, right
  const memoryMiB = guestMemoryMiB(pair, machine);
  const totalMiB = memoryMiB - 256;
  const where = `${pair.workload} ${mode}/${opts.path} rep ${opts.rep}`;
  const { result: r, earlyHangs } = await bootPastInit(
    { ...machine, memoryMiB },
    {
      disks: [pair.imageA, pair.imageB],
      guestArgs: {
        "esb.mode": mode,
        "esb.rep": String(opts.rep),
        "esb.paths": opts.path,
        "esb.opts_a": opt.a,
        "esb.opts_b": opt.b,
        "esb.digest": opts.digest,
        "esb.resident": opts.residentBeforeB ? "1" : "0",
      },
      timeoutMs: (120 + totalMiB * 2) * 1000,
      dir: bootDir,
    },
    where,
  );
  const report = await readGuestReport(r, where);
  const point = (p: string) => report.samples.find((s) => s.point === p && s.path === opts.path);
  const base = point("baseline");
  const afterA = point("after-A");
  const afterB = point("after-B");
  if (!base || !afterA || !afterB)
    throw new BenchError(`${where}: guest sent no complete set of samples`, undefined, [r.samples, r.console]);
  const v0 = Date.now();
  const check = verifyReads(report, pair.manifestA, pair.manifestB, { digest: opts.digest });
  const verifyMs = Date.now() - v0;
  if (check.problems.length) {
    const what = check.corrupt ? "read back wrong (DATA CORRUPTION)" : "not read back whole";
    throw new ReadBackFailure(
      `${where}: ${check.problems.length} file(s) ${what}:\n${check.problems
        .slice(0, 10)
        .map((p) => "    " + p)
        .join("\n")}`,
      check.corrupt,
      [r.samples, r.console],
    );
  }
  const reclaimed = reclaimBetween(base.vmstat, afterB.vmstat);
  const reclaim = reclaimed.available ? { pgscan: reclaimed.pgscan, pgsteal: reclaimed.pgsteal } : null;
  const ours = [base, afterA, afterB];
  const readMs = (img: string) => report.reads.find((x) => x.image === img)?.ms ?? 0;
  const samples: RawSample[] = report.samples.map((s) => ({
    workload: pair.workload,
    mode,
    path: s.path,
    rep: opts.rep,
    point: s.point,
    pageCacheKiB: s.pageCacheKiB,
    tries: s.tries,
    stable: s.stable,
    readings: s.readings,
    meminfo: Object.fromEntries(parseMeminfo(s.meminfo)),
    vmstat: Object.fromEntries(parseVmstat(s.vmstat)),
  }));
  const measurement: BootMeasurement = {
    workload: pair.workload,
    mode,
    path: opts.path,
    rep: opts.rep,
    accel: machine.accel,
    release: report.hello?.release ?? "unknown",
    bootDir,
    wallMs: r.wallMs,
    baselineKiB: base.pageCacheKiB,
    afterAKiB: afterA.pageCacheKiB - base.pageCacheKiB,
    afterBKiB: afterB.pageCacheKiB - base.pageCacheKiB,
    stable: ours.every((x) => x.stable),
    reclaim,
    excluded: exclusionOf(ours, reclaim),
    verifiedFiles: check.files,
    hashedFiles: check.hashed,
    digest: opts.digest,
    shareBannerSeen: opts.shareBanner ? report.dmesg.includes(opts.shareBanner) : false,
    readMs: { A: readMs("A"), B: readMs("B") },
    timing: bootTiming(report, r.wallMs, verifyMs, { A: readMs("A"), B: readMs("B") }),
    kernelSplat: splatOf(r),
    ...(earlyHangs.length ? { earlyHangs } : {}),
  };
  return { measurement, samples, resident: report.resident };
}
