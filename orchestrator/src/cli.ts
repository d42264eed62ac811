import path from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { DEFAULT_THRESHOLDS, type Thresholds } from "./analysis/compareRuns.js";
import { benchCommand } from "./commands/bench.js";
import { compareCommand } from "./commands/compare.js";
import { EXIT } from "./util/exitStatus.js";
import { kcidbCommand } from "./commands/kcidb.js";
import { measureParallelCommand } from "./commands/measureParallel.js";
import { mergeCommand } from "./commands/merge.js";
import { judgeCommand } from "./commands/judge.js";
import { matrixNightCommand, nightlyCommand } from "./commands/nightly.js";
import { reportCommand } from "./commands/report.js";
import { validateCommand } from "./commands/validate.js";
import { perPatchCommand } from "./commands/perPatch.js";
import { bisectCommand } from "./commands/bisect.js";
import { CHECK_NAMES } from "./guest/checks.js";
import { TCG_THREADS, type TcgThread } from "./guest/machine.js";
import { ACCESS_PATHS, MODES, PHASES, type AccessPath, type Mode, type Phase } from "./guest/modes.js";
import { KNOWN_ANSWER_DEFAULTS } from "./pipeline/knownAnswer.js";
import { PER_PATCH_DEFAULTS } from "./pipeline/perPatch.js";
import { parseShard } from "./pipeline/shard.js";
import { resolveJob, type JobInput, type Shard } from "./record/jobSpec.js";
import { matrixJobSpec, plannedJobs } from "./record/matrix.js";
import { DIGESTS, type Digest } from "./guest/verify.js";
import { BenchError, describeError } from "./util/errors.js";
import { resultsDir } from "./util/paths.js";
import { newRunId } from "./pipeline/runFolder.js";

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

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a whole number of 0 or more`);
  return n;
}

function program(): Command {
  return new Command("erofs-share-bench")
    .description(
      "Apply an EROFS page cache sharing series, build the kernel, boot it in QEMU, read two images with sharing off, on and\n" +
        "split across domains, and write cover-letter tables of the page cache each used.",
    )
    .option("--series <name>", "series spec in kernel/series/ (mainline, v8, rfc-v7, rfc-2023)", "mainline")
    .option("--workload <names>", "comma-separated workloads from workloads/: synthetic, redis, postgres, nginx (the default), mysql, tomcat, tensorflow", (v) => v.split(",").filter(Boolean), [
      "synthetic", "redis", "postgres", "nginx",
    ])
    .option("--images <A,B>", "measure this pair instead: directories, .tar/.tar.gz, docker-archive:FILE, oci:DIR[:tag] or docker://REF")
    .option("--phases <list>", `phases to run (${PHASES.join(",")}); runtime needs a workload with a runtime section`, listOf(PHASES, "phase"), [...PHASES])
    .option("--checks <list>", `correctness checks to run (${CHECK_NAMES.join(",")}); default all`, listOf(CHECK_NAMES, "check"))
    .option("--check-reps <n>", "boots per correctness check (more to hunt a race: the verdict gives how many failed)", positiveInt)
    .option("--check-reruns <n>", "boots a correctness check gets again after it failed or oopsed, so its verdict carries a rate (default 3; 0 for none)", nonNegativeInt)
    .option("--quick", "shorter workload parameters (the workload's quick: values)")
    .option("--reps <n>", "fresh boots per (mode, access path)", positiveInt, 3)
    .option("--modes <list>", `modes to measure (${MODES.join(",")})`, listOf(MODES, "mode"), [...MODES])
    .option("--paths <list>", `access paths for the read-all phase (${ACCESS_PATHS.join(",")})`, listOf(ACCESS_PATHS, "path"), [...ACCESS_PATHS])
    .option("--out <dir>", "results folder (default results/<run-id>)")
    .addOption(new Option("--digest <name>", "what every file a guest reads is checked with: xxh64 (cheap) or sha256").choices([...DIGESTS]).default("xxh64"))
    .option("--json", "print a JSON summary on stdout (progress stays on stderr)")
    .addOption(new Option("--accel <accel>", "skip the KVM probe and use this accelerator").choices(["kvm", "tcg"]))
    .addOption(new Option("--tcg-thread <mode>", "under TCG, all of a guest's vCPUs on one host thread (single, the default: the JVM crashed under multi with QEMU 7.2) or a host thread per vCPU (multi)").choices([...TCG_THREADS]))
    .option("--kernel-deb <pkg[=version]>", "Debian kernel source package to use for a Debian-based series (default: newest linux-source-N.M)")
    .option("--kernel-src <path>", "Linux git clone (never modified) or release tarball for a series based on a git ref (v8: v6.19, rfc-v7: v6.18)")
    .option("--profile <series>", "bench your own tree as it is (--kernel-src at --base-ref, no mails), with this series' feature symbol, image profile and mount options")
    .option("--base-ref <ref>", "base commit or tag in --kernel-src, instead of the series spec's ref")
    .option("--kernel-src-exclude <paths>", "comma-separated paths to leave out of the checkout (for clones that lack some blobs)", (v) => v.split(",").filter(Boolean))
    .option("--mbox <file>", "the series as an mbox file (else: cache, b4, lore)")
    .option("--no-fixups", "apply the series without the spec's fixups (kernel/fixups/)")
    .option("--build-only", "stop after the kernel is built")
    .option("--jobs <n>", "make -j for the kernel build (default: number of CPUs)", positiveInt)
    .option("--parallel <n>", "guests at once for read-all boots (default: what the host's cores and memory allow)", positiveInt)
    .option("--shard <K/N>", "measure only the K-th of N parts of the job's boots (--merge joins the parts)", parseShard)
    .option("--export <dir>", "build the job's kernel, initramfs and images, write them to <dir> (digests listed) and measure nothing")
    .option("--artifacts <dir>", "measure the kernel, initramfs and images --export wrote (checked by digest) instead of building")
    .option("--merge <dirs>", "join the run folders of one job's --shard K/N runs into one (--out names it) and exit")
    .option("--measure-parallel <counts>", "benchmark: run the job once per guest count (e.g. 1,2) and print wall time against the boots' own work", (v) => v.split(",").map(positiveInt))
    .option("--runtime-shared", "let runtime boots run beside other guests (faster; their throughput figures are then disturbed)")
    .option("--report <run-dir>", "re-render the reports of an existing run from its run.json and exit")
    .option("--validate [dir]", "known-answer run: mainline and every kernel mutant (kernel/mutants/) on the synthetic pair, judged as a matrix (exit 5 on a mutant not caught)")
    .option("--mutant <name>", "measure a kernel mutant of the series (kernel/mutants/): its patch built on the series' kernel")
    .option("--per-patch [dir]", "measure the series prefix by prefix (its first k patches, k = 1..N, each built on the whole series' build) on the synthetic pair, and write the per-patch table")
    .option("--auto-bisect", "with --nightly: bisect the first regressed row a bisection can judge right away, into the night's folder (needs both nights' kernels to be commits of one git tree)")
    .option("--bisect <good..bad>", "find the first commit of --kernel-src between GOOD and BAD that changed --bisect-row (with --profile; each step built on BAD's build)")
    .option("--bisect-row <row>", "what --bisect judges: check:NAME (a correctness result) or efficiency:WORKLOAD/PATH (read-all sharing efficiency)")
    .option("--bisect-cap <n>", "with --bisect: the most measurements an unsure step gets (the most boots a check step gets) before it is skipped (default 4)", positiveInt)
    .option("--prefix <k>", "measure the series with its first k patches only (built on the whole series' build)", positiveInt)
    .option("--commit <rev>", "measure this commit of --kernel-src, built on the build of --base-ref (only what differs recompiles)")
    .option("--mutants <names>", "with --validate: only these mutants", (v) => v.split(",").filter(Boolean))
    .option("--compare <baseline,current>", "compare two run folders side by side and exit (exit 3 on a regression)")
    .option("--html <file>", "with --compare: also write the comparison to <file> as a self-contained HTML page linking both runs' reports")
    .option("--kcidb <file>", "write the runs --from names as one KernelCI KCIDB submission (schema v5.3) to <file> for kcidb-submit, and exit")
    .option("--from <sources>", "with --kcidb: comma-separated run folders (a merged shard set is one) or nights' summaries (results/nightly/nights/<night>.json)", (v) => v.split(",").filter(Boolean))
    .option("--kcidb-url <url>", "with --kcidb: the URL under which the run folders are published (<url>/<run folder>/), so that logs are named by URL too")
    .option("--matrix <file>", "the nightly matrix (nightly.yaml): with --nightly, run every job of it; with --job, run one job's options")
    .option("--job <name>", "one job of --matrix (its series, tree, workloads, phases and reps)")
    .option("--list-jobs", "print the jobs of --matrix and whether each can run here, and exit")
    .option("--judge <run-dir>", "judge a finished run (a merge of shards) against the last good one in --nightly <history-dir>, and exit")
    .option("--nightly <history-dir>", "run into <history-dir>/<run-id>, then compare with the last good run there (exit 3 on a regression)")
    .option(
      "--threshold <name=points,...>",
      `what --compare and --nightly call a regression: efficiency (read-all, points, default ${DEFAULT_THRESHOLDS.efficiencyPoints}), ` +
        `runtime (points, default ${DEFAULT_THRESHOLDS.runtimePoints}), off (off-mode change in %, default ${DEFAULT_THRESHOLDS.offChangePct})`,
      parseThresholds,
    )
    .addHelpText(
      "after",
      "\nExit status: 0 done, 1 error (the message says which input and what to do), 3 regression found (--compare, --nightly),\n4 done but some guest boots or correctness checks failed (oops, hang, guest error: see the warnings and report.md),\n5 the known-answer run (--validate) found a mutant not caught or mainline failing, 130 interrupted (what was measured is kept).",
    );
}

interface CliOptions {
  series: string;
  profile?: string;
  workload: string[];
  images?: string;
  phases: Phase[];
  checks?: string[];
  checkReps?: number;
  checkReruns?: number;
  quick?: boolean;
  reps: number;
  modes: Mode[];
  paths: AccessPath[];
  out?: string;
  json?: boolean;
  accel?: "kvm" | "tcg";
  tcgThread?: TcgThread;
  kernelDeb?: string;
  kernelSrc?: string;
  baseRef?: string;
  kernelSrcExclude?: string[];
  mbox?: string;
  fixups: boolean;
  buildOnly?: boolean;
  jobs?: number;
  parallel?: number;
  measureParallel?: number[];
  merge?: string;
  matrix?: string;
  job?: string;
  listJobs?: boolean;
  judge?: string;
  export?: string;
  artifacts?: string;
  shard?: Shard;
  runtimeShared?: boolean;
  report?: string;
  validate?: string | boolean;
  mutant?: string;
  mutants?: string[];
  prefix?: number;
  commit?: string;
  perPatch?: string | boolean;
  bisect?: string;
  autoBisect?: boolean;
  bisectRow?: string;
  bisectCap?: number;
  digest: Digest;
  compare?: string;
  html?: string;
  kcidb?: string;
  from?: string[];
  kcidbUrl?: string;
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

/** The job the command line names: only the options given, the spec's defaults for the rest. */
function jobInput(cmd: Command, o: CliOptions, argv: string[]): JobInput {
  const given = (k: keyof CliOptions) => cmd.getOptionValueSource(k) === "cli";
  const keys: Array<[keyof CliOptions, keyof JobInput]> = [
    ["series", "series"], ["profile", "profile"], ["workload", "workloads"], ["phases", "phases"], ["checks", "checks"], ["checkReps", "checkReps"], ["checkReruns", "checkReruns"],
    ["quick", "quick"], ["reps", "reps"], ["modes", "modes"], ["paths", "paths"], ["out", "out"], ["accel", "accel"], ["tcgThread", "tcgThread"], ["digest", "digest"],
    ["kernelDeb", "kernelDeb"], ["kernelSrc", "kernelSrc"], ["baseRef", "baseRef"], ["kernelSrcExclude", "kernelSrcExclude"], ["mbox", "mbox"], ["fixups", "fixups"],
    ["buildOnly", "buildOnly"], ["jobs", "jobs"], ["shard", "shard"], ["export", "export"], ["artifacts", "artifacts"], ["parallel", "parallel"], ["runtimeShared", "runtimeShared"],
    ["mutant", "mutant"], ["prefix", "prefix"], ["commit", "commit"],
  ];
  const input: Record<string, unknown> = Object.fromEntries(keys.filter(([k]) => given(k)).map(([k, key]) => [key, o[k]]));
  if (o.images) {
    const parts = o.images.split(",");
    if (parts.length !== 2 || !parts[0] || !parts[1]) throw new BenchError(`--images takes exactly two inputs, got "${o.images}"`, "--images A,B");
    input.images = [parts[0], parts[1]];
  }
  if (o.tcgThread && o.accel === "kvm") throw new BenchError(`--tcg-thread ${o.tcgThread} is for TCG, and --accel kvm runs the guests under KVM`, "drop --tcg-thread, or use --accel tcg");
  return { ...input, command: argv };
}

function defaultKnownAnswerDir(): string {
  return path.join(resultsDir, `known-answer-${newRunId()}`);
}

async function main(argv: string[]): Promise<number> {
  const cmd = program();
  cmd.parse(argv);
  const o = cmd.opts<CliOptions>();
  const json = Boolean(o.json);
  if (o.html && !o.compare) throw new BenchError("--html goes with --compare", "--compare BASELINE_DIR,CURRENT_DIR --html FILE (runs and --nightly write their pages into their folders)");
  if ((o.from || o.kcidbUrl) && !o.kcidb) throw new BenchError("--from and --kcidb-url go with --kcidb", "--kcidb FILE --from RUN_DIR[,RUN_DIR...]");
  if (o.kcidb) return kcidbCommand(o.from ?? [], o.kcidb, { baseUrl: o.kcidbUrl, json });
  if (o.compare) return compareCommand(o.compare, json, o.threshold, o.html);
  if (o.report) return reportCommand(o.report, json);
  if (o.merge) return mergeCommand(o.merge.split(",").filter(Boolean), o.out, json);
  const input = jobInput(cmd, o, argv.slice(2));
  const job = (defaults: JobInput = {}) => resolveJob({ ...defaults, ...input }, "the command line");
  if (o.bisect) return bisectCommand(job(), o.bisect, o.bisectRow, o.out ?? path.join(resultsDir, `bisect-${newRunId()}`), o.bisectCap, json);
  if (o.perPatch) return perPatchCommand(job(PER_PATCH_DEFAULTS), typeof o.perPatch === "string" ? o.perPatch : path.join(resultsDir, `per-patch-${o.series}-${newRunId()}`), json);
  if (o.validate) return validateCommand(job(KNOWN_ANSWER_DEFAULTS), typeof o.validate === "string" ? o.validate : defaultKnownAnswerDir(), o.mutants, json);
  if (o.listJobs) {
    if (!o.matrix) throw new BenchError("--list-jobs lists the jobs of a matrix", "--matrix nightly.yaml --list-jobs");
    const jobs = (await plannedJobs(o.matrix, o.job)).map((p) => ({ name: p.job.name, kind: p.job.kind, series: p.job.series, ...(p.skipped ? { skipped: p.skipped } : {}) }));
    process.stdout.write(json ? JSON.stringify(jobs) + "\n" : jobs.map((j) => `${j.name}: ${j.skipped ? `skipped (${j.skipped})` : `${j.kind === "bench" ? "" : `${j.kind}, `}series ${j.series}`}`).join("\n") + "\n");
    return EXIT.ok;
  }
  if (o.judge) {
    if (!o.nightly) throw new BenchError("--judge needs the history to judge against", "--judge RUN_DIR --nightly HISTORY_DIR");
    return judgeCommand(o.judge, o.nightly, o.threshold, json);
  }
  if (o.nightly) {
    if (o.out) throw new BenchError("--nightly and --out do not go together", "--nightly DIR puts each run in DIR/<run-id>");
    if (o.matrix) return matrixNightCommand(input, { matrix: o.matrix, history: o.nightly, only: o.job, thresholds: o.threshold, autoBisect: Boolean(o.autoBisect) }, json);
    return nightlyCommand(job(), { history: o.nightly, thresholds: o.threshold, autoBisect: Boolean(o.autoBisect) }, json);
  }
  if (o.job) {
    if (!o.matrix) throw new BenchError("--job names a job of a matrix", "--matrix nightly.yaml --job NAME");
    const [planned] = await plannedJobs(o.matrix, o.job);
    if (planned!.skipped) throw new BenchError(`job ${o.job} cannot run here: ${planned!.skipped}`, "set the variable the matrix names");
    if (planned!.job.kind === "known-answer") {
      if (o.export || o.artifacts || o.shard || o.measureParallel) throw new BenchError(`job ${o.job} is a known-answer run: it builds and measures its mutants in one go`, "drop --export, --artifacts, --shard and --measure-parallel for it");
      return validateCommand(matrixJobSpec(planned!.job, o.matrix, { ...KNOWN_ANSWER_DEFAULTS, ...input }), o.out ?? defaultKnownAnswerDir(), planned!.job.mutants, json);
    }
    const spec = matrixJobSpec(planned!.job, o.matrix, input);
    return o.measureParallel ? measureParallelCommand(spec, o.measureParallel) : benchCommand(spec, json);
  }
  if (o.measureParallel) return measureParallelCommand(job(), o.measureParallel);
  return benchCommand(job(), json);
}

main(process.argv).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(describeError(e) + "\n");
    process.exit(EXIT.error);
  },
);
