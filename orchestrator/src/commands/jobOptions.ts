import { Option } from "commander";
import { CHECK_NAMES } from "../guest/checks.js";
import { ACCELERATORS, TCG_THREADS } from "../guest/machine.js";
import { ACCESS_PATHS, MODES, PHASES } from "../guest/modes.js";
import { DIGESTS } from "../guest/verify.js";
import { listWorkloadsSync } from "../images/workloads.js";
import { parseShard } from "../pipeline/shard.js";
import { JOB_DEFAULTS, resolveJob, type JobInput, type JobSpec } from "../record/jobSpec.js";
import { matrixJobSpec, plannedJobs, type MatrixJob } from "../record/matrix.js";
import { BenchError } from "../util/errors.js";
import { commaList, listOf, nonNegativeInt, positiveInt, type Verb } from "./verb.js";

/**
 * The options that fill in a job spec (record/jobSpec.ts): each verb takes
 * the ones that apply to it, and gives the spec only what was named on the
 * command line; the spec's schema has the defaults, shown here in --help.
 */
type JobKey = Exclude<keyof JobInput, "command" | "export" | "outRoot">;

const shown = (key: keyof JobSpec) => {
  const v = JOB_DEFAULTS[key];
  return ` (default: ${Array.isArray(v) ? v.join(",") : String(v)})`;
};

function imagePair(value: string): [string, string] {
  const parts = value.split(",");
  if (parts.length !== 2 || !parts[0] || !parts[1])
    throw new BenchError(`--images takes exactly two inputs, got "${value}"`, "--images A,B");
  return [parts[0], parts[1]];
}

