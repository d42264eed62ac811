import { ACCESS_PATHS } from "../../guest/modes.js";
import { esc, fmtNum } from "./escape.js";
import { lineChart } from "./lineChart.js";
import type { NightEntry } from "./nightEntries.js";
import {
  annotationsFor,
  changeGroups,
  marksFor,
  onReadAll,
  onRuntime,
  regressionBadge,
  runLink,
  timeLabels,
  whereText,
  type ChangeGroup,
} from "./nightlyMarks.js";
import { figure, page, statusBadge, table, type Column } from "./page.js";

/**
 * nightly.html in a history folder: every night's figures over time, one
 * chart per (workload, access path) for sharing efficiency and for page
 * cache off / on, one per workload for the runtime memory reduction.
 * Regressions are marked on the nights that had them and link to that
 * night's verdict; changes of the kernel, mkfs.erofs or a workload's images
 * are dashed lines on the time axis, numbered and listed.
 */

function workloadsOf(nights: NightEntry[]): string[] {
  const out: string[] = [];
  for (const n of nights)
    for (const w of [...n.cells.map((c) => c.workload), ...n.runtime.map((r) => r.workload)])
      if (!out.includes(w)) out.push(w);
  return out;
}

function pathsOf(nights: NightEntry[], w: string): string[] {
  const order: readonly string[] = ACCESS_PATHS;
  const ps = [...new Set(nights.flatMap((n) => n.cells.filter((c) => c.workload === w).map((c) => c.path)))];
  return ps.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b));
}

function workloadSection(nights: NightEntry[], x: string[], w: string, wi: number, groups: ChangeGroup[]): string {
  const notes = annotationsFor(groups, w);
  const charts: string[] = [];
  const paths = pathsOf(nights, w);
  for (const [pi, p] of paths.entries()) {
    const cell = (n: NightEntry) => n.cells.find((c) => c.workload === w && c.path === p);
    const marks = marksFor(nights, (r) => onReadAll(r, w, p));
    charts.push(
      figure(
        `${w} · ${p}: sharing efficiency (%)`,
        lineChart({
          id: `n${wi}-${pi}-eff`,
          title: `${w}, ${p}: sharing efficiency per night`,
          desc: `Measured on-vs-off page cache reduction as a percentage of the expected reduction, one point per night, ${nights.length} nights.`,
          unit: "% of expected",
          x,
          series: [{ label: "efficiency", values: nights.map((n) => cell(n)?.efficiencyPct), tone: "on" }],
          // a few points of noise on a flat line should look like a few points
          minSpan: 10,
          marks,
          annotations: notes,
        }),
      ),
      figure(
        `${w} · ${p}: page cache after A+B (MiB)`,
        lineChart({
          id: `n${wi}-${pi}-mib`,
          title: `${w}, ${p}: page cache after A+B, sharing off and on, per night`,
          desc: `Median page cache in MiB after reading both images, with sharing off and on, one point per night.`,
          unit: "MiB",
          x,
          series: [
            { label: "off", values: nights.map((n) => cell(n)?.offMiB), tone: "off" },
            { label: "on", values: nights.map((n) => cell(n)?.onMiB), tone: "on" },
          ],
          marks,
          annotations: notes,
          includeZero: true,
        }),
      ),
    );
  }
  const modes = [...new Set(nights.flatMap((n) => n.runtime.filter((r) => r.workload === w).map((r) => r.mode)))];
  if (modes.length) {
    charts.push(
      figure(
        `${w}: runtime memory reduction vs off (%)`,
        lineChart({
          id: `n${wi}-rt`,
          title: `${w}: runtime memory reduction against sharing off, per night`,
          desc: `Reduction of the containers' memory.current with sharing ${modes.join(" and ")} against off, in percent, one point per night.`,
          unit: "% vs off",
          x,
          series: modes.map((m) => ({
            label: m,
            values: nights.map((n) => n.runtime.find((r) => r.workload === w && r.mode === m)?.reductionPct),
            tone: m === "on" ? ("on" as const) : m === "split" ? ("split" as const) : ("neutral" as const),
          })),
          marks: marksFor(nights, (r) => onRuntime(r, w)),
          annotations: notes,
          includeZero: true,
        }),
      ),
    );
  }
  const cols: Array<Column<NightEntry>> = [
    { head: "night", cell: (n) => esc(x[nights.indexOf(n)]), nowrap: true },
    { head: "run", cell: runLink, nowrap: true },
    ...paths.flatMap((p): Array<Column<NightEntry>> => {
      const cell = (n: NightEntry) => n.cells.find((c) => c.workload === w && c.path === p);
      return [
        { head: `${p} efficiency %`, cell: (n) => fmtNum(cell(n)?.efficiencyPct), num: true },
        { head: `${p} off MiB`, cell: (n) => fmtNum(cell(n)?.offMiB), num: true },
        { head: `${p} on MiB`, cell: (n) => fmtNum(cell(n)?.onMiB), num: true },
      ];
    }),
    ...modes.map(
      (m): Column<NightEntry> => ({
        head: `runtime ${m} vs off %`,
        cell: (n) => fmtNum(n.runtime.find((r) => r.workload === w && r.mode === m)?.reductionPct),
        num: true,
      }),
    ),
    {
      head: "regressions",
      cell: (n) =>
        esc(
          n.regressed
            .filter((r) => r.workload === w || r.workload === "*")
            .map(whereText)
            .join("; "),
        ),
      wrap: true,
    },
  ];
  return (
    `<section id="w${wi}"><h2>${esc(w)}</h2>` +
    (notes.length
      ? `<p class="note">Input changes on these charts: ${notes.map((a) => `<strong>${esc(a.tag)}</strong> ${esc(a.label)}`).join("; ")}.</p>`
      : "") +
    `<div class="charts">${charts.join("")}</div>` +
    `<details><summary>${esc(w)}: figures per night</summary>${table(`${w}: figures per night`, cols, nights, (n) => (n.regressed.some((r) => r.workload === w || r.workload === "*") ? "regression" : undefined))}</details>` +
    `</section>`
  );
}

