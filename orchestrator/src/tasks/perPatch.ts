import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { rowFigures, type PerPatchRow } from "../analysis/perPatchRows.js";
import { RESULT_NAMES } from "../guest/checks.js";
import { ACCESS_PATHS } from "../guest/modes.js";
import { loadSeries } from "../kernel/series.js";
import { PER_PATCH_SCHEMA, PerPatchRecordSchema, type PerPatchRecord } from "../record/perPatchRecord.js";
import { renderPerPatchMarkdown, renderPerPatchText } from "../report/perPatchText.js";
import { renderPerPatchHtml } from "../report/html/perPatchPage.js";
import { BenchError, describeError } from "../util/errors.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/fsx.js";
import { fmtElapsed, Progress } from "../util/progress.js";
import { CHECKS_WORKLOAD } from "../pipeline/buildArtefacts.js";
import { UnusableCommit } from "../pipeline/buildKernels.js";
import type { JobInput, JobSpec } from "../record/jobSpec.js";
import { runBench } from "../pipeline/run.js";
import { checksPairRun } from "../pipeline/taskRuns.js";
import type { RunFolder } from "../pipeline/runFolder.js";

/**
 * A series measured patch by patch: for k = 1..N its first k patches (with
 * its fixups where they still fit), each built on the whole series' build
 * so that only what differs recompiles, and measured with a slice of the
 * job (the checks' pair: read-all on every path and mode, one boot each, and
 * every correctness check). A prefix that does not build, or lacks the
 * feature, is a row that says so. Run again with the same --out, a sweep
 * keeps the rows it has and measures the rest.
 */
/** What a per-patch sweep does unless told otherwise: one more boot for a failing check. */
export const PER_PATCH_DEFAULTS: JobInput = { checkReruns: 1 };

export async function runPerPatch(
  bench: JobSpec,
  out: string,
  progress: Progress,
  onFolder?: (f: RunFolder) => void,
): Promise<PerPatchRecord> {
  const spec = await loadSeries(bench.series);
  if (spec.base.kind !== "git" || !spec.patches)
    throw new BenchError(
      `series ${spec.name} has no patches to measure one by one`,
      "per-patch goes with a mailed series (--series v8)",
    );
  const dir = path.resolve(out);
  await mkdir(dir, { recursive: true });
  progress.setLogFile(path.join(dir, "progress.log"));
  const file = path.join(dir, "per-patch.json");
  const earlier = await readFile(file, "utf8").then(
    (t) => PerPatchRecordSchema.safeParse(JSON.parse(t)),
    () => null,
  );
  const kept =
    earlier?.success && earlier.data.series === spec.name ? earlier.data.rows.filter((r) => r.status !== "failed") : [];
  const record: PerPatchRecord = {
    schema: PER_PATCH_SCHEMA,
    status: "running",
    startedAt: new Date().toISOString(),
    command: bench.command,
    series: spec.name,
    title: spec.title,
    workload: CHECKS_WORKLOAD,
    paths: [...ACCESS_PATHS],
    checks: [...RESULT_NAMES],
    rows: [],
    wallSeconds: 0,
  };
  const save = async () => {
    record.rows.sort((a, b) => a.index - b.index);
    PerPatchRecordSchema.parse(record);
    await writeJsonAtomic(file, record);
    await writeFileAtomic(path.join(dir, "per-patch.md"), renderPerPatchMarkdown(record));
    await writeFileAtomic(path.join(dir, "per-patch.txt"), renderPerPatchText(record));
    await writeFileAtomic(path.join(dir, "per-patch.html"), renderPerPatchHtml(record));
  };
  const t0 = Date.now();
  let done = 0;
  for (let k = 1; k <= spec.patches; k++) {
    const old = kept.find((r) => r.index === k);
    if (old) {
      record.rows.push(old);
      progress.info(`per patch ${k}/${spec.patches}: kept from the earlier sweep (${old.status})`);
      continue;
    }
    const left = done ? ` (~${fmtElapsed(((Date.now() - t0) / done) * (spec.patches - k + 1))} left)` : "";
    progress.info(`per patch ${k}/${spec.patches}${left}`);
    const runDir = path.join(dir, `patch-${String(k).padStart(2, "0")}`);
    const row: PerPatchRow = {
      index: k,
      total: spec.patches,
      subject: "",
      status: "measured",
      runDir,
      paths: {},
      checks: {},
    };
    try {
      const folder = await runBench(
        { ...checksPairRun(bench, runDir), prefix: k < spec.patches ? k : undefined },
        new Progress(),
        onFolder,
      );
      const rec = folder.record;
      const patch = rec.kernel?.apply?.patches[k - 1];
      Object.assign(row, {
        subject: patch?.subject ?? "",
        commit: patch?.commit,
        compiled: rec.kernel?.variant?.compiled.length,
        buildSeconds: rec.kernel?.variant?.buildSeconds,
      });
      record.baseBuildKey ??= rec.kernel?.variant?.baseBuildKey ?? rec.kernel?.buildKey;
      record.baseBuildSeconds ??= rec.kernel?.build?.buildSeconds;
      Object.assign(row, rowFigures(rec, CHECKS_WORKLOAD, ACCESS_PATHS));
      if (rec.status !== "complete") Object.assign(row, { status: "failed", reason: rec.error ?? rec.status });
    } catch (e) {
      if (e instanceof UnusableCommit) {
        Object.assign(row, {
          subject: e.record.label.replace(/^patch \d+\/\d+: /, ""),
          commit: e.record.commit,
          status: e.reason,
          reason: e.detail,
          buildSeconds: e.record.buildSeconds,
          compiled: e.record.compiled.length,
        });
      } else {
        Object.assign(row, { status: "failed", reason: describeError(e).split("\n")[0] });
      }
    }
    progress.info(
      `  patch ${k}/${spec.patches} ${row.subject}: ${
        row.status === "measured"
          ? Object.entries(row.paths)
              .map(([p, s]) => `${p} ${s.state}`)
              .join(", ")
          : `${row.status}${row.reason ? `: ${row.reason.split("\n")[0]}` : ""}`
      }`,
    );
    record.rows.push(row);
    record.wallSeconds = Math.round((Date.now() - t0) / 1000) + (earlier?.success ? earlier.data.wallSeconds : 0);
    done++;
    await save();
  }
  record.status = "complete";
  record.finishedAt = new Date().toISOString();
  await save();
  return record;
}
