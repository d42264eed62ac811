import { readFile } from "node:fs/promises";
import path from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { endRunEarly, PHASES, runBench, writeReports, type BenchOptions, type Phase } from "./pipeline/run.js";
import type { RunFolder } from "./record/runRecord.js";
import { ACCESS_PATHS, MODES, type AccessPath, type Mode } from "./guest/readAll.js";
import { buildCells, buildRuntimeCells, compare, failedCells } from "./analysis/cells.js";
import { compareRuns, DEFAULT_THRESHOLDS, loadRunSummary, renderComparison, type Thresholds } from "./analysis/compareRuns.js";
import { renderCoverLetter } from "./report/runReports.js";
import { runNightly } from "./commands/nightly.js";
import { killRunningGuests } from "./guest/qemu.js";
import { BenchError, describeError } from "./util/errors.js";
import { Progress } from "./util/progress.js";

function listOf<T extends string>(allowed: readonly T[], what: string) {
  return (value: string): T[] => {
    const items = value.split(",").map((s) => s.trim()).filter(Boolean);
    for (const i of items) {
      if (!allowed.includes(i as T)) throw new InvalidArgumentError(`unknown ${what} "${i}" (choose from ${allowed.join(", ")})`);
    }
    return items as T[];
  };
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${value}" is not a positive whole number`);
  return n;
}

function program(): Command {
  return new Command("erofs-share-bench")
    .description(
      "Apply an EROFS page cache sharing series, build the kernel, boot it in QEMU, read two images with sharing off, on and\n" +
        "split across domains, and write cover-letter tables of the page cache each used.",
    )
    .option("--series <name>", "series spec in kernel/series/ (mainline, v8, rfc-v7, rfc-2023)", "mainline")
    .option("--workload <names>", "comma-separated workloads from workloads/ (synthetic, redis, postgres, nginx)", (v) => v.split(",").filter(Boolean), [
      "synthetic", "redis", "postgres", "nginx",
    ])
    .option("--images <A,B>", "measure this pair instead: directories, .tar/.tar.gz, docker-archive:FILE, oci:DIR[:tag] or docker://REF")
    .option("--phases <list>", `phases to run (${PHASES.join(",")}); runtime needs a workload with a runtime section`, listOf(PHASES, "phase"), [...PHASES])
    .option("--quick", "shorter workload parameters (the workload's quick: values)")
    .option("--reps <n>", "fresh boots per (mode, access path)", positiveInt, 3)
    .option("--modes <list>", `modes to measure (${MODES.join(",")})`, listOf(MODES, "mode"), [...MODES])
    .option("--paths <list>", `access paths for the read-all phase (${ACCESS_PATHS.join(",")})`, listOf(ACCESS_PATHS, "path"), [...ACCESS_PATHS])
    .option("--out <dir>", "results folder (default results/<run-id>)")
    .option("--json", "print a JSON summary on stdout (progress stays on stderr)")
    .addOption(new Option("--accel <accel>", "skip the KVM probe and use this accelerator").choices(["kvm", "tcg"]))
    .option("--kernel-deb <pkg[=version]>", "Debian kernel source package to use for a Debian-based series (default: newest linux-source-N.M)")
    .option("--kernel-src <path>", "Linux git clone (never modified) or release tarball for a series based on a git ref (v8: v6.19, rfc-v7: v6.18)")
    .option("--base-ref <ref>", "base commit or tag in --kernel-src, instead of the series spec's ref")
    .option("--kernel-src-exclude <paths>", "comma-separated paths to leave out of the checkout (for clones that lack some blobs)", (v) => v.split(",").filter(Boolean))
    .option("--mbox <file>", "the series as an mbox file (else: cache, b4, lore)")
    .option("--no-fixups", "apply the series without the spec's fixups (kernel/fixups/)")
    .option("--build-only", "stop after the kernel is built")
    .option("--jobs <n>", "make -j for the kernel build (default: number of CPUs)", positiveInt)
    .option("--report <run-dir>", "re-render the reports of an existing run from its run.json and exit")
    .option("--compare <baseline,current>", "compare two run folders side by side and exit (exit 3 on a regression)")
    .option("--nightly <history-dir>", "run into <history-dir>/<run-id>, then compare with the last good run there (exit 3 on a regression)")
    .option(
      "--threshold <name=points,...>",
      `what --compare and --nightly call a regression: efficiency (read-all, points, default ${DEFAULT_THRESHOLDS.efficiencyPoints}), ` +
        `runtime (points, default ${DEFAULT_THRESHOLDS.runtimePoints}), off (off-mode change in %, default ${DEFAULT_THRESHOLDS.offChangePct})`,
      parseThresholds,
    )
    .addHelpText(
      "after",
      "\nExit status: 0 done, 1 error (the message says which input and what to do), 3 regression found (--compare, --nightly),\n4 done but some guest boots failed (oops, hang, guest error: see the warnings and report.md), 130 interrupted (what was\nmeasured is kept).",
    );
}

