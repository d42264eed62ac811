import type { RunRecord } from "../record/runRecord.js";
import { fmtElapsed } from "../util/progress.js";

/** One run's figures for the parallel benchmark: wall times against the guests' own work. */
export interface ParallelFigures {
  parallel: number;
  boots: number;
  runWallMs: number;
  phaseWallMs: number;
  bootWallSumMs: number;
}

export function figuresOf(parallel: number, r: RunRecord, runWallMs: number): ParallelFigures {
  const phase = r.stageTimes.filter((t) => t.stage.endsWith("phase (all boots)")).reduce((s, t) => s + t.seconds * 1000, 0);
  const boots = [...r.boots.map((b) => b.wallMs), ...r.runtime.map((m) => m.wallMs)];
  return { parallel, boots: boots.length, runWallMs, phaseWallMs: phase, bootWallSumMs: boots.reduce((s, x) => s + x, 0) };
}

/** 1.00 in the last columns means nothing overlapped; 0.50 that two guests worked side by side all along. */
export function renderParallelTable(rows: ParallelFigures[]): string {
  const lines = [
    "parallel  boots  run wall   boot phases wall  sum of boot walls  phases / guest work  run / guest work",
    ...rows.map((r) =>
      [
        String(r.parallel).padEnd(8),
        String(r.boots).padEnd(5),
        fmtElapsed(r.runWallMs).padEnd(9),
        fmtElapsed(r.phaseWallMs).padEnd(16),
        fmtElapsed(r.bootWallSumMs).padEnd(17),
        (r.phaseWallMs / r.bootWallSumMs).toFixed(2).padEnd(19),
        (r.runWallMs / r.bootWallSumMs).toFixed(2),
      ].join("  "),
    ),
  ];
  return lines.join("\n") + "\n";
}
