import { mkdir } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { LoadStep, RuntimeSpec } from "../images/workloads.js";
import { figure } from "../util/schema.js";
import { initramfsWithJob } from "./initramfs.js";
import { containerScript, stepFile } from "./jobScript.js";
import { parsePgbench, parseRedisBenchmark, parseSysbench, parseWrk } from "./loadtools.js";
import { MODES, mountOptions, type Mode } from "./modes.js";
import { ioBetween, parseMemoryStat, readGuestReport, splatOf, type GuestReport } from "./protocol.js";
import { ACCELERATORS, type GuestMachine } from "./machine.js";
import { bootPastInit, EarlyHangSchema } from "./qemu.js";
import { RuntimeStepSchema, runtimeTiming } from "./runtimeTiming.js";

const CgroupMemorySchema = z.object({
  currentKiB: z.number(),
  fileKiB: z.number(),
  anonKiB: z.number(),
  shmemKiB: z.number(),
  fileMappedKiB: z.number(),
});
type CgroupMemory = z.infer<typeof CgroupMemorySchema>;

const LoadFigureSchema = z.object({
  container: z.enum(["A", "B"]),
  step: z.string(),
  tool: z.string(),
  throughput: z.number().optional(),
  throughputUnit: z.string().optional(),
  latencyMs: z
    .object({ avg: z.number().optional(), p50: z.number().optional(), p99: z.number().optional() })
    .optional(),
  error: z.string().optional(),
});
type LoadFigure = z.infer<typeof LoadFigureSchema>;

const IoSchema = z.object({
  majorFaults: z.number(),
  pgpginKiB: z.number(),
  diskReads: z.number(),
  diskReadKiB: z.number(),
});

/** What one runtime boot measured (or why its cell failed). */
export const RuntimeMeasurementSchema = z.object({
  workload: z.string(),
  mode: z.enum(MODES),
  rep: z.number().int(),
  accel: z.enum(ACCELERATORS),
  bootDir: z.string(),
  wallMs: z.number(),
  ok: z.boolean(),
  /** Why the cell failed: the container's status and the tail of its log. */
  failure: z.string().optional(),
  /** Page cache growth over the baseline after container A ran, then B; NaN when not sampled. */
  pageCache: z.object({ afterAKiB: figure, afterBKiB: figure }),
  cgroups: z.object({ A: CgroupMemorySchema.optional(), B: CgroupMemorySchema.optional() }),
  /** The figure the runtime table uses: the two containers' memory.current, summed. */
  memoryMiB: z.number().optional(),
  load: z.array(LoadFigureSchema),
  /** What reading cost from the baseline to the end (major faults, pages read in, disk reads). */
  io: IoSchema.optional(),
  /** A kernel WARNING (or oops the guest survived) during the boot. */
  kernelSplat: z.string().optional(),
  /** Boots that stalled before init and were started again. */
  earlyHangs: z.array(EarlyHangSchema).optional(),
  /** Where the boot's time went, step by step (absent in runs made before it was recorded). */
  timing: z.array(RuntimeStepSchema).optional(),
});
export type RuntimeMeasurement = z.infer<typeof RuntimeMeasurementSchema>;

export const RUNTIME_BASIS = "sum of both containers' memory.current (cgroup v2), after both workloads ran";

const PARSERS: Record<Exclude<LoadStep["parser"], "none">, (t: string) => ReturnType<typeof parseWrk>> = {
  "redis-benchmark": parseRedisBenchmark,
  pgbench: parsePgbench,
  wrk: parseWrk,
  sysbench: parseSysbench,
};

function cgroupOf(report: GuestReport, name: string): CgroupMemory | undefined {
  const c = report.cgroups.find((x) => x.name === name);
  if (!c || c.current < 0) return undefined;
  const st = parseMemoryStat(c.stat);
  const kib = (k: string) => Math.round((st.get(k) ?? 0) / 1024);
  return {
    currentKiB: Math.round(c.current / 1024),
    fileKiB: kib("file"),
    anonKiB: kib("anon"),
    shmemKiB: kib("shmem"),
    fileMappedKiB: kib("file_mapped"),
  };
}

