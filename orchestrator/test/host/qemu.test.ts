import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readGuestReport } from "../../src/guest/protocol.js";
import type { GuestMachine } from "../../src/guest/machine.js";
import { bootGuest, GuestFailure, qemuArgs, type Boot } from "../../src/guest/qemu.js";
import { BenchError } from "../../src/util/errors.js";
import { tempDir } from "../helpers/gitSeries.js";
import { needHost } from "../helpers/host.js";

/**
 * QEMU that cannot start (a bad drive, a path QEMU would misread) is a
 * problem of the host or the tool: an error with QEMU's own words, never a
 * failed boot counted against the kernel under test.
 */
let dir: string;
let machine: Extract<GuestMachine, { accel: "tcg" }>;
let req: Boot;

beforeAll(async () => {
  await needHost("vm");
  dir = await tempDir("esb-qemu,comma-");
  await mkdir(path.join(dir, "a,b"), { recursive: true });
  await writeFile(path.join(dir, "a,b", "disk.img"), Buffer.alloc(1 << 20));
  await writeFile(path.join(dir, "a,b", "kernel"), "not a kernel\n");
  const kernel = path.join(dir, "a,b", "kernel");
  machine = {
    accel: "tcg",
    tcgThread: "single",
    kernel,
    vmlinux: path.join(dir, "a,b", "vmlinux"),
    initramfs: kernel,
    cpus: 1,
    memoryMiB: 128,
  };
  req = {
    disks: [path.join(dir, "a,b", "disk.img")],
    guestArgs: { "esb.mode": "probe" },
    timeoutMs: 30_000,
    dir: path.join(dir, "boot,1"),
  };
}, 600_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("QEMU failures on the host side", () => {
  it("doubles commas in paths that go into QEMU option lists", () => {
    const args = qemuArgs(machine, { ...req, dir: "/r,un" });
    expect(args).toContain(
      `file=${path.join(dir, "a,,b", "disk.img").replace(dir, dir.replaceAll(",", ",,"))},if=virtio,format=raw,readonly=on`,
    );
    expect(args).toContain("file,id=esb,path=/r,,un/samples.jsonl");
    expect(args).toContain("file,id=console,path=/r,,un/console.log");
  });

  it("runs TCG vCPUs in the machine's thread mode; KVM takes none", () => {
    expect(qemuArgs(machine, req).slice(0, 2)).toEqual(["-accel", "tcg,thread=single"]);
    expect(qemuArgs({ ...machine, tcgThread: "multi" }, req).slice(0, 2)).toEqual(["-accel", "tcg,thread=multi"]);
    const { tcgThread: _, ...rest } = machine;
    expect(qemuArgs({ ...rest, accel: "kvm" }, req).join(" ")).not.toMatch(/thread=/);
  });

  it("boots the machine's kernel, initramfs, vCPUs and memory", () => {
    const args = qemuArgs({ ...machine, memoryMiB: 1024, initramfs: "/boot/own.cpio.gz" }, req);
    const argAfter = (flag: string) => args[args.indexOf(flag) + 1];
    expect([argAfter("-kernel"), argAfter("-initrd"), argAfter("-smp"), argAfter("-m")]).toEqual([
      machine.kernel,
      "/boot/own.cpio.gz",
      "1",
      "1024",
    ]);
  });

  it("passes a drive path with a comma to QEMU whole (QEMU gets as far as the kernel)", async () => {
    const r = await bootGuest(machine, req);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/qemu: .*kernel/);
    expect(r.stderr).not.toMatch(/Could not open/);
  });

  it("reports QEMU exiting with an error as a tool error, not a guest failure", async () => {
    const r = await bootGuest(machine, { ...req, disks: [path.join(dir, "a,b", "missing.img")] });
    const e = await readGuestReport(r, "synthetic off/read rep 1").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BenchError);
    expect(e).not.toBeInstanceOf(GuestFailure);
    expect((e as BenchError).message).toMatch(
      /synthetic off\/read rep 1: QEMU exited with status 1: .*Could not open '.*a,b\/missing\.img'/,
    );
  });
});
