import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { JobSpec } from "../record/jobSpec.js";
import { runBench } from "../pipeline/run.js";
import type { RunFolder } from "../pipeline/runFolder.js";
import { Progress, fmtElapsed } from "../util/progress.js";
import { EXIT } from "../util/exitStatus.js";
import { exitOnInterrupt } from "../pipeline/interrupt.js";
import { BenchError } from "../util/errors.js";
import { addJobOptions, addMatrixOptions, BUILD_OPTIONS, jobInput, matrixJob, MEASURE_OPTIONS, PAIR_OPTIONS, specOf, TREE_OPTIONS } from "./jobOptions.js";
import { commaList, positiveInt, Verb } from "./verb.js";

/** One run's figures for the comparison: wall times against the guests' own work. */
export interface ParallelFigures {
  parallel: number;
  boots: number;
  runWallMs: number;
  phaseWallMs: number;
  bootWallSumMs: number;
}

export function figuresOf(parallel: number, folder: RunFolder, runWallMs: number): ParallelFigures {
  const r = folder.record;
  const phase = r.stageTimes.filter((t) => t.stage.endsWith("phase (all boots)")).reduce((s, t) => s + t.seconds * 1000, 0);
  const boots = [...r.boots.map((b) => b.wallMs), ...r.runtime.map((m) => m.wallMs)];
  return { parallel, boots: boots.length, runWallMs, phaseWallMs: phase, bootWallSumMs: boots.reduce((s, x) => s + x, 0) };
}

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

/**
 * --measure-parallel 1,2: the same job once per guest count, each into its
 * own folder, then wall time against the sum of the boots' own wall times
 * (1.00 means nothing overlapped; 0.50 means two guests worked side by side
 * all along). A benchmark: it prints figures and judges nothing.
 */
export async function measureParallelCommand(opts: JobSpec, counts: number[]): Promise<number> {
  let folder: RunFolder | undefined;
  exitOnInterrupt(() => folder);
  const root = await mkdtemp(path.join(os.tmpdir(), "esb-parallel-"));
  const rows: ParallelFigures[] = [];
  for (const parallel of counts) {
    const t0 = Date.now();
    folder = await runBench({ ...opts, parallel, out: path.join(root, `parallel-${parallel}`) }, new Progress(), (f) => (folder = f));
    rows.push(figuresOf(parallel, folder, Date.now() - t0));
    process.stderr.write(`parallel ${parallel}: ${folder.dir}\n`);
  }
  process.stdout.write(renderParallelTable(rows));
  return EXIT.ok;
}

/** `measure-parallel 1,2`: the job once per guest count. */
export function measureParallelVerb(argv: string[]): Verb {
  const v = new Verb("measure-parallel")
    .summary("benchmark: measure the job once per guest count, wall time against the boots' own work")
    .description("Benchmark: measure the job once per guest count (each into a folder of its own) and print wall time against the boots' own work.")
    .argument("<counts>", "guest counts, comma-separated (1,2)", (value: string) => commaList(value).map(positiveInt)) as Verb;
  addJobOptions(v, [...TREE_OPTIONS, ...BUILD_OPTIONS, ...PAIR_OPTIONS, ...MEASURE_OPTIONS, "accel", "tcgThread", "runtimeShared"]);
  addMatrixOptions(v, "with --job, measure that job");
  return v.runs(async ([counts], o: { matrix?: string; job?: string }) => {
    const job = await matrixJob(o);
    if (job?.kind === "known-answer") throw new BenchError(`job ${job.name} is a known-answer run: it builds and measures its mutants in one go`, `npm run bench -- run --matrix ${o.matrix} --job ${job.name}`);
    return measureParallelCommand(specOf(jobInput(v, argv), job, o.matrix), counts as number[]);
  });
}
