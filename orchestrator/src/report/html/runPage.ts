import { failedCells } from "../../analysis/failures.js";
import type { RunRecord } from "../../record/runRecord.js";
import { esc } from "./escape.js";
import { when } from "./figures.js";
import { page, statusBadge } from "./page.js";
import { correctnessSection, failedChecks, type CorrectnessCheck } from "./runCorrectness.js";
import { gapSection } from "./runGap.js";
import { inputsSection } from "./runInputs.js";
import { efficiencySection, workloadNames, workloadSection } from "./runReadAll.js";
import { runtimeSection } from "./runRuntime.js";

/**
 * report.html: one run on one self-contained page. What went wrong comes
 * first (run error, failed boots, flags, boots left out of medians, failed
 * checks, warnings), then the sharing efficiency of every cell, a section
 * per workload (with its gap to 100%), the runtime phase, the correctness
 * checks and every input.
 */

function box(tone: "bad" | "warn", title: string, inner: string): string {
  return `<div class="box ${tone}"><h3>${esc(title)}</h3>${inner}</div>`;
}

const list = (items: string[]) => `<ul>${items.map((i) => `<li>${i}</li>`).join("")}</ul>`;

function problems(run: RunRecord, correctness: CorrectnessCheck[]): string {
  const parts: string[] = [];
  if (run.status !== "complete") {
    const unfinished =
      run.status === "running"
        ? "The run is still going (this page is rewritten after every boot)"
        : "The run did not finish";
    const why = run.error
      ? `<pre>${esc(run.error)}</pre>`
      : `<p>${unfinished}; the figures below are what it measured until then.</p>`;
    parts.push(box(run.status === "running" ? "warn" : "bad", `Run ${run.status}`, why));
  }
  const failed = failedCells(run);
  if (failed.length) {
    const items = failed.map(
      (f) =>
        `<li><strong>${esc(f.workload)} ${esc(f.where)}</strong>: ${f.count} of ${f.of} failed<br>${esc(f.first)}` +
        `<details><summary>whole failure</summary><pre>${esc(f.detail)}</pre></details></li>`,
    );
    parts.push(
      box(
        "bad",
        "Failed boots",
        `<p>Their cells are left out or measured from the other boots.</p><ul class="failures">${items.join("")}</ul>`,
      ),
    );
  }
  const flagged = run.comparisons.filter((c) => c.splitShared || c.sharingInactive);
  if (flagged.length) {
    const why = (c: (typeof flagged)[number]) =>
      c.splitShared ? "images in different domains shared page cache (split): a LEAK" : "no sharing on this path";
    parts.push(
      box(
        flagged.some((c) => c.splitShared) ? "bad" : "warn",
        "Flags",
        list(flagged.map((c) => `${esc(c.workload)} ${esc(c.path)}: ${esc(why(c))}`)),
      ),
    );
  }
  const excluded = run.cells.flatMap((c) =>
    c.excluded.map((x) => `${esc(c.workload)} ${esc(c.mode)}/${esc(c.path)} rep ${esc(x.rep)}: ${esc(x.reason)}`),
  );
  if (excluded.length) parts.push(box("warn", "Boots left out of the medians", list(excluded)));
  const bad = failedChecks(correctness);
  if (bad.length) {
    parts.push(
      box(
        "bad",
        "Correctness",
        `<p>${bad.length} check(s) failed: ${bad.map((c) => esc(c.check)).join(", ")}. See <a href="#correctness">the correctness table</a>.</p>`,
      ),
    );
  }
  if (run.warnings.length) parts.push(box("warn", `Warnings (${run.warnings.length})`, list(run.warnings.map(esc))));
  if (!parts.length) parts.push(`<div class="box ok">No failed boots, no warnings, no flags.</div>`);
  return `<section id="problems" aria-label="Problems">${parts.join("\n")}</section>`;
}

function header(run: RunRecord, names: string[], correctness: CorrectnessCheck[]): string {
  const kernel = run.kernel?.release ? `Linux ${run.kernel.release}` : "kernel ?";
  const toc: Array<[string, string]> = [["#problems", "Problems"]];
  if (run.comparisons.length) toc.push(["#efficiency", "Efficiency"]);
  for (const [i, w] of names.entries()) toc.push([`#w${i}`, w]);
  if (run.runtimeCells.length) toc.push(["#runtime", "Runtime"]);
  if (correctness.length) toc.push(["#correctness", "Correctness"]);
  toc.push(["#inputs", "Inputs"]);
  return (
    `<header><h1>erofs-share-bench run <span class="mono">${esc(run.runId)}</span></h1>` +
    `<p class="meta">${statusBadge(run.status)} series <strong>${esc(run.series.name)}</strong> (${esc(run.series.title)}) on ${esc(kernel)}, ` +
    `QEMU ${esc(run.accel?.accel.toUpperCase() ?? "?")}, ${esc(run.plan.reps)} rep(s)${run.shard ? `, shard ${run.shard.index} of ${run.shard.count}` : ""}; started ${esc(when(run.startedAt))}${run.finishedAt ? `, finished ${esc(when(run.finishedAt))}` : ""}</p>` +
    `<nav class="toc" aria-label="Contents">${toc.map(([h, t]) => `<a href="${esc(h)}">${esc(t)}</a>`).join(" ")}</nav></header>`
  );
}

/** The page of a run. */
export function renderRunHtml(run: RunRecord): string {
  const names = workloadNames(run);
  const correctness: CorrectnessCheck[] = run.correctness.map((c) => ({
    check: c.name,
    series: c.series,
    result: c.result,
    boots: c.boots,
    reason: c.reason,
    proves: c.proves,
  }));
  const body = [
    header(run, names, correctness),
    problems(run, correctness),
    efficiencySection(run),
    ...names.map((w, i) => workloadSection(run, w, i, gapSection(run, w, i))),
    runtimeSection(run),
    correctnessSection(correctness),
    inputsSection(run),
  ].filter(Boolean);
  return page({ title: `erofs-share-bench ${run.runId} (${run.series.name}, ${run.status})`, body: body.join("\n") });
}
