import path from "node:path";
import { judgeCorrectness, mergeCorruptRuns, type CheckVerdict, type CorrectnessResult } from "../analysis/correctness.js";
import { casesAfter, CHECK_NAMES, checkSpec, corruptRerun, planCorrectnessBoots, type CheckDisks, type CorrectnessBoot } from "../guest/checks.js";
import { runCheckBoot, type CheckBootResult } from "../guest/correctness.js";
import type { Accelerator, TcgThread } from "../guest/qemu.js";
import { prepareCorrectnessImages } from "../images/correctnessImages.js";
import { regularFiles } from "../images/manifest.js";
import type { ImagePair } from "../images/pairs.js";
import type { SeriesSpec } from "../kernel/series.js";
import type { Progress } from "../util/progress.js";
import { stallNote } from "./conclusions.js";
import type { BenchOptions } from "./options.js";
import type { RunFolder } from "./runFolder.js";

/**
 * The correctness phase: the checks of rootfs/esbcheck/ on the synthetic
 * pair (or the user's --images pair; see CHECKS_WORKLOAD), one fresh boot per
 * check, sharing on with the series' mount options. A check that fails or
 * oopses is a finding: it is recorded and the other checks still run.
 */
export interface CorrectnessContext {
  opts: BenchOptions;
  folder: RunFolder;
  progress: Progress;
  kernel: string;
  initramfs: string;
  accel: Accelerator;
  tcgThread?: TcgThread;
  series: SeriesSpec;
}

/** TCG runs the checks this much slower than their typical times: their boots get that much longer. */
const TCG_SLOWDOWN = 1.5;

/** The extra disks trust and corrupt need, or why each cannot run on this pair. */
async function extraDisks(pair: ImagePair, checks: string[], ctx: CorrectnessContext): Promise<{ disks: CheckDisks; notApplicable: Map<string, string> }> {
  const disks: CheckDisks = { a: pair.a.image, b: pair.b.image };
  const notApplicable = new Map<string, string>();
  const want = { forged: checks.includes("trust"), corrupt: checks.includes("corrupt") };
  if (!want.forged && !want.corrupt) return { disks, notApplicable };
  const made = await prepareCorrectnessImages(pair, ctx.series.imageProfile, want, ctx.progress);
  ctx.folder.record.correctnessImages = { ...made.record, workload: pair.record.name, dir: made.dir };
  const { forged, corrupt } = made.record;
  if (want.forged) {
    if ("file" in forged) disks.forged = { file: path.join(made.dir, forged.file), path: forged.path };
    else notApplicable.set("trust", forged.notApplicable);
  }
  if (want.corrupt) {
    if ("images" in corrupt) disks.corrupt = corrupt.images.map((c) => ({ file: path.join(made.dir, c.file), name: c.name, hitPath: c.hitPath, expect: c.expect }));
    else notApplicable.set("corrupt", corrupt.notApplicable);
  }
  return { disks, notApplicable };
}

/**
 * The corrupt check over as many boots as it takes: after an oops in one
 * case the cases after it run in a fresh boot, so one oops hides nothing.
 */
export async function runCorrupt(first: CorrectnessBoot, all: string[], run: (b: CorrectnessBoot, k: number) => Promise<CheckBootResult>, judge: (r: CheckBootResult) => CheckVerdict): Promise<{ verdict: CheckVerdict; boots: CheckBootResult[] }> {
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

export async function runCorrectness(pair: ImagePair | undefined, ctx: CorrectnessContext): Promise<void> {
  const { opts, folder, progress } = ctx;
  const record = folder.record;
  if (!pair) {
    record.warnings.push("correctness: no image pair to check");
    return;
  }
  const workload = pair.record.name;
  const checks = opts.checks ?? [...CHECK_NAMES];
  const { disks, notApplicable } = await extraDisks(pair, checks, ctx);
  const bytes = [pair.a.manifest, pair.b.manifest].flatMap((m) => regularFiles(m)).reduce((s, f) => s + f.size, 0);
  const boots = planCorrectnessBoots(checks.filter((c) => !notApplicable.has(c)), disks, {
    shareOptions: ctx.series.shareMountOptions, digest: opts.digest ?? "xxh64", imagesMiB: bytes / 2 ** 20, slowdown: ctx.accel === "tcg" ? TCG_SLOWDOWN : 1,
  });
  const manifests = { A: pair.a.manifest, B: pair.b.manifest };
  const run = (boot: CorrectnessBoot, k: number) =>
    runCheckBoot({ boot, kernel: ctx.kernel, initramfs: ctx.initramfs, accel: ctx.accel, tcgThread: ctx.tcgThread, bootDir: path.join(folder.dir, "boots", `correctness-${workload}-${boot.check}${k ? `-${k + 1}` : ""}`) });
  const judge = (r: CheckBootResult) => judgeCorrectness([r.boot.check], r.stream, r.end, manifests);
  const save = async (verdicts: CheckVerdict[], done: CheckBootResult[]) => {
    for (const b of done.filter((x) => x.earlyHangs.length)) {
      record.warnings.push(`correctness ${workload} ${b.boot.check}: ${stallNote(b.earlyHangs.length, path.basename(b.bootDir), b.earlyHangs[0]!)}`);
    }
    for (const v of verdicts) {
      const result: CorrectnessResult = {
        workload, check: v.check, name: v.name, series: ctx.series.name, result: v.result, reason: v.reason, proves: v.proves, ms: v.ms,
        wallMs: done.reduce((t, b) => t + b.end.wallMs, 0), details: v.details ?? {}, bootDir: done[0]?.bootDir ?? "", timing: done.length === 1 ? done[0]!.timing : undefined,
      };
      record.correctness.push(result);
      const time = result.ms !== undefined ? `${(result.ms / 1000).toFixed(1)} s in the guest, ` : "";
      progress.info(`  ${v.name}: ${v.result.toUpperCase()} (${time}${(result.wallMs / 1000).toFixed(0)} s boot): ${v.reason.split("\n")[0]}`);
      if (v.result === "fail" || v.result === "oops") record.warnings.push(`correctness ${workload} ${v.name}: ${v.result.toUpperCase()}: ${v.reason.split("\n")[0]}`);
    }
    await folder.save();
  };
  for (const [i, check] of checks.entries()) {
    progress.info(`correctness ${i + 1}/${checks.length}: ${check} on ${workload} (series ${ctx.series.name})`);
    const why = notApplicable.get(check);
    if (why !== undefined) {
      await save(checkSpec(check).results.map((r) => ({ check, name: r.name, proves: r.proves, result: "na" as const, reason: why })), []);
      continue;
    }
    const boot = boots.find((b) => b.check === check)!;
    if (check === "corrupt") {
      const { verdict, boots: done } = await runCorrupt(boot, disks.corrupt!.map((c) => c.name), run, (r) => judge(r)[0]!);
      await save([verdict], done);
    } else {
      const r = await run(boot, 0);
      await save(judge(r), [r]);
    }
  }
}
