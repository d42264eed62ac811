import { readFile } from "node:fs/promises";
import { z } from "zod";
import { BenchError } from "../util/errors.js";
import { describeBootFailure, GuestFailure, type VmResult } from "./qemu.js";

/** /proc/meminfo as a map of kB values. */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** Page cache that belongs to files: Cached minus Shmem (the initramfs lives in Shmem). */
export function pageCacheKiB(meminfo: Map<string, number>): number {
  const cached = meminfo.get("Cached");
  const shmem = meminfo.get("Shmem");
  if (cached === undefined || shmem === undefined)
    throw new BenchError("guest /proc/meminfo has no Cached or Shmem line");
  return cached - shmem;
}

const Hello = z.object({
  t: z.literal("hello"),
  release: z.string(),
  mode: z.string(),
  rep: z.number(),
  up: z.number().optional(),
});
const Sample = z.object({
  t: z.literal("sample"),
  point: z.string(),
  path: z.string(),
  tries: z.number(),
  stable: z.boolean(),
  meminfo: z.string(),
  /** Every Cached - Shmem reading (KiB) taken while settling, in order. */
  readings: z.array(z.number()),
  /** Raw /proc/vmstat right after the meminfo reading; "" when it could not be read. */
  vmstat: z.string(),
  /** Raw /proc/diskstats: reads that reached the disks. */
  diskstats: z.string().optional(),
  /** How long settling took, and when it ended (ms since boot). */
  ms: z.number().optional(),
  up: z.number().optional(),
});
/** A file as the guest named it: UTF-8, with the raw bytes in pathHex when the name is not UTF-8. */
const Named = { image: z.string(), path: z.string(), pathHex: z.string().optional() };
const FileLine = z.object({
  t: z.literal("file"),
  ...Named,
  size: z.number(),
  /** Bytes the access path delivered (touched, for mmap). */
  bytes: z.number(),
  /** The digest the guest was asked for, if any. */
  sha256: z.string().optional(),
  xxh64: z.string().optional(),
});
const FileError = z.object({
  t: z.literal("file-error"),
  ...Named,
  errno: z.number(),
  op: z.string(),
  bytes: z.number(),
});
const ReadLine = z.object({
  t: z.literal("read"),
  image: z.string(),
  method: z.string(),
  files: z.number(),
  bytes: z.number(),
  errors: z.number(),
  ms: z.number(),
  /** 0 when the whole tree was walked. */
  walk: z.number(),
  /** When the step ended, ms since the guest booted. */
  up: z.number().optional(),
});
const Resident = z.object({
  t: z.literal("resident"),
  ...Named,
  size: z.number(),
  pages: z.number(),
  resident: z.number(),
});
const ResidentDone = z.object({ t: z.literal("resident-done"), image: z.string(), ms: z.number(), up: z.number() });
const Dmesg = z.object({ t: z.literal("dmesg"), text: z.string(), up: z.number().optional() });
const ErrorLine = z.object({ t: z.literal("error"), what: z.string(), message: z.string() });
const CgroupLine = z.object({ t: z.literal("cgroup"), name: z.string(), current: z.number(), stat: z.string() });
const OutputLine = z.object({ t: z.literal("output"), container: z.string(), step: z.string(), text: z.string() });

const GuestLineSchema = z.discriminatedUnion("t", [
  Hello,
  Sample,
  FileLine,
  FileError,
  ReadLine,
  Resident,
  ResidentDone,
  Dmesg,
  ErrorLine,
  CgroupLine,
  OutputLine,
]);
type GuestLine = z.infer<typeof GuestLineSchema>;

/**
 * The JSON values of a channel's lines, each with where it was (source:line)
 * for errors; blank lines are skipped. Every parser of a guest channel reads
 * through this, so all of them treat a torn line alike.
 */
export function* jsonLines(text: string, source: string): Generator<{ value: unknown; at: string }> {
  const lines = text.split("\n");
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      // a guest killed mid-write leaves a torn last line; anything else is a bug
      if (i >= lines.length - 2) return;
      throw new BenchError(`${source}:${i + 1}: not JSON: ${line.slice(0, 120)}`);
    }
    yield { value, at: `${source}:${i + 1}` };
  }
}

/** A record esbprobe sends; any other shape is an error naming the line. */
export function parseGuestLine(value: unknown, at: string): GuestLine {
  const p = GuestLineSchema.safeParse(value);
  if (!p.success) throw new BenchError(`${at}: unexpected guest record: ${p.error.issues[0]?.message}`);
  return p.data;
}

export interface GuestReport {
  hello?: z.infer<typeof Hello>;
  samples: Array<z.infer<typeof Sample> & { pageCacheKiB: number }>;
  files: Array<z.infer<typeof FileLine>>;
  fileErrors: Array<z.infer<typeof FileError>>;
  reads: Array<z.infer<typeof ReadLine>>;
  resident: Array<z.infer<typeof Resident>>;
  residentDone: Array<z.infer<typeof ResidentDone>>;
  errors: Array<z.infer<typeof ErrorLine>>;
  cgroups: Array<z.infer<typeof CgroupLine>>;
  outputs: Array<z.infer<typeof OutputLine>>;
  dmesg: string;
  /** The guest got to its last step (it sends the kernel log at the very end). */
  complete: boolean;
  /** When the guest sent its last line, ms since it booted. */
  endUp?: number;
}

