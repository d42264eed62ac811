import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { loadSymbols, parseOops, renderOops, symbolise } from "../kernel/oops.js";
import type { RunRecord } from "../record/runRecord.js";
import { BenchError } from "../util/errors.js";
import { runAllowFail } from "../util/exec.js";
import { exists } from "../util/fsx.js";
import { cacheRoot } from "../util/paths.js";

/**
 * What a reproducer bundle says about its finding, gathered from the run:
 * the kernel's identity and .config, every kernel report of the failing
 * boots (symbolised), where the trace's functions are defined in the tree
 * built and, for a series, which of its patches brought that code.
 */

/** The .config the kernel was built with: beside its bzImage, or its base build's for an incremental one. */
export async function configOf(bzImage: string): Promise<string> {
  const dir = path.dirname(bzImage);
  if (await exists(path.join(dir, "config"))) return path.join(dir, "config");
  const rec = JSON.parse(await readFile(path.join(dir, "record.json"), "utf8").catch(() => "{}")) as {
    baseBuildKey?: string;
  };
  const base = rec.baseBuildKey ? path.join(cacheRoot(), "kernel-build", rec.baseBuildKey, "config") : "";
  if (base && (await exists(base))) return base;
  throw new BenchError(
    `no .config found for ${bzImage}`,
    "the kernel's cache folder is incomplete: run the job again to rebuild it",
  );
}

/** What the kernel is, line by line: base, series, patches, mutant, sanitizer. */
export function kernelIdentity(run: RunRecord, bzImage: string): string[] {
  const k = run.kernel;
  const src = k?.source;
  const out: string[] = [];
  if (src && "description" in src) out.push(`base: ${src.description}`);
  else if (src && "commit" in src)
    out.push(`base: Linux ${src.kernelVersion}, commit ${src.commit}${src.tarball ? ` (${src.tarball})` : ""}`);
  if (k?.apply) {
    out.push(`series: ${run.series.name} (tree head ${k.apply.head})`);
    for (const p of k.apply.patches) out.push(`  ${p.subject}`);
  } else out.push(`series: ${run.series.name}`);
  if (k?.mutant) out.push(`mutant: ${k.mutant.mutant} (patch sha256 ${k.mutant.patchSha256}): ${k.mutant.breaks}`);
  if (k?.patch) out.push(`patch on top: ${k.patch.mutant} (sha256 ${k.patch.patchSha256})`);
  const san = run.checksKernel?.kind === "sanitizer" && k?.sanitizer && bzImage.includes(k.sanitizer.buildKey);
  out.push(
    `build: ${san ? "sanitizer (kernel/sanitizer.config)" : "plain"}, ${k?.build?.compiler ?? "compiler not recorded"}`,
  );
  return out;
}

/**
 * Every kernel report in the failing boots' consoles, each distinct headline
 * once, symbolised (frames the kernel marked "?" keep their mark); the
 * panic that follows an oops is not a report of its own.
 */
