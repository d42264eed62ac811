import { failedChecks } from "../analysis/correctnessVerdicts.js";
import { failedCells } from "../analysis/failures.js";
import type { RunRecord } from "../record/runRecord.js";
import { renderCoverLetter } from "../report/coverLetter.js";

/** The --json summary of a run: where it is, what it measured, what went wrong. */
export function runSummary(dir: string, r: RunRecord): object {
  return {
    runDir: dir,
    runJson: `${dir}/run.json`,
    status: r.status,
    series: r.series.name,
    kernel: r.kernel?.release,
    accel: r.accel?.accel,
    comparisons: r.comparisons.map((c) => ({
      workload: c.workload,
      path: c.path,
      offMiB: c.off?.afterB.median,
      onMiB: c.on?.afterB.median,
      splitMiB: c.split?.afterB.median,
      reductionPct: c.reductionPct,
      expectedReductionPct: c.expectedReductionPct,
      efficiencyPct: c.efficiencyPct,
      splitShared: c.splitShared,
      noisy: c.noisy,
    })),
    runtime: r.runtimeCells.map((c) => ({
      workload: c.workload,
      mode: c.mode,
      memoryMiB: c.memory.median,
      pageCacheMiB: c.pageCache.median,
      reductionPct: c.reductionPct,
      failures: c.failures.length,
      load: c.load.map((l) => ({
        container: l.container,
        step: l.step,
        throughput: l.throughput.median,
        unit: l.unit,
      })),
    })),
    runtimeBasis: r.runtimeBasis,
    correctness: r.correctness.map((c) => ({
      workload: c.workload,
      name: c.name,
      result: c.result,
      reason: c.reason,
      ms: c.ms,
      wallMs: c.wallMs,
    })),
    failedChecks: failedChecks(r).length,
    failedCells: failedCells(r).map((f) => ({
      workload: f.workload,
      where: f.where,
      count: f.count,
      of: f.of,
      first: f.first,
    })),
    warnings: r.warnings,
  };
}

/** The run's folder, its tables and its warnings, for a terminal. */
export function printRun(dir: string, r: RunRecord): void {
  process.stdout.write(`\nresults: ${dir}\n\n`);
  if (r.cells.length || r.runtimeCells.length || r.correctness.length) process.stdout.write(renderCoverLetter(r));
  for (const w of r.warnings) process.stdout.write(`warning: ${w}\n`);
}
