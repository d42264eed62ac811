import { z } from "zod";
import { CHECK_NAMES } from "../guest/checks.js";
import { ACCELERATORS, TCG_THREADS } from "../guest/machine.js";
import { ACCESS_PATHS, MODES, PHASES } from "../guest/modes.js";
import { DIGESTS } from "../guest/verify.js";
import { BenchError } from "../util/errors.js";

/**
 * A job: what one run measures and how it runs here. The command line and
 * the nightly matrix (nightly.yaml) only fill in a job; its defaults are
 * this schema's, and the pipeline receives it resolved. run.json's plan is
 * the part of it that says what was measured.
 */

/** `--shard K/N`: the K-th of N parts of a job's boots (1-based). */
export const ShardSchema = z.object({ index: z.number().int().positive(), count: z.number().int().positive() });
export type Shard = z.infer<typeof ShardSchema>;

const Digest = z.enum(DIGESTS);
const Count = z.number().int().positive();

/** A Debian kernel source package, as `pkg[=version]` or split. */
const DebianPackage = z.preprocess(
  (v) => {
    if (typeof v !== "string") return v;
    const [name, version] = v.split("=");
    return { package: name, version };
  },
  z.object({ package: z.string().optional(), version: z.string().optional() }),
);

const checkName = z.string().refine((c) => CHECK_NAMES.includes(c), {
  error: (i) => `unknown check "${String(i.input)}" (choose from ${CHECK_NAMES.join(", ")})`,
});

/** The kernel under test: a series on its base, or your own tree, and which build of it. */
const kernelFields = {
  /** A series spec of kernel/series/ by name, or a path to one. */
  series: z.string().default("mainline"),
  /** Your own tree (kernelSrc at baseRef, no mails) with this series' feature symbol, image profile and mount options. */
  profile: z.string().optional(),
  kernelDeb: DebianPackage.optional(),
  /** A Linux git clone or release tarball, for a series on a git base. */
  kernelSrc: z.string().optional(),
  baseRef: z.string().optional(),
  kernelSrcExclude: z.array(z.string()).default([]),
  mbox: z.string().optional(),
  /** Apply the series' fixups (kernel/fixups/). */
  fixups: z.boolean().default(true),
  /** The series with its first K patches only, built on the whole series' build. */
  prefix: Count.optional(),
  /** Another commit of the tree, built on the build of baseRef (a bisection step). */
  commit: z.string().optional(),
  /** A kernel broken on purpose (kernel/mutants/), built on the series' kernel and measured instead of it. */
  mutant: z.string().optional(),
  /** A reviewer's own folder of mutants (its own mutants.yaml, for the same base), beside the tool's kernel/mutants/. */
  mutantsDir: z.string().optional(),
  /** Your own patch (a candidate fix), applied on top of the series and built on its kernel; run.json and the letter name it. */
  patch: z.string().optional(),
  /** make -j; the host's CPUs when absent. */
  jobs: Count.optional(),
  /** Stop once the kernel is built. */
  buildOnly: z.boolean().default(false),
};

/** What is measured. */
const measureFields = {
  workloads: z.array(z.string()).min(1).default(["synthetic", "redis", "postgres", "nginx"]),
  /** Your own pair instead of the workloads. */
  images: z.tuple([z.string(), z.string()]).optional(),
  /** The lock the images are built from (workloads/lock.json when absent). */
  lock: z.string().optional(),
  /** A folder of .debs the lock names (an export's debs/), for packages the archive no longer has. */
  debs: z.string().optional(),
  phases: z
    .array(z.enum(PHASES))
    .min(1)
    .default([...PHASES]),
  modes: z
    .array(z.enum(MODES))
    .min(1)
    .default([...MODES]),
  paths: z
    .array(z.enum(ACCESS_PATHS))
    .min(1)
    .default([...ACCESS_PATHS]),
  /** The most fresh boots a cell gets (at least two); a cell whose boots agree within its band stops early. */
  reps: Count.default(3),
  /** Every cell gets exactly --reps boots, settled or not. */
  fixedReps: z.boolean().default(false),
  /** The workloads' shorter parameters. */
  quick: z.boolean().default(false),
  /** What every file a guest reads is checked with. */
  digest: Digest.default("xxh64"),
  /** The correctness checks to run; all of them when absent. */
  checks: z.array(checkName).min(1).optional(),
  /** Boots per correctness check (more to hunt a race). */
  checkReps: Count.default(1),
  /** Boots a check gets again after it failed or oopsed, so its verdict carries a rate. */
  checkReruns: z.number().int().nonnegative().default(3),
  /**
   * The kernel the correctness checks boot: the series' kernel built again
   * with kernel/sanitizer.config (KASAN, kmemleak, lockdep: a fault that does
   * not crash is reported where it happens), or the plain kernel the tables measure.
   */
  checkKernel: z.enum(["sanitizer", "plain"]).default("sanitizer"),
};