export async function reportsOf(consoles: string[], vmlinux: string): Promise<{ text: string; boots: number }[]> {
  const table = await loadSymbols(vmlinux);
  const seen = new Map<string, { text: string; boots: Set<string> }>();
  for (const file of consoles) {
    const lines = (await readFile(file, "utf8").catch(() => "")).split("\n");
    let from = 0;
    let lastBug = -10;
    for (;;) {
      const o = parseOops(lines.slice(from).join("\n"));
      if (!o) break;
      const at = lines.findIndex((l, i) => i >= from && l.includes(o.headline));
      // "Oops: ..." right after "BUG: ..." is the same report; the panic after an oops is not one of its own
      const sameAsBug = /^Oops:/.test(o.headline) && at - lastBug <= 6;
      if (/^BUG:/.test(o.headline)) lastBug = at;
      if (!/^Kernel panic/.test(o.headline) && !sameAsBug) {
        const key = o.headline.replace(/0x[0-9a-f]+|[0-9a-f]{16}|CPU#\d+|[\w-]+\/\d+/g, "…");
        const e = seen.get(key) ?? { text: renderOops(symbolise(o, table)), boots: new Set<string>() };
        e.boots.add(file);
        seen.set(key, e);
      }
      // reports of two CPUs interleave on the console: the next one may start on the very next line
      if (at < 0) break;
      from = at + 1;
    }
  }
  return [...seen.values()].map((e) => ({ text: e.text, boots: e.boots.size }));
}

/** Where a function is defined in the kernel tree the run built, file:line; absent when the tree is not here. */
export async function definitions(tree: string | undefined, fns: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  if (!tree || !fns.length) return out;
  for (const fn of fns) {
    const r = await runAllowFail(
      "grep",
      ["-rnE", "--include=*.c", `^[a-z].*[ *]${fn}\\(`, "fs", "mm", "block", "lib"],
      { cwd: tree },
    );
    const hit = r.stdout.split("\n").find((l) => !l.includes(";"));
    const m = hit ? /^([^:]+):(\d+):/.exec(hit) : null;
    if (m) out[fn] = `${m[1]}:${m[2]}`;
  }
  return out;
}

/** The functions a report names, outermost plumbing (syscall entry) left out. */
export function functionsOf(report: string): string[] {
  const fns = [...report.matchAll(/(?:at|<-) (?:\? )?([a-zA-Z_][\w.]*)\+0x/g)].map((m) => m[1]!);
  return [...new Set(fns)].filter(
    (f) => !/^(entry_|do_syscall|__x64_sys|x64_sys|syscall_|exit_to_user|resume_user)/.test(f),
  );
}

/** The source tree the run built, when it is still in the cache (Debian's unpacked package, or the series' tree). */
export async function cachedTree(run: RunRecord, given?: string): Promise<string | undefined> {
  if (given) return path.resolve(given);
  const json = async (f: string) => JSON.parse(await readFile(f, "utf8").catch(() => "{}")) as Record<string, unknown>;
  const src = run.kernel?.source as { packageVersion?: string; tree?: string } | undefined;
  if (src?.packageVersion && src.tree) {
    const root = path.join(cacheRoot(), "kernel-source");
    for (const key of await readdir(root).catch(() => [] as string[])) {
      const rec = await json(path.join(root, key, "record.json"));
      if (rec.packageVersion === src.packageVersion && (await exists(path.join(root, key, src.tree))))
        return path.join(root, key, src.tree);
    }
  }
  const head = run.kernel?.apply?.head;
  if (head) {
    const root = path.join(cacheRoot(), "kernel-tree");
    for (const f of (await readdir(root).catch(() => [] as string[])).filter((n) => n.endsWith(".json"))) {
      const rec = await json(path.join(root, f));
      const dir = path.join(root, f.replace(/\.json$/, ""));
      if ((rec.apply as { head?: string } | undefined)?.head === head && (await exists(dir))) return dir;
    }
  }
  return undefined;
}

/**
 * For a series: the patches that touched the files of the trace's EROFS
 * functions; without a trace, the patches whose subject names the scenario
 * (v8's "erofs: implement .fadvise for page cache share").
 */
export function introducedBy(run: RunRecord, defs: Record<string, string>, scenario: string): string[] {
  const patches = run.kernel?.apply?.patches ?? [];
  const line = (p: (typeof patches)[number]) => `[${p.index}/${p.total}] ${p.subject} <${p.messageId}>`;
  if (!Object.keys(defs).length)
    return patches.filter((p) => p.subject.toLowerCase().includes(scenario)).map((p) => `by its subject: ${line(p)}`);
  const out: string[] = [];
  for (const [fn, at] of Object.entries(defs)) {
    const file = at.split(":")[0]!;
    if (!file.startsWith("fs/erofs/")) continue;
    const touched = patches.filter((p) => p.hunks.some((h) => h.file === file));
    if (!touched.length) continue;
    const named = touched.find((p) => p.hunks.some((h) => h.file === file && h.hunkHeader.includes(fn))) ?? touched[0]!;
    out.push(`${fn} (${file}): ${line(named)}`);
  }
  return out;
}

/** What a scenario does: its C file's first comment, as one paragraph. */
export function scenarioSummary(source: string): string {
  const comment = /\/\*([\s\S]*?)\*\//.exec(source)?.[1] ?? "";
  return comment
    .split("\n")
    .map((l) => l.replace(/^\s*\*\s?/, "").trim())
    .filter(Boolean)
    .join(" ");
}
