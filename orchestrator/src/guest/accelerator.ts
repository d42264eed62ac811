import { access, constants, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { writeJsonAtomic } from "../util/fsx.js";
import { cacheRoot } from "../util/paths.js";
import { ACCELERATORS, bootGuest, qemuVersion, saidHello, TCG_THREADS, type Accelerator } from "./qemu.js";

export const AcceleratorChoiceSchema = z.object({
  accel: z.enum(ACCELERATORS),
  reason: z.string(),
  /** Under TCG: how the vCPUs ran (absent in runs from before it was a choice, which ran multi). */
  tcgThread: z.enum(TCG_THREADS).optional(),
});
export type AcceleratorChoice = z.infer<typeof AcceleratorChoiceSchema>;

/** The probe's verdict as remembered in the cache: for this host and QEMU, at this time. */
const AccelMemoSchema = z.object({ host: z.string(), at: z.number(), choice: AcceleratorChoiceSchema });

/**
 * KVM if it boots the guest to init quickly, else TCG. /dev/kvm exists on
 * nested-virtualisation hosts where a KVM guest hangs early, so presence is
 * not enough: we boot once with a short timeout.
 */
export async function chooseAccelerator(opts: {
  kernel: string;
  initramfs: string;
  dir: string;
  forced?: Accelerator;
  probeTimeoutMs?: number;
}): Promise<AcceleratorChoice> {
  if (opts.forced) return { accel: opts.forced, reason: `forced with --accel ${opts.forced}` };
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
    return { accel: old.data.choice.accel, reason: `${old.data.choice.reason} (probed ${new Date(old.data.at).toISOString()})` };
  }
  const choice = await probeKvm(opts);
  await writeJsonAtomic(memo, { host, at: Date.now(), choice });
  return choice;
}

async function probeKvm(opts: { kernel: string; initramfs: string; dir: string; probeTimeoutMs?: number }): Promise<AcceleratorChoice> {
  const r = await bootGuest({
    kernel: opts.kernel, initramfs: opts.initramfs, disks: [], guestArgs: { "esb.mode": "probe" },
    memoryMiB: 256, cpus: 1, accel: "kvm", timeoutMs: opts.probeTimeoutMs ?? 20_000, dir: opts.dir,
  });
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
  const threads = a.accel === "tcg" && a.tcgThread ? (a.tcgThread === "single" ? ", all vCPUs on one host thread" : ", a host thread per vCPU") : "";
  return `${a.accel}${threads} (${a.reason})`;
}
