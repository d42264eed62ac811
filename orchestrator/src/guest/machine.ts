/**
 * The machine every boot of a run runs on: the kernel, its initramfs, the
 * accelerator with its thread mode, vCPUs and memory. It is made once, when
 * the accelerator has been chosen, and handed whole to every phase;
 * guest/qemu.ts alone turns it into QEMU's arguments.
 */

export const ACCELERATORS = ["kvm", "tcg"] as const;
export type Accelerator = (typeof ACCELERATORS)[number];
/** How TCG maps the guest's vCPUs onto host threads: one thread for all, or one per vCPU. */
export const TCG_THREADS = ["single", "multi"] as const;
export type TcgThread = (typeof TCG_THREADS)[number];
/**
 * TCG runs every vCPU on one host thread unless asked: with a thread per vCPU
 * (QEMU 7.2) the JVM died in freshly compiled code in 3 of 43 runs, with
 * sharing off too; a user-space crash the kernel did not cause is not a result.
 */
export const DEFAULT_TCG_THREAD: TcgThread = "single";

/** The accelerator a guest runs under; TCG with how its vCPUs map onto host threads. */
export type MachineAccelerator = { accel: "kvm" } | { accel: "tcg"; tcgThread: TcgThread };

export type GuestMachine = MachineAccelerator & {
  /** The kernel booted (bzImage). */
  kernel: string;
  /** Its vmlinux: an oops is symbolised against it. */
  vmlinux: string;
  /** The guest's initramfs; a boot may boot a copy with files of its own added (a runtime job, a case list). */
  initramfs: string;
  cpus: number;
  /** Memory every guest gets at least; a boot that reads large images asks for more. */
  memoryMiB: number;
};

export const GUEST_CPUS = 2;
export const GUEST_MEMORY_MIB = 512;

/** The machine for a kernel and initramfs under an accelerator. */
export function guestMachine(kernel: { bzImage: string; vmlinux: string }, initramfs: string, accel: MachineAccelerator): GuestMachine {
  return { ...accel, kernel: kernel.bzImage, vmlinux: kernel.vmlinux, initramfs, cpus: GUEST_CPUS, memoryMiB: GUEST_MEMORY_MIB };
}
