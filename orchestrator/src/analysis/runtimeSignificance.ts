import type { RuntimeCell } from "./runtimeCells.js";
import { separation, throughputSignificance, type Significance } from "./significance.js";

/**
 * The runtime tables' significance column: each mode's figure against the
 * same workload with sharing off, in the same run. Memory is judged by the
 * boots' ranges (memory.current is read once per boot, so there is no
 * instrument resolution to add); throughput the same way under KVM and never
 * under TCG (analysis/significance.ts).
 */

function offOf(cells: RuntimeCell[], c: RuntimeCell): RuntimeCell | undefined {
  return cells.find((o) => o.workload === c.workload && o.mode === "off");
}

/** Memory of `c` against off; undefined for off itself or without an off cell. */
export function memoryVsOff(cells: RuntimeCell[], c: RuntimeCell): Significance | undefined {
  const off = offOf(cells, c);
  return c.mode === "off" || !off ? undefined : separation(off.memory, c.memory);
}

/** Throughput of one load step of `c` against the same container and step with sharing off; `alone`: the runtime boots had the host to themselves. */
export function throughputVsOff(
  cells: RuntimeCell[],
  c: RuntimeCell,
  load: RuntimeCell["load"][number],
  accel: string | undefined,
  alone: boolean,
): Significance | undefined {
  const off = offOf(cells, c)?.load.find((l) => l.container === load.container && l.step === load.step);
  return c.mode === "off" || !off ? undefined : throughputSignificance(accel, off.throughput, load.throughput, alone);
}
