import type { FigureMove, ReferenceDifference, RunSpeed } from "../record/runSpeed.js";
import { fmtElapsed } from "../util/progress.js";

/** A run of other workloads than the reference's leaves many figures unmatched: the first few say which. */
const UNMATCHED_SHOWN = 4;
const mib = (x: number) => x.toFixed(2);
const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(2)}`;
const move = (m: FigureMove) =>
  `${m.figure}: ${mib(m.referenceMiB)} -> ${mib(m.thisMiB)} MiB (${signed(m.diffMiB)}, band ${mib(m.bandMiB)})`;

function renderDifference(d: ReferenceDifference): string[] {
  const largest = d.largest ? `largest ${mib(Math.abs(d.largest.diffMiB))} MiB (${move(d.largest)})` : "none in common";
  const out = [
    `  figures against ${d.referenceDir}: ${d.compared} compared, ${largest}; ${d.outsideBand.length} outside their settle band`,
  ];
  if (d.inputsDiffer.length)
    out.push(`    different inputs, so figures may differ for that alone: ${d.inputsDiffer.join("; ")}`);
  for (const m of d.outsideBand) out.push(`    outside its band: ${move(m)}`);
  const shown = d.unmatched.slice(0, UNMATCHED_SHOWN);
  if (shown.length)
    out.push(
      `    not compared (${d.unmatched.length}): ${shown.join("; ")}${d.unmatched.length > shown.length ? "; ..." : ""}`,
    );
  out.push(
    d.verdicts.length
      ? `  verdicts that differ: ${d.verdicts.map((v) => `${v.check} ${v.reference} -> ${v.this}`).join(", ")}`
      : "  verdicts: the same",
  );
  return out;
}

/**
 * The speed benchmark's table: per run, each phase's wall against its boots'
 * own work (1.00 when nothing overlapped, 0.50 when two guests worked side by
 * side all along) and the median boot to /init; then how far the figures
 * moved from the reference run, if there is one.
 */
export function renderSpeed(runs: RunSpeed[]): string {
  const out: string[] = [];
  for (const r of runs) {
    const guests =
      r.parallel === null
        ? ""
        : `${r.parallel} guest(s) at once, runtime boots ${r.runtimeAlone ? "alone" : "side by side"}; `;
    out.push(
      `${r.runDir}: ${guests}whole run ${r.runWallMs === null ? "unfinished" : fmtElapsed(r.runWallMs)} (preparing ${fmtElapsed(r.prepareMs)})`,
    );
    out.push("  phase        boots  wall      sum of boot walls  wall / boot work  boot to /init (median)");
    for (const p of r.phases) {
      out.push(
        [
          "  " + p.phase.padEnd(11),
          String(p.boots).padEnd(5),
          fmtElapsed(p.wallMs).padEnd(8),
          fmtElapsed(p.bootWallSumMs).padEnd(17),
          (p.ratio === null ? "-" : p.ratio.toFixed(2)).padEnd(16),
          p.bootToInitMedianMs === null ? "-" : `${(p.bootToInitMedianMs / 1000).toFixed(2)} s`,
        ].join("  "),
      );
    }
    if (r.reference) out.push(...renderDifference(r.reference));
    out.push("");
  }
  return out.join("\n");
}
