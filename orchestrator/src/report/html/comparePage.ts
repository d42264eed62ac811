import type { MetricRow, RunComparison, Verdict } from "../../analysis/compareRuns.js";
import { SIGNIFICANCE_RULE } from "../significanceText.js";
import { imagesSentence } from "../comparison.js";
import { barChart, type BarGroup } from "./barChart.js";
import { esc, isNum } from "./escape.js";
import { badge, figure, kv, page, statusBadge, table } from "./page.js";

/**
 * The HTML side of `compare A,B` (`--html FILE`) and of a night's
 * nightly.md (comparison.html): the inputs that changed, every metric with
 * baseline, current, delta and verdict, regressions first in a box and
 * highlighted in the table.
 */

const VERDICT_TONE: Record<Verdict, "ok" | "bad" | "warn" | "muted"> = {
  ok: "muted",
  regression: "bad",
  improvement: "ok",
  changed: "warn",
  new: "muted",
  missing: "warn",
  unjudged: "muted",
};

function value(v: number | undefined, unit: MetricRow["unit"]): string {
  if (!isNum(v)) return "–";
  return esc(unit === "count" ? String(v) : v.toFixed(1));
}

function delta(r: MetricRow): string {
  if (!isNum(r.baseline) || !isNum(r.current)) return "";
  const d = r.current - r.baseline;
  const abs = Math.abs(d);
  // what rounds to zero is shown as ±0.0, not as −0.0
  const shown = r.unit === "count" ? abs : Number(abs.toFixed(1));
  const sign = shown === 0 ? "±" : d > 0 ? "+" : "−";
  if (r.unit === "%") return `${sign}${abs.toFixed(1)} pt`;
  if (r.unit === "MiB") return `${sign}${abs.toFixed(1)} MiB`;
  return `${sign}${r.unit === "count" ? abs : abs.toFixed(1)}`;
}

function unitLabel(u: MetricRow["unit"]): string {
  return u === "count" ? "" : u;
}

/** Baseline and current of the percentage metrics that carry a verdict, side by side. */
function percentChart(cmp: RunComparison): string {
  const groups: BarGroup[] = cmp.rows
    .filter((r) => r.unit === "%" && /efficiency|memory reduction/.test(r.metric))
    .map((r) => ({
      label: `${r.workload} · ${r.where}${/efficiency/.test(r.metric) ? " · efficiency" : " · memory reduction"}`,
      bars: [
        { label: "baseline", value: r.baseline, tone: "neutral" as const },
        { label: "current", value: r.current, tone: r.verdict === "regression" ? ("bad" as const) : ("on" as const) },
      ],
    }));
  if (!groups.length) return "";
  const runtime = groups.some((g) => g.label.endsWith("memory reduction"));
  return figure(
    `${runtime ? "Efficiency and runtime reduction" : "Sharing efficiency"}, baseline and current (%)`,
    barChart({
      id: "cmp-pct",
      title: "Sharing efficiency and runtime memory reduction, baseline against current",
      desc: `Per workload and access path (read-all) or mode (runtime), the baseline run ${cmp.baseline.runId} and the current run ${cmp.current.runId}, in percent. A current bar drawn in red is a regression.`,
      unit: "%",
      groups,
      legend: [
        { label: "baseline", tone: "neutral" },
        { label: "current", tone: "on" },
        ...(groups.some((g) => g.bars.some((b) => b.tone === "bad"))
          ? [{ label: "current, regression", tone: "bad" as const }]
          : []),
      ],
    }),
    "The table below has every metric with its delta and verdict.",
  );
}

function runRef(side: RunComparison["baseline"], href: string | undefined): string {
  const id = `<span class="mono">${esc(side.runId)}</span>`;
  return `${href ? `<a href="${esc(href)}">${id}</a>` : id} ${statusBadge(side.status)}<br><span class="meta mono">${esc(side.dir)}</span>`;
}

