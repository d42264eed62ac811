import { z } from "zod";
import { diffSections } from "./patches/diff.js";

/**
 * The apply report: per patch, how it went onto the base tree, down to the
 * hunk. Also the parsers for what GNU patch and `git apply -v` print.
 */

const HunkReportSchema = z.object({
  file: z.string(),
  /** Hunk number within its file, as patch(1) counts them. */
  hunk: z.number().int(),
  /** "@@ -a,b +c,d @@ func" as in the patch; "" when unknown. */
  hunkHeader: z.string(),
  /** "clean", "offset N", "fuzz N", "3way" or "failed". */
  result: z.string(),
  offset: z.number().int().default(0),
  fuzz: z.number().int().default(0),
});
export type HunkReport = z.infer<typeof HunkReportSchema>;

const ApplyMethodSchema = z.enum(["git-am", "git-am-3way", "patch", "none"]);
export type ApplyMethod = z.infer<typeof ApplyMethodSchema>;

const PatchStatusSchema = z.enum(["clean", "offset", "fuzz", "3way", "failed", "skipped"]);

const PatchReportSchema = z.object({
  index: z.number().int(),
  total: z.number().int(),
  subject: z.string(),
  messageId: z.string(),
  method: ApplyMethodSchema,
  status: PatchStatusSchema,
  hunks: z.array(HunkReportSchema),
  commit: z.string().optional(),
});
export type PatchReport = z.infer<typeof PatchReportSchema>;

const FixupReportSchema = z.object({
  name: z.string(),
  status: z.enum(["clean", "offset", "fuzz", "failed"]),
  files: z.array(z.string()),
  added: z.number().int(),
  removed: z.number().int(),
  hunks: z.array(HunkReportSchema),
  commit: z.string().optional(),
});
export type FixupReport = z.infer<typeof FixupReportSchema>;

export const ApplyReportSchema = z.object({
  base: z.string(),
  head: z.string(),
  method: ApplyMethodSchema,
  attempts: z.array(z.object({ method: ApplyMethodSchema, ok: z.boolean(), detail: z.string().optional() })),
  patches: z.array(PatchReportSchema),
  fixups: z.array(FixupReportSchema),
});
export type ApplyReport = z.infer<typeof ApplyReportSchema>;

interface OutputFile {
  file: string;
  hunks: Map<number, { failed: boolean; offset: number; fuzz: number }>;
  /** The whole file was skipped (reversed patch, missing file). */
  skipped: boolean;
}

/** Parses GNU patch output ("patching file", "Hunk #2 succeeded at ...") and `git apply -v` output. */
function parsePatchOutput(output: string): OutputFile[] {
  const files: OutputFile[] = [];
  let cur: OutputFile | undefined;
  for (const raw of output.split("\n")) {
    const line = raw.trimEnd();
    const start =
      /^(?:patching|checking) file (.+?)(?: \((?:renamed|copied) from .*\))?$/.exec(line) ??
      /^Checking patch (.+?)(?: => .+)?\.\.\.$/.exec(line);
    if (start) {
      cur = { file: (start[1] ?? "").replace(/^'(.*)'$/, "$1"), hunks: new Map(), skipped: false };
      files.push(cur);
      continue;
    }
    if (!cur) continue;
    const ok = /^Hunk #(\d+) succeeded at -?\d+(?: with fuzz (\d+))?(?: \(offset (-?\d+) lines?\))?/.exec(line);
    if (ok) {
      cur.hunks.set(Number(ok[1]), { failed: false, fuzz: Number(ok[2] ?? 0), offset: Number(ok[3] ?? 0) });
      continue;
    }
    const bad = /^Hunk #(\d+) (?:FAILED|ignored) at/.exec(line);
    if (bad) {
      cur.hunks.set(Number(bad[1]), { failed: true, fuzz: 0, offset: 0 });
      continue;
    }
    if (/Skipping patch\.$|^error: .*(?:patch does not apply|does not exist in index|already exists)/.test(line))
      cur.skipped = true;
  }
  return files;
}

/**
 * Joins a patch's sections with the tool's output: every hunk of the patch,
 * with the result printed for it or "clean" when nothing was said.
 */
