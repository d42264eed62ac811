import path from "node:path";
import { failedCells } from "../analysis/failures.js";
import type { EarlyHang } from "../guest/qemu.js";
import { pairNotAnUpdate } from "../images/pairs.js";
import type { RunRecord } from "../record/runRecord.js";

/** Boots that stalled or died before init and were started again, and where the kernel stopped first. */
export function stallNote(count: number, boots: string, first: EarlyHang): string {
  return `${count} boot(s) stalled or died before init and were started again (${boots}); first stopped at: ${first.lastLine || "(nothing on the console)"}`;
}

/** What a finished job's figures say that a reader must not miss: a leak across domains, a path that does not share, failed boots. */
export function conclusions(record: RunRecord): string[] {
  const out: string[] = record.workloads.flatMap((w) => pairNotAnUpdate(w) ?? []);
  for (const c of record.comparisons) {
    if (c.splitShared) {
      out.push(
        `SECURITY: ${c.workload}/${c.path}: images in different domains shared page cache (split reduction ${c.splitReductionPct?.toFixed(1)}%)`,
      );
    }
    if (c.sharingInactive) {
      out.push(
        `${c.workload}/${c.path}: sharing on saved ${c.reductionPct?.toFixed(1)}% of page cache where ${c.expectedReductionPct.toFixed(1)}% is expected: this access path does not share`,
      );
    }
  }
  for (const f of failedCells(record))
    out.push(`${f.workload} ${f.where}: ${f.count} of ${f.of} boot(s) failed: ${f.first}`);
  const stalled = [...record.boots, ...record.runtime].filter((b) => b.earlyHangs?.length);
  if (stalled.length) {
    const first = stalled[0]!.earlyHangs![0]!;
    const names = stalled.map((b) => path.basename(b.bootDir)).join(", ");
    out.push(
      `${stallNote(stalled.length, names, first)}. No figure comes from a stalled boot; a host too loaded for its guests stalls them (try --parallel 1)`,
    );
  }
  return out;
}
