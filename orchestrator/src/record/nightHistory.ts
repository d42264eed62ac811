import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { RunComparisonSchema } from "../analysis/compareRuns.js";
import { BisectHintSchema } from "../analysis/bisectHint.js";
import { loadRunRecord, RUN_STATUSES, type RunRecord } from "./runRecord.js";

/**
 * The files nightly leaves in a history folder: nightly.json beside each
 * night's run.json, one line per night in <history>/nightly.jsonl, and a
 * night of the matrix's summary in <history>/nights/. The nightly writes
 * them and the history views read them, through these schemas.
 */

/** nightly.json: the verdict each nightly run leaves in its folder beside run.json. */
export const NightlyVerdictSchema = z.object({
  regressions: z.number().int(),
  baseline: z.string().nullable(),
  note: z.string().nullable(),
  comparison: RunComparisonSchema.nullable(),
  /** For each regressed row a bisection can judge: the command that finds the commit (and where it ran, with --auto-bisect). */
  bisect: z.array(BisectHintSchema).default([]),
  /** What moved in the images since the baseline ("redis B: redis-server 7.0.15-1~deb12u7 -> ..."): those rows were not judged. */
  imagesMoved: z.array(z.string()).default([]),
  unjudged: z.number().int().default(0),
});
export type NightlyVerdict = z.infer<typeof NightlyVerdictSchema>;

/** One line of <history>/nightly.jsonl per night. */
export const NightLineSchema = z.object({
  runId: z.string(),
  startedAt: z.string(),
  status: z.enum(RUN_STATUSES),
  kernel: z.string().nullable(),
  baseline: z.string().nullable(),
  regressions: z.number().int(),
  /** Sides whose images moved since the baseline (their rows were not judged). */
  imagesMoved: z.array(z.string()).default([]),
});

/** What one job of a night of the matrix did. */
const NightJobSchema = z.object({
  job: z.string(),
  status: z.enum(["complete", "failed", "interrupted", "running", "skipped", "error"]),
  reason: z.string().optional(),
  runDir: z.string().optional(),
  regressions: z.number().int(),
  failedBoots: z.number().int(),
  baseline: z.string().nullable(),
  /** Sides whose images moved since the job's baseline: their rows were not judged, never counted as regressions. */
  imagesMoved: z.array(z.string()).default([]),
});
export type NightJob = z.infer<typeof NightJobSchema>;

/** <history>/nights/<night>.json: the night's summary over every job of the matrix. */
export const NightSummarySchema = z.object({
  night: z.string(),
  matrix: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  jobs: z.array(NightJobSchema),
  regressions: z.number().int(),
  exitStatus: z.number().int(),
});
export type NightSummary = z.infer<typeof NightSummarySchema>;

/** One night of a history folder: its run record and, once judged, its verdict. */
export interface Night {
  /** The folder's name in the history folder (the run id, as nightly names it). */
  folder: string;
  dir: string;
  run: RunRecord;
  verdict: NightlyVerdict | null;
}

const firstIssue = (e: z.ZodError) => `${e.issues[0]?.path.join(".") || "(top)"}: ${e.issues[0]?.message}`;

/** A night's nightly.json; null when there is none, a reason when it cannot be read. */
async function readVerdict(dir: string): Promise<{ verdict: NightlyVerdict | null; problem?: string }> {
  let text: string;
  try {
    text = await readFile(path.join(dir, "nightly.json"), "utf8");
  } catch {
    // not judged yet (the night is running, or died before its verdict)
    return { verdict: null };
  }
  try {
    const parsed = NightlyVerdictSchema.safeParse(JSON.parse(text));
    return parsed.success ? { verdict: parsed.data } : { verdict: null, problem: firstIssue(parsed.error) };
  } catch (e) {
    return { verdict: null, problem: (e as Error).message };
  }
}

/**
 * Every night in a history folder, oldest first. A folder without run.json
 * is not a night (screenshots, notes kept beside the nights). A run.json
 * that is not a run record of this version is passed over with a note, and
 * so is a nightly.json that does not parse (the night stays, unjudged);
 * nightly.jsonl lines without a readable folder are noted too, which names a
 * night whose run.json went missing.
 */
export async function loadHistory(historyDir: string): Promise<{ nights: Night[]; notes: string[] }> {
  const notes: string[] = [];
  const nights: Night[] = [];
  const entries = await readdir(historyDir, { withFileTypes: true }).catch((e: Error) => {
    notes.push(`cannot read ${historyDir}: ${e.message}`);
    return [];
  });
  for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const dir = path.join(historyDir, e.name);
    if (
      !(await stat(path.join(dir, "run.json")).then(
        () => true,
        () => false,
      ))
    )
      continue;
    let run: RunRecord;
    try {
      run = await loadRunRecord(dir);
    } catch (err) {
      notes.push(`${e.name}: skipped: ${(err as Error).message}`);
      continue;
    }
    const { verdict, problem } = await readVerdict(dir);
    if (problem) notes.push(`${e.name}: nightly.json ignored (${problem})`);
    nights.push({ folder: e.name, dir, run, verdict });
  }
  const loaded = new Set(nights.map((n) => n.run.runId));
  const jsonl = await readFile(path.join(historyDir, "nightly.jsonl"), "utf8").catch(() => "");
  for (const line of jsonl.split("\n").filter((l) => l.trim())) {
    let parsed: ReturnType<typeof NightLineSchema.safeParse> | null = null;
    try {
      parsed = NightLineSchema.safeParse(JSON.parse(line));
    } catch {
      // a torn or hand-edited line: noted below like any other that does not parse
    }
    if (!parsed?.success) notes.push(`nightly.jsonl: a line that is not a night record: ${line.slice(0, 80)}`);
    else if (!loaded.has(parsed.data.runId))
      notes.push(`nightly.jsonl lists ${parsed.data.runId}, which has no readable folder`);
  }
  nights.sort((a, b) => a.run.startedAt.localeCompare(b.run.startedAt) || a.run.runId.localeCompare(b.run.runId));
  return { nights, notes };
}
