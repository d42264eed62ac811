import { z } from "zod";
import { CHECK_RESULTS, checkSpec, isFailed, type CheckResult } from "../guest/checks.js";
import { CheckTimingSchema, type BootEnd } from "../guest/correctnessBoot.js";
import type { CheckStream } from "../guest/correctnessProtocol.js";
import type { Manifest } from "../images/manifest.js";
import { pathKey } from "../images/manifest.js";
import { expectedFiles } from "../guest/verify.js";

/**
 * The verdicts of the correctness phase: what the guest said about each
 * check, combined with how its boot ended (an oops, a hang), and the reference
 * read checked against the manifests so that a check is never judged
 * against wrong expected bytes.
 */

/** One result of a correctness check, as run.json keeps it. */
export const CorrectnessResultSchema = z.object({
  workload: z.string(),
  /** The check (esb.check) and the result's own name (trust has two). */
  check: z.string(),
  name: z.string(),
  series: z.string(),
  result: z.enum(CHECK_RESULTS),
  reason: z.string(),
  proves: z.string(),
  /** The check's time in the guest, when it reported. */
  ms: z.number().optional(),
  /** The whole boot, host wall time. */
  wallMs: z.number(),
  details: z.record(z.string(), z.unknown()),
  bootDir: z.string(),
  timing: CheckTimingSchema.optional(),
  /**
   * How often it failed: runs of the check (one boot each, or for corrupt the
   * boots one run took) and how many of them failed or oopsed, with each
   * run's result. Absent in runs made before checks were run again.
   */
  boots: z
    .object({ of: z.number().int(), failed: z.number().int(), results: z.array(z.enum(CHECK_RESULTS)) })
    .optional(),
  /** Every run that failed or oopsed: its boot folder and reason (the trace is in its console.log and oops.txt). */
  failures: z.array(z.object({ bootDir: z.string(), result: z.enum(CHECK_RESULTS), reason: z.string() })).optional(),
});
export type CorrectnessResult = z.infer<typeof CorrectnessResultSchema>;

/** A result's failure rate, for runs that predate `boots`: one run, failed or not. */
export function failureRate(r: { result: string; boots?: { of: number; failed: number } }): {
  failed: number;
  of: number;
} {
  return r.boots ? { failed: r.boots.failed, of: r.boots.of } : { failed: isFailed(r.result) ? 1 : 0, of: 1 };
}

/** "fail 1/4 boots" when a check ran more than once, else the bare result. */
export function resultWithRate(r: { result: string; boots?: { of: number; failed: number } }): string {
  if (!r.boots || r.boots.of <= 1) return r.result;
  return isFailed(r.result) ? `${r.result} ${r.boots.failed}/${r.boots.of} boots` : `${r.result} (${r.boots.of} boots)`;
}

export interface CheckVerdict {
  check: string;
  name: string;
  result: CheckResult;
  reason: string;
  proves: string;
  ms?: number;
  details?: Record<string, unknown>;
}

const SIGBUS = 7;

function oopsLine(o: { headline: string; rip?: string }): string {
  return `${o.headline}${o.rip ? ` at ${o.rip}` : ""}`;
}

/**
 * A sanitizer's report (KASAN, UBSAN, lockdep) in a boot whose check still
 * reported: its headline, the access, and the first EROFS frame of its
 * trace, which the headline alone (often a library function: memcmp) hides.
 */
function sanitizerEvidence(o: BootEnd["oops"]): string | undefined {
  if (!o?.kind || o.kind === "oops") return undefined;
  const frame = o.trace?.find((f) => /^(z_)?erofs_/.test(f));
  return `${o.headline}${o.access ? `, ${o.access}` : ""}${frame ? `, from ${frame}` : ""} (the whole report: oops.txt)`;
}

/** The last corrupt case that began, for naming the case an oops happened in. */
function lastCase(stream: CheckStream, check: string): string | undefined {
  const begun = stream.steps.filter((s) => s.check === check && s.step === "case-begin");
  return begun.length ? String(begun[begun.length - 1]!.case) : undefined;
}

/**
 * One verdict per result line of every requested check:
 * - the guest's own line when it sent one;
 * - "oops" for the check that was running when the kernel oopsed (with the
 *   symbolised headline and, for corrupt, the case);
 * - "fail" for a check that began and never reported (a hang, a guest that
 *   died without an oops), and for one that never began.
 * A reference read that failed, or that disagrees with the manifests, fails
 * every check: nothing could be verified against it.
 */
