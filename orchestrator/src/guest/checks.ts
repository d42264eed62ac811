import { BenchError } from "../util/errors.js";

/**
 * The correctness checks (rootfs/esbcheck/): what each proves, what it
 * needs, how long it takes, and how to boot a guest for it. The guest
 * sends each check's result (see correctnessProtocol.ts); analysis/
 * correctness.ts judges it with how the boot ended.
 */

/**
 * What a check's result means, the one definition every report uses:
 * - pass: the guarantee held, and the check showed it could have seen it break
 *   (sharing was in effect);
 * - fail: the kernel broke a guarantee the feature documents for any mount
 *   setup: wrong bytes across domains, a leak, a lost fadvise, a kernel warning;
 * - oops: a fail in which the kernel oopsed or panicked;
 * - finding: behaviour inside the documented trust model (a fingerprint is
 *   trusted within its domain), or hardening that mainline has and the kernel
 *   under test lacks, named with what mainline does;
 * - na: not applicable, with why (no identical file, sharing not in effect);
 * - error: the check could not judge the kernel: the host, the check program
 *   or its own limits (an OOM under its own memory limit); never blamed on the kernel.
 */
export const CHECK_RESULTS = ["pass", "fail", "oops", "finding", "na", "error"] as const;
export type CheckResult = (typeof CHECK_RESULTS)[number];
/** The results that mean the kernel broke a guarantee. */
export const FAILED_RESULTS: readonly CheckResult[] = ["fail", "oops"];
export const isFailed = (r: string): boolean => (FAILED_RESULTS as readonly string[]).includes(r);

export interface CheckSpec {
  /** The name given in esb.check=. */
  name: string;
  /** The result lines it ends with (one, except trust). */
  results: Array<{ name: string; proves: string }>;
  /** Extra disks it needs beyond A and B. */
  needs: "forged" | "corrupt" | null;
  /** Seconds it takes on TCG at esb.seconds=30, and the host timeout to give its boot. */
  typicalSeconds: number;
  timeoutSeconds: number;
}

export const CHECKS: readonly CheckSpec[] = [
  {
    name: "private-write",
    results: [{ name: "private-write", proves: "A MAP_PRIVATE write to a shared file copies the page: the other image and other readers of the same image keep reading the original bytes." }],
    needs: null, typicalSeconds: 10, timeoutSeconds: 120,
  },
  {
    name: "umount-shared",
    results: [{ name: "umount-shared", proves: "Unmounting one image (normal and lazy) while the other still maps the shared file keeps the survivor's reads and faults right and leaves no page cache or inodes behind." }],
    needs: null, typicalSeconds: 10, timeoutSeconds: 120,
  },
  {
    name: "reclaim",
    results: [{ name: "reclaim", proves: "Shared pages reclaimed under a cgroup memory limit and read back many times always come back with the right bytes, through either image." }],
    needs: null, typicalSeconds: 45, timeoutSeconds: 180,
  },
  {
    name: "concurrency",
    results: [{ name: "concurrency", proves: "Concurrent read, mmap, sendfile and shuffled pread of the same shared files through both images, with caches dropped and fadvised away underneath, always return the right bytes." }],
    needs: null, typicalSeconds: 35, timeoutSeconds: 180,
  },
  {
    name: "fadvise",
    results: [{ name: "fadvise", proves: "POSIX_FADV_DONTNEED through one image drops the one shared copy (page cache falls by the file's size, no page stays resident through the other image), and the other image reads it back right." }],
    needs: null, typicalSeconds: 8, timeoutSeconds: 120,
  },
  {
    name: "mount-cycles",
    results: [{ name: "mount-cycles", proves: "Mounting and unmounting the images of one domain many times while reading (both images, then one while the other stays mounted and busy) leaks neither page cache, slab nor inodes." }],
    needs: null, typicalSeconds: 65, timeoutSeconds: 240,
  },
  {
    name: "trust",
    results: [
      { name: "trust-same-domain", proves: "What the kernel serves when an image in the same domain claims another file's fingerprint: the fingerprint is trusted within a domain by design." },
      { name: "trust-cross-domain", proves: "A forged fingerprint in another domain shares nothing: each image keeps serving its own bytes, whichever is read first." },
    ],
    needs: "forged", typicalSeconds: 8, timeoutSeconds: 120,
  },
  {
    name: "corrupt",
    results: [{ name: "corrupt", proves: "Images with corrupted superblocks, inodes and fingerprint xattrs, mounted with sharing on in another domain than a clean image, are refused or served correctly, never oops, and never change what the clean image serves." }],
    needs: "corrupt", typicalSeconds: 40, timeoutSeconds: 300,
  },
  {
    name: "corrupt-same-domain",
    results: [{ name: "corrupt-same-domain", proves: "What a clean image serves when corrupted copies that lie about a file (another size, another file's fingerprint) are mounted in its own domain, where fingerprints are trusted by design; an oops or a kernel warning still fails." }],
    needs: "corrupt", typicalSeconds: 40, timeoutSeconds: 300,
  },
  {
    name: "copy-up",
    results: [{ name: "copy-up", proves: "Writing a shared lower file through overlayfs copies it up: the writer sees its bytes, while the other image's overlay, both EROFS mounts and a mapping made before the copy-up keep the original." }],
    needs: null, typicalSeconds: 10, timeoutSeconds: 120,
  },
];

export const CHECK_NAMES = CHECKS.map((c) => c.name);
/** The results the checks end with (trust has two): what reports and the known-answer matrix name. */
export const RESULT_NAMES = CHECKS.flatMap((c) => c.results.map((r) => r.name));

export function checkSpec(name: string): CheckSpec {
  const c = CHECKS.find((x) => x.name === name);
  if (!c) throw new BenchError(`no correctness check named ${name}`, `choose from: ${CHECK_NAMES.join(", ")}`);
  return c;
}

