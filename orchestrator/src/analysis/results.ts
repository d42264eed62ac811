import type { BootMeasurement } from "../guest/readAll.js";
import { buildCells, compare, type Cell, type Comparison } from "./cells.js";
import { buildRuntimeCells, type RuntimeCell, type RuntimeInput } from "./runtimeCells.js";
import type { SharingAnalysis } from "./sharing.js";

/** What the results are made from: a run record's workloads and raw boots. */
interface ResultSource {
  workloads: Array<{ name: string; sharing: SharingAnalysis }>;
  boots: BootMeasurement[];
  runtime: RuntimeInput[];
}

interface Results {
  cells: Cell[];
  comparisons: Comparison[];
  runtimeCells: RuntimeCell[];
}

/**
 * A run's cells and comparisons, from its raw boots alone: the run while it
 * measures, a merge of shards and a report of an old run all compute them
 * here, so they cannot disagree.
 */
export function deriveResults(r: ResultSource): Results {
  const analyses = new Map(r.workloads.map((w) => [w.name, w.sharing]));
  const cells = buildCells(r.boots, analyses);
  return { cells, comparisons: compare(cells, analyses), runtimeCells: buildRuntimeCells(r.runtime) };
}
