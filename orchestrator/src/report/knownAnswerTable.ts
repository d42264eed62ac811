import { BAD_VERDICTS, type KnownVerdict, type TargetResult } from "../analysis/knownAnswerVerdicts.js";

/** The known-answer matrix: one row per target (mainline, then each mutant), one column per signal. */

const CELL: Record<KnownVerdict, string> = {
  ok: ".",
  caught: "CAUGHT",
  missed: "MISSED",
  unexpected: "UNEXP",
  implied: "impl",
  finding: "find",
  intermittent: "int",
  known: "KNOWN",
  inconclusive: "??",
  otherwise: "OTHER",
};

/** Short column heads, in the order the signals are given. */
function heads(signals: readonly string[]): string[] {
  const short: Record<string, string> = {
    "readall-corruption": "ra-corr",
    "readall-leak": "ra-leak",
    "readall-boot": "ra-boot",
    "private-write": "priv-w",
    "umount-shared": "umount",
    reclaim: "reclaim",
    concurrency: "concur",
    fadvise: "fadv",
    "mount-cycles": "cycles",
    "trust-same-domain": "trust-sd",
    "trust-cross-domain": "trust-cd",
    corrupt: "corrupt",
    "corrupt-same-domain": "corr-sd",
    "copy-up": "copy-up",
  };
  return signals.map((s) => short[s] ?? s.slice(0, 8));
}

export function knownAnswerLegend(signals: readonly string[]): string[] {
  const h = heads(signals);
  return [
    `columns: ${signals.map((s, i) => (h[i] === s ? s : `${h[i]}=${s}`)).join(", ")}`,
    "cells: CAUGHT = failed as the mutant's entry says it must; MISSED = did not (a defect of this tool); UNEXP = failed where nothing implies it;",
    "impl = failed, as the mutant implies; find = a finding (by design on mainline); int = failed in some boots only (its rate in the details);",
    "KNOWN = a failure the base itself has (kernel/mutants/mutants.yaml, knownOnBase): a bug of the kernel the check found;",
    "?? = could not judge (error, not applicable, not run) where a verdict was needed; . = as on mainline;",
    "OTHER = failed, but without the evidence the mutant's entry names (a defect of this tool: caught for the wrong reason)",
  ];
}

/** A target's row name: a reviewer's own mutant is marked, so no one takes it for one of the tool's. */
function rowName(r: TargetResult): string {
  return r.from ? `${r.target} (yours)` : r.target;
}

/** Where each of a reviewer's own mutants came from, one line each. */
function fromLines(results: TargetResult[]): string[] {
  return results.filter((r) => r.from).map((r) => `${r.target} (yours): from ${r.from}`);
}

/** The matrix as plain text. */
export function renderKnownAnswerText(results: TargetResult[], signals: readonly string[]): string {
  const h = heads(signals);
  const w = Math.max(8, ...h.map((x) => x.length)) + 1;
  const tw = Math.max(8, ...results.map((r) => rowName(r).length)) + 2;
  const lines = [`${"".padEnd(tw)}${h.map((x) => x.padEnd(w)).join("")}`];
  for (const r of results)
    lines.push(
      `${rowName(r).padEnd(tw)}${signals.map((s) => CELL[r.verdicts[s] ?? "inconclusive"].padEnd(w)).join("")}`.trimEnd(),
    );
  return [...lines, ...fromLines(results)].join("\n") + "\n";
}

/** Cells whose verdict is one of these, with what the run showed. */
function cellsWith(results: TargetResult[], signals: readonly string[], pick: (v: KnownVerdict) => boolean): string[] {
  return results.flatMap((r) =>
    signals.flatMap((s) => {
      const v = r.verdicts[s];
      return v && pick(v) ? [`${r.target} ${s}: ${v.toUpperCase()}: ${r.signals[s]?.detail ?? ""}`] : [];
    }),
  );
}

/** Every cell that is not as expected (a defect of this tool), and every target not measured: what to look at first. */
export function knownAnswerProblems(results: TargetResult[], signals: readonly string[]): string[] {
  return [
    ...results.flatMap((r) => (r.error ? [`${r.target}: not measured: ${r.error}`] : [])),
    ...cellsWith(results, signals, (v) => BAD_VERDICTS.includes(v)),
  ];
}

/** Failures that are no defect of this tool, but worth reading: bugs the base kernel itself has, and failures seen in some boots only. */
export function knownAnswerNotes(results: TargetResult[], signals: readonly string[]): string[] {
  return cellsWith(results, signals, (v) => v === "known" || v === "intermittent");
}

/** The matrix as a markdown table, with what each mutant breaks. */
export function renderKnownAnswerMarkdown(results: TargetResult[], signals: readonly string[]): string {
  const h = heads(signals);
  const out = [
    `| target | ${h.join(" | ")} |`,
    `|---|${signals.map(() => "---").join("|")}|`,
    ...results.map(
      (r) => `| ${rowName(r)} | ${signals.map((s) => CELL[r.verdicts[s] ?? "inconclusive"]).join(" | ")} |`,
    ),
    "",
    ...knownAnswerLegend(signals).map((l) => `${l}  `),
    "",
  ];
  const broken = results.filter((r) => r.breaks);
  if (broken.length)
    out.push(
      "| mutant | breaks | from |",
      "|---|---|---|",
      ...broken.map((r) => `| ${r.target} | ${r.breaks!.replaceAll("|", "\\|")} | ${r.from ?? "kernel/mutants/"} |`),
      "",
    );
  const problems = knownAnswerProblems(results, signals);
  if (problems.length) out.push("Not as expected:", "", ...problems.map((p) => `- ${p}`), "");
  const notes = knownAnswerNotes(results, signals);
  if (notes.length)
    out.push("Failures of the base kernel itself, and intermittent ones:", "", ...notes.map((p) => `- ${p}`), "");
  return out.join("\n");
}