/** An option, or a flag and its negation that set one value (absent: the spec decides). */
const JOB_OPTIONS: Record<JobKey, () => Option | [Option, Option]> = {
  series: () =>
    new Option(
      "--series <name>",
      `series spec in kernel/series/ (mainline, v8, rfc-v7, rfc-2023), or a path to one${shown("series")}`,
    ),
  profile: () =>
    new Option(
      "--profile <series>",
      "bench your own tree as it is (--kernel-src at --base-ref, no mails), with this series' feature symbol, image profile and mount options",
    ),
  kernelDeb: () =>
    new Option(
      "--kernel-deb <pkg[=version]>",
      "Debian kernel source package to use for a Debian-based series (default: newest linux-source-N.M)",
    ),
  kernelSrc: () =>
    new Option(
      "--kernel-src <path>",
      "Linux git clone (never modified) or release tarball for a series based on a git ref (v8: v6.19, rfc-v7: v6.18)",
    ),
  baseRef: () => new Option("--base-ref <ref>", "base commit or tag in --kernel-src, instead of the series spec's ref"),
  kernelSrcExclude: () =>
    new Option(
      "--kernel-src-exclude <paths>",
      "comma-separated paths to leave out of the checkout (for clones that lack some blobs)",
    ).argParser(commaList),
  mbox: () => new Option("--mbox <file>", "the series as an mbox file (else: cache, b4, lore)"),
  fixups: () => new Option("--no-fixups", "apply the series without the spec's fixups (kernel/fixups/)"),
  prefix: () =>
    new Option(
      "--prefix <k>",
      "measure the series with its first k patches only (built on the whole series' build)",
    ).argParser(positiveInt),
  commit: () =>
    new Option(
      "--commit <rev>",
      "measure this commit of --kernel-src, built on the build of --base-ref (only what differs recompiles)",
    ),
  mutant: () =>
    new Option(
      "--mutant <name>",
      "measure a kernel mutant of the series (kernel/mutants/): its patch built on the series' kernel",
    ),
  mutantsDir: () =>
    new Option(
      "--mutants-dir <dir>",
      "your own kernel mutants (a folder with its mutants.yaml and patches, for the same series), beside the tool's",
    ),
  patch: () =>
    new Option(
      "--patch <file>",
      "your own patch (a diff of the tree, e.g. a candidate fix) on top of the series, built on its kernel (only what it touches recompiles); named in run.json and the cover letter",
    ),
  jobs: () => new Option("--jobs <n>", "make -j for the kernel build (default: number of CPUs)").argParser(positiveInt),
  buildOnly: () => new Option("--build-only", "stop after the kernel is built"),
  workloads: () =>
    new Option(
      "--workload <names>",
      `comma-separated workloads from workloads/: ${listWorkloadsSync().join(", ")}${shown("workloads")}`,
    ).argParser(commaList),
  images: () =>
    new Option(
      "--images <A,B>",
      "measure this pair instead: directories, .tar/.tar.gz, docker-archive:FILE, oci:DIR[:tag] or docker://REF",
    ).argParser(imagePair),
  lock: () =>
    new Option(
      "--lock <file>",
      "the lock the images are built from: every package of every side, pinned by SHA256 (default: workloads/lock.json)",
    ),
  debs: () =>
    new Option(
      "--debs <dir>",
      "a folder of .debs the lock names (an export's debs/), for packages the archive no longer has",
    ),
  phases: () =>
    new Option(
      "--phases <list>",
      `phases to run (${PHASES.join(",")}); runtime needs a workload with a runtime section${shown("phases")}`,
    ).argParser(listOf(PHASES, "phase")),
  modes: () =>
    new Option("--modes <list>", `modes to measure (${MODES.join(",")})${shown("modes")}`).argParser(
      listOf(MODES, "mode"),
    ),
  paths: () =>
    new Option(
      "--paths <list>",
      `access paths for the read-all phase (${ACCESS_PATHS.join(",")})${shown("paths")}`,
    ).argParser(listOf(ACCESS_PATHS, "path")),
  reps: () =>
    new Option(
      "--reps <n>",
      `the most fresh boots per (mode, access path); a cell whose boots agree within its band stops at two${shown("reps")}`,
    ).argParser(positiveInt),
  fixedReps: () => new Option("--fixed-reps", "every cell gets exactly --reps boots, settled or not"),
  quick: () => new Option("--quick", "shorter workload parameters (the workload's quick: values)"),
  digest: () =>
    new Option(
      "--digest <name>",
      `what every file a guest reads is checked with: xxh64 (cheap) or sha256${shown("digest")}`,
    ).choices([...DIGESTS]),
  checks: () =>
    new Option("--checks <list>", `correctness checks to run (${CHECK_NAMES.join(",")}); default all`).argParser(
      listOf(CHECK_NAMES, "check"),
    ),
  checkReps: () =>
    new Option(
      "--check-reps <n>",
      `boots per correctness check (more to hunt a race: the verdict gives how many failed)${shown("checkReps")}`,
    ).argParser(positiveInt),
  checkReruns: () =>
    new Option(
      "--check-reruns <n>",
      `boots a correctness check gets again after it failed or oopsed, so its verdict carries a rate (0 for none)${shown("checkReruns")}`,
    ).argParser(nonNegativeInt),
  checkKernel: () =>
    new Option(
      "--check-kernel <kind>",
      `the kernel the correctness checks boot: the series' kernel built again with kernel/sanitizer.config (KASAN, kmemleak, lockdep), or the plain one the tables measure${shown("checkKernel")}`,
    ).choices(["sanitizer", "plain"]),
  accel: () => new Option("--accel <accel>", "skip the KVM probe and use this accelerator").choices([...ACCELERATORS]),
  tcgThread: () =>
    new Option(
      "--tcg-thread <mode>",
      `under TCG, all of a guest's vCPUs on one host thread (single: the JVM crashed under multi with QEMU 7.2) or a host thread per vCPU (multi)${shown("tcgThread")}`,
    ).choices([...TCG_THREADS]),
  parallel: () =>
    new Option(
      "--parallel <n>",
      "guests at once for read-all boots (default: what the host's cores and memory allow)",
    ).argParser(positiveInt),
  runtimeShared: () => [
    new Option(
      "--runtime-shared",
      "run runtime boots beside other guests (the default under TCG, where throughput is emulation noise and memory stays within its band)",
    ),
    new Option(
      "--no-runtime-shared",
      "run each runtime boot alone on the host (the default under KVM, where throughput means something)",
    ),
  ],
  shard: () =>
    new Option(
      "--shard <K/N>",
      "measure only the K-th of N parts of the job's boots (merge joins the parts)",
    ).argParser(parseShard),
  artifacts: () =>
    new Option(
      "--artifacts <dir>",
      "measure the kernel, initramfs and images `export` wrote (checked by digest) instead of building",
    ),
  out: () => new Option("--out <dir>", "the run folder (default results/<run-id>)"),
};