export function judgeCorrectness(
  requested: string[],
  stream: CheckStream,
  boot: BootEnd,
  manifests?: { A: Manifest; B: Manifest },
): CheckVerdict[] {
  const out: CheckVerdict[] = [];
  const refError = stream.errors.find((e) => e.what.startsWith("refs"));
  const refMismatch = manifests ? refsAgainstManifests(stream, manifests) : [];
  let died: string | undefined;
  for (const name of requested) {
    const spec = checkSpec(name);
    const began = stream.begun.some((b) => b.name === name);
    for (const r of spec.results) {
      const base = { check: name, name: r.name, proves: r.proves };
      const line = stream.results.find((l) => l.name === r.name);
      if (refError || refMismatch.length) {
        const why = refError
          ? `reference read failed: ${refError.message}`
          : `the reference read (sharing off) disagrees with the manifest in ${refMismatch.length} file(s): ${refMismatch.slice(0, 3).join("; ")}`;
        out.push({ ...base, result: "fail", reason: why });
        continue;
      }
      if (line) {
        const evidence = isFailed(line.result) ? sanitizerEvidence(boot.oops) : undefined;
        out.push({
          ...base,
          result: line.result,
          reason: evidence ? `${line.reason}; sanitizer: ${evidence}` : line.reason,
          proves: line.proves || r.proves,
          ms: line.ms,
          details: line.details,
        });
        continue;
      }
      if (began && !died) {
        died = name;
        if (boot.oops && (boot.panicked || !stream.complete)) {
          const c = spec.needs === "corrupt" ? lastCase(stream, name) : undefined;
          out.push({
            ...base,
            result: "oops",
            reason: `${c ? `in case ${c}: ` : ""}${oopsLine(boot.oops)}`,
            details: c ? { oopsCase: c } : undefined,
          });
        } else if (boot.timedOut) {
          out.push({
            ...base,
            result: "fail",
            reason: `never reported: the guest hung (QEMU killed after ${Math.round(boot.wallMs / 1000)} s)`,
          });
        } else {
          const killed = stream.errors.find((e) => e.what === `check ${name}`);
          const signal = killed ? Number(/killed by signal (\d+)/.exec(killed.message)?.[1]) : NaN;
          if (signal === SIGBUS) {
            // every file the checks map belongs to a clean image: a page the kernel could not supply is the kernel's fault
            out.push({
              ...base,
              result: "fail",
              reason: `never reported: ${killed!.message} (SIGBUS: the kernel could not supply a page of a mapped file of a clean image)`,
            });
          } else if (killed) {
            out.push({
              ...base,
              result: "error",
              reason: `never reported: ${killed.message} (a fault of the check program, not a verdict on the kernel)`,
            });
          } else {
            out.push({
              ...base,
              result: "fail",
              reason: `never reported: the guest ended during the check${boot.panicked ? " (kernel panic)" : ""}`,
            });
          }
        }
        continue;
      }
      if (died) {
        out.push({
          ...base,
          result: "fail",
          reason:
            died === name
              ? "never reported (the check died before this result)"
              : `never ran: the guest died during ${died}`,
        });
        continue;
      }
      const before = boot.oops
        ? `never ran: ${oopsLine(boot.oops)} before it began`
        : boot.timedOut
          ? "never ran: the guest hung before it began"
          : "never reported: the guest never began it";
      out.push({ ...base, result: "fail", reason: before });
    }
  }
  return out;
}

/**
 * Files whose reference read (sharing off) differs from the manifest: read
 * errors, another size or digest, files the manifest lacks, and files of
 * the manifest the guest never read. Names are matched byte for byte.
 */
export function refsAgainstManifests(stream: CheckStream, manifests: { A: Manifest; B: Manifest }): string[] {
  const problems: string[] = [];
  for (const [image, m] of [
    ["A", manifests.A],
    ["B", manifests.B],
  ] as const) {
    if (!stream.refsDone.some((r) => r.image === image)) continue;
    const expected = expectedFiles(m);
    const seen = new Set<string>();
    for (const r of stream.refs.filter((x) => x.image === image)) {
      const key = pathKey(r);
      seen.add(key);
      const want = expected.get(key);
      if (r.errno !== undefined) problems.push(`${image} ${r.path}: errno ${r.errno}`);
      else if (!want) problems.push(`${image} ${r.path}: not in the manifest`);
      else if (r.size !== want.size)
        problems.push(`${image} ${r.path}: ${r.size} bytes, the manifest says ${want.size}`);
      else if (r.xxh64 !== undefined && want.xxh64 !== undefined && r.xxh64 !== want.xxh64)
        problems.push(`${image} ${r.path}: xxh64 ${r.xxh64} vs ${want.xxh64}`);
      else if (r.sha256 !== undefined && r.sha256 !== want.sha256)
        problems.push(`${image} ${r.path}: sha256 ${r.sha256.slice(0, 12)}… vs ${want.sha256.slice(0, 12)}…`);
    }
    for (const [key, want] of expected)
      if (!seen.has(key)) problems.push(`${image} ${want.path}: in the manifest, never read`);
  }
  return problems;
}

