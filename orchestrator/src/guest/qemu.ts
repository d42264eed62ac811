import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { loadSymbols, parseOops, renderOops, symbolise, type Oops } from "../kernel/oops.js";
import { BenchError } from "../util/errors.js";
import { exists } from "../util/fsx.js";
import { runAllowFail, spawnTracked, tailOfFile } from "../util/exec.js";
import { shQuote } from "../util/shell.js";
import type { Accelerator, GuestMachine } from "./machine.js";

/** What one boot runs on the machine: its disks, its init's parameters, how long it may take. */
export interface Boot {
  /** Attached read-only as virtio disks vda, vdb, ... in this order. */
  disks: string[];
  /** Parameters for the guest's init (esb.*), appended to the kernel command line. */
  guestArgs: Record<string, string>;
  timeoutMs: number;
  /**
   * A guest whose init has not said hello by then is killed and marked
   * `noInit` (QEMU under load can stall a kernel in early boot, long before
   * anything of EROFS runs).
   */
  initDeadlineMs?: number;
  /** console.log and samples.jsonl are written here. */
  dir: string;
}

export interface VmResult {
  accel: Accelerator;
  console: string;
  samples: string;
  wallMs: number;
  timedOut: boolean;
  exitCode: number | null;
  signal: string | null;
  /** QEMU's last stderr lines, for messages. */
  stderr: string;
  panicked: boolean;
  /** Killed because init did not start by `initDeadlineMs`. */
  noInit: boolean;
  /** The first oops on the console, symbolised against the build's vmlinux when it is there. */
  oops?: Oops;
  command: string[];
}

/** A path inside a QEMU option list ("file=...,if=virtio"), where a comma must be doubled. */
function qemuOptionPath(p: string): string {
  return p.replaceAll(",", ",,");
}

/**
 * What the guest kernel skips at boot: measured under TCG here, boot to init
 * went from a median of 2.2 s to 1.5 s with them. pci=noacpi routes PCI
 * interrupts without ACPI's tables (their parsing took 0.7 s; ACPI itself
 * stays, for SMP: acpi=off left the guest one CPU); tsc=reliable and
 * no_timer_check skip the clocksource watchdog and the IO-APIC timer check
 * (which panicked "IO-APIC + timer doesn't work!" on a loaded host);
 * reboot=t ends the guest by a triple fault, the fastest way out with
 * -no-reboot.
 */
const FAST_BOOT = ["pci=noacpi", "tsc=reliable", "no_timer_check", "reboot=t"];

/** Every guest kernel's command line before its init's parameters: serial console, an oops ends the boot, FAST_BOOT. */
export const GUEST_CMDLINE = ["console=ttyS0", "panic=-1", "oops=panic", "loglevel=6", ...FAST_BOOT];

export function qemuArgs(machine: GuestMachine, boot: Boot): string[] {
  const cmdline = [
    ...GUEST_CMDLINE,
    ...Object.entries(boot.guestArgs).map(([k, v]) => {
      if (/\s/.test(v) || v === "") throw new BenchError(`guest argument ${k}="${v}" is empty or has spaces`);
      return `${k}=${v}`;
    }),
  ].join(" ");
  // -cpu max/host under nested KVM aborts on MSR 0x10a, so KVM keeps QEMU's default model.
  const accel =
    machine.accel === "kvm" ? ["-accel", "kvm"] : ["-accel", `tcg,thread=${machine.tcgThread}`, "-cpu", "max"];
  return [
    ...accel,
    "-m",
    String(machine.memoryMiB),
    "-smp",
    String(machine.cpus),
    "-nodefaults",
    "-display",
    "none",
    "-no-reboot",
    "-kernel",
    machine.kernel,
    "-initrd",
    machine.initramfs,
    "-append",
    cmdline,
    "-chardev",
    `file,id=console,path=${qemuOptionPath(path.join(boot.dir, "console.log"))}`,
    "-serial",
    "chardev:console",
    "-device",
    "virtio-serial-pci",
    "-chardev",
    `file,id=esb,path=${qemuOptionPath(path.join(boot.dir, "samples.jsonl"))}`,
    "-device",
    "virtserialport,chardev=esb,name=esb.samples",
    ...boot.disks.flatMap((d) => ["-drive", `file=${qemuOptionPath(d)},if=virtio,format=raw,readonly=on`]),
    "-net",
    "none",
  ];
}

