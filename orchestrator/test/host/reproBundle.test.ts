import { chmod, mkdir, mkdtemp, readFile, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { SCENARIOS, type Scenario } from "../../src/tasks/reproFinding.js";
import { writeBundleProgram } from "../../src/tasks/repro.js";
import { needHost } from "../helpers/host.js";

/**
 * A reproducer bundle's own parts, as a maintainer runs them: repro.c of
 * every scenario built the way run.sh builds it (and warning-free), the
 * initramfs the program writes of itself, and run.sh's judgement of a boot
 * with a stand-in for QEMU that prints a given console.
 */

let work = "";
beforeAll(async () => {
  await needHost("vm");
  work = await mkdtemp(path.join(os.tmpdir(), "esb-repro-bundle-"));
}, 600_000);

const DEFINES: Record<Scenario, Record<string, string>> = {
  "umount-race": {
    REPRO_FILE: '"f.bin"',
    REPRO_SHARE_OPTS: '"inode_share,domain_id=esb"',
    REPRO_SECONDS: "60",
    REPRO_MAX_CYCLES: "400",
    REPRO_LINGER_CYCLES: "20",
  },
  fadvise: { REPRO_FILE: '"f.bin"', REPRO_SHARE_OPTS: '"domain_id=esb"' },
  "read-all": {
    REPRO_OPTS_A: '"inode_share,domain_id=esb"',
    REPRO_OPTS_B: '"inode_share,domain_id=esb"',
    REPRO_ACCESS: '"mmap"',
  },
};

async function bundle(scenario: Scenario, name: string = scenario): Promise<string> {
  const dir = path.join(work, name);
  await mkdir(path.join(dir, "images"), { recursive: true });
  await writeBundleProgram(
    dir,
    {
      title: `check ${scenario}`,
      scenario,
      defines: DEFINES[scenario],
      boot: {
        dir,
        kernel: "",
        disks: [],
        memoryMiB: 512,
        cpus: 2,
        accel: { accel: "tcg", tcgThread: "single" },
        guestArgs: {},
      },
      disks: [
        { name: "A.erofs", source: "" },
        { name: "B.erofs", source: "" },
      ],
      signature: "VFS: Busy inodes after unmount|REPRO-RESULT: reproduced|BUG: ",
      timeoutS: 30,
    },
    3,
  );
  await writeFile(path.join(dir, "bzImage"), "not a kernel");
  return dir;
}

/** The entries of a newc cpio archive: name, mode, device numbers, contents. */
function readCpio(buf: Buffer): { name: string; mode: number; rdev: [number, number]; data: Buffer }[] {
  const out = [];
  let at = 0;
  const pad = (n: number) => (n + 3) & ~3;
  for (;;) {
    expect(buf.toString("latin1", at, at + 6)).toBe("070701");
    const field = (i: number) => Number.parseInt(buf.toString("latin1", at + 6 + i * 8, at + 14 + i * 8), 16);
    const [mode, size, rmaj, rmin, namesize] = [field(1), field(6), field(9), field(10), field(11)];
    const name = buf.toString("latin1", at + 110, at + 110 + namesize - 1);
    const dataAt = pad(at + 110 + namesize);
    if (name === "TRAILER!!!") return out;
    out.push({ name, mode, rdev: [rmaj, rmin] as [number, number], data: buf.subarray(dataAt, dataAt + size) });
    at = pad(dataAt + size);
  }
}

describe("repro.c", () => {
  it.each(SCENARIOS)(
    "%s builds statically without a warning and packs itself as the initramfs's /init",
    async (scenario) => {
      const dir = await bundle(scenario);
      const bin = path.join(dir, "repro");
      await execa("gcc", ["-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", bin, path.join(dir, "repro.c")]);
      await execa(bin, ["--initramfs", path.join(dir, "initramfs.cpio")]);
      const entries = readCpio(await readFile(path.join(dir, "initramfs.cpio")));
      expect(entries.map((e) => e.name)).toEqual(["dev", "proc", "sys", "mnt", "dev/console", "init"]);
      const consoleNode = entries.find((e) => e.name === "dev/console")!;
      expect([consoleNode.mode & 0o170000, consoleNode.rdev]).toEqual([0o020000, [5, 1]]);
      const init = entries.find((e) => e.name === "init")!;
      expect(init.mode & 0o111).toBe(0o111);
      expect(init.data.equals(await readFile(bin))).toBe(true);
      // outside a guest it is no init: it says how it is used instead of mounting anything
      const r = await execa(bin, [], { reject: false });
      expect([r.exitCode, r.stderr]).toEqual([2, expect.stringMatching(/usage: .* --initramfs FILE/)]);
    },
  );
});

describe("run.sh", () => {
  /** A stand-in for QEMU: writes CONSOLE to the -serial file and its own arguments beside it. */
  async function fakeQemu(bin: string) {
    await mkdir(bin, { recursive: true });
    const script = [
      "#!/bin/sh",
      'for a in "$@"; do case $a in file:*) out=$(echo "$a" | cut -d: -f2-) ;; esac; done',
      'printf "%s\\n" "$@" > "$out.args"',
      'printf "%b" "$CONSOLE" > "$out"',
      "exit 0",
    ].join("\n");
    await writeFile(path.join(bin, "qemu-system-x86_64"), script);
    await chmod(path.join(bin, "qemu-system-x86_64"), 0o755);
  }

  async function runSh(dir: string, env: Record<string, string>, args: string[] = []) {
    return execa("sh", ["run.sh", ...args], { cwd: dir, reject: false, env, extendEnv: false, all: true });
  }

  it("counts a boot reproduced by its signature, clean by the program's verdict, and one with neither as no verdict; exits 1, 0 or 2", async () => {
    const dir = await bundle("umount-race", "judge");
    const bin = path.join(work, "fake-bin");
    await fakeQemu(bin);
    const PATH = `${bin}:/usr/bin:/bin`;
    const busy = await runSh(
      dir,
      { PATH, CONSOLE: "repro: cycling\\nVFS: Busy inodes after unmount of vda (erofs)\\n" },
      ["-n", "2"],
    );
    expect(busy.exitCode).toBe(1);
    expect(busy.all).toContain("run 1/2: reproduced");
    expect(busy.all).toMatch(/umount-race: reproduced in 2 of 2 run\(s\), not in 0, no verdict in 0/);
    const clean = await runSh(dir, { PATH, CONSOLE: "REPRO-RESULT: not reproduced: 400 unmounts\\r\\n" });
    expect(clean.exitCode).toBe(0);
    expect(clean.all).toMatch(/reproduced in 0 of 3 run\(s\), not in 3, no verdict in 0/);
    const silent = await runSh(dir, { PATH, CONSOLE: "Linux version 7.3.4\\n" }, ["-n", "1"]);
    expect(silent.exitCode).toBe(2);
    expect(silent.all).toContain("run 1/1: no verdict");
    const error = await runSh(dir, { PATH, CONSOLE: "REPRO-RESULT: error: mount A: No such device\\n" }, ["-n", "1"]);
    expect([error.exitCode, error.all]).toEqual([
      2,
      expect.stringContaining("REPRO-RESULT: error: mount A: No such device"),
    ]);
    // the machine as the run had it: the images in order, read-only, the bundle's kernel and memory
    const args = (await readFile(path.join(dir, "logs", "run-1.console.args"), "utf8")).split("\n");
    expect(args.filter((a) => a.startsWith("file=images/"))).toEqual([
      "file=images/A.erofs,if=virtio,format=raw,readonly=on",
      "file=images/B.erofs,if=virtio,format=raw,readonly=on",
    ]);
    expect(args.slice(args.indexOf("-m"), args.indexOf("-m") + 2)).toEqual(["-m", "512"]);
    expect(args[args.indexOf("-kernel") + 1]).toBe(path.join(dir, "bzImage"));
  });

  it("says what is missing or wrong before it boots anything", async () => {
    const dir = await bundle("fadvise", "missing");
    const noQemu = path.join(work, "no-qemu-bin");
    await mkdir(noQemu, { recursive: true });
    for (const tool of ["sh", "dirname", "gcc"])
      await symlink(`/usr/bin/${tool}`, path.join(noQemu, tool)).catch(() => undefined);
    const missing = await runSh(dir, { PATH: noQemu });
    expect([missing.exitCode, missing.all]).toEqual([
      2,
      expect.stringContaining("missing: qemu-system-x86_64 (Debian: apt-get install qemu-system-x86)"),
    ]);
    const bin = path.join(work, "fake-bin2");
    await fakeQemu(bin);
    const noKernel = await runSh(dir, { PATH: `${bin}:/usr/bin:/bin` }, ["-k", "/nowhere/bzImage"]);
    expect([noKernel.exitCode, noKernel.all]).toEqual([
      2,
      "run.sh: /nowhere/bzImage: no such kernel image (give one with -k)",
    ]);
    const badRuns = await runSh(dir, { PATH: `${bin}:/usr/bin:/bin` }, ["-n", "many"]);
    expect([badRuns.exitCode, badRuns.all]).toEqual([2, "run.sh: -n many is not a number of runs"]);
  });
});
