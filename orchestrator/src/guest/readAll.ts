import { mkdir } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { regularFiles, type Manifest } from "../images/manifest.js";
import { BenchError } from "../util/errors.js";
import type { Progress } from "../util/progress.js";
import { ACCESS_PATHS, MODES, mountOptions, type AccessPath, type Mode } from "./modes.js";
import { parseMeminfo, readGuestReport, splatOf, type GuestReport } from "./protocol.js";
import { ACCELERATORS, bootGuest, type Accelerator } from "./qemu.js";

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
  meminfo: z.record(z.string(), z.number()),
});
export type RawSample = z.infer<typeof RawSampleSchema>;

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
  stable: z.boolean(),
  verifiedFiles: z.number().int(),
  shareBannerSeen: z.boolean(),
  readMs: z.object({ A: z.number(), B: z.number() }),
  /** A kernel WARNING (or oops the guest survived) during the boot: "headline at func+off/size". */
  kernelSplat: z.string().optional(),
});
export type BootMeasurement = z.infer<typeof BootMeasurementSchema>;

/** Every file in both manifests must have been read back with the same digest. */
export function verifyChecksums(report: GuestReport, a: Manifest, b: Manifest): { files: number; problems: string[] } {
  const problems: string[] = [];
  let files = 0;
  for (const [label, m] of [["A", a], ["B", b]] as const) {
    const expected = new Map<string, string>();
    const bySha = new Map(regularFiles(m).map((f) => [f.path, f.sha256]));
    for (const e of m.entries) {
      if (e.type === "file" && e.sha256) expected.set(e.path, e.sha256);
      if (e.type === "hardlink" && e.target && bySha.has(e.target)) expected.set(e.path, bySha.get(e.target)!);
    }
    const seen = new Map(report.files.filter((f) => f.image === label).map((f) => [f.path, f.sha256]));
    for (const [p, sha] of expected) {
      const got = seen.get(p);
      if (got === undefined) problems.push(`image ${label}: ${p} was not read back`);
      else if (got !== sha) problems.push(`image ${label}: ${p} read back as sha256 ${got.slice(0, 16)}…, manifest says ${sha.slice(0, 16)}…`);
      else files++;
    }
    for (const p of seen.keys()) if (!expected.has(p)) problems.push(`image ${label}: ${p} is in the image but not in the manifest`);
  }
  for (const e of report.fileErrors) problems.push(`image ${e.image}: ${e.path}: read failed (errno ${e.errno})`);
  return { files, problems };
}

export function guestMemoryMiB(pair: PairToMeasure): number {
  const bytes = (m: Manifest) => regularFiles(m).reduce((s, f) => s + f.size, 0);
  const mib = (bytes(pair.manifestA) + bytes(pair.manifestB)) / 2 ** 20;
  return Math.max(512, Math.ceil((256 + 1.5 * mib) / 64) * 64);
}

/** One fresh boot: mount both images in `mode`, read A then B through `path`, sample page cache. */
export async function measureOnce(opts: {
  pair: PairToMeasure;
  mode: Mode;
  path: AccessPath;
  rep: number;
  kernel: string;
  initramfs: string;
  accel: Accelerator;
  shareOptions: (domain: string) => string;
  shareBanner?: string;
  runDir: string;
  progress: Progress;
}): Promise<{ measurement: BootMeasurement; samples: RawSample[] }> {
  const { pair, mode } = opts;
  const bootDir = path.join(opts.runDir, "boots", `${pair.workload}-${mode}-${opts.path}-r${opts.rep}`);
  await mkdir(bootDir, { recursive: true });
  const opt = mountOptions(mode, opts.shareOptions);
  const verify = mode !== "off";
  const memoryMiB = guestMemoryMiB(pair);
  const totalMiB = memoryMiB - 256;
  const r = await bootGuest({
    kernel: opts.kernel,
    initramfs: opts.initramfs,
    disks: [pair.imageA, pair.imageB],
    guestArgs: {
      "esb.mode": mode, "esb.rep": String(opts.rep), "esb.paths": opts.path,
      "esb.opts_a": opt.a, "esb.opts_b": opt.b, "esb.verify": verify ? "1" : "0",
    },
    memoryMiB,
    cpus: 2,
    accel: opts.accel,
    timeoutMs: (120 + totalMiB * 2) * 1000,
    dir: bootDir,
  });
  const where = `${pair.workload} ${mode}/${opts.path} rep ${opts.rep}`;
  const report = await readGuestReport(r, where);
  const point = (p: string) => report.samples.find((s) => s.point === p && s.path === opts.path);
  const base = point("baseline");
  const afterA = point("after-A");
  const afterB = point("after-B");
  if (!base || !afterA || !afterB) throw new BenchError(`${where}: guest sent no complete set of samples`, undefined, [r.samples, r.console]);
  let verifiedFiles = 0;
  if (verify) {
    const v = verifyChecksums(report, pair.manifestA, pair.manifestB);
    if (v.problems.length) {
      throw new BenchError(
        `${where}: ${v.problems.length} file(s) read back wrong with sharing on:\n${v.problems.slice(0, 10).map((p) => "    " + p).join("\n")}`,
        "this is a data corruption in the kernel under test (or an image/manifest mismatch)",
        [r.samples],
      );
    }
    verifiedFiles = v.files;
  }
  const readMs = (img: string) => report.reads.find((x) => x.image === img)?.ms ?? 0;
  const samples: RawSample[] = report.samples.map((s) => ({
    workload: pair.workload, mode, path: s.path, rep: opts.rep, point: s.point,
    pageCacheKiB: s.pageCacheKiB, tries: s.tries, stable: s.stable, meminfo: Object.fromEntries(parseMeminfo(s.meminfo)),
  }));
  const measurement: BootMeasurement = {
    workload: pair.workload,
    mode,
    path: opts.path,
    rep: opts.rep,
    accel: opts.accel,
    release: report.hello?.release ?? "unknown",
    bootDir,
    wallMs: r.wallMs,
    baselineKiB: base.pageCacheKiB,
    afterAKiB: afterA.pageCacheKiB - base.pageCacheKiB,
    afterBKiB: afterB.pageCacheKiB - base.pageCacheKiB,
    stable: base.stable && afterA.stable && afterB.stable,
    verifiedFiles,
    shareBannerSeen: opts.shareBanner ? report.dmesg.includes(opts.shareBanner) : false,
    readMs: { A: readMs("A"), B: readMs("B") },
    kernelSplat: splatOf(r),
  };
  return { measurement, samples };
}
