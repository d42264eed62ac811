/** What failedCells reads: a run record, or the summary of one the comparison loads. */
export interface FailureSource {
  plan: { reps: number };
  failedBoots?: Array<{ workload: string; mode: string; path: string; failure: string }>;
  runtimeCells: Array<{ workload: string; mode: string; failures: string[] }>;
}

interface FailedCell {
  workload: string;
  /** "read-all on/mmap" or "runtime on". */
  where: string;
  count: number;
  of: number;
  /** The first failure's headline, without the boot's name and the console tail. */
  first: string;
  /** The first failure, whole. */
  detail: string;
}

/** Failed boots per cell, read-all and runtime. */
export function failedCells(run: FailureSource): FailedCell[] {
  const out: FailedCell[] = [];
  const failed = run.failedBoots ?? [];
  for (const key of [...new Set(failed.map((f) => `${f.workload}\0${f.mode}\0${f.path}`))]) {
    const all = failed.filter((f) => `${f.workload}\0${f.mode}\0${f.path}` === key);
    const f = all[0]!;
    out.push({
      workload: f.workload,
      where: `read-all ${f.mode}/${f.path}`,
      count: all.length,
      of: run.plan.reps,
      first: headlineOf(f.failure),
      detail: f.failure,
    });
  }
  for (const c of run.runtimeCells.filter((x) => x.failures.length)) {
    out.push({
      workload: c.workload,
      where: `runtime ${c.mode}`,
      count: c.failures.length,
      of: run.plan.reps,
      first: headlineOf(c.failures[0]!),
      detail: c.failures[0]!,
    });
  }
  return out;
}

/** "guest kernel panicked; BUG: ... at func+0x31/0x6b" without the boot's name and the console tail. */
function headlineOf(failure: string): string {
  const line = failure.split("\n")[0]!;
  return line.replace(/^[^:]*rep \d+: /, "").replace(/; console tail:$/, "");
}
