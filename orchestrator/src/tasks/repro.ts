import { chmod, copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { loadSymbols, parseOops, renderOops, symbolise } from "../kernel/oops.js";
import type { RunRecord } from "../record/runRecord.js";
import { renderReproMail, renderReproReadme, type ReproReport } from "../report/reproText.js";
import { BenchError } from "../util/errors.js";
import { runAllowFail, spawnTracked } from "../util/exec.js";
import { exists, sha256File, writeFileAtomic } from "../util/fsx.js";
import { cacheRoot, rootfsDir } from "../util/paths.js";
import type { Progress } from "../util/progress.js";
import { shQuote } from "../util/shell.js";
import { findingOf, type Finding } from "./reproFinding.js";

/**
 * A reproducer bundle: one finding of a run as a folder a maintainer runs
 * with QEMU and gcc alone (repro.c, run.sh, the kernel, its .config and
 * vmlinux, the images), a README with the decoded trace and the report mail.
 * The bundle is run once here before it is called done.
 */

/** The kernel command line of a bundle's boots: the tool's own, without its init's parameters. */
const BUNDLE_CMDLINE = "console=ttyS0 panic=-1 oops=panic loglevel=6 pci=noacpi tsc=reliable no_timer_check reboot=t";

export const BundleRecordSchema = z.object({
  schema: z.literal(1),
  finding: z.string(),
  scenario: z.string(),
  reason: z.string(),
  run: z.object({
    dir: z.string(),
    id: z.string(),
    series: z.string(),
    rate: z.object({ failed: z.number(), of: z.number() }),
  }),
  kernel: z.object({
    release: z.string(),
    identity: z.array(z.string()),
    bzImageSha256: z.string(),
    configSha256: z.string(),
  }),
  files: z.array(z.object({ path: z.string(), sha256: z.string(), bytes: z.number() })),
  /** The bundle's own run here: how many runs and how many reproduced. */
  test: z
    .object({
      runs: z.number(),
      reproduced: z.number(),
      notReproduced: z.number(),
      noVerdict: z.number(),
      exit: z.number(),
      output: z.string(),
    })
    .optional(),
});
export type BundleRecord = z.infer<typeof BundleRecordSchema>;

/** The .config the kernel was built with: beside its bzImage, or its base build's for an incremental one. */
async function configOf(bzImage: string): Promise<string> {
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
function kernelIdentity(run: RunRecord, bzImage: string): string[] {
  const k = run.kernel;
  const src = k?.source;
  const out: string[] = [];
  if (src && "description" in src) out.push(`base: ${src.description}`);
  else if (src && "commit" in src)
    out.push(`base: Linux ${src.kernelVersion}, commit ${src.commit}${src.tarball ? ` (${src.tarball})` : ""}`);
  if (k?.apply) {
    const a = k.apply as { head?: string; patches?: { subject?: string }[] };
    out.push(`series: ${run.series.name}${a.head ? ` (tree head ${a.head})` : ""}`);
    for (const p of a.patches ?? []) if (p.subject) out.push(`  ${p.subject}`);
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
async function reportsOf(consoles: string[], vmlinux: string): Promise<{ text: string; boots: number }[]> {
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
async function definitions(tree: string | undefined, fns: string[]): Promise<Record<string, string>> {
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
async function cachedTree(run: RunRecord, given?: string): Promise<string | undefined> {
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
function introducedBy(run: RunRecord, defs: Record<string, string>, scenario: string): string[] {
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

function runShHeader(
  f: Pick<Finding, "title" | "scenario" | "boot" | "disks" | "signature" | "timeoutS">,
  runs: number,
): string {
  const v = (name: string, value: string | number) => `${name}=${shQuote(String(value))}`;
  return [
    "#!/bin/sh",
    `# Reproducer of ${f.title} (${f.scenario}): see README.md.`,
    v("SCENARIO", f.scenario),
    v("RUNS", runs),
    v("TIMEOUT", f.timeoutS),
    v("MEMORY", f.boot.memoryMiB),
    v("CPUS", f.boot.cpus),
    v("TCG_THREAD", f.boot.accel.accel === "tcg" ? f.boot.accel.tcgThread : "multi"),
    v("DISKS", f.disks.map((d) => d.name).join(" ")),
    v("CMDLINE", BUNDLE_CMDLINE),
    v("SIGNATURE", f.signature),
    "",
  ].join("\n");
}

function reproC(f: Pick<Finding, "title" | "scenario" | "defines">, guest: string, scenario: string): string {
  const defines = { REPRO_SCENARIO: JSON.stringify(f.scenario), ...f.defines };
  return [
    `/* Reproducer of ${f.title}: built by run.sh (gcc -static), booted as the guest's /init. */`,
    ...Object.entries(defines).map(([k, val]) => `#define ${k} ${val}`),
    "",
    guest,
    scenario,
  ].join("\n");
}

/** repro.c and run.sh of a finding's bundle; returns the scenario's source (its first comment says what it does). */
export async function writeBundleProgram(
  dir: string,
  f: Pick<Finding, "title" | "scenario" | "defines" | "boot" | "disks" | "signature" | "timeoutS">,
  runs: number,
): Promise<string> {
  const [guest, scenario, runTail] = await Promise.all(
    ["guest.c", `${f.scenario}.c`, "run.sh"].map((n) => readFile(path.join(rootfsDir, "repro", n), "utf8")),
  );
  await writeFile(path.join(dir, "repro.c"), reproC(f, guest!, scenario!));
  await writeFile(path.join(dir, "run.sh"), runShHeader(f, runs) + runTail!);
  await chmod(path.join(dir, "run.sh"), 0o755);
  return scenario!;
}

/** Runs the bundle's run.sh; its last line is the summary. */
export async function runBundle(
  dir: string,
  runs: number,
  progress: Progress,
  kernel?: string,
): Promise<NonNullable<BundleRecord["test"]>> {
  const args = ["run.sh", "-n", String(runs), ...(kernel ? ["-k", kernel] : [])];
  let output = "";
  const child = spawnTracked("sh", args, { cwd: dir, reject: false, all: true, stdin: "ignore" });
  child.all?.on("data", (b: Buffer) => {
    const t = b.toString();
    output += t;
    for (const l of t.split("\n")) if (/^run \d+\//.test(l)) progress.info(`bundle: ${l}`);
  });
  const r = await child;
  const summary = /reproduced in (\d+) of (\d+) run\(s\), not in (\d+), no verdict in (\d+)/.exec(output);
  if (!summary)
    throw new BenchError(
      `the bundle's run.sh ended without its summary (exit ${r.exitCode}):\n${output.trim()}`,
      undefined,
      [path.join(dir, "logs")],
    );
  return {
    runs: Number(summary[2]),
    reproduced: Number(summary[1]),
    notReproduced: Number(summary[3]),
    noVerdict: Number(summary[4]),
    exit: r.exitCode ?? -1,
    output: output.trim(),
  };
}

export interface ReproOptions {
  runDir: string;
  run: RunRecord;
  finding?: string;
  out?: string;
  /** Runs of the bundle here before it is called done; 0 skips it. */
  testRuns: number;
  /** run.sh's default number of runs; the scenario's own when absent. */
  bundleRuns?: number;
  kernelTree?: string;
  progress: Progress;
}

export async function makeReproBundle(o: ReproOptions): Promise<{ dir: string; record: BundleRecord }> {
  const f = await findingOf(o.run, o.runDir, o.finding);
  const dir = path.resolve(o.out ?? path.join(o.runDir, `repro-${f.title.replace(/[^\w.-]+/g, "-")}`));
  for (const p of [f.boot.kernel, ...f.disks.map((d) => d.source)])
    if (!(await exists(p)))
      throw new BenchError(
        `${p} is gone (the boot ${f.boot.dir} used it)`,
        "run the job again on this machine to rebuild its kernel and images from the cache",
      );
  const vmlinux = path.join(path.dirname(f.boot.kernel), "out", "vmlinux");
  const config = await configOf(f.boot.kernel);
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.join(dir, "images"), { recursive: true });
  o.progress.info(`repro: ${f.title} into ${dir}`);
  const scenario = await writeBundleProgram(dir, f, o.bundleRuns ?? f.defaultRuns);
  await copyFile(f.boot.kernel, path.join(dir, "bzImage"));
  await copyFile(config, path.join(dir, "config"));
  if (await exists(vmlinux)) await copyFile(vmlinux, path.join(dir, "vmlinux"));
  for (const d of new Map(f.disks.map((x) => [x.name, x.source]))) await copyFile(d[1], path.join(dir, "images", d[0]));

  const reports = await reportsOf(
    f.failedBoots.map((b) => path.join(b, "console.log")),
    vmlinux,
  );
  const fns = [...new Set(reports.flatMap((r) => functionsOf(r.text)))];
  const identity = kernelIdentity(o.run, f.boot.kernel);
  const record: BundleRecord = {
    schema: 1,
    finding: f.title,
    scenario: f.scenario,
    reason: f.reason,
    run: { dir: o.runDir, id: o.run.runId, series: o.run.series.name, rate: f.rate },
    kernel: {
      release: o.run.checksKernel?.release ?? o.run.kernel?.release ?? "unknown",
      identity,
      bzImageSha256: await sha256File(f.boot.kernel),
      configSha256: await sha256File(config),
    },
    files: [],
  };
  const report = (): ReproReport => ({
    record,
    finding: f,
    reports,
    definitions: defs,
    introducedBy: introducedBy(o.run, defs, f.scenario),
    scenarioText: scenarioSummary(scenario!),
  });
  const defs = await definitions(await cachedTree(o.run, o.kernelTree), fns);
  const writeTexts = async () => {
    await writeFileAtomic(path.join(dir, "README.md"), renderReproReadme(report()));
    await writeFileAtomic(path.join(dir, "mail.txt"), renderReproMail(report()));
    record.files = [];
    for (const n of [
      "README.md",
      "mail.txt",
      "repro.c",
      "run.sh",
      "bzImage",
      "vmlinux",
      "config",
      ...new Set(f.disks.map((d) => `images/${d.name}`)),
    ]) {
      const p = path.join(dir, n);
      if (await exists(p)) record.files.push({ path: n, sha256: await sha256File(p), bytes: (await stat(p)).size });
    }
    await writeFileAtomic(path.join(dir, "bundle.json"), JSON.stringify(record, null, 2) + "\n");
  };
  await writeTexts();
  if (o.testRuns > 0) {
    o.progress.info(`repro: testing the bundle: ${o.testRuns} run(s) of run.sh`);
    record.test = await runBundle(dir, o.testRuns, o.progress);
    await writeTexts();
  }
  return { dir, record };
}
