import { z } from "zod";
import type { GuestReport } from "./protocol.js";

/**
 * Where a runtime boot's time goes, step by step on the guest's boot clock:
 * the kernel's boot, preparing the containers (cgroups, overlays, the
 * baseline settle), then per container its launch, setup, server start,
 * readiness, each load step and the ready check after it, the wait until
 * the driver saw its status, and the settle after it; then the end of the
 * guest and what QEMU spent outside it.
 */
export const RUNTIME_STEP_KINDS = [
  "boot",
  "prepare",
  "launch",
  "setup",
  "start",
  "ready",
  "load",
  "check",
  "wait",
  "settle",
  "finish",
  "qemu",
] as const;
export type RuntimeStepKind = (typeof RUNTIME_STEP_KINDS)[number];

export const RuntimeStepSchema = z.object({
  kind: z.enum(RUNTIME_STEP_KINDS),
  /** The container, for a container's steps. */
  container: z.enum(["A", "B"]).optional(),
  /** The load step's file name, for load and check. */
  step: z.string().optional(),
  ms: z.number(),
});
type RuntimeStep = z.infer<typeof RuntimeStepSchema>;

/** The marks a container's script left ("label seconds-since-boot"), in order. */
function marksOf(report: GuestReport, container: "A" | "B"): Array<{ label: string; up: number }> {
  const text = report.outputs.find((o) => o.container === container && o.step === "timeline.out")?.text ?? "";
  return text.split("\n").flatMap((line) => {
    const [label, up] = line.trim().split(/\s+/);
    const ms = Number(up) * 1000;
    return label && Number.isFinite(ms) ? [{ label, up: ms }] : [];
  });
}

/** The boot's steps in order; undefined when the guest did not say when it booted or ended. */
export function runtimeTiming(report: GuestReport, wallMs: number): RuntimeStep[] | undefined {
  const bootMs = report.hello?.up;
  if (bootMs === undefined || report.endUp === undefined) return undefined;
  const sample = (p: string) => report.samples.find((s) => s.point === p && s.path === "runtime");
  const steps: RuntimeStep[] = [{ kind: "boot", ms: bootMs }];
  let at = bootMs;
  const to = (kind: RuntimeStepKind, until: number | undefined, extra: Partial<RuntimeStep> = {}) => {
    if (until === undefined || !Number.isFinite(until)) return;
    steps.push({ kind, ...extra, ms: Math.max(0, until - at) });
    at = Math.max(at, until);
  };
  to("prepare", sample("baseline")?.up);
  for (const container of ["A", "B"] as const) {
    for (const { label, up } of marksOf(report, container)) {
      const [what, step] = label.split(":");
      if (what === "begin") to("launch", up, { container });
      else if (what === "setup" || what === "start" || what === "ready") to(what, up, { container });
      else if ((what === "load" || what === "check") && step) to(what, up, { container, step });
    }
    const after = sample(`after-${container}`);
    if (after?.up !== undefined && after.ms !== undefined) {
      to("wait", after.up - after.ms, { container });
      to("settle", after.up, { container });
    }
  }
  to("finish", report.endUp);
  steps.push({ kind: "qemu", ms: Math.max(0, wallMs - report.endUp) });
  return steps;
}