/** Whether the guest's init said hello on the samples port (what it writes first, once it runs). */
export function saidHello(samples: string): boolean {
  return samples.includes('"t":"hello"');
}

const running = new Set<{ kill: (signal?: NodeJS.Signals) => boolean }>();

/** Kills every guest still running (an interrupted run must not leave QEMU behind). */
export function killRunningGuests(): number {
  for (const c of running) c.kill("SIGKILL");
  return running.size;
}

/** Boots once; a guest that neither powers off nor panics in time is killed. */
export async function bootGuest(machine: GuestMachine, boot: Boot): Promise<VmResult> {
  const args = qemuArgs(machine, boot);
  const consoleFile = path.join(boot.dir, "console.log");
  const samplesFile = path.join(boot.dir, "samples.jsonl");
  await mkdir(boot.dir, { recursive: true });
  await writeFile(consoleFile, "");
  await writeFile(samplesFile, "");
  await writeFile(path.join(boot.dir, "qemu.command"), shellQuote(["qemu-system-x86_64", ...args]) + "\n");
  const t0 = Date.now();
  const child = spawnTracked("qemu-system-x86_64", args, {
    reject: false,
    timeout: boot.timeoutMs,
    killSignal: "SIGKILL",
    stdin: "ignore",
  });
  running.add(child);
  let noInit = false;
  const watch =
    boot.initDeadlineMs === undefined
      ? undefined
      : setInterval(() => {
          void readFile(samplesFile, "utf8").then(
            (t) => {
              if (saidHello(t)) clearInterval(watch);
              else if (Date.now() - t0 > boot.initDeadlineMs!) {
                clearInterval(watch);
                noInit = true;
                child.kill("SIGKILL");
              }
            },
            () => undefined,
          );
        }, 500);
  const res = await child.finally(() => {
    running.delete(child);
    clearInterval(watch);
  });
  if ((res as { code?: string }).code === "ENOENT") {
    throw new BenchError("qemu-system-x86_64: command not found", "apt-get install qemu-system-x86");
  }
  const stderr = String(res.stderr ?? "");
  await writeFile(path.join(boot.dir, "qemu.stderr"), stderr);
  const consoleText = await readFile(consoleFile, "utf8").catch(() => "");
  const oops = await oopsOf(consoleText, machine.vmlinux, boot.dir);
  return {
    accel: machine.accel,
    console: consoleFile,
    samples: samplesFile,
    wallMs: Date.now() - t0,
    timedOut: Boolean(res.timedOut),
    noInit,
    exitCode: typeof res.exitCode === "number" ? res.exitCode : null,
    signal: res.signal ?? null,
    stderr: stderr.trim().split("\n").slice(-3).join(" / "),
    panicked: /Kernel panic - not syncing/.test(consoleText),
    oops,
    command: ["qemu-system-x86_64", ...args],
  };
}

/** The oops a boot printed, symbolised with the kernel's vmlinux, and written to oops.txt in the boot folder. */
async function oopsOf(consoleText: string, vmlinux: string, dir: string): Promise<Oops | undefined> {
  const raw = parseOops(consoleText);
  if (!raw) return undefined;
  const table = (await exists(vmlinux)) ? await loadSymbols(vmlinux) : null;
  const oops = symbolise(raw, table);
  await writeFile(
    path.join(dir, "oops.txt"),
    renderOops(oops) +
      "\n" +
      (table ? `(symbols from ${vmlinux})\n` : "(no vmlinux beside the kernel: addresses left as they are)\n"),
  );
  return oops;
}

/** A guest that panicked, hung or ended without its result: the boot failed, not the tool. */
export class GuestFailure extends BenchError {
  override name = "GuestFailure";
}

/**
 * Why a boot gave no result. A guest that panicked or hung is a finding about
 * the kernel (GuestFailure); QEMU that exited with an error or was killed by
 * someone else (a bad drive, the host's OOM killer) is the tool's or the
 * host's problem, never a kernel finding (BenchError).
 */
