import { appendFile, readFile } from "node:fs/promises";
import path from "node:path";
import { deriveResults } from "../analysis/results.js";
import { loadRunRecord, RunRecordSchema, type RunRecord } from "../record/runRecord.js";
import { renderCoverLetter } from "../report/coverLetter.js";
import { RawSampleSchema, type RawSample } from "../guest/readAll.js";
import { renderCsv } from "../report/csv.js";
import { renderSamplesCsv } from "../report/samples.js";
import { renderRunHtml } from "../report/html/runPage.js";
import { renderMarkdown } from "../report/markdown.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/fsx.js";

/**
 * A run's folder: run.json and the reports rendered from it, rewritten
 * atomically together after every step, so a run that dies keeps what it
 * measured and its reports say the same as its record.
 */
export class RunFolder {
  private saving: Promise<void> = Promise.resolve();

  constructor(
    readonly dir: string,
    readonly record: RunRecord,
  ) {}

  get runJson(): string {
    return path.join(this.dir, "run.json");
  }

  /** run.json (checked against its schema first: a reader must be able to parse what is written) and the reports. */
  save(): Promise<void> {
    // work that runs side by side saves one after another, so an older state never lands last
    const next = this.saving.then(() => this.write());
    this.saving = next.catch(() => undefined);
    return next;
  }

  private async write(): Promise<void> {
    RunRecordSchema.parse(this.record);
    await writeJsonAtomic(this.runJson, this.record);
    await writeReports(this.dir, this.record);
  }

  async appendSamples(lines: unknown[]): Promise<void> {
    await appendFile(path.join(this.dir, "samples.jsonl"), lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
  }
}

/**
 * The run folder's samples.jsonl (every reading the guests sent, settling
 * included); a line that is not a reading (a torn last line of a killed run)
 * is passed over, as the readings are an addition to run.json, not its source.
 */
async function readRawSamples(dir: string): Promise<RawSample[]> {
  const text = await readFile(path.join(dir, "samples.jsonl"), "utf8").catch(() => "");
  return text.split("\n").flatMap((line) => {
    if (!line.trim()) return [];
    try {
      const parsed = RawSampleSchema.safeParse(JSON.parse(line));
      return parsed.success ? [parsed.data] : [];
    } catch {
      return [];
    }
  });
}

/** cover-letter.txt, results.csv, samples.csv, report.md and report.html of a run record. */
export async function writeReports(dir: string, run: RunRecord): Promise<void> {
  if (run.cells.length || run.runtimeCells.length || run.correctness.length) {
    await writeFileAtomic(path.join(dir, "cover-letter.txt"), renderCoverLetter(run));
    await writeFileAtomic(path.join(dir, "results.csv"), renderCsv(run));
  }
  if (run.boots.length || run.failedBoots.length || run.runtime.length) {
    await writeFileAtomic(path.join(dir, "samples.csv"), renderSamplesCsv(run, await readRawSamples(dir)));
  }
  await writeFileAtomic(path.join(dir, "report.md"), renderMarkdown(run));
  await writeFileAtomic(path.join(dir, "report.html"), renderRunHtml(run));
}

/**
 * The reports of an earlier run, rendered again from its raw boots by this
 * version of the tool. run.json itself is never rewritten: it is the record
 * a nightly compares against.
 */
export async function rerenderReports(dir: string): Promise<RunRecord> {
  const r = await loadRunRecord(dir);
  Object.assign(r, deriveResults(r));
  await writeReports(dir, r);
  return r;
}

export function newRunId(now = new Date()): string {
  const ts = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${ts}-${Math.random().toString(36).slice(2, 6)}`;
}