interface CliOptions {
  series: string;
  workload: string[];
  images?: string;
  phases: Phase[];
  quick?: boolean;
  reps: number;
  modes: Mode[];
  paths: AccessPath[];
  out?: string;
  json?: boolean;
  accel?: "kvm" | "tcg";
  kernelDeb?: string;
  kernelSrc?: string;
  baseRef?: string;
  kernelSrcExclude?: string[];
  mbox?: string;
  fixups: boolean;
  buildOnly?: boolean;
  jobs?: number;
  report?: string;
  compare?: string;
  nightly?: string;
  threshold?: Thresholds;
}

function parseThresholds(value: string): Thresholds {
  const t = { ...DEFAULT_THRESHOLDS };
  const names: Record<string, keyof Thresholds> = { efficiency: "efficiencyPoints", runtime: "runtimePoints", off: "offChangePct" };
  for (const item of value.split(",").filter(Boolean)) {
    const [name, v] = item.split("=");
    const key = name ? names[name] : undefined;
    const n = Number(v);
    if (!key || v === undefined || !Number.isFinite(n) || n < 0) {
      throw new InvalidArgumentError(`"${item}" is not name=number with name one of ${Object.keys(names).join(", ")}`);
    }
    t[key] = n;
  }
  return t;
}

const EXIT_REGRESSION = 3;
/** The run completed, but some boots failed (a guest oops, hang or error): the reports say which. */
const EXIT_FAILED_BOOTS = 4;

async function compareFolders(spec: string, json: boolean, thresholds?: Thresholds): Promise<number> {
  const dirs = spec.split(",");
  if (dirs.length !== 2 || !dirs[0] || !dirs[1]) throw new BenchError(`--compare takes two run folders, got "${spec}"`, "--compare BASELINE_DIR,CURRENT_DIR");
  const [b, c] = [path.resolve(dirs[0]), path.resolve(dirs[1])];
  const cmp = compareRuns(await loadRunSummary(b), await loadRunSummary(c), { baseline: b, current: c }, thresholds);
  process.stdout.write(json ? JSON.stringify(cmp, null, 2) + "\n" : renderComparison(cmp));
  return cmp.regressions ? EXIT_REGRESSION : 0;
}

function toBenchOptions(o: CliOptions, argv: string[]): BenchOptions {
  let images: [string, string] | undefined;
  if (o.images) {
    const parts = o.images.split(",");
    if (parts.length !== 2 || !parts[0] || !parts[1]) throw new BenchError(`--images takes exactly two inputs, got "${o.images}"`, "--images A,B");
    images = [parts[0], parts[1]];
  }
  let kernelDeb: BenchOptions["kernelDeb"];
  if (o.kernelDeb) {
    const [pkg, version] = o.kernelDeb.split("=");
    kernelDeb = { package: pkg, version };
  }
  return {
    series: o.series, workloads: o.workload, images, phases: o.phases, quick: Boolean(o.quick), reps: o.reps, modes: o.modes, paths: o.paths, out: o.out,
    accel: o.accel, kernelDeb, kernelSrc: o.kernelSrc, baseRef: o.baseRef, kernelSrcExclude: o.kernelSrcExclude, mbox: o.mbox, noFixups: !o.fixups, buildOnly: Boolean(o.buildOnly), jobs: o.jobs, command: argv,
  };
}

