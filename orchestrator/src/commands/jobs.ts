import { plannedJobs } from "../record/matrix.js";
import { EXIT } from "../util/exitStatus.js";
import { addJsonOption, Verb } from "./verb.js";

/** The jobs of a matrix, and whether each can run here (the workflow plans its jobs from the JSON). */
async function jobsCommand(matrix: string, only: string | undefined, json: boolean): Promise<number> {
  const jobs = (await plannedJobs(matrix, only)).map((p) => ({
    name: p.job.name,
    kind: p.job.kind,
    series: p.job.series,
    ...(p.skipped ? { skipped: p.skipped } : {}),
  }));
  process.stdout.write(
    json
      ? JSON.stringify(jobs) + "\n"
      : jobs
          .map(
            (j) =>
              `${j.name}: ${j.skipped ? `skipped (${j.skipped})` : `${j.kind === "bench" ? "" : `${j.kind}, `}series ${j.series}`}`,
          )
          .join("\n") + "\n",
  );
  return EXIT.ok;
}

/** `jobs --matrix FILE`. */
export function jobsVerb(): Verb {
  const v = new Verb("jobs")
    .summary("list the jobs of a matrix and whether each can run here")
    .description(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: ${VARIABLE} is the matrix's own syntax, shown as written
      "List the jobs of a nightly matrix and whether each can run here (a job whose ${VARIABLE} is not set is skipped, and says why).",
    )
    .requiredOption("--matrix <file>", "the nightly matrix (nightly.yaml)")
    .option("--job <name>", "only this job") as Verb;
  addJsonOption(v);
  return v.runs(async (_args, o: { matrix: string; job?: string; json?: boolean }) =>
    jobsCommand(o.matrix, o.job, Boolean(o.json)),
  );
}
