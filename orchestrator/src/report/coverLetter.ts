import type { RunRecord } from "../record/runRecord.js";
import type { Comparison } from "../analysis/cells.js";
import { failedCells } from "../analysis/failures.js";
import type { AccessPath } from "../guest/modes.js";
import { formatMiB, formatReduction, renderCoverLetterTable } from "./table.js";

export const PATH_TITLES: Record<AccessPath, string> = {
  read: "read(2)",
  mmap: "mmap, every page touched",
  sendfile: "sendfile(2) into a pipe",
};

function labelsOf(run: RunRecord, workload: string): { image: string; versions: string } {
  const w = run.workloads.find((x) => x.name === workload);
  return { image: w?.image ?? workload, versions: w?.versions ?? "" };
}

function completePairs(run: RunRecord, p: AccessPath): Comparison[] {
  return run.comparisons.filter((c) => c.path === p && c.off && c.on);
}

/** The tables to paste into a cover letter: one per access path, read-all phase. */
export function renderCoverLetter(run: RunRecord): string {
  const parts: string[] = [];
  for (const p of run.plan.paths as AccessPath[]) {
    const comps = completePairs(run, p);
    if (!comps.length) continue;
    const reps = Math.max(...comps.map((c) => c.on!.afterB.n));
    parts.push(
      `Page cache after reading every file of both images (${PATH_TITLES[p]}), median of ${reps} boot(s):`,
      "",
      renderCoverLetterTable(
        comps.map((c) => ({
          ...labelsOf(run, c.workload),
          off: formatMiB(c.off!.afterB.median, 0),
          on: formatMiB(c.on!.afterB.median, 0),
          reduction: formatReduction(c.reductionPct),
        })),
        { unit: "MiB" },
      ),
    );
  }
  const runtime = run.runtimeCells.map((c) => c.workload).filter((w, i, all) => all.indexOf(w) === i).flatMap((w) => {
    const off = run.runtimeCells.find((c) => c.workload === w && c.mode === "off");
    const on = run.runtimeCells.find((c) => c.workload === w && c.mode === "on");
    return off?.memory.n && on?.memory.n ? [{ ...labelsOf(run, w), off: formatMiB(off.memory.median, 1), on: formatMiB(on.memory.median, 1), reduction: formatReduction(on.reductionPct) }] : [];
  });
  if (runtime.length) {
    const reps = Math.max(...run.runtimeCells.map((c) => c.memory.n));
    parts.push(
      `Runtime memory in MiB (${run.runtimeBasis}), median of ${reps} boot(s):`,
      "",
      renderCoverLetterTable(runtime, { unit: "MiB" }),
    );
  }
  const failed = failedCells(run);
  if (failed.length) {
    parts.push("Boots that failed (their cells are left out or measured from the other boots):");
    for (const f of failed) parts.push(`  ${f.workload} ${f.where}: ${f.count} of ${f.of} failed: ${f.first}`);
    parts.push("");
  }
  const kernel = run.kernel?.release ? `Linux ${run.kernel.release}` : "the kernel under test";
  if (run.cells.length) {
    parts.push(
      "Read-all memory is page cache in MiB (Cached - Shmem from /proc/meminfo, growth after reading",
      "image A then image B, caches dropped before).",
    );
  }
  parts.push(`Series ${run.series.name} on ${kernel}, QEMU ${run.accel?.accel.toUpperCase() ?? "?"}.`);
  return parts.join("\n") + "\n";
}
