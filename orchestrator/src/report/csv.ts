import { stringify } from "csv-stringify/sync";
import type { RunRecord } from "../record/runRecord.js";

export function renderCsv(run: RunRecord): string {
  const readall = run.cells.map((c) => {
    const comp = run.comparisons.find((x) => x.workload === c.workload && x.path === c.path);
    return {
      workload: c.workload,
      phase: c.phase,
      path: c.path,
      mode: c.mode,
      reps: c.afterB.n,
      after_a_mib_median: c.afterA.median.toFixed(2),
      after_a_mib_min: c.afterA.min.toFixed(2),
      after_a_mib_max: c.afterA.max.toFixed(2),
      after_b_mib_median: c.afterB.median.toFixed(2),
      after_b_mib_min: c.afterB.min.toFixed(2),
      after_b_mib_max: c.afterB.max.toFixed(2),
      expected_after_b_mib: c.expectedAfterB.toFixed(2),
      reduction_pct: c.reductionPct === undefined ? "" : c.reductionPct.toFixed(1),
      expected_reduction_pct: comp ? comp.expectedReductionPct.toFixed(1) : "",
      memory_basis: "page cache growth (Cached - Shmem)",
      accel: run.accel?.accel ?? "",
    };
  });
  const runtime = run.runtimeCells.map((c) => ({
    workload: c.workload,
    phase: "runtime",
    path: "",
    mode: c.mode,
    reps: c.memory.n,
    after_a_mib_median: "",
    after_a_mib_min: "",
    after_a_mib_max: "",
    after_b_mib_median: c.memory.median.toFixed(2),
    after_b_mib_min: c.memory.min.toFixed(2),
    after_b_mib_max: c.memory.max.toFixed(2),
    expected_after_b_mib: "",
    reduction_pct: c.reductionPct === undefined ? "" : c.reductionPct.toFixed(1),
    expected_reduction_pct: "",
    memory_basis: run.runtimeBasis,
    accel: run.accel?.accel ?? "",
  }));
  return stringify([...readall, ...runtime], { header: true });
}
