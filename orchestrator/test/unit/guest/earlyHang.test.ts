import { chmod, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { GuestMachine } from "../../../src/guest/machine.js";
import { bootPastInit, EARLY_BOOT_ATTEMPTS, GuestFailure, type Boot } from "../../../src/guest/qemu.js";
import { tempDir } from "../../helpers/gitSeries.js";

/**
 * A guest that stalls before its init starts is booted again and the stall
 * recorded; one that stalls every time fails. QEMU is replaced by a script
 * here: what is tested is the tool's watchdog, not the emulator.
 */
let bin: string;

beforeAll(async () => {
  bin = await tempDir("esb-fakeqemu-");
  // prints a kernel line, then on the attempt named by HELLO_ON says hello the way the guest's init does, and keeps running
  await writeFile(
    path.join(bin, "qemu-system-x86_64"),
    `#!/bin/sh
n=$(($(cat "$COUNT" 2>/dev/null || echo 0) + 1)); echo $n > "$COUNT"
for a in "$@"; do case "$a" in *id=console,path=*) con="\${a#*path=}";; *id=esb,path=*) smp="\${a#*path=}";; esac; done
echo "acpi PNP0A03:00: attempt $n" >> "$con"
if [ "$n" = "$PANIC_ON" ]; then echo "Kernel panic - not syncing: IO-APIC + timer doesn't work!" >> "$con"; echo "Kernel Offset: disabled" >> "$con"; exit 0; fi
if [ "$n" = "$HELLO_ON" ]; then echo '{"t":"hello","up":1200}' >> "$smp"; echo '{"t":"end","up":1300}' >> "$smp"; exit 0; fi
exec sleep 60
`,
  );
  await chmod(path.join(bin, "qemu-system-x86_64"), 0o755);
});

async function boot(
  helloOn: number,
  panicOn = 0,
): Promise<{ out: Awaited<ReturnType<typeof bootPastInit>> | unknown; dir: string; attempts: number }> {
  const dir = await tempDir("esb-stall-");
  const count = path.join(dir, "count");
  const env = {
    PATH: process.env.PATH,
    COUNT: process.env.COUNT,
    HELLO_ON: process.env.HELLO_ON,
    PANIC_ON: process.env.PANIC_ON,
  };
  Object.assign(process.env, {
    PATH: `${bin}:${env.PATH}`,
    COUNT: count,
    HELLO_ON: String(helloOn),
    PANIC_ON: String(panicOn),
  });
  const machine: GuestMachine = {
    accel: "tcg",
    tcgThread: "single",
    kernel: "/k",
    vmlinux: "/vmlinux",
    initramfs: "/i",
    cpus: 1,
    memoryMiB: 128,
  };
  const req: Boot = {
    disks: [],
    guestArgs: { "esb.mode": "off" },
    timeoutMs: 30_000,
    initDeadlineMs: 1_500,
    dir: path.join(dir, "boot"),
  };
  try {
    const out = await bootPastInit(machine, req, "synthetic off/read rep 1").catch((e: unknown) => e);
    return { out, dir: req.dir, attempts: Number(await readFile(count, "utf8")) };
  } finally {
    Object.assign(process.env, env);
  }
}

describe("a guest that stalls before init", () => {
  it("is booted again, and the stall is kept with the line the kernel stopped at", async () => {
    const { out, dir, attempts } = await boot(2);
    expect(attempts).toBe(2);
    const { result, earlyHangs } = out as Awaited<ReturnType<typeof bootPastInit>>;
    expect(result.noInit).toBe(false);
    expect(earlyHangs).toHaveLength(1);
    expect(earlyHangs[0]!.lastLine).toBe("acpi PNP0A03:00: attempt 1");
    expect(earlyHangs[0]!.wallMs).toBeGreaterThanOrEqual(1_500);
    expect(await readFile(path.join(dir, "console.stalled-1.log"), "utf8")).toContain("attempt 1");
    expect(await readFile(path.join(dir, "qemu.command"), "utf8")).toMatch(/^qemu-system-x86_64 -accel tcg/);
  }, 30_000);

  it("boots again a kernel that panicked before init, keeping the panic line", async () => {
    const { out, attempts } = await boot(2, 1);
    expect(attempts).toBe(2);
    const { earlyHangs } = out as Awaited<ReturnType<typeof bootPastInit>>;
    expect(earlyHangs.map((h) => h.lastLine)).toEqual(["Kernel panic - not syncing: IO-APIC + timer doesn't work!"]);
  }, 30_000);

  it(`fails the boot as a guest failure after ${EARLY_BOOT_ATTEMPTS} stalls, naming where it stopped`, async () => {
    const { out, dir, attempts } = await boot(0);
    expect(attempts).toBe(EARLY_BOOT_ATTEMPTS);
    expect(out).toBeInstanceOf(GuestFailure);
    expect((out as Error).message).toMatch(
      /^synthetic off\/read rep 1: guest never reached init in 3 boots; the kernel stopped at: acpi PNP0A03:00: attempt 3$/,
    );
    expect((await readdir(dir)).filter((f) => f.startsWith("console.stalled-"))).toHaveLength(3);
  }, 30_000);
});
