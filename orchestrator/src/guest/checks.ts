import { readFileSync } from "node:fs";
import path from "node:path";
import { BenchError } from "../util/errors.js";
import { rootfsDir } from "../util/paths.js";

/**
 * The correctness checks (rootfs/esbcheck/): what each proves, what it
 * needs, how long it takes (all read from rootfs/esbcheck/checks.def, the
 * table the guest is compiled with), and how to boot a guest for it. The guest
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
const FAILED_RESULTS: readonly CheckResult[] = ["fail", "oops"];
export const isFailed = (r: string): boolean => (FAILED_RESULTS as readonly string[]).includes(r);

interface CheckSpec {
  /** The name given in esb.check=. */
  name: string;
  /** What the check proves as a whole (its check-begin line). */
  proves: string;
  /** The result lines it ends with (one, except trust). */
  results: Array<{ name: string; proves: string }>;
  /** Extra disks it needs beyond A and B. */
  needs: "forged" | "corrupt" | "keyless" | null;
  /** Seconds it takes on TCG at esb.seconds=30, and the host timeout to give its boot. */
  typicalSeconds: number;
  timeoutSeconds: number;
  /** It hunts a race whose rate the host's load moves: its boots run with the host to themselves. */
  alone: boolean;
}

/** The table of checks esbcheck is compiled with: the one list of checks, read by the guest and the host alike. */
const CHECKS_DEF = path.join(rootfsDir, "esbcheck", "checks.def");

const NEEDS = { none: null, forged: "forged", corrupt: "corrupt", keyless: "keyless" } as const;
const NAME = /^[a-z][a-z0-9-]*$/;
const ROWS = {
  CHECK: ["name", "function", "argument", "needs", "typical seconds", "host timeout seconds", "neighbours", "proves"],
  RESULT: ["check", "result name", "proves"],
} as const;

type Token = { kind: "string" | "word" | "int"; text: string };

/** The fields of a row: "..." strings without escapes, identifiers and integers, separated by commas. */
function rowFields(args: string, fail: (why: string) => never): Token[] {
  const out: Token[] = [];
  const field = /\s*(?:"([^"\\]*)"|([A-Za-z_][A-Za-z0-9_]*)|(-?[0-9]+))\s*(,|$)/y;
  let at = 0;
  while (at < args.length) {
    field.lastIndex = at;
    const m = field.exec(args);
    if (!m) {
      const rest = args.slice(at).trimStart();
      if (rest.startsWith('"') && /^"[^"]*\\/.test(rest))
        fail(`a string with an escape (strings here are plain "..." without backslashes)`);
      fail(`field ${out.length + 1} is not a "string", an identifier or an integer: ${rest.slice(0, 40)}`);
    }
    out.push(
      m[1] !== undefined
        ? { kind: "string", text: m[1] }
        : m[2] !== undefined
          ? { kind: "word", text: m[2] }
          : { kind: "int", text: m[3]! },
    );
    at = field.lastIndex;
    if (m[4] === "," && at >= args.length) fail("a trailing comma");
  }
  return out;
}

/**
 * Reads checks.def (see its head): C comments, blank lines, and one
 * CHECK(...) or RESULT(...) row per line. Anything else, a field of the wrong
 * kind, an unknown needs, a RESULT of no check above it or a name used twice
 * is refused with its line, so that the host never runs on a table the guest
 * reads differently.
 */
export function parseChecksDef(text: string, source = "checks.def"): CheckSpec[] {
  const checks: CheckSpec[] = [];
  const extra = new Map<string, Array<{ name: string; proves: string }>>();
  let comment = false;
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    const fail = (why: string): never => {
      throw new BenchError(
        `${source}:${i + 1}: ${why}: ${line.slice(0, 100)}`,
        "each line of checks.def is a comment or one CHECK(...)/RESULT(...) row as its head describes",
      );
    };
    if (comment || line.startsWith("/*")) {
      const end = line.indexOf("*/", comment ? 0 : 2);
      comment = end < 0;
      if (!comment && line.slice(end + 2).trim()) fail("text after a comment");
      continue;
    }
    if (!line) continue;
    const row = /^(CHECK|RESULT)\((.*)\)$/.exec(line);
    if (!row) fail("not a comment, a CHECK(...) row or a RESULT(...) row");
    const kind = row![1] as keyof typeof ROWS;
    const f = rowFields(row![2]!, fail);
    const names = ROWS[kind];
    if (f.length !== names.length)
      fail(`${kind} has ${names.length} fields (${names.join(", ")}), this row ${f.length}`);
    const want = (k: number, kinds: Token["kind"], test?: RegExp): string => {
      if (f[k]!.kind !== kinds || (test && !test.test(f[k]!.text)))
        fail(
          `${names[k]} must be ${kinds === "string" ? 'a "string"' : kinds === "int" ? "an integer" : "an identifier"}${test ? ` matching ${test}` : ""}, not ${f[k]!.text || '""'}`,
        );
      return f[k]!.text;
    };
    if (kind === "CHECK") {
      const name = want(0, "string", NAME);
      want(1, "word");
      want(2, "int");
      const needs = want(3, "word");
      if (!(needs in NEEDS)) fail(`needs must be one of ${Object.keys(NEEDS).join(", ")}, not ${needs}`);
      const typicalSeconds = Number(want(4, "int", /^[1-9][0-9]*$/));
      const timeoutSeconds = Number(want(5, "int", /^[1-9][0-9]*$/));
      const neighbours = want(6, "word");
      if (neighbours !== "shared" && neighbours !== "alone")
        fail(`neighbours must be shared or alone, not ${neighbours}`);
      const proves = want(7, "string", /\S/);
      if (checks.some((c) => c.name === name)) fail(`a second check named ${name}`);
      checks.push({
        name,
        proves,
        results: [],
        needs: NEEDS[needs as keyof typeof NEEDS],
        typicalSeconds,
        timeoutSeconds,
        alone: neighbours === "alone",
      });
    } else {
      const check = want(0, "string", NAME);
      const name = want(1, "string", NAME);
      const proves = want(2, "string", /\S/);
      if (!checks.some((c) => c.name === check)) fail(`a result of ${check}, which no CHECK row above names`);
      extra.set(check, [...(extra.get(check) ?? []), { name, proves }]);
    }
  }
  if (comment) throw new BenchError(`${source}: a comment that never ends`);
  if (!checks.length) throw new BenchError(`${source}: no CHECK row`);
  for (const c of checks) c.results = extra.get(c.name) ?? [{ name: c.name, proves: c.proves }];
  const results = checks.flatMap((c) => c.results.map((r) => r.name));
  const twice = results.find((r, i) => results.indexOf(r) !== i);
  if (twice) throw new BenchError(`${source}: two results named ${twice}`);
  return checks;
}

