import { describeChange, packageChanges } from "../images/lockFile.js";
import { versionLabel } from "../images/rootfs.js";
import type { RunRecord } from "../record/runRecord.js";

/**
 * What a reader of a table needs to re-measure it: which packages the two
 * images of a pair differ in (a pair is more than its workload's package:
 * B takes every security update of its suites), and the lock they were
 * built from.
 */

type WorkloadRecord = RunRecord["workloads"][number];

const asList = (m: Record<string, string>) =>
  Object.entries(m).map(([name, version]) => ({ name, version: versionLabel(version) }));

/** "redis: A and B differ in 18 packages: redis-server, redis-tools (the workload's); libssl3 3.0.15 -> 3.0.17, ... and 12 more". */
export function pairPackageLine(w: WorkloadRecord, shown = 6): string | undefined {
  const r = w.rootfs;
  if (!r) return undefined;
  const changes = packageChanges(asList(r.a.packages), asList(r.b.packages));
  if (!changes.length) return `${w.name}: A and B hold the same ${Object.keys(r.a.packages).length} packages`;
  const own = new Set(Object.keys(r.a.installed));
  const mine = changes.filter((c) => own.has(c.name)).map((c) => c.name);
  const others = changes.filter((c) => !own.has(c.name));
  const head = `${w.name}: A and B differ in ${changes.length} package(s)`;
  const parts = [
    mine.length ? `${mine.join(", ")} (the workload's)` : `none of the workload's own (${[...own].join(", ")})`,
  ];
  if (others.length) {
    const listed = others.slice(0, shown).map(describeChange).join(", ");
    parts.push(
      `${listed}${others.length > shown ? `, and ${others.length - shown} more (run.json: workloads[].rootfs)` : ""}`,
    );
  }
  return `${head}: ${parts.join("; ")}`;
}

/** "Images built from lock workloads/lock.json (sha256 5ba7dcba94b5, locked 2026-12-07), erofs-utils 1.9.4-1." */
export function lockLine(run: Pick<RunRecord, "lock">): string | undefined {
  const l = run.lock;
  if (!l) return undefined;
  return `Images built from lock ${l.file} (sha256 ${l.sha256.slice(0, 12)}, locked ${l.lockedAt.slice(0, 10)}), mkfs.erofs from erofs-utils ${l.erofsUtils}.`;
}

/** The lines under a table of these workloads. */
export function imageInputLines(run: RunRecord, workloads: string[]): string[] {
  const lines = workloads.flatMap((name) => {
    const w = run.workloads.find((x) => x.name === name);
    return (w && pairPackageLine(w)) ?? [];
  });
  const lock = lockLine(run);
  return [...lines.map((l) => `  ${l}`), ...(lock ? [`  ${lock}`] : [])];
}