/** "all" or a comma list, in the order given, each once. */
export function resolveChecks(spec: string): string[] {
  if (spec.trim() === "all" || spec.trim() === "") return [...CHECK_NAMES];
  const names = [...new Set(spec.split(",").map((s) => s.trim()).filter(Boolean))];
  for (const n of names) checkSpec(n);
  return names;
}

/** The disks of a correctness boot: A, B, and what trust and corrupt need. */
export interface CheckDisks {
  a: string;
  b: string;
  forged?: { file: string; path: string };
  corrupt?: Array<{ file: string; name: string; hitPath: string | null; expect: string }>;
}

export interface CorrectnessBoot {
  /** The check this boot runs (one per boot, so an oops names its check). */
  check: string;
  /** vda = A, vdb = B, then the check's extra images in case-list order. */
  disks: string[];
  guestArgs: Record<string, string>;
  /** /check/cases, to append to the initramfs, or null when the check needs none. */
  caseList: string | null;
  memoryMiB: number;
  timeoutMs: number;
}

/** vda, vdb, ..., vdz, vdaa, ... as the kernel names virtio disks. */
export function diskName(i: number): string {
  const letters = (n: number): string => (n < 26 ? String.fromCharCode(97 + n) : letters(Math.floor(n / 26) - 1) + String.fromCharCode(97 + (n % 26)));
  return `vd${letters(i)}`;
}

function safeWord(w: string, what: string): string {
  if (!w || /\s/.test(w)) throw new BenchError(`${what} "${w}" is empty or has white space; the guest's case list is split on spaces`);
  return w;
}

/** The case list the guest reads from /check/cases. */
export function renderCaseList(entries: { trust?: { dev: string; path: string }; corrupt?: Array<{ dev: string; name: string; hitPath: string | null; expect: string }> }): string {
  const lines = ["# erofs-share-bench correctness cases: trust DEV PATH | corrupt DEV NAME HITPATH|- EXPECT"];
  if (entries.trust) lines.push(`trust ${safeWord(entries.trust.dev, "device")} ${safeWord(entries.trust.path, "path")}`);
  for (const c of entries.corrupt ?? []) {
    lines.push(`corrupt ${safeWord(c.dev, "device")} ${safeWord(c.name, "case")} ${c.hitPath === null ? "-" : safeWord(c.hitPath, "path")} ${safeWord(c.expect, "expectation")}`);
  }
  return lines.join("\n") + "\n";
}

export interface PlanOptions {
  /** The series' share-on mount options with {domain} left in: the guest fills in each domain. */
  shareOptions: string;
  /** Scales the time-bounded checks (30 = their defaults). */
  seconds?: number;
  /** What every read is checked with (esb.digest). */
  digest?: string;
  /** A and B together, MiB: the reference pass reads both whole before any check. */
  imagesMiB?: number;
  memoryMiB?: number;
  /** How much slower than the checks' typical times the guest runs (TCG). */
  slowdown?: number;
}

/**
 * One boot per check: a fresh kernel each, so an oops names its check and
 * leaves the others unharmed. A check that needs extra images must be given them.
 */
export function planCorrectnessBoots(checks: string[], disks: CheckDisks, opts: PlanOptions): CorrectnessBoot[] {
  const seconds = opts.seconds ?? 30;
  const slow = opts.slowdown ?? 1;
  return checks.map((name) => {
    const spec = checkSpec(name);
    const drives = [disks.a, disks.b];
    let caseList: string | null = null;
    if (spec.needs === "forged") {
      if (!disks.forged) throw new BenchError(`check ${name} needs a forged image and was given none`);
      drives.push(disks.forged.file);
      caseList = renderCaseList({ trust: { dev: diskName(2), path: disks.forged.path } });
    }
    if (spec.needs === "corrupt") {
      if (!disks.corrupt?.length) throw new BenchError(`check ${name} needs corrupted images and was given none`);
      drives.push(...disks.corrupt.map((c) => c.file));
      caseList = renderCaseList({ corrupt: disks.corrupt.map((c, i) => ({ dev: diskName(2 + i), name: c.name, hitPath: c.hitPath, expect: c.expect })) });
    }
    // the budget grows with esb.seconds; the reference pass with the images (2 s per MiB, as a read-all boot)
    const scaled = spec.timeoutSeconds + Math.max(0, seconds - 30) * (spec.typicalSeconds / 30) * 2 + 2 * (opts.imagesMiB ?? 0);
    return {
      check: name,
      disks: drives,
      guestArgs: {
        "esb.mode": "on",
        "esb.phase": "correctness",
        "esb.check": name,
        "esb.share": safeWord(opts.shareOptions, "share options"),
        "esb.seconds": String(seconds),
        "esb.digest": opts.digest ?? "xxh64",
      },
      caseList,
      memoryMiB: opts.memoryMiB ?? 512,
      timeoutMs: Math.round(scaled * slow * 1000),
    };
  });
}

/** The corrupt boot again with only `cases` (esb.cases): what was left to run when a case oopsed. */
export function corruptRerun(boot: CorrectnessBoot, cases: string[]): CorrectnessBoot {
  if (checkSpec(boot.check).needs !== "corrupt") throw new BenchError(`only corrupt boots run again by case, not ${boot.check}`);
  return { ...boot, guestArgs: { ...boot.guestArgs, "esb.cases": cases.map((c) => safeWord(c, "case")).join(",") } };
}

/** Corrupt cases left to run after an oops in `oopsCase`. */
export function casesAfter(all: string[], oopsCase: string): string[] {
  const i = all.indexOf(oopsCase);
  return i < 0 ? [] : all.slice(i + 1);
}