export const CHECKS: readonly CheckSpec[] = parseChecksDef(
  readFileSync(CHECKS_DEF, "utf8"),
  "rootfs/esbcheck/checks.def",
);

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
  const names = [
    ...new Set(
      spec
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  for (const n of names) checkSpec(n);
  return names;
}

/** The disks of a correctness boot: A, B, and what trust and corrupt need. */
export interface CheckDisks {
  a: string;
  b: string;
  forged?: { file: string; path: string };
  /** Images crafted against the key's layout; a case with no file mounts the forged image. */
  crafted?: Array<{ name: string; file: string | null; victimDomain: string; domainHex: string }>;
  /** A and B without their fingerprint key. */
  keyless?: { a: string; b: string };
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
  const letters = (n: number): string =>
    n < 26 ? String.fromCharCode(97 + n) : letters(Math.floor(n / 26) - 1) + String.fromCharCode(97 + (n % 26));
  return `vd${letters(i)}`;
}

function safeWord(w: string, what: string): string {
  if (!w || /\s/.test(w))
    throw new BenchError(`${what} "${w}" is empty or has white space; the guest's case list is split on spaces`);
  return w;
}

/** The case list the guest reads from /check/cases. */
export function renderCaseList(entries: {
  trust?: { dev: string; path: string };
  crafted?: Array<{ name: string; dev: string; path: string; victimDomain: string; domainHex: string }>;
  keyless?: { a: string; b: string };
  corrupt?: Array<{ dev: string; name: string; hitPath: string | null; expect: string }>;
}): string {
  const lines = [
    "# erofs-share-bench correctness cases: trust DEV PATH | craft NAME DEV PATH VICTIM-DOMAIN-HEX DOMAIN-HEX | keyless DEV-A DEV-B | corrupt DEV NAME HITPATH|- EXPECT",
  ];
  if (entries.trust)
    lines.push(`trust ${safeWord(entries.trust.dev, "device")} ${safeWord(entries.trust.path, "path")}`);
  for (const c of entries.crafted ?? []) {
    const victimHex = Buffer.from(c.victimDomain, "latin1").toString("hex");
    lines.push(
      `craft ${safeWord(c.name, "case")} ${safeWord(c.dev, "device")} ${safeWord(c.path, "path")} ${victimHex} ${safeWord(c.domainHex, "domain")}`,
    );
  }
  if (entries.keyless)
    lines.push(`keyless ${safeWord(entries.keyless.a, "device")} ${safeWord(entries.keyless.b, "device")}`);
  for (const c of entries.corrupt ?? []) {
    lines.push(
      `corrupt ${safeWord(c.dev, "device")} ${safeWord(c.name, "case")} ${c.hitPath === null ? "-" : safeWord(c.hitPath, "path")} ${safeWord(c.expect, "expectation")}`,
    );
  }
  return lines.join("\n") + "\n";
}

interface PlanOptions {
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
      const crafted = (disks.crafted ?? []).map((c) => {
        if (c.file) drives.push(c.file);
        return { ...c, dev: diskName(c.file ? drives.length - 1 : 2), path: disks.forged!.path };
      });
      caseList = renderCaseList({ trust: { dev: diskName(2), path: disks.forged.path }, crafted });
    }
    if (spec.needs === "keyless" && disks.keyless) {
      drives.push(disks.keyless.a, disks.keyless.b);
      caseList = renderCaseList({ keyless: { a: diskName(2), b: diskName(3) } });
    }
    if (spec.needs === "corrupt") {
      if (!disks.corrupt?.length) throw new BenchError(`check ${name} needs corrupted images and was given none`);
      drives.push(...disks.corrupt.map((c) => c.file));
      caseList = renderCaseList({
        corrupt: disks.corrupt.map((c, i) => ({
          dev: diskName(2 + i),
          name: c.name,
          hitPath: c.hitPath,
          expect: c.expect,
        })),
      });
    }
    // the budget grows with esb.seconds; the reference pass with the images (2 s per MiB, as a read-all boot)
    const scaled =
      spec.timeoutSeconds + Math.max(0, seconds - 30) * (spec.typicalSeconds / 30) * 2 + 2 * (opts.imagesMiB ?? 0);
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
  if (checkSpec(boot.check).needs !== "corrupt")
    throw new BenchError(`only corrupt boots run again by case, not ${boot.check}`);
  return { ...boot, guestArgs: { ...boot.guestArgs, "esb.cases": cases.map((c) => safeWord(c, "case")).join(",") } };
}

/** Corrupt cases left to run after an oops in `oopsCase`. */
export function casesAfter(all: string[], oopsCase: string): string[] {
  const i = all.indexOf(oopsCase);
  return i < 0 ? [] : all.slice(i + 1);
}
