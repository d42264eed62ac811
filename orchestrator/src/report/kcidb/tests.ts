import { bootsPlanned } from "../../analysis/repetitions.js";
import { isFailed } from "../../guest/checks.js";
import type { CorrectnessResult } from "../../analysis/correctnessVerdicts.js";
import { acceleratorLabel } from "../../guest/accelerator.js";
import { CHECKS } from "../../guest/checks.js";
import type { RunRecord } from "../../record/runRecord.js";
import { excerpt, relativeNote } from "./checkout.js";
import { consoleOf, KCIDB_ORIGIN, kcidbId, logsOf, pathPart, TEST_ROOT, type RunPlace } from "./place.js";
import type { KcidbStatus, KcidbTest } from "./kcidbSchema.js";

/**
 * One KCIDB test per read-all cell, per runtime cell and load step, and per
 * correctness result. Statuses:
 * - a measured figure is DONE (KCIDB's status for a test whose output is a
 *   measurement, not a verdict on the code);
 * - a boot that failed (oops, hang, a file read back wrong, a server that
 *   died), split sharing across domains, a failed or oopsed check: FAIL;
 * - a cell with no figure to trust (every boot left out), a check that
 *   could not judge: ERROR (the test ran; its own execution failed);
 * - anything the run planned but never measured, because the tool failed
 *   or the run was interrupted: MISS;
 * - a check that does not apply (na): SKIP; a check that passed: PASS;
 * - a finding (trust-same-domain: what a domain's trust lets an image be
 *   served, by design) is DONE, with misc.finding: it records what the
 *   kernel does without a verdict on it, which PASS would claim.
 */

type Run = RunRecord;

const firstLine = (s: string) => s.split("\n")[0] ?? "";
const finite = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);

interface Context {
  run: Run;
  place: RunPlace;
  buildId: string;
}

function environment(run: Run): KcidbTest["environment"] {
  return {
    comment: `QEMU ${run.accel ? acceleratorLabel(run.accel) : "?"} guest on a ${run.host.cpus}-CPU host`,
    misc: {
      accel: run.accel?.accel ?? null,
      tcg_thread: run.accel?.tcgThread ?? null,
      qemu: run.host.qemu ?? null,
      host_kernel: run.host.hostKernel,
      host_cpus: run.host.cpus,
      // the images are an input like the kernel: a reader re-measures a figure from the same lock
      images_lock: run.lock
        ? {
            file: run.lock.file.split("/").pop(),
            sha256: run.lock.sha256,
            locked_at: run.lock.lockedAt,
            erofs_utils: run.lock.erofsUtils,
          }
        : null,
      images: Object.fromEntries(
        run.workloads.map((w) => [
          w.name,
          { versions: w.versions, a_sha256: w.imageA.imageSha256, b_sha256: w.imageB.imageSha256 },
        ]),
      ),
    },
  };
}

function test(
  ctx: Context,
  path: string,
  fields: Omit<KcidbTest, "id" | "build_id" | "origin" | "path">,
  logs: Array<string | undefined>,
): KcidbTest {
  const where = logsOf(ctx.place, logs);
  return {
    id: kcidbId(`${ctx.run.runId}:${path}`),
    build_id: ctx.buildId,
    origin: KCIDB_ORIGIN,
    path,
    // a boot records how long it took, not when it began, and boots run side by side: the run's start is the one known
    start_time: ctx.run.startedAt,
    environment: environment(ctx.run),
    ...(where.log_url ? { log_url: where.log_url } : {}),
    ...(where.output_files ? { output_files: where.output_files } : {}),
    ...fields,
    misc: { ...fields.misc, ...(where.paths.length ? { logs: where.paths, note: relativeNote(ctx.place) } : {}) },
  };
}

const seconds = (ms: number[]) => ms.reduce((s, x) => s + x, 0) / 1000;

