import { chmod, copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { GUEST_CMDLINE } from "../guest/qemu.js";
import { vmlinuxBeside } from "../kernel/build.js";
import type { RunRecord } from "../record/runRecord.js";
import { renderReproMail, renderReproReadme, type ReproReport } from "../report/reproText.js";
import { BenchError } from "../util/errors.js";
import { spawnTracked } from "../util/exec.js";
import { exists, sha256, sha256File, writeFileAtomic } from "../util/fsx.js";
import { rootfsDir } from "../util/paths.js";
import type { Progress } from "../util/progress.js";
import { shQuote } from "../util/shell.js";
import {
  cachedTree,
  configOf,
  definitions,
  functionsOf,
  introducedBy,
  kernelIdentity,
  reportsOf,
  scenarioSummary,
} from "./reproEvidence.js";
import { findingOf, type Finding } from "./reproFinding.js";

/**
 * A reproducer bundle: one finding of a run as a folder a maintainer runs
 * with QEMU and gcc alone (repro.c, run.sh, the kernel, its .config and
 * vmlinux, the images), a README with the decoded trace and the report mail.
 * The bundle is run once here before it is called done.
 */

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
    // the tool's own guest command line, without its init's parameters
    v("CMDLINE", GUEST_CMDLINE.join(" ")),
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
  const read = (n: string) => readFile(path.join(rootfsDir, "repro", n), "utf8");
  const [guest, scenario, runTail] = await Promise.all([read("guest.c"), read(`${f.scenario}.c`), read("run.sh")]);
  await writeFile(path.join(dir, "repro.c"), reproC(f, guest, scenario));
  await writeFile(path.join(dir, "run.sh"), runShHeader(f, runs) + runTail);
  await chmod(path.join(dir, "run.sh"), 0o755);
  return scenario;
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
  const vmlinux = vmlinuxBeside(f.boot.kernel);
  const config = await configOf(f.boot.kernel);
  // a bundle is made afresh, but never over a folder that is not one (a typo of --out must not cost a run folder)
  const entries = await readdir(dir).catch(() => [] as string[]);
  if (entries.length && !entries.includes("bundle.json"))
    throw new BenchError(
      `--out ${dir} is a folder with other files, not a bundle`,
      "give a new or empty folder, or an earlier bundle's",
    );
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.join(dir, "images"), { recursive: true });
  o.progress.info(`repro: ${f.title} into ${dir}`);
  const scenario = await writeBundleProgram(dir, f, o.bundleRuns ?? f.defaultRuns);
  await copyFile(f.boot.kernel, path.join(dir, "bzImage"));
  await copyFile(config, path.join(dir, "config"));
  if (await exists(vmlinux)) await copyFile(vmlinux, path.join(dir, "vmlinux"));
  // an image attached twice (read-all's reference mounts) is carried once
  const images = [...new Map(f.disks.map((x) => [`images/${x.name}`, x.source]))];
  for (const [name, source] of images) await copyFile(source, path.join(dir, name));

  const reports = await reportsOf(
    f.failedBoots.map((b) => path.join(b, "console.log")),
    vmlinux,
  );
  const defs = await definitions(await cachedTree(o.run, o.kernelTree), [
    ...new Set(reports.flatMap((r) => functionsOf(r.text))),
  ]);
  // the kernel, its symbols and the images never change here: hashed once, the texts each time they are written
  const fixed: BundleRecord["files"] = [];
  for (const n of ["repro.c", "run.sh", "bzImage", "vmlinux", "config", ...images.map(([name]) => name)]) {
    const p = path.join(dir, n);
    if (await exists(p)) fixed.push({ path: n, sha256: await sha256File(p), bytes: (await stat(p)).size });
  }
  const digestOf = (n: string) => fixed.find((x) => x.path === n)!.sha256;
  const record: BundleRecord = {
    schema: 1,
    finding: f.title,
    scenario: f.scenario,
    reason: f.reason,
    run: { dir: o.runDir, id: o.run.runId, series: o.run.series.name, rate: f.rate },
    kernel: {
      release: o.run.checksKernel?.release ?? o.run.kernel?.release ?? "unknown",
      identity: kernelIdentity(o.run, f.boot.kernel),
      bzImageSha256: digestOf("bzImage"),
      configSha256: digestOf("config"),
    },
    files: [],
  };
  const report: ReproReport = {
    record,
    finding: f,
    reports,
    definitions: defs,
    introducedBy: introducedBy(o.run, defs, f.scenario),
    scenarioText: scenarioSummary(scenario),
  };
  const writeTexts = async () => {
    const texts = { "README.md": renderReproReadme(report), "mail.txt": renderReproMail(report) };
    for (const [n, text] of Object.entries(texts)) await writeFileAtomic(path.join(dir, n), text);
    record.files = [
      ...Object.entries(texts).map(([n, text]) => ({ path: n, sha256: sha256(text), bytes: Buffer.byteLength(text) })),
      ...fixed,
    ];
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
