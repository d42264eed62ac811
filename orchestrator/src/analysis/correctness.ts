import { z } from "zod";
import { CHECK_RESULTS, checkSpec, type CheckResult } from "../guest/checks.js";
import { CheckTimingSchema, type BootEnd } from "../guest/correctness.js";
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
});
export type CorrectnessResult = z.infer<typeof CorrectnessResultSchema>;

export interface CheckVerdict {
  check: string;
  name: string;
  result: CheckResult;
  reason: string;
  proves: string;
  ms?: number;
  details?: Record<string, unknown>;
}

function oopsLine(o: { headline: string; rip?: string }): string {
  return `${o.headline}${o.rip ? ` at ${o.rip}` : ""}`;
}

/** The last corrupt case that began, for naming the case an oops happened in. */
export function lastCase(stream: CheckStream, check: string): string | undefined {
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
export function judgeCorrectness(requested: string[], stream: CheckStream, boot: BootEnd, manifests?: { A: Manifest; B: Manifest }): CheckVerdict[] {
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
        out.push({ ...base, result: line.result, reason: line.reason, proves: line.proves || r.proves, ms: line.ms, details: line.details });
        continue;
      }
      if (began && !died) {
        died = name;
        if (boot.oops && (boot.panicked || !stream.complete)) {
          const c = name === "corrupt" ? lastCase(stream, name) : undefined;
          out.push({ ...base, result: "oops", reason: `${c ? `in case ${c}: ` : ""}${oopsLine(boot.oops)}`, details: c ? { oopsCase: c } : undefined });
        } else if (boot.timedOut) {
          out.push({ ...base, result: "fail", reason: `never reported: the guest hung (QEMU killed after ${Math.round(boot.wallMs / 1000)} s)` });
        } else {
          const killed = stream.errors.find((e) => e.what === `check ${name}`);
          out.push({ ...base, result: "fail", reason: killed ? `never reported: ${killed.message} (a fault of the check program, not a verdict on the kernel)` : `never reported: the guest ended during the check${boot.panicked ? " (kernel panic)" : ""}` });
        }
        continue;
      }
      if (died) {
        out.push({ ...base, result: "fail", reason: died === name ? "never reported (the check died before this result)" : `never ran: the guest died during ${died}` });
        continue;
      }
      const before = boot.oops ? `never ran: ${oopsLine(boot.oops)} before it began` : boot.timedOut ? "never ran: the guest hung before it began" : "never reported: the guest never began it";
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
  for (const [image, m] of [["A", manifests.A], ["B", manifests.B]] as const) {
    if (!stream.refsDone.some((r) => r.image === image)) continue;
    const expected = expectedFiles(m);
    const seen = new Set<string>();
    for (const r of stream.refs.filter((x) => x.image === image)) {
      const key = pathKey(r);
      seen.add(key);
      const want = expected.get(key);
      if (r.errno !== undefined) problems.push(`${image} ${r.path}: errno ${r.errno}`);
      else if (!want) problems.push(`${image} ${r.path}: not in the manifest`);
      else if (r.size !== want.size) problems.push(`${image} ${r.path}: ${r.size} bytes, the manifest says ${want.size}`);
      else if (r.xxh64 !== undefined && want.xxh64 !== undefined && r.xxh64 !== want.xxh64) problems.push(`${image} ${r.path}: xxh64 ${r.xxh64} vs ${want.xxh64}`);
      else if (r.sha256 !== undefined && r.sha256 !== want.sha256) problems.push(`${image} ${r.path}: sha256 ${r.sha256.slice(0, 12)}… vs ${want.sha256.slice(0, 12)}…`);
    }
    for (const [key, want] of expected) if (!seen.has(key)) problems.push(`${image} ${want.path}: in the manifest, never read`);
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
  const result: CheckResult = oopses.length ? "oops" : failed.length ? "fail" : runs[runs.length - 1]!.result;
  const reason = [...oopses, ...failed].map((r) => r.reason).join("; ") || runs[runs.length - 1]!.reason;
  const cases = runs.flatMap((r) => (Array.isArray(r.details?.cases) ? (r.details!.cases as unknown[]) : []));
  const oopsCases = oopses.map((r) => r.details?.oopsCase).filter((c) => c !== undefined);
  return { ...runs[0]!, result, reason, ms: runs.reduce((t, r) => t + (r.ms ?? 0), 0), details: { boots: runs.length, oopsCases, cases, runs: runs.map((r) => r.details ?? {}) } };
}

/** Results that count like a failed boot: the check failed, or the kernel oopsed while it ran. */
export function failedChecks<T extends { result: string }>(run: { correctness?: T[] }): T[] {
  return (run.correctness ?? []).filter((c) => c.result === "fail" || c.result === "oops");
}
