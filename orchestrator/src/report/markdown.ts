import { bootsPlanned } from "../analysis/repetitions.js";
import { failedCells } from "../analysis/failures.js";
import { memoryVsOff, throughputVsOff } from "../analysis/runtimeSignificance.js";
import { RUNTIME_SIGNIFICANCE_NOTE } from "./significanceText.js";
import { describeAccelerator } from "../guest/accelerator.js";
import type { RunRecord } from "../record/runRecord.js";
import { renderCorrectnessMarkdown } from "./correctnessText.js";
import { renderGap } from "./gapText.js";
import { renderRuntimeSaving } from "./runtimeSaving.js";
import { renderRepetitions } from "./repetitionsTable.js";
import { renderTimeSpent } from "./timeSpent.js";

const f1 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? "n/a" : v.toFixed(1));

export function renderMarkdown(run: RunRecord): string {
  const out: string[] = [`# erofs-share-bench run ${run.runId}`, ""];
  out.push(`Status: **${run.status}**${run.error ? ` (${run.error.split("\n")[0]})` : ""}`, "");
  out.push(`- series: ${run.series.name} (${run.series.title}); share on = \`${run.series.shareMountOptions}\``);
  if (run.kernel) out.push(`- kernel: ${run.kernel.release ?? "?"}, build ${run.kernel.buildKey}`);
  out.push(`- accelerator: ${run.accel ? describeAccelerator(run.accel) : "?"}`);
  out.push(
    `- plan: modes ${run.plan.modes.join(", ")}; paths ${run.plan.paths.join(", ")}; ${run.plan.reps} rep(s)${run.plan.fixedReps === false ? " at most, fewer when settled" : ""}`,
    "",
  );
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
        if (cell.mode === "split" && c.splitShared) flags.push("**SHARED ACROSS DOMAINS (LEAK)**");
        const meant = bootsPlanned(run, "read-all", cell.workload, cell.path);
        if (cell.afterB.n < meant) flags.push(`median of ${cell.afterB.n} of ${meant} boots`);
        for (const x of cell.excluded) flags.push(`rep ${x.rep} left out: ${x.reason}`);
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
        '"vs split" compares on with split (sharing enabled, images in different domains): the saving from sharing across images alone, ' +
        "with any difference of the sharing code path itself (readahead, for one) taken out.",
      "",
      "| workload | mode | memory MiB (median [min-max]) | reduction % vs off | vs off significance | vs split | page cache MiB | file MiB | anon MiB | shmem MiB | failed boots |",
      "|---|---|---|---|---|---|---|---|---|---|---|",
    );
    for (const c of run.runtimeCells) {
      out.push(
        `| ${c.workload} | ${c.mode} | ${f1(c.memory.median)} [${f1(c.memory.min)}-${f1(c.memory.max)}] | ${c.mode === "off" ? "-" : f1(c.reductionPct)} | ` +
          `${memoryVsOff(run.runtimeCells, c) ?? "-"} | ` +
          `${c.mode === "on" ? f1(c.reductionVsSplitPct) : ""} | ` +
          `${f1(c.pageCache.median)} | ${f1(c.file.median)} | ${f1(c.anon.median)} | ${f1(c.shmem.median)} | ${c.failures.length} |`,
      );
    }
    out.push("", "Load (median throughput per container; the cost of the sharing path shows as off vs on):", "");
    out.push(
      "| workload | mode | container | step | throughput | vs off significance | avg latency ms |",
      "|---|---|---|---|---|---|---|",
    );
    for (const c of run.runtimeCells) {
      for (const l of c.load) {
        out.push(
          `| ${c.workload} | ${c.mode} | ${l.container} | ${l.step} | ${l.throughput.median.toFixed(1)} ${l.unit} [${l.throughput.min.toFixed(1)}-${l.throughput.max.toFixed(1)}] | ` +
            `${throughputVsOff(run.runtimeCells, c, l, run.accel?.accel, run.scheduling?.runtimeAlone ?? true) ?? "-"} | ${l.latencyAvgMs ? f1(l.latencyAvgMs.median) : "n/a"} |`,
        );
      }
    }
    out.push("", RUNTIME_SIGNIFICANCE_NOTE);
    out.push("");
  }
  out.push(...renderCorrectnessMarkdown(run.correctness, run.checksKernel));
  const failed = failedCells(run);
  if (failed.length) {
    out.push("## Failed boots", "");
    for (const f of failed)
      out.push(`### ${f.workload} ${f.where}: ${f.count} of ${f.of} failed`, "", "```", f.detail, "```", "");
  }
  if (run.warnings.length) out.push("## Warnings", "", ...run.warnings.map((w) => `- ${w}`), "");
  out.push(...renderGap(run));
  out.push(...renderRuntimeSaving(run));
  out.push(...renderRepetitions(run));
  out.push(...renderTimeSpent(run));
  out.push("## Stage times", "", "| stage | seconds | cached |", "|---|---|---|");
  for (const t of run.stageTimes) out.push(`| ${t.stage} | ${t.seconds.toFixed(1)} | ${t.reused ? "yes" : "no"} |`);
  return out.join("\n") + "\n";
}
