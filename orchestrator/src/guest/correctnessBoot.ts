import { mkdir, readFile } from "node:fs/promises";
import { z } from "zod";
import type { CorrectnessBoot } from "./checks.js";
import { parseCheckStream, type CheckStream } from "./correctnessProtocol.js";
import { initramfsWithCases } from "./initramfs.js";
import type { GuestMachine } from "./machine.js";
import { bootPastInit, describeBootFailure, type EarlyHang } from "./qemu.js";

/**
 * One correctness boot: the guest runs the reference pass and one check,
 * and this returns what it sent and how it ended. A guest that oopsed,
 * hung or died is a finding, judged per check by analysis/correctnessVerdicts.ts;
 * QEMU failing on the host (an error exit, a kill by someone else) is the
 * tool's or the host's problem and throws, as for every other boot.
 */

/** How a boot ended, as the verdicts need it (the oops already symbolised). */
export interface BootEnd {
  oops?: { headline: string; rip?: string; kind?: string; access?: string; trace?: string[] };
  panicked: boolean;
  timedOut: boolean;
  wallMs: number;
}

/** Where a correctness boot's time went, ms: kernel boot, reference pass, the check, QEMU outside the guest. */
export const CheckTimingSchema = z.object({
  bootMs: z.number(),
  refsMs: z.number(),
  checkMs: z.number(),
  qemuOutsideMs: z.number(),
});
type CheckTiming = z.infer<typeof CheckTimingSchema>;

export interface CheckBootResult {
  boot: CorrectnessBoot;
  stream: CheckStream;
  end: BootEnd;
  bootDir: string;
  timing?: CheckTiming;
  /** Boots that stalled or died before init and were started again. */
  earlyHangs: EarlyHang[];
}

function timingOf(s: CheckStream, wallMs: number): CheckTiming | undefined {
  if (s.bootUp === undefined || s.endUp === undefined) return undefined;
  const refsMs = s.refsDone.reduce((t, r) => t + r.ms, 0);
  const checkMs = s.results.reduce((t, r) => Math.max(t, r.ms), 0);
  return { bootMs: s.bootUp, refsMs, checkMs, qemuOutsideMs: Math.max(0, wallMs - s.endUp) };
}

export async function runCheckBoot(
  machine: GuestMachine,
  boot: CorrectnessBoot,
  bootDir: string,
): Promise<CheckBootResult> {
  await mkdir(bootDir, { recursive: true });
  const initramfs = boot.caseList
    ? await initramfsWithCases(machine.initramfs, boot.caseList, bootDir)
    : machine.initramfs;
  const { result: r, earlyHangs } = await bootPastInit(
    { ...machine, initramfs, memoryMiB: boot.memoryMiB },
    { disks: boot.disks, guestArgs: boot.guestArgs, timeoutMs: boot.timeoutMs, dir: bootDir },
    `correctness ${boot.check}`,
  );
  if (!r.timedOut && (r.signal || (r.exitCode !== null && r.exitCode !== 0)))
    throw await describeBootFailure(r, `correctness ${boot.check}`);
  const stream = parseCheckStream(await readFile(r.samples, "utf8"), r.samples);
  const end: BootEnd = {
    oops: r.oops
      ? {
          headline: r.oops.headline,
          rip: r.oops.rip,
          kind: r.oops.kind,
          access: r.oops.access,
          // the frames the kernel is sure of: a "?" frame is an address left on the stack
          trace: r.oops.trace.filter((_, i) => !r.oops!.guessed?.includes(i)),
        }
      : undefined,
    panicked: r.panicked,
    timedOut: r.timedOut,
    wallMs: r.wallMs,
  };
  return { boot, stream, end, bootDir, timing: timingOf(stream, r.wallMs), earlyHangs };
}