/**
 * The corrupt check's verdicts over its boots: after an oops in one case
 * the remaining cases ran in a fresh boot, so one oops does not hide what
 * the others do. Any oops makes the whole an oops, naming every case that oopsed.
 */
export function mergeCorruptRuns(runs: CheckVerdict[]): CheckVerdict {
  if (runs.length === 1) return runs[0]!;
  const oopses = runs.filter((r) => r.result === "oops");
  const failed = runs.filter((r) => r.result === "fail");
  const result: CheckResult = oopses.length ? "oops" : failed.length ? "fail" : worstOf(runs.map((r) => r.result));
  const reason =
    [...oopses, ...failed].map((r) => r.reason).join("; ") ||
    runs
      .filter((r) => r.result === result)
      .map((r) => r.reason)
      .join("; ");
  const cases = runs.flatMap((r) => (Array.isArray(r.details?.cases) ? (r.details!.cases as unknown[]) : []));
  const oopsCases = oopses.map((r) => r.details?.oopsCase).filter((c) => c !== undefined);
  return {
    ...runs[0]!,
    result,
    reason,
    ms: runs.reduce((t, r) => t + (r.ms ?? 0), 0),
    details: { boots: runs.length, oopsCases, cases, runs: runs.map((r) => r.details ?? {}) },
  };
}

/** Over the parts of one run: a finding outweighs a pass, a pass outweighs na, na outweighs a tool error. */
function worstOf(results: CheckResult[]): CheckResult {
  for (const r of ["oops", "fail", "finding", "pass", "na", "error"] as const) if (results.includes(r)) return r;
  return "error";
}

/** One run of a check (one boot, or the boots one corrupt run took) with its verdicts. */
export interface CheckRun {
  verdicts: CheckVerdict[];
  bootDir: string;
}

/**
 * A result over every run of its check. Any run that failed or oopsed makes
 * it a failure carrying its rate (a race seen once in four boots says so),
 * with the first failing run's reason; otherwise a finding in any run is
 * the finding, then a pass. A run that could not judge (error) only decides
 * when no run could.
 */
export function overRuns(runs: CheckRun[]): Array<
  CheckVerdict & {
    boots: { of: number; failed: number; results: CheckResult[] };
    failures: Array<{ bootDir: string; result: CheckResult; reason: string }>;
  }
> {
  const names = [...new Set(runs.flatMap((r) => r.verdicts.map((v) => v.name)))];
  return names.map((name) => {
    const each = runs
      .map((r) => ({ v: r.verdicts.find((x) => x.name === name)!, bootDir: r.bootDir }))
      .filter((x) => x.v);
    const failing = each.filter((x) => isFailed(x.v.result));
    const boots = { of: each.length, failed: failing.length, results: each.map((x) => x.v.result) };
    const failures = failing.map((x) => ({ bootDir: x.bootDir, result: x.v.result, reason: x.v.reason }));
    if (failing.length) {
      const first = failing[0]!.v;
      const result: CheckResult = failing.some((x) => x.v.result === "oops") ? "oops" : "fail";
      const rate =
        each.length > 1
          ? `${failing.length < each.length ? "intermittent: " : ""}${result} in ${failing.length} of ${each.length} boots; first: `
          : "";
      return { ...first, result, reason: `${rate}${first.reason}`, boots, failures };
    }
    const result = worstOf(each.map((x) => x.v.result));
    const chosen = each.find((x) => x.v.result === result)!.v;
    return { ...chosen, boots, failures };
  });
}

/** Results that count like a failed boot: the check failed, or the kernel oopsed while it ran. */
export function failedChecks<T extends { result: string }>(run: { correctness?: T[] }): T[] {
  return (run.correctness ?? []).filter((c) => isFailed(c.result));
}