export function renderComparisonHtml(
  cmp: RunComparison,
  opts: { baselineHref?: string; currentHref?: string } = {},
): string {
  const regressions = cmp.rows.filter((r) => r.verdict === "regression");
  const verdict = cmp.regressions ? badge(`REGRESSION (${cmp.regressions})`, "bad") : badge("no regression", "ok");
  const t = cmp.thresholds;
  const parts: string[] = [
    `<header><h1>${esc(cmp.current.runId)} against ${esc(cmp.baseline.runId)}</h1><p>${verdict}</p></header>`,
  ];
  if (regressions.length) {
    parts.push(
      `<div class="box bad"><h3>Regressions</h3><ul>` +
        regressions
          .map(
            (r) =>
              `<li>${esc(r.workload === "*" ? "" : `${r.workload} `)}${esc(r.where)}: ${esc(r.metric)} ${value(r.baseline, r.unit)} → ${value(r.current, r.unit)} ${esc(unitLabel(r.unit))}${r.note ? ` <span class="meta">(${esc(r.note)})</span>` : ""}</li>`,
          )
          .join("") +
        `</ul></div>`,
    );
  }
  parts.push(
    kv([
      ["baseline", runRef(cmp.baseline, opts.baselineHref)],
      ["current", runRef(cmp.current, opts.currentHref)],
    ]),
  );
  parts.push(
    `<p class="note">Thresholds: read-all sharing efficiency −${esc(t.efficiencyPoints)} pt, runtime reduction −${esc(t.runtimePoints)} pt, ` +
      `off-mode page cache ±${esc(t.offChangePct)}% (reported as changed).</p>`,
  );
  parts.push(`<p class="note">${esc(SIGNIFICANCE_RULE)}</p>`);
  parts.push(
    `<div class="box ${cmp.imagesMoved.length ? "warn" : "ok"}" id="images">${esc(imagesSentence(cmp))}</div>`,
  );
  parts.push(
    `<section id="inputs"><h2>Inputs that changed</h2>` +
      (cmp.inputsChanged.length
        ? table(
            "Inputs that differ between the two runs",
            [
              { head: "input", cell: (i: RunComparison["inputsChanged"][number]) => esc(i.input) },
              {
                head: "baseline",
                cell: (i: RunComparison["inputsChanged"][number]) => `<code>${esc(i.baseline)}</code>`,
                wrap: true,
              },
              {
                head: "current",
                cell: (i: RunComparison["inputsChanged"][number]) => `<code>${esc(i.current)}</code>`,
                wrap: true,
              },
            ],
            cmp.inputsChanged,
          )
        : `<div class="box ok">Identical: kernel, images, mkfs.erofs, guest initramfs, QEMU, accelerator, plan.</div>`) +
      `</section>`,
  );
  const chart = percentChart(cmp);
  parts.push(
    `<section id="metrics"><h2>Metrics</h2>` +
      (chart ? `<div class="charts">${chart}</div>` : "") +
      table(
        "Every metric, baseline against current",
        [
          { head: "workload", cell: (r: MetricRow) => esc(r.workload === "*" ? "run" : r.workload) },
          { head: "where", cell: (r: MetricRow) => esc(r.where), nowrap: true },
          { head: "metric", cell: (r: MetricRow) => esc(r.metric), wrap: true },
          { head: "baseline", cell: (r: MetricRow) => `${value(r.baseline, r.unit)}`, num: true },
          { head: "current", cell: (r: MetricRow) => `${value(r.current, r.unit)}`, num: true },
          { head: "delta", cell: (r: MetricRow) => esc(delta(r)), num: true },
          {
            head: "significance",
            cell: (r: MetricRow) =>
              r.significance ? badge(r.significance, r.significance === "significant" ? "warn" : "muted") : "",
            nowrap: true,
          },
          {
            head: "verdict",
            cell: (r: MetricRow) =>
              badge(r.verdict === "regression" ? "REGRESSION" : r.verdict, VERDICT_TONE[r.verdict] ?? "muted"),
          },
          // an empty column only widens the table
          ...(cmp.rows.some((r) => r.note)
            ? [{ head: "note", cell: (r: MetricRow) => esc(r.note ?? ""), wrap: true }]
            : []),
        ],
        cmp.rows,
        (r) => (r.verdict === "regression" ? "regression" : r.verdict === "improvement" ? "improvement" : undefined),
      ) +
      `</section>`,
  );
  const unjudged = cmp.unjudged ? `, ${cmp.unjudged} not judged (images moved)` : "";
  return page({
    title: `${cmp.current.runId} against ${cmp.baseline.runId}: ${cmp.regressions ? `REGRESSION (${cmp.regressions})` : "no regression"}${unjudged}`,
    body: parts.join("\n"),
  });
}