function readAllTests(ctx: Context): KcidbTest[] {
  const { run } = ctx;
  const keys = [...new Set([...run.boots, ...run.failedBoots].map((b) => `${b.workload}\0${b.path}\0${b.mode}`))];
  return keys.map((key) => {
    const [workload, accessPath, mode] = key.split("\0") as [string, string, string];
    const mine = <T extends { workload: string; path: string; mode: string }>(xs: T[]) =>
      xs.filter((x) => x.workload === workload && x.path === accessPath && x.mode === mode);
    const boots = mine(run.boots);
    const failed = mine(run.failedBoots);
    const cell = mine(run.cells)[0];
    const comp = run.comparisons.find((c) => c.workload === workload && c.path === accessPath);
    const leaked = mode === "split" && Boolean(comp?.splitShared);
    const median = cell?.afterB.median;
    const status: KcidbStatus = failed.length || leaked ? "FAIL" : finite(median) ? "DONE" : "ERROR";
    const why = failed.length
      ? failed[0]!.failure
      : leaked
        ? "images in different domains shared page cache (split below off minus the within-image saving)"
        : !finite(median)
          ? "every boot was left out of the median"
          : "";
    return test(
      ctx,
      [TEST_ROOT, "readall", pathPart(workload), pathPart(accessPath), pathPart(mode)].join("."),
      {
        comment: `${workload}: page cache after reading both images through ${accessPath} with sharing ${mode}`,
        status,
        ...(finite(median) ? { number: { value: median, unit: "MiB" } } : {}),
        ...(why ? { log_excerpt: excerpt(why) } : {}),
        duration: seconds(boots.map((b) => b.wallMs)),
        misc: {
          figure: "page cache growth (Cached - Shmem) after reading image A and then B, MiB, median of the boots",
          boots: cell?.afterB.n ?? 0,
          planned_boots: bootsPlanned(run, "read-all", workload, accessPath),
          ...(cell
            ? {
                min_mib: cell.afterB.min,
                max_mib: cell.afterB.max,
                after_a_mib: cell.afterA.median,
                expected_mib: cell.expectedAfterB,
              }
            : {}),
          ...(mode !== "off" && comp
            ? { reduction_pct: cell?.reductionPct ?? null, expected_reduction_pct: comp.expectedReductionPct }
            : {}),
          ...(mode === "on" && comp
            ? { efficiency_pct: comp.efficiencyPct ?? null, sharing_inactive: comp.sharingInactive, noisy: comp.noisy }
            : {}),
          ...(mode === "split" && comp ? { shared_across_domains: comp.splitShared } : {}),
          excluded: cell?.excluded ?? [],
          failed: failed.map((f) => ({ rep: f.rep, failure: firstLine(f.failure) })),
        },
      },
      [...boots.filter((b) => !b.excluded), ...boots.filter((b) => b.excluded), ...failed].map((b) =>
        consoleOf(b.bootDir),
      ),
    );
  });
}

function runtimeTests(ctx: Context): KcidbTest[] {
  const { run } = ctx;
  const tcg = run.accel?.accel === "tcg";
  return run.runtimeCells.flatMap((c) => {
    const boots = run.runtime.filter((m) => m.workload === c.workload && m.mode === c.mode);
    const logs = [...boots.filter((m) => m.ok), ...boots.filter((m) => !m.ok)].map((m) => consoleOf(m.bootDir));
    const base = [TEST_ROOT, "runtime", pathPart(c.workload), pathPart(c.mode)].join(".");
    const median = c.memory.median;
    const memory = test(
      ctx,
      base,
      {
        comment: `${c.workload}: both containers' memory.current after the workload ran in A, then in B, sharing ${c.mode}`,
        status: c.failures.length ? "FAIL" : finite(median) ? "DONE" : "ERROR",
        ...(finite(median) ? { number: { value: median, unit: "MiB" } } : {}),
        ...(c.failures.length ? { log_excerpt: excerpt(c.failures[0]!) } : {}),
        duration: seconds(boots.map((m) => m.wallMs)),
        misc: {
          figure: run.runtimeBasis,
          boots: c.memory.n,
          planned_boots: bootsPlanned(run, "runtime", c.workload),
          min_mib: c.memory.min,
          max_mib: c.memory.max,
          page_cache_mib: c.pageCache.median,
          file_mib: c.file.median,
          anon_mib: c.anon.median,
          shmem_mib: c.shmem.median,
          reduction_pct: c.reductionPct ?? null,
          failed: c.failures.map(firstLine),
        },
      },
      logs,
    );
    const loads = c.load.map((l) =>
      test(
        ctx,
        [base, "load", pathPart(l.container), pathPart(l.step)].join("."),
        {
          comment: `${c.workload}: throughput of ${l.step} in container ${l.container}, sharing ${c.mode}`,
          status: "DONE",
          ...(finite(l.throughput.median) ? { number: { value: l.throughput.median, unit: l.unit } } : {}),
          misc: {
            figure: "median throughput of the boots",
            boots: l.throughput.n,
            min: l.throughput.min,
            max: l.throughput.max,
            latency_avg_ms: l.latencyAvgMs?.median ?? null,
            ...(tcg
              ? {
                  emulation_noise:
                    "measured under QEMU TCG: the speed of the emulator on a shared host, not the kernel's cost",
                }
              : {}),
          },
        },
        logs,
      ),
    );
    return [memory, ...loads];
  });
}

