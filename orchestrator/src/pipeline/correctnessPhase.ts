import path from "node:path";
import {
  judgeCorrectness,
  mergeCorruptRuns,
  overRuns,
  resultWithRate,
  type CheckRun,
  type CheckVerdict,
  type CorrectnessResult,
} from "../analysis/correctnessVerdicts.js";
import {
  casesAfter,
  CHECK_NAMES,
  checkSpec,
  corruptRerun,
  isFailed,
  planCorrectnessBoots,
  type CheckDisks,
  type CorrectnessBoot,
} from "../guest/checks.js";
import { runCheckBoot, type CheckBootResult } from "../guest/correctnessBoot.js";
import type { GuestMachine } from "../guest/machine.js";
import { prepareCorrectnessImages } from "../images/correctnessImages.js";
import { regularFiles } from "../images/manifest.js";
import type { ImagePair } from "../images/pairs.js";
import type { SeriesSpec } from "../kernel/series.js";
import type { Progress } from "../util/progress.js";
import { stallNote } from "./conclusions.js";
import { schedule } from "./scheduler.js";
import type { JobSpec } from "../record/jobSpec.js";
import type { RunFolder } from "./runFolder.js";

/**
 * The correctness phase: the checks of rootfs/esbcheck/ on the synthetic
 * pair (or the user's --images pair; see CHECKS_WORKLOAD), one fresh boot per
 * check, sharing on with the series' mount options. A check that fails or
 * oopses is a finding: it is recorded and the other checks still run.
 */
interface CorrectnessContext {
  opts: JobSpec;
  folder: RunFolder;
  progress: Progress;
  machine: GuestMachine;
  series: SeriesSpec;
  /** Guests at once: the checks' boots run side by side, but for those that hunt a race (the table's `alone`). */
  parallel: number;
  /** The machine boots the sanitizer kernel (KASAN, kmemleak, lockdep): every boot gets longer. */
  sanitizer?: boolean;
}

/** TCG runs the checks this much slower than their typical times: their boots get that much longer. */
const TCG_SLOWDOWN = 1.5;
/** KASAN generic inline, lockdep and kmemleak's scans on top: about 3x, as kernel CI measures KASAN alone. */
const SANITIZER_SLOWDOWN = 3;

/** The extra disks the checks need (a forged copy, corrupted copies), or why each check that needs one cannot run on this pair. */
async function extraDisks(
  pair: ImagePair,
  checks: string[],
  ctx: CorrectnessContext,
): Promise<{ disks: CheckDisks; notApplicable: Map<string, string> }> {
  const disks: CheckDisks = { a: pair.a.image, b: pair.b.image };
  const notApplicable = new Map<string, string>();
  const needing = (kind: "forged" | "corrupt" | "keyless") => checks.filter((c) => checkSpec(c).needs === kind);
  const want = {
    forged: needing("forged").length > 0,
    corrupt: needing("corrupt").length > 0,
    keyless: needing("keyless").length > 0,
  };
  if (!want.forged && !want.corrupt && !want.keyless) return { disks, notApplicable };
  const made = await prepareCorrectnessImages(pair, ctx.series.imageProfile, want, ctx.progress);
  ctx.folder.record.correctnessImages = { ...made.record, workload: pair.record.name, dir: made.dir };
  const { forged, crafted, keyless, corrupt } = made.record;
  if (want.forged) {
    if ("file" in forged) disks.forged = { file: path.join(made.dir, forged.file), path: forged.path };
    else for (const c of needing("forged")) notApplicable.set(c, forged.notApplicable);
    // without crafted images trust still judges the plain forgery; its details say why there were none
    if ("cases" in crafted)
      disks.crafted = crafted.cases.map((c) => ({ ...c, file: c.file ? path.join(made.dir, c.file) : null }));
  }
  // without keyless images domain-id still judges what the mounted images show; the guest says the rest is na
  if (want.keyless && "a" in keyless)
    disks.keyless = { a: path.join(made.dir, keyless.a), b: path.join(made.dir, keyless.b) };
  if (want.corrupt) {
    if ("images" in corrupt)
      disks.corrupt = corrupt.images.map((c) => ({
        file: path.join(made.dir, c.file),
        name: c.name,
        hitPath: c.hitPath,
        expect: c.expect,
      }));
    else for (const c of needing("corrupt")) notApplicable.set(c, corrupt.notApplicable);
  }
  return { disks, notApplicable };
}

