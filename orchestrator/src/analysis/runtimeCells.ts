import { z } from "zod";
import { MODES, type Mode } from "../guest/modes.js";
import { KIB_PER_MIB, stat, StatSchema } from "./stats.js";

/** What the runtime table shows per (workload, mode): memory, page cache and load figures over reps. */
export const RuntimeCellSchema = z.object({
  workload: z.string(),
  mode: z.enum(MODES),
  /** Sum of both containers' memory.current, MiB. */
  memory: StatSchema,
  /** Global page cache growth after both workloads ran, MiB. */
  pageCache: StatSchema,
  /** Each container's memory.stat file/anon/shmem, MiB medians. */
  file: StatSchema,
  anon: StatSchema,
  shmem: StatSchema,
  reductionPct: z.number().optional(),
  /** on vs split: the saving from sharing across images alone, with the sharing code path in both. */
  reductionVsSplitPct: z.number().optional(),
  failures: z.array(z.string()),
  /** What reading cost per boot: major faults, disk reads and MiB read from the image disks (medians). */
  io: z.object({ majorFaults: StatSchema, diskReads: StatSchema, diskReadMiB: StatSchema }).optional(),
  /** Median throughput per (container, step). */
  load: z.array(
    z.object({
      container: z.string(),
      step: z.string(),
      unit: z.string(),
      throughput: StatSchema,
      latencyAvgMs: StatSchema.optional(),
    }),
  ),
});
export type RuntimeCell = z.infer<typeof RuntimeCellSchema>;

export interface RuntimeInput {
  workload: string;
  mode: Mode;
  ok: boolean;
  failure?: string;
  memoryMiB?: number;
  pageCache: { afterBKiB: number };
  cgroups: {
    A?: { fileKiB: number; anonKiB: number; shmemKiB: number };
    B?: { fileKiB: number; anonKiB: number; shmemKiB: number };
  };
  load: Array<{
    container: string;
    step: string;
    throughput?: number;
    throughputUnit?: string;
    latencyMs?: { avg?: number };
  }>;
  io?: { majorFaults: number; diskReads: number; diskReadKiB: number };
}

export function buildRuntimeCells(ms: RuntimeInput[]): RuntimeCell[] {
  const keys = [...new Set(ms.map((m) => `${m.workload}\0${m.mode}`))];
  const cells: RuntimeCell[] = keys.map((k) => {
    const [workload, mode] = k.split("\0") as [string, Mode];
    const all = ms.filter((m) => m.workload === workload && m.mode === mode);
    const ok = all.filter((m) => m.ok);
    const sum = (f: (c: { fileKiB: number; anonKiB: number; shmemKiB: number }) => number) =>
      stat(ok.map((m) => ((m.cgroups.A ? f(m.cgroups.A) : 0) + (m.cgroups.B ? f(m.cgroups.B) : 0)) / KIB_PER_MIB));
    const steps = [
      ...new Set(
        ok.flatMap((m) => m.load.filter((l) => l.throughput !== undefined).map((l) => `${l.container}\0${l.step}`)),
      ),
    ];
    return {
      workload,
      mode,
      memory: stat(ok.map((m) => m.memoryMiB!).filter((v) => v !== undefined)),
      pageCache: stat(ok.map((m) => m.pageCache.afterBKiB / KIB_PER_MIB)),
      file: sum((c) => c.fileKiB),
      anon: sum((c) => c.anonKiB),
      shmem: sum((c) => c.shmemKiB),
      failures: all.filter((m) => !m.ok).map((m) => m.failure ?? "failed"),
      io: ok.some((m) => m.io)
        ? {
            majorFaults: stat(ok.flatMap((m) => (m.io ? [m.io.majorFaults] : []))),
            diskReads: stat(ok.flatMap((m) => (m.io ? [m.io.diskReads] : []))),
            diskReadMiB: stat(ok.flatMap((m) => (m.io ? [m.io.diskReadKiB / KIB_PER_MIB] : []))),
          }
        : undefined,
      load: steps.map((s) => {
        const [container, step] = s.split("\0") as [string, string];
        const figs = ok.flatMap((m) =>
          m.load.filter((l) => l.container === container && l.step === step && l.throughput !== undefined),
        );
        const lat = figs.map((f) => f.latencyMs?.avg).filter((v): v is number => v !== undefined);
        return {
          container,
          step,
          unit: figs[0]?.throughputUnit ?? "",
          throughput: stat(figs.map((f) => f.throughput!)),
          latencyAvgMs: lat.length ? stat(lat) : undefined,
        };
      }),
    };
  });
  for (const c of cells) {
    if (c.mode === "off") continue;
    const off = cells.find((o) => o.workload === c.workload && o.mode === "off");
    if (off?.memory.n && c.memory.n && off.memory.median > 0)
      c.reductionPct = ((off.memory.median - c.memory.median) / off.memory.median) * 100;
    const split = cells.find((o) => o.workload === c.workload && o.mode === "split");
    if (c.mode === "on" && split && split.memory.n && c.memory.n && split.memory.median > 0) {
      c.reductionVsSplitPct = ((split.memory.median - c.memory.median) / split.memory.median) * 100;
    }
  }
  return cells;
}
