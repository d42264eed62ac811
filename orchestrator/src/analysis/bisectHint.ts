import { z } from "zod";
import { ACCESS_PATHS } from "../guest/modes.js";
import type { MetricRow } from "./compareRuns.js";

/**
 * Where a nightly regression points: for each regressed row a bisection
 * can judge, the command that finds the commit that did it, when both
 * nights' kernels are commits of one git tree; otherwise what stands in the
 * way (a kernel source package, a series whose patches changed).
 */
export const BisectHintSchema = z.object({
  /** check:NAME or efficiency:WORKLOAD/PATH. */
  row: z.string(),
  /** The command to run, when there is one. */
  command: z.string().optional(),
  /** Why there is no command, or what to know about it. */
  note: z.string().optional(),
  /** Where the bisection was run, when the night ran it (--auto-bisect). */
  dir: z.string().optional(),
});
export type BisectHint = z.infer<typeof BisectHintSchema>;

interface Night {
  series: { name: string };
  kernel?: {
    source: { kind: string; repo?: string; commit?: string; package?: string; packageVersion?: string };
    apply?: { patches: unknown[] };
  };
}

/** The bisection row a regressed comparison row stands for, if a bisection can judge it. */
function bisectRowOf(r: MetricRow): string | undefined {
  const check = /^correctness (.+)$/.exec(r.where);
  if (check) return `check:${check[1]}`;
  // ACCESS_PATHS, not a list of its own: a path added there gets its hint
  const path = ACCESS_PATHS.find((p) => r.where === `read-all ${p}`);
  if (path && r.metric.startsWith("sharing efficiency")) return `efficiency:${r.workload}/${path}`;
  return undefined;
}

export function bisectHints(base: Night, cur: Night, rows: MetricRow[]): BisectHint[] {
  const wanted = [
    ...new Set(
      rows
        .filter((r) => r.verdict === "regression")
        .map(bisectRowOf)
        .filter((x): x is string => Boolean(x)),
    ),
  ];
  const b = base.kernel?.source;
  const c = cur.kernel?.source;
  return wanted.map((row) => {
    if (!b || !c) return { row, note: "a night without a kernel record cannot be bisected" };
    if (c.kind === "debian" || b.kind === "debian") {
      return {
        row,
        note: `the kernel came from Debian's ${b.package ?? "?"} ${b.packageVersion ?? "?"} and ${c.package ?? "?"} ${c.packageVersion ?? "?"}: bisect in a git clone that has both versions, with bisect OLD..NEW --kernel-src CLONE --profile ${profileOf(cur)} --row ${row}`,
      };
    }
    if ((cur.kernel?.apply?.patches.length ?? 0) > 0 && b.commit !== c.commit) {
      return {
        row,
        note: `the base tree under the series moved from ${b.commit?.slice(0, 12) ?? "?"} to ${c.commit?.slice(0, 12) ?? "?"}: bisect it with the series' changes merged into a branch of yours, as your own tree (--profile ${profileOf(cur)})`,
      };
    }
    if (b.commit && c.commit && b.commit === c.commit) {
      return {
        row,
        note: `both nights built ${c.commit.slice(0, 12)}: the series' patches changed, not the tree; per-patch tells which patch does it`,
      };
    }
    if (!c.repo || !b.commit || !c.commit) return { row, note: "the nights' kernel commits are not recorded" };
    const profile = profileOf(cur);
    return {
      row,
      command: `npm run bench -- bisect ${b.commit.slice(0, 12)}..${c.commit.slice(0, 12)} --kernel-src ${c.repo} --profile ${profile} --row ${row}`,
    };
  });
}

/** A tree benched with --profile is named "<profile>-tree"; a series is its own profile. */
function profileOf(n: Night): string {
  return n.series.name.replace(/-tree$/, "");
}

export function renderBisectHints(hints: BisectHint[]): string {
  if (!hints.length) return "";
  const lines = ["", "## Which commit did it", ""];
  for (const h of hints) {
    lines.push(`- ${h.row}: ${h.command ? `\`${h.command}\`` : h.note}${h.dir ? ` (run: ${h.dir}/bisect.md)` : ""}`);
  }
  return lines.join("\n") + "\n";
}
