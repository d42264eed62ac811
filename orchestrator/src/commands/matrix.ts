import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { ACCESS_PATHS, MODES, PHASES } from "../guest/modes.js";
import type { BenchOptions } from "../pipeline/options.js";
import { BenchError } from "../util/errors.js";
import { strictObject } from "../util/schema.js";
import { parseYamlWith } from "../util/yamlFile.js";

/**
 * The nightly matrix (nightly.yaml): the jobs a night runs, each a series on
 * its base with its workloads, phases and repetitions. A string may name an
 * environment variable as ${NAME}; a job whose variable is not set is
 * skipped with `needs` as the reason (a v6.19 tree, say), so one file serves
 * machines with and without a given tree.
 */
const MatrixJobSchema = strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/),
  /** bench: a run judged against the job's last good night; known-answer: mainline and its kernel mutants judged as a matrix (npm run validate). */
  kind: z.enum(["bench", "known-answer"]).default("bench"),
  /** known-answer: only these mutants (all of them when absent). */
  mutants: z.array(z.string()).optional(),
  series: z.string(),
  /** A developer's own tree: the series spec whose feature symbol, image profile and mount options apply. */
  profile: z.string().optional(),
  kernelSrc: z.string().optional(),
  baseRef: z.string().optional(),
  kernelSrcExclude: z.array(z.string()).default([]),
  mbox: z.string().optional(),
  workloads: z.array(z.string()).min(1).default(["synthetic", "redis", "postgres", "nginx"]),
  phases: z.array(z.enum(PHASES)).min(1).default([...PHASES]),
  modes: z.array(z.enum(MODES)).min(1).default([...MODES]),
  paths: z.array(z.enum(ACCESS_PATHS)).min(1).default([...ACCESS_PATHS]),
  reps: z.number().int().positive().default(3),
  quick: z.boolean().default(false),
  /** Said when the job is skipped for want of a variable. */
  needs: z.string().optional(),
});
export type MatrixJob = z.infer<typeof MatrixJobSchema>;

export const MatrixSchema = strictObject({ jobs: z.array(MatrixJobSchema).min(1) });

/** A job ready to run, or the reason it cannot run here. */
export type PlannedJob = { job: MatrixJob; skipped?: string };

/**
 * ${NAME} from the environment in every string of a job (the names that are
 * not set are returned); ${NAME:-default} falls back instead. A string that
 * ends up empty is as if the key were not there.
 */
function expand(job: MatrixJob, env: NodeJS.ProcessEnv): { job: MatrixJob; unset: string[] } {
  const unset: string[] = [];
  const fill = (s: string) =>
    s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== "") return v;
      if (fallback !== undefined) return fallback;
      unset.push(name);
      return "";
    });
  const out = JSON.parse(JSON.stringify(job), (_k, v: unknown) => {
    if (typeof v === "string") return fill(v) || undefined;
    return Array.isArray(v) ? v.filter((x) => x !== undefined && x !== null) : v;
  }) as MatrixJob;
  return { job: { ...out, name: job.name, series: fill(job.series) }, unset: [...new Set(unset)] };
}

export async function loadMatrix(file: string, env: NodeJS.ProcessEnv = process.env): Promise<PlannedJob[]> {
  const text = await readFile(file, "utf8").catch(() => {
    throw new BenchError(`matrix ${file} cannot be read`, "pass --matrix FILE (the repository's nightly.yaml is the built-in one)");
  });
  const matrix = parseYamlWith(MatrixSchema, text, file, "nightly matrix", "see the README, section Nightly and comparisons");
  const names = matrix.jobs.map((j) => j.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new BenchError(`${file}: job ${twice} is listed twice`, "give every job its own name (it names its history folder)");
  return matrix.jobs.map((j) => {
    const { job, unset } = expand(j, env);
    return unset.length ? { job, skipped: `${unset.join(", ")} not set${j.needs ? ` (${j.needs})` : ""}` } : { job };
  });
}

/** A job as the options of one run; `base` carries what the command line adds (thresholds, accelerator, --parallel, overrides). */
export function jobOptions(job: MatrixJob, base: BenchOptions, matrixDir: string): BenchOptions {
  const resolve = (p: string | undefined) => (p ? path.resolve(matrixDir, p) : undefined);
  return {
    ...base,
    series: job.series.endsWith(".yaml") ? path.resolve(matrixDir, job.series) : job.series,
    profile: job.profile,
    kernelSrc: resolve(job.kernelSrc),
    baseRef: job.baseRef,
    kernelSrcExclude: job.kernelSrcExclude,
    mbox: resolve(job.mbox),
    workloads: job.workloads,
    phases: job.phases,
    modes: job.modes,
    paths: job.paths,
    reps: job.reps,
    quick: job.quick,
  };
}
