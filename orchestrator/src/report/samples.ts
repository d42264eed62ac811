import path from "node:path";
import { stringify } from "csv-stringify/sync";
import type { RawSample } from "../guest/readAll.js";
import type { RunRecord } from "../record/runRecord.js";

/**
 * samples.csv: every boot of a run and every reading it took, one row each,
 * so that any figure of the report can be recomputed without this tool. A
 * cell's median is the median of `mib` over its rows with `in_median` = yes;
 * boots left out or failed are there too, with why.
 */

export const SAMPLE_COLUMNS = [
  "phase",
  "workload",
  "path",
  "mode",
  "rep",
  "point",
  "container",
  "step",
  "status",
  "in_median",
  "why_not",
  "mib",
  "kib",
  "settle_tries",
  "settle_stable",
  "settle_readings_kib",
  "throughput",
  "throughput_unit",
  "latency_avg_ms",
  "latency_p50_ms",
  "latency_p99_ms",
  "file_mib",
  "anon_mib",
  "shmem_mib",
  "accel",
  "boot_dir",
] as const;
type Column = (typeof SAMPLE_COLUMNS)[number];
type Row = Partial<Record<Column, string | number>>;

/** Full precision, so that a median recomputed from the file is the report's to the last bit; empty when not measured. */
function exact(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? "" : String(v);
}

/** boots/<name>: where the boot's folder is inside the run folder, wherever the folder has been moved or merged to since. */
function bootFolder(bootDir: string): string {
  return bootDir ? path.posix.join("boots", path.basename(bootDir)) : "";
}

/** The columns that say which boot a row is from (a runtime boot has no access path). */
function bootColumns(
  phase: string,
  b: { workload: string; path?: string; mode: string; rep: number; bootDir: string },
  accel: string,
): Row {
  return {
    phase,
    workload: b.workload,
    path: b.path,
    mode: b.mode,
    rep: b.rep,
    accel,
    boot_dir: bootFolder(b.bootDir),
  };
}

const firstLine = (s: string) => s.split("\n")[0] ?? "";

/** The read-all points a boot's cell uses, in the order the guest takes them, and what each figure is. */
const READ_ALL_POINTS = [
  // absolute Cached - Shmem before reading: the zero the other two are measured from
  { point: "baseline", kib: (b: RunRecord["boots"][number]) => b.baselineKiB, median: false },
  { point: "after-A", kib: (b: RunRecord["boots"][number]) => b.afterAKiB, median: true },
  { point: "after-B", kib: (b: RunRecord["boots"][number]) => b.afterBKiB, median: true },
] as const;

function readAllRows(run: RunRecord, raw: Map<string, RawSample>): Row[] {
  const rows: Row[] = [];
  for (const b of run.boots) {
    const common = bootColumns("read-all", b, b.accel);
    for (const p of READ_ALL_POINTS) {
      const s = raw.get(sampleKey(b.workload, b.mode, b.path, b.rep, p.point));
      const kib = p.kib(b);
      rows.push({
        ...common,
        point: p.point,
        status: b.excluded ? "excluded" : "ok",
        in_median: p.median ? (b.excluded ? "no" : "yes") : "",
        why_not: b.excluded ?? "",
        mib: exact(kib / 1024),
        kib: exact(kib),
        settle_tries: s?.tries ?? "",
        settle_stable: s ? (s.stable ? "yes" : "no") : "",
        settle_readings_kib: s?.readings.join(" ") ?? "",
      });
    }
  }
  for (const f of run.failedBoots) {
    rows.push({
      ...bootColumns("read-all", f, run.accel?.accel ?? ""),
      status: "failed",
      in_median: "no",
      why_not: firstLine(f.failure),
    });
  }
  return rows;
}

function runtimeRows(run: RunRecord): Row[] {
  const rows: Row[] = [];
  for (const m of run.runtime) {
    const common = bootColumns("runtime", m, m.accel);
    if (!m.ok) {
      rows.push({ ...common, status: "failed", in_median: "no", why_not: firstLine(m.failure ?? "failed") });
      continue;
    }
    rows.push({ ...common, point: "memory", status: "ok", in_median: "yes", mib: exact(m.memoryMiB) });
    for (const [point, kib, median] of [
      ["page-cache-after-A", m.pageCache.afterAKiB, ""],
      ["page-cache-after-B", m.pageCache.afterBKiB, "yes"],
    ] as const) {
      rows.push({ ...common, point, status: "ok", in_median: median, mib: exact(kib / 1024), kib: exact(kib) });
    }
    for (const container of ["A", "B"] as const) {
      const cg = m.cgroups[container];
      if (!cg) continue;
      rows.push({
        ...common,
        point: "cgroup",
        container,
        status: "ok",
        in_median: "",
        mib: exact(cg.currentKiB / 1024),
        kib: exact(cg.currentKiB),
        file_mib: exact(cg.fileKiB / 1024),
        anon_mib: exact(cg.anonKiB / 1024),
        shmem_mib: exact(cg.shmemKiB / 1024),
      });
    }
    for (const l of m.load) {
      const measured = l.throughput !== undefined;
      rows.push({
        ...common,
        point: "load",
        container: l.container,
        step: l.step,
        status: measured ? "ok" : "failed",
        in_median: measured ? "yes" : "no",
        why_not: l.error ?? "",
        throughput: exact(l.throughput),
        throughput_unit: l.throughputUnit ?? "",
        latency_avg_ms: exact(l.latencyMs?.avg),
        latency_p50_ms: exact(l.latencyMs?.p50),
        latency_p99_ms: exact(l.latencyMs?.p99),
      });
    }
  }
  return rows;
}

function sampleKey(workload: string, mode: string, accessPath: string, rep: number, point: string): string {
  return [workload, mode, accessPath, rep, point].join("\0");
}

/** The run's samples.csv; `raw` is the run folder's samples.jsonl (settling readings), empty when it has none. */
export function renderSamplesCsv(run: RunRecord, raw: RawSample[]): string {
  // one line per boot and point; were a key ever there twice, the later line is the later boot
  const byKey = new Map(raw.map((s) => [sampleKey(s.workload, s.mode, s.path, s.rep, s.point), s]));
  const rows = [...readAllRows(run, byKey), ...runtimeRows(run)];
  return stringify(rows, { header: true, columns: [...SAMPLE_COLUMNS] });
}
