import { stat } from "../analysis/stats.js";
import type { RunRecord } from "../record/runRecord.js";
import { RUNTIME_STEP_KINDS, type RuntimeStepKind } from "../guest/runtimeTiming.js";

const PARTS = [
  ["bootMs", "kernel boot"],
  ["settleMs", "settle"],
  ["readAMs", "read A"],
  ["readBMs", "read B"],
  ["residentMs", "residency walk"],
  ["guestOtherMs", "mounts etc."],
  ["verifyMs", "host check"],
  ["qemuOutsideMs", "QEMU outside the guest"],
] as const;

const sec = (ms: number) => (ms / 1000).toFixed(1);

/**
 * "Where the time went": the read-all boots' wall time split into what each
 * guest spent it on, summed per workload, so the next person who wants a
 * run faster knows where to look.
 */
export function renderTimeSpent(run: RunRecord): string[] {
  const timed = run.boots.filter((b) => b.timing);
  const runtime = renderRuntimeTime(run);
  if (!timed.length) return runtime.length ? ["## Where the time went", "", ...runtime] : [];
  const out = [
    "## Where the time went",
    "",
    run.scheduling
      ? `Read-all boots: ${run.scheduling.parallel} guest(s) at once (${run.scheduling.why}); runtime boots ${run.scheduling.runtimeAlone ? "ran alone, so their throughput is undisturbed" : "shared the host with other guests"}${run.scheduling.runtimeWhy ? ` (${run.scheduling.runtimeWhy})` : ""}.`
      : "",
    "",
    "Seconds summed over each workload's read-all boots (the wall times overlap when guests ran side by side):",
    "",
    `| workload | boots | ${PARTS.map(([, t]) => t).join(" | ")} | wall |`,
    `|---|---:|${PARTS.map(() => "---:").join("|")}|---:|`,
  ];
  const workloads = [...new Set(timed.map((b) => b.workload))];
  for (const w of [...workloads, "all"]) {
    const bs = timed.filter((b) => w === "all" || b.workload === w);
    const sum = (k: (typeof PARTS)[number][0]) => bs.reduce((s, b) => s + (b.timing?.[k] ?? 0), 0);
    out.push(
      `| ${w === "all" ? "**all**" : w} | ${bs.length} | ${PARTS.map(([k]) => sec(sum(k))).join(" | ")} | ${sec(bs.reduce((s, b) => s + b.wallMs, 0))} |`,
    );
  }
  return [...out, "", ...runtime];
}

const RUNTIME_TITLES: Record<RuntimeStepKind, string> = {
  boot: "kernel boot",
  prepare: "prepare",
  launch: "launch",
  setup: "setup",
  start: "server start",
  ready: "until ready",
  load: "load steps",
  check: "ready after load",
  wait: "status wait",
  settle: "settle",
  finish: "finish",
  qemu: "QEMU outside the guest",
};

/** The runtime boots' wall time by step, summed per workload; the load steps one by one below. */
function renderRuntimeTime(run: RunRecord): string[] {
  const timed = run.runtime.filter((m) => m.timing?.length);
  const untimed = run.runtime.filter((m) => m.wallMs > 0 && !m.timing?.length);
  if (!timed.length)
    return untimed.length
      ? [`Runtime boots: ${untimed.length}, ${sec(untimed.reduce((s, m) => s + m.wallMs, 0))} s of wall time.`, ""]
      : [];
  const kinds = RUNTIME_STEP_KINDS.filter((k) => timed.some((m) => m.timing!.some((t) => t.kind === k)));
  const out = [
    "Seconds summed over each workload's runtime boots, both containers together:",
    "",
    `| workload | boots | ${kinds.map((k) => RUNTIME_TITLES[k]).join(" | ")} | wall |`,
    `|---|---:|${kinds.map(() => "---:").join("|")}|---:|`,
  ];
  const workloads = [...new Set(timed.map((m) => m.workload))];
  for (const w of [...workloads, "all"]) {
    const ms = timed.filter((m) => w === "all" || m.workload === w);
    const sum = (k: RuntimeStepKind) =>
      ms.reduce((s, m) => s + m.timing!.filter((t) => t.kind === k).reduce((a, t) => a + t.ms, 0), 0);
    out.push(
      `| ${w === "all" ? "**all**" : w} | ${ms.length} | ${kinds.map((k) => sec(sum(k))).join(" | ")} | ${sec(ms.reduce((s, m) => s + m.wallMs, 0))} |`,
    );
  }
  const steps = [
    ...new Set(
      timed.flatMap((m) => m.timing!.filter((t) => t.kind === "load").map((t) => `${m.workload}\u0000${t.step}`)),
    ),
  ];
  if (steps.length) {
    out.push(
      "",
      "Load steps, seconds per container (median over boots):",
      "",
      "| workload | step | A | B |",
      "|---|---|---:|---:|",
    );
    for (const key of steps) {
      const [w, step] = key.split("\u0000") as [string, string];
      const median = (c: "A" | "B") => {
        const xs = timed
          .filter((m) => m.workload === w)
          .flatMap((m) =>
            m.timing!.filter((t) => t.kind === "load" && t.step === step && t.container === c).map((t) => t.ms),
          );
        return xs.length ? sec(stat(xs).median) : "";
      };
      out.push(`| ${w} | ${step} | ${median("A")} | ${median("B")} |`);
    }
  }
  if (untimed.length)
    out.push(
      "",
      `${untimed.length} runtime boot(s) without a timeline (made before it was recorded, or the guest did not finish).`,
    );
  return [...out, ""];
}