/**
 * The corrupt check over as many boots as it takes: after an oops in one
 * case the cases after it run in a fresh boot, so one oops hides nothing.
 */
export async function runCorrupt(
  first: CorrectnessBoot,
  all: string[],
  run: (b: CorrectnessBoot, k: number) => Promise<CheckBootResult>,
  judge: (r: CheckBootResult) => CheckVerdict,
): Promise<{ verdict: CheckVerdict; boots: CheckBootResult[] }> {
  const boots: CheckBootResult[] = [];
  const verdicts: CheckVerdict[] = [];
  let boot = first;
  let left = all;
  for (let k = 0; k < all.length; k++) {
    const r = await run(boot, k);
    const v = judge(r);
    boots.push(r);
    verdicts.push(v);
    const oopsCase = v.result === "oops" ? v.details?.oopsCase : undefined;
    if (typeof oopsCase !== "string") break;
    left = casesAfter(left, oopsCase);
    if (!left.length) break;
    boot = corruptRerun(first, left);
  }
  return { verdict: mergeCorruptRuns(verdicts), boots };
}

/**
 * `reps` runs of a check, and `reruns` more when any of them failed or
 * oopsed: a failure seen once says nothing of its rate, so the verdict
 * carries how often it failed.
 */
export async function runRated<T extends CheckRun>(
  once: (rep: number) => Promise<T>,
  reps: number,
  reruns: number,
  onRerun?: () => void,
): Promise<T[]> {
  const runs: T[] = [];
  for (let rep = 0; rep < reps; rep++) runs.push(await once(rep));
  if (reruns && runs.some((r) => r.verdicts.some((v) => isFailed(v.result)))) {
    onRerun?.();
    for (let rep = reps; rep < reps + reruns; rep++) runs.push(await once(rep));
  }
  return runs;
}

