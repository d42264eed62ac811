import { readFile } from "node:fs/promises";
import path from "node:path";
import { failureRate, type CorrectnessResult } from "../analysis/correctnessVerdicts.js";
import { isFailed } from "../guest/checks.js";
import { parseCheckStream } from "../guest/correctnessProtocol.js";
import type { RunRecord } from "../record/runRecord.js";
import { BenchError } from "../util/errors.js";
import { splitShellWords } from "../util/shell.js";

/**
 * Which finding of a run a reproducer bundle is made for, and everything the
 * bundle's program and run.sh need from the boot that showed it: the
 * scenario, its parameters, the kernel, the disks and the machine.
 */

/** The scenarios a bundle can carry: one C file each in rootfs/repro/. */
export const SCENARIOS = ["umount-race", "fadvise", "read-all"] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** What the boot that showed the finding ran: read back from its qemu.command. */
export interface RecordedBoot {
  dir: string;
  kernel: string;
  disks: string[];
  memoryMiB: number;
  cpus: number;
  accel: { accel: "kvm" } | { accel: "tcg"; tcgThread: string };
  /** esb.* parameters of the guest's init. */
  guestArgs: Record<string, string>;
}

export interface Finding {
  /** "check umount-race", "read-all synthetic on/read". */
  title: string;
  scenario: Scenario;
  /** The run's own words for it: the check's reason or the read-all failure. */
  reason: string;
  /** What a pass would have proved (checks only). */
  proves?: string;
  /** How often the run saw it. */
  rate: { failed: number; of: number };
  /** Boot folders of every failing boot, the first one the bundle is made from. */
  failedBoots: string[];
  boot: RecordedBoot;
  /** The #defines of the bundle's C program, values as C literals. */
  defines: Record<string, string>;
  /** Disks of run.sh, in order (vda, vdb, ...): the images' names in the bundle. */
  disks: { name: string; source: string }[];
  /** How many runs run.sh makes by default: a race needs a loop, a deterministic failure does not. */
  defaultRuns: number;
  /** Console lines that mean "reproduced" (an extended regular expression for grep -E). */
  signature: string;
  /** Seconds one boot of the bundle may take before run.sh kills it. */
  timeoutS: number;
}

/** What any kernel's own report of a failure starts with: each one also means "reproduced". */
const KERNEL_REPORTS = "BUG: |Oops|general protection fault|kernel BUG at|UBSAN: |Kernel panic";

const cString = (s: string) => JSON.stringify(s);

function option(words: string[], flag: string, what: string): string {
  const at = words.indexOf(flag);
  if (at < 0 || at + 1 >= words.length) throw new BenchError(`${what}: no ${flag} in the boot's qemu.command`);
  return words[at + 1]!;
}

/** The boot as qemu.command records it (the one line the tool ran, quoted by shQuote). */
export async function readRecordedBoot(bootDir: string): Promise<RecordedBoot> {
  const file = path.join(bootDir, "qemu.command");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new BenchError(
      `${file} is missing`,
      "the boot folder must be one a run wrote (boots/<name>/ of a run folder)",
    );
  }
  const words = splitShellWords(text.trim());
  const accelWord = option(words, "-accel", file);
  const accel = accelWord.startsWith("kvm")
    ? ({ accel: "kvm" } as const)
    : ({ accel: "tcg", tcgThread: /thread=(\w+)/.exec(accelWord)?.[1] ?? "single" } as const);
  const guestArgs: Record<string, string> = {};
  for (const w of option(words, "-append", file).split(" ")) {
    const m = /^(esb\.[\w.]+)=(.*)$/.exec(w);
    if (m) guestArgs[m[1]!] = m[2]!;
  }
  const disks = words.flatMap((w, i) =>
    words[i - 1] === "-drive" && w.includes("if=virtio")
      ? [
          w
            .replace(/^file=/, "")
            .replace(/,if=virtio.*$/, "")
            .replaceAll(",,", ","),
        ]
      : [],
  );
  return {
    dir: bootDir,
    kernel: option(words, "-kernel", file),
    disks,
    memoryMiB: Number(option(words, "-m", file)),
    cpus: Number(option(words, "-smp", file)),
    accel,
    guestArgs,
  };
}

/** A read-all boot's failure that is a finding of its own: data read back wrong. */
const CORRUPTION = /DATA CORRUPTION/;

/** Every finding of a run a bundle can be made for, and the ones it cannot, with why. */
export function reproducibleFindings(run: RunRecord): { id: string; scenario?: Scenario; why?: string }[] {
  const checks = run.correctness
    .filter((c) => isFailed(c.result))
    .map((c) =>
      (SCENARIOS as readonly string[]).includes(c.check) && c.check !== "read-all"
        ? { id: c.name, scenario: c.check as Scenario }
        : { id: c.name, why: `no reproducer scenario for the check ${c.check} yet` },
    );
  // one finding per cell, however many of its boots read data back wrong
  const readAll = [
    ...new Set(run.failedBoots.filter((b) => CORRUPTION.test(b.failure)).map((b) => `read-all:${b.mode}/${b.path}`)),
  ].map((id) => ({ id, scenario: "read-all" as const }));
  return [...checks, ...readAll];
}