/** Which kernel: the series or your own tree. */
export const TREE_OPTIONS: JobKey[] = [
  "series",
  "profile",
  "kernelDeb",
  "kernelSrc",
  "baseRef",
  "kernelSrcExclude",
  "mbox",
  "fixups",
];
/** Which build of it. */
export const BUILD_OPTIONS: JobKey[] = ["prefix", "commit", "mutant", "mutantsDir", "patch", "jobs"];
/** Which pairs are built. */
export const PAIR_OPTIONS: JobKey[] = ["workloads", "images", "lock", "debs", "phases"];
/** How they are measured. */
export const MEASURE_OPTIONS: JobKey[] = [
  "modes",
  "paths",
  "reps",
  "fixedReps",
  "quick",
  "digest",
  "checks",
  "checkReps",
  "checkReruns",
  "checkKernel",
];
/** The guests and the host. */
export const HOST_OPTIONS: JobKey[] = ["accel", "tcgThread", "parallel", "runtimeShared"];
/** All that says what a job measures: the kernel, its build, the pairs and how they are measured. */
export const MEASURED_JOB_OPTIONS: JobKey[] = [...TREE_OPTIONS, ...BUILD_OPTIONS, ...PAIR_OPTIONS, ...MEASURE_OPTIONS];

/** Where --help lists an option. */
function groupOf(k: JobKey): string {
  if (TREE_OPTIONS.includes(k) || BUILD_OPTIONS.includes(k) || k === "buildOnly") return "The kernel:";
  if (PAIR_OPTIONS.includes(k) || MEASURE_OPTIONS.includes(k)) return "What is measured:";
  if (HOST_OPTIONS.includes(k)) return "The guests:";
  return "This run:";
}

const optionsOf = (k: JobKey): Option[] => [JOB_OPTIONS[k]()].flat();

export function addJobOptions(v: Verb, keys: JobKey[]): Verb {
  for (const k of keys) for (const o of optionsOf(k)) v.addOption(o.helpGroup(groupOf(k)));
  return v;
}

/** The job the command line names: only the options given, and the command line itself. */
export function jobInput(v: Verb, argv: string[]): JobInput {
  const keys = Object.keys(JOB_OPTIONS) as JobKey[];
  const attribute = (k: JobKey) => optionsOf(k)[0]!.attributeName();
  const given = keys.filter((k) => v.getOptionValueSource(attribute(k)) === "cli");
  const input: JobInput = {
    ...Object.fromEntries(given.map((k) => [k, v.getOptionValue(attribute(k))])),
    command: argv,
  };
  if (input.tcgThread && input.accel === "kvm")
    throw new BenchError(
      `--tcg-thread ${input.tcgThread} is for TCG, and --accel kvm runs the guests under KVM`,
      "drop --tcg-thread, or use --accel tcg",
    );
  return input;
}

/** --matrix and --job: a job of the nightly matrix instead of the command line's own. */
export function addMatrixOptions(v: Verb, what: string): Verb {
  v.addOption(new Option("--matrix <file>", `the nightly matrix (nightly.yaml): ${what}`).helpGroup("This run:"));
  v.addOption(
    new Option(
      "--job <name>",
      "one job of --matrix (its series, tree, workloads, phases and reps; options given here change what it measures)",
    ).helpGroup("This run:"),
  );
  return v;
}

/** The job --matrix and --job name, refused when it cannot run here. */
export async function matrixJob(o: { matrix?: string; job?: string }): Promise<MatrixJob | undefined> {
  if (o.matrix && !o.job)
    throw new BenchError(
      `--matrix ${o.matrix} holds many jobs: name one`,
      `--matrix ${o.matrix} --job NAME (npm run bench -- jobs --matrix ${o.matrix} lists them)`,
    );
  if (!o.job) return undefined;
  if (!o.matrix) throw new BenchError("--job names a job of a matrix", "--matrix nightly.yaml --job NAME");
  const [planned] = await plannedJobs(o.matrix, o.job);
  if (planned!.skipped)
    throw new BenchError(`job ${o.job} cannot run here: ${planned!.skipped}`, "set the variable the matrix names");
  return planned!.job;
}

/**
 * The job --matrix and --job name, for a verb that makes one plain run of
 * it: a known-answer job builds and measures its mutants in one go, which
 * only `run` does.
 */
export async function plainMatrixJob(o: { matrix?: string; job?: string }): Promise<MatrixJob | undefined> {
  const job = await matrixJob(o);
  if (job?.kind === "known-answer")
    throw new BenchError(
      `job ${job.name} is a known-answer run: it builds and measures its mutants in one go`,
      `npm run bench -- run --matrix ${o.matrix} --job ${job.name}`,
    );
  return job;
}

/**
 * The spec a verb runs: the matrix job's with the command line's options
 * over it, or the command line's alone; `defaults` are the verb's own
 * (a known-answer run boots a failing check once more, not three times).
 */
export function specOf(
  input: JobInput,
  job: MatrixJob | undefined,
  matrix: string | undefined,
  defaults: JobInput = {},
): JobSpec {
  return job
    ? matrixJobSpec(job, matrix!, { ...defaults, ...input })
    : resolveJob({ ...defaults, ...input }, "the command line");
}