/** What a guest that sent nothing reported: no lines, and not complete. */
export function emptyGuestReport(): GuestReport {
  return {
    samples: [],
    files: [],
    fileErrors: [],
    reads: [],
    resident: [],
    residentDone: [],
    errors: [],
    cgroups: [],
    outputs: [],
    dmesg: "",
    complete: false,
  };
}

/** Parses what the guest sent on the sample channel; a malformed line is an error naming it. */
export function parseGuestOutput(text: string, source: string): GuestReport {
  const r = emptyGuestReport();
  for (const { value, at } of jsonLines(text, source)) {
    const o = parseGuestLine(value, at);
    switch (o.t) {
      case "hello":
        r.hello = o;
        break;
      case "sample":
        r.samples.push({ ...o, pageCacheKiB: pageCacheKiB(parseMeminfo(o.meminfo)) });
        break;
      case "file":
        r.files.push(o);
        break;
      case "file-error":
        r.fileErrors.push(o);
        break;
      case "read":
        r.reads.push(o);
        break;
      case "resident":
        r.resident.push(o);
        break;
      case "resident-done":
        r.residentDone.push(o);
        break;
      case "error":
        r.errors.push(o);
        break;
      case "cgroup":
        r.cgroups.push(o);
        break;
      case "output":
        r.outputs.push(o);
        break;
      case "dmesg":
        r.dmesg = o.text;
        r.complete = true;
        r.endUp = o.up;
        break;
    }
  }
  return r;
}

/** /proc/vmstat (and memory.stat: "key value" lines) as a map of counters. */
export function parseVmstat(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(\w+) (\d+)$/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** Reclaim between two samples: pages scanned and stolen from the LRU, by kswapd, direct reclaim or khugepaged. */
export function reclaimBetween(before: string, after: string): { pgscan: number; pgsteal: number; available: boolean } {
  const [b, a] = [parseVmstat(before), parseVmstat(after)];
  const sum = (m: Map<string, number>, prefix: string) =>
    ["kswapd", "direct", "khugepaged"].reduce((s, k) => s + (m.get(`${prefix}_${k}`) ?? 0), 0);
  // without VM event counters the kernel has no pgscan lines: then reclaim cannot be seen, and the caller says so
  const available = a.has("pgscan_kswapd") || a.has("pgscan_direct");
  return { pgscan: sum(a, "pgscan") - sum(b, "pgscan"), pgsteal: sum(a, "pgsteal") - sum(b, "pgsteal"), available };
}

/** Reads completed and KiB read from the image disks (vda, vdb), from /proc/diskstats. */
export function diskReads(diskstats: string): { ios: number; kib: number } {
  let ios = 0;
  let kib = 0;
  for (const line of diskstats.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f[2] !== "vda" && f[2] !== "vdb") continue;
    ios += Number(f[3] ?? 0);
    kib += Number(f[5] ?? 0) / 2;
  }
  return { ios, kib };
}

/**
 * What reading cost between two samples: major page faults, pages the kernel
 * read in (pgpgin, KiB) and the reads that reached the image disks. Beside
 * memory, it tells whether a mode saves pages by sharing them or by reading
 * fewer ahead (and paying for it in faults and I/O requests).
 */
export function ioBetween(
  before: { vmstat: string; diskstats?: string },
  after: { vmstat: string; diskstats?: string },
): { majorFaults: number; pgpginKiB: number; diskReads: number; diskReadKiB: number } {
  const [vb, va] = [parseVmstat(before.vmstat), parseVmstat(after.vmstat)];
  const [db, da] = [diskReads(before.diskstats ?? ""), diskReads(after.diskstats ?? "")];
  return {
    majorFaults: (va.get("pgmajfault") ?? 0) - (vb.get("pgmajfault") ?? 0),
    pgpginKiB: (va.get("pgpgin") ?? 0) - (vb.get("pgpgin") ?? 0),
    diskReads: da.ios - db.ios,
    diskReadKiB: da.kib - db.kib,
  };
}

/** A cgroup's memory.stat ("key value" lines, bytes): the same form as /proc/vmstat. */
export const parseMemoryStat = parseVmstat;

/**
 * What a boot sent on the sample channel; a guest step that reported an error,
 * or a guest that never got to its end, is an error naming the boot.
 */
export async function readGuestReport(r: VmResult, where: string): Promise<GuestReport> {
  const report = parseGuestOutput(await readFile(r.samples, "utf8"), r.samples);
  if (report.errors.length) {
    const e = report.errors[0]!;
    throw new GuestFailure(`${where}: guest step ${e.what} failed: ${e.message}`, undefined, [r.console]);
  }
  if (!report.complete) throw await describeBootFailure(r, where);
  return report;
}

/** One line for a kernel splat in a boot that still finished. */
export function splatOf(r: VmResult): string | undefined {
  return r.oops ? `${r.oops.headline}${r.oops.rip ? ` at ${r.oops.rip}` : ""}` : undefined;
}