function choose(run: RunRecord, wanted: string | undefined, dir: string): string {
  const all = reproducibleFindings(run);
  const can = all.filter((f) => f.scenario);
  const listing = all.map((f) => `  ${f.id}${f.why ? ` (${f.why})` : ""}`).join("\n");
  if (!all.length)
    throw new BenchError(
      `${dir} has no finding to reproduce: no check failed and no read-all boot read data back wrong`,
    );
  if (wanted) {
    if (!all.some((f) => f.id === wanted))
      throw new BenchError(`${dir} has no finding "${wanted}"; its findings:\n${listing}`, "name one with --finding");
    const f = all.find((x) => x.id === wanted)!;
    if (!f.scenario) throw new BenchError(`${wanted}: ${f.why}`, `bundles are made for: ${SCENARIOS.join(", ")}`);
    return wanted;
  }
  if (can.length !== 1)
    throw new BenchError(
      `${dir} has ${can.length ? "more than one finding" : "no finding a bundle can be made for"}:\n${listing}`,
      can.length ? "name one with --finding" : `bundles are made for: ${SCENARIOS.join(", ")}`,
    );
  return can[0]!.id;
}

/**
 * The shared file the check worked on: from its result, or (when every
 * failing boot died before it reported) from the step it says first.
 */
async function checkedFile(c: CorrectnessResult, failedBoots: string[]): Promise<string | undefined> {
  if (typeof c.details.file === "string") return c.details.file;
  for (const dir of failedBoots) {
    const text = await readFile(path.join(dir, "samples.jsonl"), "utf8").catch(() => "");
    const step = parseCheckStream(text, dir).steps.find((x) => x.check === c.check && typeof x.file === "string");
    if (step) return step.file as string;
  }
  return undefined;
}

function checkFinding(
  c: CorrectnessResult,
  file: string | undefined,
  boot: RecordedBoot,
  failedBoots: string[],
): Finding {
  const share = boot.guestArgs["esb.share"];
  if (typeof file !== "string" || !share)
    throw new BenchError(
      `${c.bootDir}: the check recorded no shared file or no sharing options (esb.share)`,
      "make the bundle from a run of this version of the tool",
    );
  const shareOpts = share.replaceAll("{domain}", "esb");
  const common = {
    title: `check ${c.name}`,
    reason: c.reason,
    proves: c.proves,
    rate: failureRate(c),
    failedBoots,
    boot,
    disks: [
      { name: "A.erofs", source: boot.disks[0]! },
      { name: "B.erofs", source: boot.disks[1]! },
    ],
  };
  if (c.check === "umount-race") {
    const seconds = Number(c.details.seconds ?? 60);
    return {
      ...common,
      scenario: "umount-race",
      defines: {
        REPRO_FILE: cString(file),
        REPRO_SHARE_OPTS: cString(shareOpts),
        REPRO_SECONDS: String(Math.round(seconds)),
        REPRO_MAX_CYCLES: "400",
        REPRO_LINGER_CYCLES: "20",
      },
      defaultRuns: 20,
      signature: `VFS: Busy inodes after unmount|REPRO-RESULT: reproduced|${KERNEL_REPORTS}|KASAN: `,
      timeoutS: Math.round(seconds) + 240,
    };
  }
  return {
    ...common,
    scenario: "fadvise",
    defines: { REPRO_FILE: cString(file), REPRO_SHARE_OPTS: cString(shareOpts) },
    defaultRuns: 3,
    signature: `REPRO-RESULT: reproduced|${KERNEL_REPORTS}|KASAN: `,
    timeoutS: 240,
  };
}

function readAllFinding(
  failure: RunRecord["failedBoots"][number],
  boot: RecordedBoot,
  failedBoots: string[],
  measured: number,
): Finding {
  const [a, b] = [boot.guestArgs["esb.opts_a"] ?? "", boot.guestArgs["esb.opts_b"] ?? ""];
  return {
    title: `read-all ${failure.workload} ${failure.mode}/${failure.path}`,
    scenario: "read-all",
    reason: failure.failure,
    rate: { failed: failedBoots.length, of: failedBoots.length + measured },
    failedBoots,
    boot,
    defines: { REPRO_OPTS_A: cString(a), REPRO_OPTS_B: cString(b), REPRO_ACCESS: cString(failure.path) },
    // the same images twice: vdc and vdd are mounted without sharing, as the reference
    disks: [
      { name: "A.erofs", source: boot.disks[0]! },
      { name: "B.erofs", source: boot.disks[1]! },
      { name: "A.erofs", source: boot.disks[0]! },
      { name: "B.erofs", source: boot.disks[1]! },
    ],
    defaultRuns: 3,
    signature: `REPRO-RESULT: reproduced|${KERNEL_REPORTS}|KASAN: `,
    timeoutS: 600,
  };
}

/** The finding `wanted` (or the run's only one) with the boot it was seen in. */
export async function findingOf(run: RunRecord, runDir: string, wanted?: string): Promise<Finding> {
  const id = choose(run, wanted, runDir);
  if (id.startsWith("read-all:")) {
    const [mode, p] = id.slice("read-all:".length).split("/");
    const cell = (b: { mode: string; path: string }) => b.mode === mode && b.path === p;
    const hits = run.failedBoots.filter((b) => cell(b) && CORRUPTION.test(b.failure));
    const first = hits[0]!;
    const local = (d: string) => path.join(runDir, "boots", path.basename(d));
    return readAllFinding(
      first,
      await readRecordedBoot(local(first.bootDir)),
      hits.map((h) => local(h.bootDir)),
      run.boots.filter((b) => cell(b) && b.workload === first.workload).length,
    );
  }
  const c = run.correctness.find((x) => x.name === id)!;
  const failures = c.failures?.length ? c.failures.map((f) => f.bootDir) : [c.bootDir];
  // the run folder may have moved since: boots are found beside its run.json
  const local = (d: string) => path.join(runDir, "boots", path.basename(d));
  const boot = await readRecordedBoot(local(failures[0]!));
  return checkFinding(c, await checkedFile(c, failures.map(local)), boot, failures.map(local));
}
