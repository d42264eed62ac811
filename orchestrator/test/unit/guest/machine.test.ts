import { describe, expect, it } from "vitest";
import { prepareMachine } from "../../../src/guest/accelerator.js";

/** The guest machine: made once, with the accelerator chosen for it, and the choice as run.json records it. */
describe("the guest machine", () => {
  const parts = {
    kernel: { bzImage: "/b/bzImage", vmlinux: "/b/out/vmlinux" },
    initramfs: "/i.cpio.gz",
    dir: "/tmp/probe",
  };

  it("runs TCG in the thread mode asked for, and says so in the choice", async () => {
    const { machine, choice } = await prepareMachine({ ...parts, request: { accel: "tcg", tcgThread: "multi" } });
    expect(machine).toEqual({
      accel: "tcg",
      tcgThread: "multi",
      kernel: "/b/bzImage",
      vmlinux: "/b/out/vmlinux",
      initramfs: "/i.cpio.gz",
      cpus: 2,
      memoryMiB: 512,
    });
    expect(choice).toEqual({ accel: "tcg", reason: "forced with --accel tcg", tcgThread: "multi" });
  });

  it("gives KVM no thread mode", async () => {
    const { machine, choice } = await prepareMachine({ ...parts, request: { accel: "kvm", tcgThread: "single" } });
    expect(machine).not.toHaveProperty("tcgThread");
    expect(choice).toEqual({ accel: "kvm", reason: "forced with --accel kvm" });
  });
});
