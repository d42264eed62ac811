import { acceleratorLabel } from "../../guest/accelerator.js";
import type { RunRecord, WorkloadRecord } from "../../record/runRecord.js";
import { esc, fmtNum } from "./escape.js";
import { mib, when } from "./figures.js";
import { kv, statusBadge, table } from "./page.js";

/**
 * The inputs of a run at the end of report.html, collapsed: what a reader
 * needs to reproduce it or to tell two runs apart (kernel, series, images,
 * accelerator, host) and where the time went.
 */

function json(v: unknown): string {
  return v === undefined ? `<span class="meta">not recorded</span>` : `<pre>${esc(JSON.stringify(v, null, 2))}</pre>`;
}

function code(v: unknown): string {
  return v === undefined || v === null || v === "" ? `<span class="meta">?</span>` : `<code>${esc(v)}</code>`;
}

/** How the boots were run, and for a shard or a merge, which part of the plan this is. */
function scheduling(run: RunRecord): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const s = run.scheduling;
  if (s)
    out.push([
      "boots",
      esc(
        `read-all: ${s.parallel} guest(s) at once (${s.why}); runtime boots ${s.runtimeAlone ? "alone on the host" : "beside other guests"}${s.runtimeWhy ? ` (${s.runtimeWhy})` : ""}`,
      ),
    ]);
  if (run.shard) out.push(["shard", esc(`${run.shard.index} of ${run.shard.count}`)]);
  if (run.mergedFrom?.length) out.push(["merged from", run.mergedFrom.map(code).join("<br>")]);
  return out;
}

function runPart(run: RunRecord): string {
  const p = run.plan;
  const plan = `workloads ${p.workloads.join(", ")}; modes ${p.modes.join(", ")}; paths ${p.paths.join(", ")}; phases ${p.phases.join(", ")}; ${p.reps} rep(s)${p.quick ? ", quick" : ""}; reads checked with ${p.digest}`;
  return (
    `<h3>Run</h3>` +
    kv([
      ["run id", code(run.runId)],
      ["status", statusBadge(run.status)],
      ["started", esc(when(run.startedAt))],
      ["finished", esc(run.finishedAt ? when(run.finishedAt) : "–")],
      ["command", code(run.command.join(" "))],
      ["plan", esc(plan)],
      ...scheduling(run),
    ]) +
    `<h3>Series</h3>` +
    kv([
      ["name", esc(run.series.name)],
      ["title", esc(run.series.title)],
      ["spec sha256", code(run.series.specSha256)],
      ["share mount options", code(run.series.shareMountOptions)],
    ])
  );
}

function kernelPart(run: RunRecord): string {
  const k = run.kernel;
  if (!k) return `<h3>Kernel</h3><p class="meta">not recorded</p>`;
  return (
    `<h3>Kernel</h3>` +
    kv([
      ["release", code(k.release)],
      ["build key", code(k.buildKey)],
    ]) +
    `<details><summary>source</summary>${json(k.source)}</details>` +
    `<details><summary>build</summary>${json(k.build)}</details>` +
    (k.apply ? `<details><summary>series applied</summary>${json(k.apply)}</details>` : "")
  );
}

function hostPart(run: RunRecord): string {
  return (
    `<h3>Accelerator and host</h3>` +
    kv([
      [
        "accelerator",
        run.accel
          ? `${esc(acceleratorLabel(run.accel))} <span class="meta">(${esc(run.accel.reason)})</span>`
          : `<span class="meta">?</span>`,
      ],
      ["qemu", esc(run.host.qemu ?? "?")],
      ["compiler", esc(run.host.compiler ?? "?")],
      ["host kernel", esc(run.host.hostKernel)],
      ["cpus", esc(run.host.cpus)],
      ["node", esc(run.host.node)],
    ]) +
    `<details><summary>erofs-utils</summary>${json(run.erofsUtils)}</details>` +
    `<details><summary>guest initramfs</summary>${json(run.initramfs)}</details>`
  );
}

function imagesPart(w: WorkloadRecord): string {
  const rows = [
    { side: "A", i: w.imageA },
    { side: "B", i: w.imageB },
  ];
  const images = table(
    `${w.name}: images`,
    [
      { head: "image", cell: (r) => r.side },
      { head: "label", cell: (r) => esc(r.i.label) },
      { head: "sha256", cell: (r) => code(r.i.imageSha256), wrap: true },
      { head: "MiB", cell: (r) => mib(r.i.imageBytes), num: true },
      { head: "mkfs.erofs", cell: (r) => esc(r.i.mkfsVersion) },
      { head: "profile", cell: (r) => esc(r.i.profile) },
      { head: "arguments", cell: (r) => code(r.i.mkfsArgs.join(" ")), wrap: true },
      { head: "source", cell: (r) => esc(r.i.source), wrap: true },
    ],
    rows,
  );
  const superblocks = `<details><summary>superblocks</summary>${json({ A: w.imageA.superblock, B: w.imageB.superblock })}</details>`;
  const fs = w.rootfs;
  const packages = fs
    ? `<details><summary>Debian root filesystems (${esc(fs.a.suites.join(", "))} / ${esc(fs.b.suites.join(", "))}; ` +
      `${Object.keys(fs.a.packages).length} / ${Object.keys(fs.b.packages).length} packages)</summary>` +
      table(
        `${w.name}: the recipe's packages, installed versions`,
        [
          { head: "package", cell: (p: string) => esc(p) },
          { head: "A", cell: (p: string) => esc(fs.a.installed[p] ?? "–") },
          { head: "B", cell: (p: string) => esc(fs.b.installed[p] ?? "–") },
        ],
        [...new Set([...Object.keys(fs.a.installed), ...Object.keys(fs.b.installed)])].sort(),
      ) +
      `</details>`
    : "";
  return `<h3>Images: ${esc(w.name)}</h3><p>${esc(w.image)} ${esc(w.versions)}</p>${images}${superblocks}${packages}`;
}

function stageTimesPart(run: RunRecord): string {
  const total = run.stageTimes.reduce((s, t) => s + t.seconds, 0);
  return (
    `<h3>Stage times</h3>` +
    table(
      `Stage times (their sum ${total.toFixed(0)} s; the images are made while the kernel compiles)`,
      [
        { head: "stage", cell: (t) => esc(t.stage) },
        { head: "seconds", cell: (t) => fmtNum(t.seconds), num: true },
        { head: "cached", cell: (t) => (t.reused ? "yes" : "no") },
      ],
      run.stageTimes,
    )
  );
}

export function inputsSection(run: RunRecord): string {
  const parts = [runPart(run), kernelPart(run), hostPart(run), ...run.workloads.map(imagesPart), stageTimesPart(run)];
  return `<section id="inputs"><h2>Inputs</h2><details><summary>Kernel, series, images, accelerator, stage times</summary>${parts.join("\n")}</details></section>`;
}
