import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { BenchError } from "../util/errors.js";
import { strictObject } from "../util/schema.js";
import { parseYamlWith } from "../util/yamlFile.js";
import { JobSpecSchema, MATRIX_JOB_KEYS, resolveJob, TREE_KEYS, type JobInput, type JobSpec } from "./jobSpec.js";

/**
 * The nightly matrix (nightly.yaml): the jobs a night runs, each a series on
 * its base with its workloads, phases and repetitions, written as the keys
 * of a job spec (record/jobSpec.ts) with its defaults. A string may name an
 * environment variable as ${NAME}; a job whose variable is not set is
 * skipped with `needs` as the reason (a v6.19 tree, say), so one file serves
 * machines with and without a given tree.
 */
const jobKeys = JobSpecSchema.pick(
  Object.fromEntries(MATRIX_JOB_KEYS.map((k) => [k, true])) as { [K in (typeof MATRIX_JOB_KEYS)[number]]: true },
).shape;
const MatrixJobSchema = strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/),
  /** bench: a run judged against the job's last good night; known-answer: mainline and its kernel mutants judged as a matrix (npm run validate). */
  kind: z.enum(["bench", "known-answer"]).default("bench"),
  /** known-answer: only these mutants (all of them when absent). */
  mutants: z.array(z.string()).optional(),
  ...jobKeys,
  series: z.string(),
  /** Said when the job is skipped for want of a variable. */
  needs: z.string().optional(),
});
export type MatrixJob = z.infer<typeof MatrixJobSchema>;

const MatrixSchema = strictObject({ jobs: z.array(MatrixJobSchema).min(1) });

/** A job ready to run, or the reason it cannot run here. */
type PlannedJob = { job: MatrixJob; skipped?: string };

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
    throw new BenchError(
      `matrix ${file} cannot be read`,
      "pass --matrix FILE (the repository's nightly.yaml is the built-in one)",
    );
  });
  const matrix = parseYamlWith(
    MatrixSchema,
    text,
    file,
    "nightly matrix",
    "see the README, section Nightly and comparisons",
  );
  const names = matrix.jobs.map((j) => j.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice)
    throw new BenchError(
      `${file}: job ${twice} is listed twice`,
      "give every job its own name (it names its history folder)",
    );
  return matrix.jobs.map((j) => {
    const { job, unset } = expand(j, env);
    return unset.length ? { job, skipped: `${unset.join(", ")} not set${j.needs ? ` (${j.needs})` : ""}` } : { job };
  });
}

/**
 * A job of the matrix as a run's spec: its own keys (paths in it relative to
 * the matrix's folder), the command line's over them (`npm run nightly --
 * --reps 1`), defaults for the rest. The command line does not move a job to
 * another kernel: a job's tree is its own.
 */
export function matrixJobSpec(job: MatrixJob, matrixFile: string, cli: JobInput): JobSpec {
  const dir = path.dirname(path.resolve(matrixFile));
  const tree = TREE_KEYS.find((k) => cli[k] !== undefined);
  if (tree)
    throw new BenchError(
      `job ${job.name} of ${matrixFile} names its own kernel tree; ${tree} cannot be given for it`,
      `drop the option, or change the job in ${matrixFile}`,
    );
  const resolve = (p: string | undefined) => (p ? path.resolve(dir, p) : undefined);
  const own: JobInput = Object.fromEntries(MATRIX_JOB_KEYS.map((k) => [k, job[k]]));
  return resolveJob(
    {
      ...own,
      series: job.series.endsWith(".yaml") ? path.resolve(dir, job.series) : job.series,
      kernelSrc: resolve(job.kernelSrc),
      mbox: resolve(job.mbox),
      lock: resolve(job.lock),
      ...cli,
    },
    `job ${job.name} of ${matrixFile}`,
  );
}

/** The jobs of a matrix (or the one `only` names), with the reason of each that cannot run here. */
export async function plannedJobs(matrix: string, only?: string): Promise<PlannedJob[]> {
  const planned = await loadMatrix(matrix);
  if (!only) return planned;
  const one = planned.filter((p) => p.job.name === only);
  if (!one.length)
    throw new BenchError(`no job "${only}" in ${matrix}`, `use one of: ${planned.map((p) => p.job.name).join(", ")}`);
  return one;
}
