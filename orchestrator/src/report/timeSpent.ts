import type { RunRecord } from "../record/runRecord.js";

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
  if (!timed.length) return [];
  const out = [
    "## Where the time went",
    "",
    run.scheduling
      ? `Read-all boots: ${run.scheduling.parallel} guest(s) at once (${run.scheduling.why}); runtime boots ${run.scheduling.runtimeAlone ? "ran alone, so their throughput is undisturbed" : "shared the host with other guests"}.`
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
    out.push(`| ${w === "all" ? "**all**" : w} | ${bs.length} | ${PARTS.map(([k]) => sec(sum(k))).join(" | ")} | ${sec(bs.reduce((s, b) => s + b.wallMs, 0))} |`);
  }
  const runtime = run.runtime.filter((m) => m.wallMs > 0);
  if (runtime.length) out.push("", `Runtime boots: ${runtime.length}, ${sec(runtime.reduce((s, m) => s + m.wallMs, 0))} s of wall time.`);
  return [...out, ""];
}
