import { access, constants, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { writeJsonAtomic } from "../util/fsx.js";
import { cacheRoot } from "../util/paths.js";
import {
  ACCELERATORS,
  guestMachine,
  TCG_THREADS,
  type Accelerator,
  type GuestMachine,
  type MachineAccelerator,
  type TcgThread,
} from "./machine.js";
import { bootGuest, qemuVersion, saidHello } from "./qemu.js";

export const AcceleratorChoiceSchema = z.object({
  accel: z.enum(ACCELERATORS),
  reason: z.string(),
  /** Under TCG: how the vCPUs ran (absent in runs from before it was a choice, which ran multi). */
  tcgThread: z.enum(TCG_THREADS).optional(),
});
type AcceleratorChoice = z.infer<typeof AcceleratorChoiceSchema>;

/** The probe's verdict as remembered in the cache: for this host and QEMU, at this time. */
const AccelMemoSchema = z.object({ host: z.string(), at: z.number(), choice: AcceleratorChoiceSchema });

/** What a run asks for: an accelerator (else the KVM probe decides) and TCG's thread mode. */
interface AcceleratorRequest {
  accel?: Accelerator;
  tcgThread: TcgThread;
}

/**
 * The run's guest machine, with the accelerator chosen for it and why (what
 * run.json records). KVM if it boots the guest to init quickly, else TCG:
 * /dev/kvm exists on nested-virtualisation hosts where a KVM guest hangs
 * early, so presence is not enough: we boot once with a short timeout.
 */
export async function prepareMachine(opts: {
  kernel: { bzImage: string; vmlinux: string };
  initramfs: string;
  request: AcceleratorRequest;
  /** Where the probe boots. */
  dir: string;
  probeTimeoutMs?: number;
}): Promise<{ machine: GuestMachine; choice: AcceleratorChoice }> {
  const kvm = guestMachine(opts.kernel, opts.initramfs, { accel: "kvm" });
  const probed = opts.request.accel
    ? { accel: opts.request.accel, reason: `forced with --accel ${opts.request.accel}` }
    : await probedAccelerator(kvm, opts.dir, opts.probeTimeoutMs);
  const accel: MachineAccelerator =
    probed.accel === "kvm" ? { accel: "kvm" } : { accel: "tcg", tcgThread: opts.request.tcgThread };
  return { machine: guestMachine(opts.kernel, opts.initramfs, accel), choice: { ...probed, ...accel } };
}

/** What the KVM probe says on this host, remembered for a day. */
async function probedAccelerator(
  kvm: GuestMachine,
  dir: string,
  timeoutMs: number | undefined,
): Promise<{ accel: Accelerator; reason: string }> {
  try {
    await access("/dev/kvm", constants.R_OK | constants.W_OK);
  } catch {
    return { accel: "tcg", reason: "/dev/kvm is not usable" };
  }
  // the verdict depends on the host, not on the guest: remember it for a day
  const memo = path.join(cacheRoot(), "accel-probe.json");
  const host = `${os.release()} ${await qemuVersion()}`;
  const old = await readFile(memo, "utf8")
    .then((t) => AccelMemoSchema.safeParse(JSON.parse(t)))
    .catch(() => null);
  if (old?.success && old.data.host === host && Date.now() - old.data.at < 24 * 3600_000) {
    return {
      accel: old.data.choice.accel,
      reason: `${old.data.choice.reason} (probed ${new Date(old.data.at).toISOString()})`,
    };
  }
  // one small vCPU is enough to reach init
  const choice = await probeKvm({ ...kvm, cpus: 1, memoryMiB: 256 }, dir, timeoutMs ?? 20_000);
  await writeJsonAtomic(memo, { host, at: Date.now(), choice });
  return choice;
}

async function probeKvm(
  probe: GuestMachine,
  dir: string,
  timeoutMs: number,
): Promise<{ accel: Accelerator; reason: string }> {
  const r = await bootGuest(probe, { disks: [], guestArgs: { "esb.mode": "probe" }, timeoutMs, dir });
  const samples = await readFile(r.samples, "utf8").catch(() => "");
  if (saidHello(samples)) return { accel: "kvm", reason: `KVM booted to init in ${(r.wallMs / 1000).toFixed(1)}s` };
  const why = r.timedOut
    ? `KVM guest hung (no init within ${Math.round(r.wallMs / 1000)}s, QEMU killed)`
    : `KVM guest failed (QEMU ${r.signal ? `killed by ${r.signal}` : `exit ${r.exitCode}`}${r.stderr ? `: ${r.stderr}` : ""})`;
  return { accel: "tcg", reason: `${why}; using TCG` };
}

/** "tcg (single-threaded)": the accelerator as an input that compares and merges tell apart. */
export function acceleratorLabel(a: { accel: string; tcgThread?: string }): string {
  return `${a.accel}${a.tcgThread ? ` (${a.tcgThread}-threaded)` : ""}`;
}

/** "tcg, all vCPUs on one host thread (why TCG)": what a report says of how guests ran. */
export function describeAccelerator(a: AcceleratorChoice): string {
  const threads =
    a.accel === "tcg" && a.tcgThread
      ? a.tcgThread === "single"
        ? ", all vCPUs on one host thread"
        : ", a host thread per vCPU"
      : "";
  return `${a.accel}${threads} (${a.reason})`;
}