function summary(folder: RunFolder): object {
  const r = folder.record;
  return {
    runDir: folder.dir,
    runJson: folder.runJson,
    status: r.status,
    series: r.series.name,
    kernel: r.kernel?.release,
    accel: r.accel?.accel,
    comparisons: r.comparisons.map((c) => ({
      workload: c.workload, path: c.path,
      offMiB: c.off?.afterB.median, onMiB: c.on?.afterB.median, splitMiB: c.split?.afterB.median,
      reductionPct: c.reductionPct, expectedReductionPct: c.expectedReductionPct, efficiencyPct: c.efficiencyPct,
      splitShared: c.splitShared, noisy: c.noisy,
    })),
    runtime: r.runtimeCells.map((c) => ({
      workload: c.workload, mode: c.mode, memoryMiB: c.memory.median, pageCacheMiB: c.pageCache.median, reductionPct: c.reductionPct,
      failures: c.failures.length, load: c.load.map((l) => ({ container: l.container, step: l.step, throughput: l.throughput.median, unit: l.unit })),
    })),
    runtimeBasis: r.runtimeBasis,
    warnings: r.warnings,
  };
}

function printRun(folder: RunFolder): void {
  process.stdout.write(`\nresults: ${folder.dir}\n\n`);
  if (folder.record.cells.length || folder.record.runtimeCells.length) process.stdout.write(renderCoverLetter(folder.record));
  for (const w of folder.record.warnings) process.stdout.write(`warning: ${w}\n`);
}

async function main(argv: string[]): Promise<number> {
  const cmd = program();
  cmd.parse(argv);
  const o = cmd.opts<CliOptions>();
  if (o.compare) return compareFolders(o.compare, Boolean(o.json), o.threshold);
  if (o.report) {
    const { RunFolder } = await import("./record/runRecord.js");
    const dir = path.resolve(o.report);
    const folder = new RunFolder(dir, JSON.parse(await readFile(path.join(dir, "run.json"), "utf8")));
    // figures are recomputed from the raw boots, so a newer tool re-renders an older run the same way it would measure it
    const r = folder.record;
    const analyses = new Map(r.workloads.map((w) => [w.name, w.sharing]));
    r.cells = buildCells(r.boots, analyses);
    r.comparisons = compare(r.cells, analyses);
    r.runtimeCells = buildRuntimeCells(r.runtime ?? []);
    await writeReports(folder);
    process.stdout.write(o.json ? JSON.stringify(summary(folder), null, 2) + "\n" : renderCoverLetter(folder.record));
    return 0;
  }
  const progress = new Progress();
  let folder: RunFolder | undefined;
  const interrupt = async (signal: string) => {
    killRunningGuests();
    if (folder && folder.record.status === "running") {
      await endRunEarly(folder, "interrupted", `interrupted by ${signal}`);
      process.stderr.write(`\ninterrupted: what was measured is in ${folder.dir}\n`);
    }
    process.exit(130);
  };
  process.on("SIGINT", () => void interrupt("SIGINT"));
  process.on("SIGTERM", () => void interrupt("SIGTERM"));
  if (o.nightly) {
    if (o.out) throw new BenchError("--nightly and --out do not go together", "--nightly DIR puts each run in DIR/<run-id>");
    const night = await runNightly({ ...toBenchOptions(o, argv.slice(2)), history: o.nightly, thresholds: o.threshold }, progress);
    folder = night.folder;
    if (night.error) process.stderr.write(night.error + "\n");
    if (o.json) {
      process.stdout.write(JSON.stringify({ ...(folder ? summary(folder) : {}), nightly: night.comparison, note: night.note, error: night.error }, null, 2) + "\n");
    } else {
      if (folder) printRun(folder);
      process.stdout.write("\n" + (night.comparison ? renderComparison(night.comparison) : `${night.note ?? ""}\n`));
    }
    if (night.error || !folder || folder.record.status !== "complete") return night.comparison?.regressions ? EXIT_REGRESSION : 1;
    return night.comparison?.regressions ? EXIT_REGRESSION : 0;
  }
  try {
    folder = await runBench(toBenchOptions(o, argv.slice(2)), progress, (f) => (folder = f));
  } catch (e) {
    process.stderr.write(describeError(e) + "\n");
    if (folder) {
      await endRunEarly(folder, "failed", e instanceof Error ? e.message : String(e));
      process.stderr.write(`what was done is recorded in ${folder.runJson}\n`);
    }
    if (o.json) process.stdout.write(JSON.stringify({ ...(folder ? summary(folder) : {}), error: describeError(e) }, null, 2) + "\n");
    return 1;
  }
  if (o.json) {
    process.stdout.write(JSON.stringify(summary(folder), null, 2) + "\n");
  } else {
    printRun(folder);
  }
  return failedCells(folder.record).length ? EXIT_FAILED_BOOTS : 0;
}

main(process.argv).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(describeError(e) + "\n");
    process.exit(1);
  },
);