// a check that could not judge the kernel is KCIDB's ERROR (the test did not run to a verdict), never a FAIL
const CHECK_STATUS: Record<CorrectnessResult["result"], KcidbStatus> = {
  pass: "PASS",
  fail: "FAIL",
  oops: "FAIL",
  na: "SKIP",
  finding: "DONE",
  error: "ERROR",
};

function correctnessTests(ctx: Context): KcidbTest[] {
  return ctx.run.correctness.map((c) =>
    test(
      ctx,
      [TEST_ROOT, "correctness", pathPart(c.name)].join("."),
      {
        comment: c.proves,
        status: CHECK_STATUS[c.result],
        ...(isFailed(c.result) ? { log_excerpt: excerpt(c.reason) } : {}),
        duration: c.wallMs / 1000,
        misc: {
          result: c.result,
          reason: c.reason,
          workload: c.workload,
          ...(c.result === "finding" ? { finding: true } : {}),
          ...(c.boots ? { boots: c.boots.of, failedBoots: c.boots.failed } : {}),
          details: c.details,
        },
      },
      [consoleOf(c.bootDir)],
    ),
  );
}

/**
 * What a run that stopped early (the tool failed, or it was interrupted)
 * planned but never measured. A shard measures part of a plan by design,
 * and a run whose kernel never built has no tests (its build says why);
 * runtime cells are left out, as the record does not say which workloads
 * have a runtime part.
 */
function unmeasuredTests(ctx: Context, done: Set<string>): KcidbTest[] {
  const { run } = ctx;
  if (run.status === "complete" || run.status === "running" || run.shard || !run.kernel?.build) return [];
  const paths: string[] = [];
  if (run.plan.phases.includes("readall")) {
    for (const w of run.workloads)
      for (const p of run.plan.paths)
        for (const m of run.plan.modes) paths.push([TEST_ROOT, "readall", pathPart(w.name), p, m].join("."));
  }
  if (run.plan.phases.includes("correctness")) {
    const checks = CHECKS.filter((c) => !run.plan.checks || run.plan.checks.includes(c.name));
    for (const c of checks)
      for (const r of c.results) paths.push([TEST_ROOT, "correctness", pathPart(r.name)].join("."));
  }
  return paths
    .filter((p) => !done.has(p))
    .map((p) =>
      test(
        ctx,
        p,
        {
          // KCIDB's ERROR is a test that ran and failed in its own code; these never ran, the harness stopped first: MISS
          status: "MISS",
          ...(run.error ? { log_excerpt: excerpt(run.error) } : {}),
          misc: {
            run_status: run.status,
            why:
              run.status === "interrupted"
                ? "the run was interrupted before this was measured"
                : "the tool failed before this was measured",
          },
        },
        [],
      ),
    );
}

/** Every test of a run, their paths unique within it. */
export function testsOf(run: Run, place: RunPlace, buildId: string): KcidbTest[] {
  const ctx = { run, place, buildId };
  const measured = [...readAllTests(ctx), ...runtimeTests(ctx), ...correctnessTests(ctx)];
  // two names that differ only in characters a path cannot hold would meet on one path: the later gets a suffix
  const seen = new Map<string, number>();
  for (const t of measured) {
    const n = seen.get(t.path!) ?? 0;
    seen.set(t.path!, n + 1);
    if (n) {
      t.path = `${t.path}-${n + 1}`;
      t.id = kcidbId(`${run.runId}:${t.path}`);
    }
  }
  return [...measured, ...unmeasuredTests(ctx, new Set(measured.map((t) => t.path!)))];
}
