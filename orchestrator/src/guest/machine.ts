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

/** The accelerator a guest runs under; TCG with how its vCPUs map onto host threads. */
export type MachineAccelerator = { accel: "kvm" } | { accel: "tcg"; tcgThread: TcgThread };

export type GuestMachine = MachineAccelerator & {
  /** The kernel booted (bzImage). */
  kernel: string;
  /** Its vmlinux: an oops is symbolised against it. */
  vmlinux: string;
  /** The guest's initramfs; a boot that adds files of its own (a runtime job, a case list) boots the machine with its copy. */
  initramfs: string;
  cpus: number;
  /** The guest's memory; a boot that reads large images boots the machine with more. */
  memoryMiB: number;
};

const GUEST_CPUS = 2;
const GUEST_MEMORY_MIB = 512;

/** The machine for a kernel and initramfs under an accelerator. */
export function guestMachine(
  kernel: { bzImage: string; vmlinux: string },
  initramfs: string,
  accel: MachineAccelerator,
): GuestMachine {
  return {
    ...accel,
    kernel: kernel.bzImage,
    vmlinux: kernel.vmlinux,
    initramfs,
    cpus: GUEST_CPUS,
    memoryMiB: GUEST_MEMORY_MIB,
  };
}
