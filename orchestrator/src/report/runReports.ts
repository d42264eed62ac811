import { stringify } from "csv-stringify/sync";
import type { RunRecord } from "../record/runRecord.js";
import { failedCells, type Comparison } from "../analysis/cells.js";
import type { AccessPath } from "../guest/readAll.js";
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

export function renderCsv(run: RunRecord): string {
  const readall = run.cells.map((c) => {
    const comp = run.comparisons.find((x) => x.workload === c.workload && x.path === c.path);
    return {
      workload: c.workload,
      phase: c.phase,
      path: c.path,
      mode: c.mode,
      reps: c.afterB.n,
      after_a_mib_median: c.afterA.median.toFixed(2),
      after_a_mib_min: c.afterA.min.toFixed(2),
      after_a_mib_max: c.afterA.max.toFixed(2),
      after_b_mib_median: c.afterB.median.toFixed(2),
      after_b_mib_min: c.afterB.min.toFixed(2),
      after_b_mib_max: c.afterB.max.toFixed(2),
      expected_after_b_mib: c.expectedAfterB.toFixed(2),
      reduction_pct: c.reductionPct === undefined ? "" : c.reductionPct.toFixed(1),
      expected_reduction_pct: comp ? comp.expectedReductionPct.toFixed(1) : "",
      memory_basis: "page cache growth (Cached - Shmem)",
      accel: run.accel?.accel ?? "",
    };
  });
  const runtime = run.runtimeCells.map((c) => ({
    workload: c.workload, phase: "runtime", path: "", mode: c.mode, reps: c.memory.n,
    after_a_mib_median: "", after_a_mib_min: "", after_a_mib_max: "",
    after_b_mib_median: c.memory.median.toFixed(2), after_b_mib_min: c.memory.min.toFixed(2), after_b_mib_max: c.memory.max.toFixed(2),
    expected_after_b_mib: "", reduction_pct: c.reductionPct === undefined ? "" : c.reductionPct.toFixed(1), expected_reduction_pct: "",
    memory_basis: run.runtimeBasis, accel: run.accel?.accel ?? "",
  }));
  return stringify([...readall, ...runtime], { header: true });
}

const f1 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? "n/a" : v.toFixed(1));

export function renderMarkdown(run: RunRecord): string {
  const out: string[] = [`# erofs-share-bench run ${run.runId}`, ""];
  out.push(`Status: **${run.status}**${run.error ? ` (${run.error.split("\n")[0]})` : ""}`, "");
  out.push(`- series: ${run.series.name} (${run.series.title}); share on = \`${run.series.shareMountOptions}\``);
  if (run.kernel) out.push(`- kernel: ${run.kernel.release ?? "?"}, build ${run.kernel.buildKey}`);
  out.push(`- accelerator: ${run.accel?.accel ?? "?"} (${run.accel?.reason ?? ""})`);
  out.push(`- plan: modes ${run.plan.modes.join(", ")}; paths ${run.plan.paths.join(", ")}; ${run.plan.reps} rep(s)`, "");
  for (const w of run.workloads) {
    const s = w.sharing;
    out.push(
      `## ${w.name}: ${w.image} ${w.versions}`,
      "",
      `Image A: ${s.a.files} files, ${(s.a.bytes / 2 ** 20).toFixed(1)} MiB; image B: ${s.b.files} files, ${(s.b.bytes / 2 ** 20).toFixed(1)} MiB; ` +
        `identical content: ${s.sharedFiles} files, ${(s.sharedBytes / 2 ** 20).toFixed(1)} MiB. Expected reduction ${f1(s.expectedReductionPct)}%.`,
      "",
      "| path | mode | after A MiB (median [min-max]) | after A+B MiB (median [min-max]) | expected MiB | reduction % | expected % | efficiency % | flags |",
      "|---|---|---|---|---|---|---|---|---|",
    );
    for (const c of run.comparisons.filter((x) => x.workload === w.name)) {
      for (const cell of [c.off, c.on, c.split]) {
        if (!cell) continue;
        const flags: string[] = [];
        if (c.noisy && cell.mode === "on") flags.push("spread > effect");
        if (c.sharingInactive && cell.mode === "on") flags.push("no sharing on this path");
        if (cell.mode === "split" && c.splitShared) flags.push("**SHARED ACROSS DOMAINS**");
        out.push(
          `| ${c.path} | ${cell.mode} | ${f1(cell.afterA.median)} [${f1(cell.afterA.min)}-${f1(cell.afterA.max)}] | ` +
            `${f1(cell.afterB.median)} [${f1(cell.afterB.min)}-${f1(cell.afterB.max)}] | ${f1(cell.expectedAfterB)} | ` +
            `${cell.mode === "off" ? "-" : f1(cell.reductionPct)} | ${cell.mode === "on" ? f1(c.expectedReductionPct) : ""} | ` +
            `${cell.mode === "on" ? f1(c.efficiencyPct) : ""} | ${flags.join(", ")} |`,
        );
      }
    }
    out.push("");
  }
  if (run.runtimeCells.length) {
    out.push(
      "## Runtime phase",
      "",
      `Memory basis: ${run.runtimeBasis}. Page cache is the global Cached - Shmem growth; file/anon/shmem are the containers' memory.stat, summed. ` +
        "\"vs split\" compares on with split (sharing enabled, images in different domains): the saving from sharing across images alone, " +
        "with any difference of the sharing code path itself (readahead, for one) taken out.",
      "",
      "| workload | mode | memory MiB (median [min-max]) | reduction % vs off | vs split | page cache MiB | file MiB | anon MiB | shmem MiB | failed boots |",
      "|---|---|---|---|---|---|---|---|---|---|",
    );
    for (const c of run.runtimeCells) {
      out.push(
        `| ${c.workload} | ${c.mode} | ${f1(c.memory.median)} [${f1(c.memory.min)}-${f1(c.memory.max)}] | ${c.mode === "off" ? "-" : f1(c.reductionPct)} | ` +
          `${c.mode === "on" ? f1(c.reductionVsSplitPct) : ""} | ` +
          `${f1(c.pageCache.median)} | ${f1(c.file.median)} | ${f1(c.anon.median)} | ${f1(c.shmem.median)} | ${c.failures.length} |`,
      );
    }
    out.push("", "Load (median throughput per container; the cost of the sharing path shows as off vs on):", "");
    out.push("| workload | mode | container | step | throughput | avg latency ms |", "|---|---|---|---|---|---|");
    for (const c of run.runtimeCells) {
      for (const l of c.load) {
        out.push(`| ${c.workload} | ${c.mode} | ${l.container} | ${l.step} | ${l.throughput.median.toFixed(1)} ${l.unit} [${l.throughput.min.toFixed(1)}-${l.throughput.max.toFixed(1)}] | ${l.latencyAvgMs ? f1(l.latencyAvgMs.median) : "n/a"} |`);
      }
    }
    out.push("");
  }
  const failed = failedCells(run);
  if (failed.length) {
    out.push("## Failed boots", "");
    for (const f of failed) out.push(`### ${f.workload} ${f.where}: ${f.count} of ${f.of} failed`, "", "```", f.detail, "```", "");
  }
  if (run.warnings.length) out.push("## Warnings", "", ...run.warnings.map((w) => `- ${w}`), "");
  out.push("## Stage times", "", "| stage | seconds | cached |", "|---|---|---|");
  for (const t of run.stageTimes) out.push(`| ${t.stage} | ${t.seconds.toFixed(1)} | ${t.reused ? "yes" : "no"} |`);
  return out.join("\n") + "\n";
}