/** The guests and the host they share. */
const hostFields = {
  /** The accelerator; when absent a KVM probe decides. */
  accel: z.enum(ACCELERATORS).optional(),
  /**
   * How TCG maps a guest's vCPUs onto host threads. One thread for all
   * unless asked: with a thread per vCPU (QEMU 7.2) the JVM died in freshly
   * compiled code in 3 of 43 runs, with sharing off too; a user-space crash
   * the kernel did not cause is not a result.
   */
  tcgThread: z.enum(TCG_THREADS).default("single"),
  /** Guests at once for read-all boots; what the host's cores and memory allow when absent. */
  parallel: Count.optional(),
  /** Runtime boots beside other guests; when absent the accelerator decides (pipeline/scheduler.ts runtimeSideBySide). */
  runtimeShared: z.boolean().optional(),
};

/** Where this run of the job goes and what part of it it does. */
const runFields = {
  /** Only this part of the job's boots; the other parts run elsewhere and are merged. */
  shard: ShardSchema.optional(),
  /** Build the job's kernel, initramfs and images, write them here, and measure nothing. */
  export: z.string().optional(),
  /** Measure what an export wrote (checked by digest) instead of building. */
  artifacts: z.string().optional(),
  /** The run folder; else <outRoot or results>/<run-id>. */
  out: z.string().optional(),
  outRoot: z.string().optional(),
  /** The command line, as run.json records it. */
  command: z.array(z.string()).default([]),
};

export const JobSpecSchema = z.strictObject({ ...kernelFields, ...measureFields, ...hostFields, ...runFields });
/** A job as the pipeline receives it: every default filled in. */
export type JobSpec = z.output<typeof JobSpecSchema>;
/** A job as the command line or a matrix gives it: what they name, nothing more. */
export type JobInput = z.input<typeof JobSpecSchema>;

/** Every default, for help texts. */
export const JOB_DEFAULTS: JobSpec = JobSpecSchema.parse({});

/** A job with its defaults; `source` names where it came from in errors. */
export function resolveJob(input: JobInput, source: string): JobSpec {
  const r = JobSpecSchema.safeParse(input);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`).join("; ");
    throw new BenchError(`${source}: ${issues}`, "see --help for what each option takes");
  }
  return r.data;
}

/** The keys a job of nightly.yaml sets: the tree and what is measured. */
export const MATRIX_JOB_KEYS = [
  "series",
  "profile",
  "kernelSrc",
  "baseRef",
  "kernelSrcExclude",
  "mbox",
  "lock",
  "workloads",
  "phases",
  "modes",
  "paths",
  "reps",
  "fixedReps",
  "quick",
] as const;
/** Of those, the ones naming the job's kernel: a job's own, which the command line does not override. */
export const TREE_KEYS = ["series", "profile", "kernelSrc", "baseRef", "kernelSrcExclude", "mbox"] as const;

/** run.json's plan: what a run measured (absent fields: runs made before they were recorded). */
export const PlanSchema = z.object({
  workloads: z.array(z.string()),
  modes: z.array(z.enum(MODES)),
  paths: z.array(z.enum(ACCESS_PATHS)),
  reps: z.number().int(),
  /** Every cell got exactly reps boots; otherwise reps is the cap and `repetitions` says what each group got. */
  fixedReps: z.boolean().optional(),
  phases: z.array(z.enum(PHASES)),
  quick: z.boolean(),
  digest: Digest,
  /** The correctness checks asked for (all of them when absent). */
  checks: z.array(z.string()).optional(),
  /** Boots per check, and boots again after a check failed. */
  checkReps: z.number().int().optional(),
  checkReruns: z.number().int().optional(),
});
export type Plan = z.infer<typeof PlanSchema>;

/** The plan a job records; a run of your own pair names it "images". */
export function planOf(job: JobSpec): Plan {
  return {
    workloads: job.images ? ["images"] : job.workloads,
    modes: job.modes,
    paths: job.paths,
    reps: job.reps,
    fixedReps: job.fixedReps,
    phases: job.phases,
    quick: job.quick,
    digest: job.digest,
    checks: job.checks,
    checkReps: job.checkReps,
    checkReruns: job.checkReruns,
  };
}