export function hunkResults(patchText: string, output: string): HunkReport[] {
  const sections = diffSections(patchText);
  const used = new Set<number>();
  const seen = new Map<number, OutputFile>();
  for (const f of parsePatchOutput(output)) {
    let at = sections.findIndex((s, i) => !used.has(i) && s.file === f.file);
    if (at < 0) at = sections.findIndex((_s, i) => !used.has(i));
    if (at < 0) continue;
    used.add(at);
    seen.set(at, f);
  }
  const out: HunkReport[] = [];
  sections.forEach((s, i) => {
    const f = seen.get(i);
    s.headers.forEach((hunkHeader, n) => {
      const h = f?.hunks.get(n + 1);
      const failed = (f?.skipped ?? false) || (h?.failed ?? false);
      const fuzz = h?.fuzz ?? 0;
      const offset = h?.offset ?? 0;
      const result = failed ? "failed" : fuzz ? `fuzz ${fuzz}` : offset ? `offset ${offset}` : "clean";
      out.push({ file: s.file, hunk: n + 1, hunkHeader, result, offset: failed ? 0 : offset, fuzz: failed ? 0 : fuzz });
    });
    if (s.headers.length === 0 && f?.skipped)
      out.push({ file: s.file, hunk: 0, hunkHeader: "", result: "failed", offset: 0, fuzz: 0 });
  });
  return out;
}

export function statusOf(hunks: HunkReport[]): "clean" | "offset" | "fuzz" | "failed" {
  if (hunks.some((h) => h.result === "failed")) return "failed";
  if (hunks.some((h) => h.fuzz > 0)) return "fuzz";
  if (hunks.some((h) => h.offset !== 0)) return "offset";
  return "clean";
}

/** "@@ -10,7 +10,7 @@" without the function context. */
function shortHeader(h: string): string {
  return /^@@ [^@]* @@/.exec(h)?.[0] ?? h;
}

function where(h: HunkReport): string {
  return h.hunkHeader ? `${h.file} ${shortHeader(h.hunkHeader)}` : h.file;
}

function detail(status: string, hunks: HunkReport[]): string {
  const pick = (pred: (h: HunkReport) => boolean, fmt: (h: HunkReport) => string) => {
    const list = hunks.filter(pred);
    const first = list[0];
    if (!first) return status;
    const more = list.length > 1 ? `, +${list.length - 1} more` : "";
    return `${fmt(first)} (${where(first)}${more})`;
  };
  switch (status) {
    case "failed":
      return pick(
        (h) => h.result === "failed",
        () => "FAILED",
      );
    case "fuzz":
      return pick(
        (h) => h.fuzz > 0,
        (h) => `fuzz ${Math.max(h.fuzz, ...hunks.map((x) => x.fuzz))}`,
      );
    case "offset":
      return pick(
        (h) => h.offset !== 0,
        (h) => `offset ${h.offset > 0 ? "+" : ""}${h.offset}`,
      );
    case "3way":
      return pick(
        (h) => h.result === "3way",
        () => "3-way merge",
      );
    case "skipped":
      return "not attempted";
    default:
      return "clean";
  }
}

const METHOD_TEXT: Record<ApplyMethod, string> = {
  "git-am": "git am",
  "git-am-3way": "git am --3way",
  patch: "patch -p1 --fuzz=2",
  none: "nothing (the tree as it is)",
};

/** The report for a terminal: one line per patch and per fixup. */
export function renderApplyReport(report: ApplyReport): string {
  const tried = report.attempts.map((a) => `${METHOD_TEXT[a.method]} ${a.ok ? "ok" : "failed"}`).join(", ");
  const failed = report.patches.some((p) => p.status === "failed") || report.fixups.some((f) => f.status === "failed");
  const base = report.base.slice(0, 12);
  const lines = [
    failed
      ? `could not apply onto ${base} (${tried})`
      : report.attempts.length > 1
        ? `applied onto ${base} with ${METHOD_TEXT[report.method]} (${tried})`
        : `applied onto ${base} with ${METHOD_TEXT[report.method]}`,
  ];
  for (const a of report.attempts) if (!a.ok && a.detail) lines.push(`  ${METHOD_TEXT[a.method]} failed: ${a.detail}`);
  const width = Math.min(60, Math.max(0, ...report.patches.map((p) => p.subject.length)));
  for (const p of report.patches) {
    const subject = p.subject.length > width ? p.subject.slice(0, width - 3) + "..." : p.subject.padEnd(width);
    lines.push(`  [${p.index}/${p.total}] ${subject}  ${detail(p.status, p.hunks)}`);
  }
  for (const f of report.fixups) {
    const what =
      f.status === "failed" ? detail("failed", f.hunks) : `${f.files.join(", ")} (+${f.added} -${f.removed})`;
    lines.push(
      `  fixup ${f.name}: ${what}${f.status === "fuzz" || f.status === "offset" ? ` ${detail(f.status, f.hunks)}` : ""}`,
    );
  }
  return lines.join("\n");
}
