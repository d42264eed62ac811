import { resultWithRate, type CorrectnessResult } from "../analysis/correctnessVerdicts.js";
import { isFailed } from "../guest/checks.js";

/** The correctness results in the reports: a plain table for the cover letter, a fuller one for report.md. */

const oneLine = (s: string, max: number) => {
  const line = s.split("\n")[0]!.trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

const seconds = (ms: number | undefined) => (ms === undefined ? "-" : `${(ms / 1000).toFixed(1)} s`);

/** Which pair and series the checks ran on, for a table's title. */
function subject(results: CorrectnessResult[]): string {
  const workloads = [...new Set(results.map((r) => r.workload))].join(", ");
  const series = [...new Set(results.map((r) => r.series))].join(", ");
  return `${workloads}, series ${series}`;
}

export interface ChecksKernel {
  kind: "sanitizer" | "plain";
  release: string;
  why?: string;
}

/** Which kernel judged the checks, in one sentence (absent in runs made before sanitizer kernels). */
function judgedOn(kernel: ChecksKernel | undefined): string[] {
  if (!kernel) return [];
  if (kernel.kind === "sanitizer")
    return [
      `Judged on the sanitizer build of ${kernel.release} (kernel/sanitizer.config: KASAN generic inline, kmemleak scanned after each check, lockdep, DEBUG_VM, DEBUG_LIST, BUG_ON_DATA_CORRUPTION); the tables measure the plain build.`,
    ];
  return [
    `Judged on the plain build of ${kernel.release}${kernel.why ? ` (${kernel.why})` : ""}: a fault that does not crash may go unseen.`,
  ];
}

/** One line per check: name, result, one-line reason; plain text, as a mail wants it. */
export function renderCorrectnessText(results: CorrectnessResult[], kernel?: ChecksKernel): string[] {
  if (!results.length) return [];
  const w = Math.max(...results.map((r) => r.name.length));
  const labels = results.map((r) => resultWithRate(r).toUpperCase());
  const lw = Math.max(7, ...labels.map((l) => l.length));
  const rows = results.map((r, i) => `  ${r.name.padEnd(w)}  ${labels[i]!.padEnd(lw)}  ${oneLine(r.reason, 120)}`);
  const failed = results.filter((r) => isFailed(r.result)).length;
  const again = results.some((r) => (r.boots?.of ?? 1) > 1);
  return [
    `Correctness of page cache sharing (${subject(results)}), one boot per check${again ? " (a failing check booted again to measure how often it fails)" : ""}${failed ? `: ${failed} FAILED` : ""}:`,
    "",
    ...rows,
    "",
    "FAIL: a guarantee the feature documents for any mount setup was broken. FINDING: behaviour inside the documented trust model,",
    "or hardening mainline has that this kernel lacks. NA: nothing could be proven here (why is given). ERROR: the check could not judge the kernel.",
    ...judgedOn(kernel),
    "",
  ];
}

/** What each check proves, its result, why, and how long it took. */
export function renderCorrectnessMarkdown(results: CorrectnessResult[], kernel?: ChecksKernel): string[] {
  if (!results.length) return [];
  const cell = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");
  const out = [
    "## Correctness",
    "",
    `Checks of page cache sharing on ${subject(results)}: one fresh boot per check, sharing on, every read compared with what the image holds ` +
      "(read with sharing off first). A WARNING, BUG or oops in the kernel log fails the check; `na` means the check could not prove anything here, " +
      "and says why; a finding is documented behaviour worth knowing.",
    ...judgedOn(kernel).flatMap((l) => ["", l]),
    "",
    "| check | result | what it proves | reason | time (guest / boot) |",
    "|---|---|---|---|---|",
  ];
  for (const r of results) {
    const result = isFailed(r.result) ? `**${resultWithRate(r).toUpperCase()}**` : resultWithRate(r);
    out.push(
      `| ${r.name} | ${result} | ${cell(r.proves)} | ${cell(r.reason)} | ${seconds(r.ms)} / ${seconds(r.wallMs)} |`,
    );
  }
  const failing = results.filter((r) => r.failures?.length);
  if (failing.length) {
    out.push("", "Every failing boot (its console.log and, after an oops, oops.txt hold the trace):", "");
    for (const r of failing)
      for (const f of r.failures!)
        out.push(`- ${r.name}: ${f.result} in \`${f.bootDir}\`: ${cell(oneLine(f.reason, 300))}`);
  }
  out.push(
    "",
    "Results: **fail** (or **oops**) = the kernel broke a guarantee the feature documents for any mount setup; **finding** = behaviour inside the " +
      "documented trust model (a fingerprint is trusted within its domain), or hardening mainline has and this kernel lacks; **na** = nothing could " +
      "be proven here; **error** = the check could not judge the kernel (the host, the check program or its own limits). A check that fails is booted " +
      "again, and its result says in how many boots it failed.",
    "",
    "Each check's details (counts, kernel log lines, corrupted cases) are in run.json under `correctness`, its boot in `bootDir`.",
    "",
  );
  return out;
}