export async function runCorrectness(pair: ImagePair | undefined, ctx: CorrectnessContext): Promise<void> {
  const { opts, folder, progress } = ctx;
  const record = folder.record;
  if (!pair) {
    record.warnings.push("correctness: no image pair to check");
    return;
  }
  const workload = pair.record.name;
  const checks = opts.checks ?? [...CHECK_NAMES];
  const reps = opts.checkReps;
  const reruns = opts.checkReruns;
  const { disks, notApplicable } = await extraDisks(pair, checks, ctx);
  const bytes = [pair.a.manifest, pair.b.manifest].flatMap((m) => regularFiles(m)).reduce((s, f) => s + f.size, 0);
  const boots = planCorrectnessBoots(
    checks.filter((c) => !notApplicable.has(c)),
    disks,
    {
      shareOptions: ctx.series.shareMountOptions,
      digest: opts.digest,
      imagesMiB: bytes / 2 ** 20,
      slowdown: (ctx.machine.accel === "tcg" ? TCG_SLOWDOWN : 1) * (ctx.sanitizer ? SANITIZER_SLOWDOWN : 1),
    },
  );
  const manifests = { A: pair.a.manifest, B: pair.b.manifest };
  const judge = (r: CheckBootResult) => judgeCorrectness([r.boot.check], r.stream, r.end, manifests);
  const save = async (check: string, runs: Array<CheckRun & { done: CheckBootResult[] }>) => {
    const done = runs.flatMap((r) => r.done);
    for (const b of done.filter((x) => x.earlyHangs.length)) {
      record.warnings.push(
        `correctness ${workload} ${b.boot.check}: ${stallNote(b.earlyHangs.length, path.basename(b.bootDir), b.earlyHangs[0]!)}`,
      );
    }
    for (const v of overRuns(runs)) {
      const result: CorrectnessResult = {
        workload,
        check: v.check,
        name: v.name,
        series: ctx.series.name,
        result: v.result,
        reason: v.reason,
        proves: v.proves,
        ms: v.ms,
        wallMs: done.reduce((t, b) => t + b.end.wallMs, 0),
        details: v.details ?? {},
        bootDir: runs[0]?.bootDir ?? "",
        timing: done.length === 1 ? done[0]!.timing : undefined,
        boots: v.boots,
        failures: v.failures,
      };
      record.correctness.push(result);
      const time = result.ms !== undefined ? `${(result.ms / 1000).toFixed(1)} s in the guest, ` : "";
      progress.info(
        `  ${v.name}: ${resultWithRate(result).toUpperCase()} (${time}${(result.wallMs / 1000).toFixed(0)} s of boots): ${v.reason.split("\n")[0]}`,
      );
      if (isFailed(v.result))
        record.warnings.push(
          `correctness ${workload} ${v.name}: ${resultWithRate(result).toUpperCase()}: ${v.reason.split("\n")[0]}`,
        );
    }
    if (!runs.length) {
      for (const r of checkSpec(check).results) {
        record.correctness.push({
          workload,
          check,
          name: r.name,
          series: ctx.series.name,
          result: "na",
          reason: notApplicable.get(check) ?? "",
          proves: r.proves,
          wallMs: 0,
          details: {},
          bootDir: "",
        });
      }
    }
    await folder.save();
  };
  const measure = async (check: string): Promise<Array<CheckRun & { done: CheckBootResult[] }>> => {
    const boot = boots.find((b) => b.check === check)!;
    const once = async (rep: number): Promise<CheckRun & { done: CheckBootResult[] }> => {
      const dirOf = (k: number) =>
        path.join(
          folder.dir,
          "boots",
          `correctness-${workload}-${check}${rep ? `-r${rep + 1}` : ""}${k ? `-${k + 1}` : ""}`,
        );
      const run = (b: CorrectnessBoot, k: number) => runCheckBoot(ctx.machine, b, dirOf(k));
      if (checkSpec(check).needs === "corrupt") {
        const { verdict, boots: done } = await runCorrupt(
          boot,
          disks.corrupt!.map((c) => c.name),
          run,
          (r) => judge(r)[0]!,
        );
        return { verdicts: [verdict], done, bootDir: done[0]?.bootDir ?? dirOf(0) };
      }
      const r = await run(boot, 0);
      return { verdicts: judge(r), done: [r], bootDir: r.bootDir };
    };
    return runRated(once, reps, reruns, () =>
      progress.info(`  ${check} failed: ${reruns} more boot(s) to see how often`),
    );
  };
  for (const check of checks.filter((c) => notApplicable.has(c))) await save(check, []);
  // independent boots side by side; a check that hunts a race has the host to itself (its rate moves with the load), after the others
  const order = (c: string) => (checkSpec(c).alone ? 1 : 0);
  const jobs = checks
    .filter((c) => !notApplicable.has(c))
    .sort((a, b) => order(a) - order(b))
    .map((check) => ({ id: check, exclusive: checkSpec(check).alone, run: () => measure(check) }));
  await schedule(jobs, {
    parallel: ctx.parallel,
    onStart: (job, running) =>
      progress.info(
        `correctness: ${job.id} on ${workload} (series ${ctx.series.name})${job.exclusive ? ", alone on the host" : running > 1 ? `, ${running} guests running` : ""}`,
      ),
    onFinished: async (f) => {
      if (!f.result.ok) throw f.result.error;
      await save(f.job.id, f.result.value);
      progress.info(`correctness ${f.done}/${f.total} done`);
    },
  });
  // the record lists the checks in the table's order, whatever order their boots ended in
  record.correctness.sort((a, b) =>
    a.workload === b.workload ? checks.indexOf(a.check) - checks.indexOf(b.check) : 0,
  );
  await folder.save();
}