function changesSection(nights: NightEntry[], x: string[], groups: ChangeGroup[]): string {
  const body = groups.length
    ? table(
        "Inputs that changed from one night to the next",
        [
          { head: "#", cell: (g: ChangeGroup) => `<strong>${esc(g.tag)}</strong>` },
          { head: "first night", cell: (g: ChangeGroup) => `${esc(x[g.index])}<br>${runLink(nights[g.index]!)}` },
          {
            head: "changes",
            cell: (g: ChangeGroup) =>
              `<ul>${g.changes.map((c) => `<li>${esc(c.what)}: <code>${esc(c.from)}</code> → <code>${esc(c.to)}</code></li>`).join("")}</ul>`,
            wrap: true,
          },
        ],
        groups,
      )
    : `<p>The kernel, mkfs.erofs and the images were the same every night.</p>`;
  return `<section id="changes"><h2>Input changes</h2>${body}</section>`;
}

function nightsSection(nights: NightEntry[], x: string[]): string {
  const cols: Array<Column<NightEntry>> = [
    { head: "night", cell: (n) => esc(x[nights.indexOf(n)]), nowrap: true },
    { head: "run", cell: runLink, nowrap: true },
    { head: "status", cell: (n) => statusBadge(n.status) },
    { head: "regressions", cell: regressionBadge },
    { head: "kernel", cell: (n) => esc(n.kernelRelease ?? "?") },
    {
      head: "baseline",
      cell: (n) =>
        n.baseline ? `<span class="mono">${esc(n.baseline)}</span>` : `<span class="meta">first baseline</span>`,
      nowrap: true,
    },
    { head: "what regressed", cell: (n) => esc(n.regressed.map(whereText).join("; ")) + bisectLinks(n), wrap: true },
  ];
  return `<section id="nights"><h2>Nights</h2>${table("Every night, oldest first", cols, nights, (n) => ((n.regressions ?? 0) > 0 ? "regression" : undefined))}</section>`;
}

/** Links to the bisections a night ran for its regressions. */
function bisectLinks(n: NightEntry): string {
  return (n.bisections ?? []).map((b) => ` <a href="${esc(b.href)}">bisection of ${esc(b.row)}</a>`).join("");
}

function latestNight(last: NightEntry): string {
  const bad = (last.regressions ?? 0) > 0 || last.status !== "complete";
  const what = last.regressed.length
    ? `<ul>${last.regressed.map((r) => `<li>${esc(whereText(r))}</li>`).join("")}</ul>${bisectLinks(last)}`
    : "";
  return `<div class="box ${bad ? "bad" : "ok"}"><strong>Latest night</strong> ${runLink(last)} ${statusBadge(last.status)} ${regressionBadge(last)}${what}</div>`;
}

export function renderNightlyHtml(input: NightEntry[], opts: { notes?: string[]; title?: string } = {}): string {
  const nights = [...input].sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.runId.localeCompare(b.runId));
  const title = opts.title ?? "erofs-share-bench nightly";
  const x = timeLabels(nights);
  const first = nights[0];
  const last = nights[nights.length - 1];
  const span =
    first && last
      ? `, ${esc(first.startedAt.slice(0, 16).replace("T", " "))} to ${esc(last.startedAt.slice(0, 16).replace("T", " "))} UTC`
      : "";
  const parts = [`<header><h1>${esc(title)}</h1><p class="meta">${nights.length} night(s)${span}</p></header>`];
  if (last) parts.push(latestNight(last));
  if (opts.notes?.length) {
    parts.push(
      `<div class="box warn"><strong>Skipped while loading</strong><ul>${opts.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul></div>`,
    );
  }
  if (!nights.length) {
    parts.push(`<p>No nights in this history folder yet.</p>`);
    return page({ title, body: parts.join("\n") });
  }
  const groups = changeGroups(nights);
  const names = workloadsOf(nights);
  parts.push(
    `<nav class="toc" aria-label="Contents">${[...names.map((w, i) => `<a href="#w${i}">${esc(w)}</a>`), `<a href="#changes">Input changes</a>`, `<a href="#nights">Nights</a>`].join(" ")}</nav>`,
  );
  parts.push(
    `<p class="note">One point per night. <span class="bang">!</span> marks a night judged a regression (it links to that night's comparison); ` +
      `a dashed line with a number marks a change of the kernel, mkfs.erofs or the images before that night.</p>`,
  );
  for (const [i, w] of names.entries()) parts.push(workloadSection(nights, x, w, i, groups));
  parts.push(changesSection(nights, x, groups), nightsSection(nights, x));
  return page({ title, body: parts.join("\n") });
}