export async function describeBootFailure(r: VmResult, what: string): Promise<BenchError> {
  const tail = await tailOfFile(r.console, 25);
  const indent = (t: string) =>
    t
      .split("\n")
      .map((l) => "    " + l)
      .join("\n");
  if (!r.timedOut && (r.signal || (r.exitCode !== null && r.exitCode !== 0))) {
    const how = r.signal ? `was killed by ${r.signal}, not by erofs-share-bench` : `exited with status ${r.exitCode}`;
    return new BenchError(
      `${what}: QEMU ${how}${r.stderr ? `: ${r.stderr}` : ""}`,
      r.signal
        ? "the host killed it (out of memory?) or someone did: check dmesg on the host, then run again"
        : "this is a problem of the host or of QEMU's arguments, not of the kernel under test: see qemu.stderr in the boot folder",
      [path.join(path.dirname(r.console), "qemu.stderr"), r.console],
    );
  }
  const why = r.timedOut
    ? `guest hung: no result within ${Math.round(r.wallMs / 1000)}s, QEMU killed`
    : r.panicked
      ? "guest kernel panicked"
      : "guest ended without a result";
  const oops = r.oops
    ? `; ${r.oops.headline}${r.oops.rip ? ` at ${r.oops.rip}` : ""}\n${indent(renderOops(r.oops))}\n  console tail:\n`
    : "; console tail:\n";
  return new GuestFailure(`${what}: ${why}${oops}${indent(tail)}`, undefined, [r.console]);
}

/** The command as one line a shell runs as it is (qemu.command in the boot folder). */
export function shellQuote(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : shQuote(a))).join(" ");
}

/** A boot that stalled or ended before the guest's init started, and was booted again. */
export const EarlyHangSchema = z.object({
  wallMs: z.number(),
  /** The console's last line: where the kernel stopped. */
  lastLine: z.string(),
});
export type EarlyHang = z.infer<typeof EarlyHangSchema>;

/** Boots in all before a guest that never reaches init counts as failed. */
export const EARLY_BOOT_ATTEMPTS = 3;

/** Time for a guest to reach init before the boot is started again. */
function initDeadlineMs(accel: Accelerator): number {
  return accel === "kvm" ? 30_000 : 90_000;
}

/**
 * Boots until the guest's init starts, at most EARLY_BOOT_ATTEMPTS times. A
 * stall or a panic before init is put down to the host (a loaded host stalls
 * TCG guests in early boot, in ACPI or PCI set-up, or fails the kernel's
 * timer check) and recorded, never hidden: the boot record and the report
 * list it. A guest that never reaches init fails. Nothing of EROFS runs
 * before init but its registration, so a series that breaks boot still
 * fails every attempt.
 */
export async function bootPastInit(
  machine: GuestMachine,
  boot: Boot,
  what: string,
): Promise<{ result: VmResult; earlyHangs: EarlyHang[] }> {
  const earlyHangs: EarlyHang[] = [];
  for (;;) {
    const result = await bootGuest(machine, {
      ...boot,
      initDeadlineMs: boot.initDeadlineMs ?? initDeadlineMs(machine.accel),
    });
    // a kernel that ended on its own before init (a panic such as "IO-APIC + timer doesn't work" on a loaded host) is started again too
    const endedEarly =
      !result.noInit &&
      !result.timedOut &&
      result.exitCode === 0 &&
      !saidHello(await readFile(result.samples, "utf8").catch(() => ""));
    if (!result.noInit && !endedEarly) return { result, earlyHangs };
    const tail = (await tailOfFile(result.console, 8))
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean);
    const lastLine = tail.find((l) => /Kernel panic/.test(l)) ?? tail[tail.length - 1] ?? "";
    earlyHangs.push({ wallMs: result.wallMs, lastLine });
    await rename(result.console, path.join(boot.dir, `console.stalled-${earlyHangs.length}.log`)).catch(
      () => undefined,
    );
    if (earlyHangs.length >= EARLY_BOOT_ATTEMPTS) {
      throw new GuestFailure(
        `${what}: guest never reached init in ${EARLY_BOOT_ATTEMPTS} boots; the kernel stopped at: ${lastLine || "(nothing on the console)"}`,
        "a kernel that stalls in early boot every time is a finding; on a loaded host, run again with fewer guests (--parallel 1)",
        [path.join(boot.dir, "console.stalled-1.log")],
      );
    }
  }
}

export async function qemuVersion(): Promise<string> {
  const r = await runAllowFail("qemu-system-x86_64", ["--version"]);
  return r.stdout.split("\n")[0] ?? "unknown";
}