export function loadFigures(report: GuestReport, rt: RuntimeSpec): LoadFigure[] {
  const out: LoadFigure[] = [];
  for (const container of ["A", "B"] as const) {
    for (const step of rt.load) {
      if (step.parser === "none") continue;
      const text = report.outputs.find(
        (o) => o.container === container && o.step === `load-${stepFile(step.name)}.out`,
      )?.text;
      if (text === undefined) {
        out.push({ container, step: step.name, tool: step.parser, error: "no output (step did not run)" });
        continue;
      }
      try {
        const r = PARSERS[step.parser](text);
        out.push({
          container,
          step: step.name,
          tool: r.tool,
          throughput: r.throughput,
          throughputUnit: r.throughputUnit,
          latencyMs: r.latencyMs,
        });
      } catch (e) {
        out.push({ container, step: step.name, tool: step.parser, error: e instanceof Error ? e.message : String(e) });
      }
    }
  }
  return out;
}

function failureOf(report: GuestReport): string | undefined {
  const problems: string[] = [];
  for (const c of ["A", "B"]) {
    const status = report.outputs.find((o) => o.container === c && o.step === "status")?.text.trim();
    if (status === "ok") continue;
    const logs = report.outputs
      .filter((o) => o.container === c && o.step !== "status" && o.text.trim())
      .map(
        (o) =>
          `  ${o.step}:\n${o.text
            .trim()
            .split("\n")
            .slice(-8)
            .map((l) => "    " + l)
            .join("\n")}`,
      );
    problems.push(`container ${c}: ${status ?? "no status"}\n${logs.join("\n")}`);
  }
  return problems.length ? problems.join("\n") : undefined;
}

/** One fresh boot: both images as containers, the workload run in A then in B, memory sampled. */
export async function measureRuntime(
  machine: GuestMachine,
  opts: {
    workload: string;
    runtime: RuntimeSpec;
    quick: boolean;
    imageA: string;
    imageB: string;
    mode: Mode;
    rep: number;
    memoryMiB: number;
    shareOptions: (domain: string) => string;
    runDir: string;
  },
): Promise<RuntimeMeasurement> {
  const bootDir = path.join(opts.runDir, "boots", `${opts.workload}-${opts.mode}-runtime-r${opts.rep}`);
  await mkdir(bootDir, { recursive: true });
  const initramfs = await initramfsWithJob(
    machine.initramfs,
    { containerScript: containerScript(opts.workload, opts.runtime, opts.quick) },
    bootDir,
  );
  const opt = mountOptions(opts.mode, opts.shareOptions);
  const stepTimeoutS = opts.runtime.readyTimeoutS + 600;
  const where = `${opts.workload} ${opts.mode}/runtime rep ${opts.rep}`;
  const { result: r, earlyHangs } = await bootPastInit(
    { ...machine, initramfs, memoryMiB: opts.memoryMiB },
    {
      disks: [opts.imageA, opts.imageB],
      guestArgs: {
        "esb.mode": opts.mode,
        "esb.rep": String(opts.rep),
        "esb.phase": "runtime",
        "esb.opts_a": opt.a,
        "esb.opts_b": opt.b,
        "esb.timeout": String(stepTimeoutS),
      },
      timeoutMs: (2 * stepTimeoutS + 180) * 1000,
      dir: bootDir,
    },
    where,
  );
  const report = await readGuestReport(r, where);
  const point = (p: string) => report.samples.find((s) => s.point === p && s.path === "runtime");
  const base = point("baseline");
  const a = point("after-A");
  const b = point("after-B");
  const cgroups = { A: cgroupOf(report, "A"), B: cgroupOf(report, "B") };
  const failure = failureOf(report);
  const memoryMiB = cgroups.A && cgroups.B ? (cgroups.A.currentKiB + cgroups.B.currentKiB) / 1024 : undefined;
  return {
    workload: opts.workload,
    mode: opts.mode,
    rep: opts.rep,
    accel: machine.accel,
    bootDir,
    wallMs: r.wallMs,
    ok: !failure && memoryMiB !== undefined,
    failure,
    io: base && b ? ioBetween(base, b) : undefined,
    pageCache: {
      afterAKiB: base && a ? a.pageCacheKiB - base.pageCacheKiB : NaN,
      afterBKiB: base && b ? b.pageCacheKiB - base.pageCacheKiB : NaN,
    },
    cgroups,
    memoryMiB,
    load: loadFigures(report, opts.runtime),
    kernelSplat: splatOf(r),
    ...(earlyHangs.length ? { earlyHangs } : {}),
    timing: runtimeTiming(report, r.wallMs),
  };
}
