import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { shellQuote } from "../../../src/guest/qemu.js";
import { BundleRecordSchema, makeReproBundle } from "../../../src/tasks/repro.js";
import { Progress } from "../../../src/util/progress.js";
import { correctnessResult, runRecord } from "../../helpers/runRecord.js";

/** A bundle written from a run folder whose kernel and images are small stand-ins (not booted: --test-runs 0). */
let root = "";
let runDir = "";
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "esb-repro-bundle-"));
  runDir = path.join(root, "run");
  const kernel = path.join(root, "kernel");
  await mkdir(kernel, { recursive: true });
  await writeFile(path.join(kernel, "bzImage"), "kernel bytes");
  await writeFile(path.join(kernel, "config"), "CONFIG_EROFS_FS=y\n");
  for (const d of ["a", "b"]) await writeFile(path.join(root, `${d}.erofs`), `image ${d}`);
  const boot = path.join(runDir, "boots", "correctness-synthetic-umount-race");
  await mkdir(boot, { recursive: true });
  const argv = [
    "qemu-system-x86_64",
    "-accel",
    "tcg,thread=single",
    "-m",
    "512",
    "-smp",
    "2",
    "-kernel",
    path.join(kernel, "bzImage"),
  ];
  argv.push("-append", "console=ttyS0 esb.check=umount-race esb.share=inode_share,domain_id={domain}");
  for (const d of ["a", "b"])
    argv.push("-drive", `file=${path.join(root, `${d}.erofs`)},if=virtio,format=raw,readonly=on`);
  await writeFile(path.join(boot, "qemu.command"), shellQuote(argv));
  await writeFile(
    path.join(boot, "console.log"),
    [
      "esb: mode=on",
      "VFS: Busy inodes after unmount of vda (erofs)",
      "WARNING: fs/super.c:759 at generic_shutdown_super+0x97/0x14d, CPU#0: esbcheck/79",
      "Call Trace:",
      " kill_block_super+0x15/0x36",
      "",
    ].join("\n"),
  );
});

const run = () =>
  runRecord({
    correctness: [
      correctnessResult("umount-race", "fail", "2 of 400 unmounts of A found its inodes busy", {
        details: { file: "usr/lib/x.bin", seconds: 60 },
        bootDir: "/moved/boots/correctness-synthetic-umount-race",
      }),
    ],
  });

describe("makeReproBundle", () => {
  it("writes the program, run.sh, the kernel, its config, the images, the texts and a record of every file", async () => {
    const out = path.join(root, "bundle");
    const { dir, record } = await makeReproBundle({
      runDir,
      run: run(),
      out,
      testRuns: 0,
      progress: new Progress(true),
    });
    expect(dir).toBe(out);
    expect(BundleRecordSchema.parse(JSON.parse(await readFile(path.join(out, "bundle.json"), "utf8")))).toEqual(record);
    expect(record.files.map((f) => f.path).sort()).toEqual(
      ["README.md", "bzImage", "config", "images/A.erofs", "images/B.erofs", "mail.txt", "repro.c", "run.sh"].sort(),
    );
    expect(await readFile(path.join(out, "images", "B.erofs"), "utf8")).toBe("image b");
    expect(record.test).toBeUndefined();
    const c = await readFile(path.join(out, "repro.c"), "utf8");
    expect(c).toContain('#define REPRO_SHARE_OPTS "inode_share,domain_id=esb"');
    expect(c).toContain('#define REPRO_FILE "usr/lib/x.bin"');
    const sh = await readFile(path.join(out, "run.sh"), "utf8");
    expect(sh).toMatch(/^#!\/bin\/sh\n/);
    expect(sh).toContain("RUNS='20'");
    expect(sh).toContain("DISKS='A.erofs B.erofs'");
    const mail = await readFile(path.join(out, "mail.txt"), "utf8");
    expect(mail).toContain("WARNING: fs/super.c:759");
    expect(mail.replace(/\s+/g, " ")).toContain("The bundle was not run after it was made.");
  });

  it("makes a bundle again over an earlier one, but never over a folder that is not a bundle", async () => {
    const out = path.join(root, "again");
    await makeReproBundle({ runDir, run: run(), out, testRuns: 0, progress: new Progress(true) });
    await makeReproBundle({ runDir, run: run(), out, testRuns: 0, progress: new Progress(true) });
    await expect(
      makeReproBundle({ runDir, run: run(), out: runDir, testRuns: 0, progress: new Progress(true) }),
    ).rejects.toThrow(/is a folder with other files, not a bundle/);
    expect(
      await readFile(path.join(runDir, "boots", "correctness-synthetic-umount-race", "qemu.command"), "utf8"),
    ).toContain("bzImage");
  });

  it("names an image the boot used that is gone, before it writes anything", async () => {
    const r = run();
    const gone = path.join(root, "gone-run");
    await mkdir(path.join(gone, "boots", "correctness-synthetic-umount-race"), { recursive: true });
    await writeFile(
      path.join(gone, "boots", "correctness-synthetic-umount-race", "qemu.command"),
      shellQuote([
        "qemu-system-x86_64",
        "-accel",
        "tcg",
        "-m",
        "512",
        "-smp",
        "2",
        "-kernel",
        "/nowhere/bzImage",
        "-append",
        "esb.share=x",
      ]),
    );
    await expect(
      makeReproBundle({
        runDir: gone,
        run: r,
        out: path.join(root, "never"),
        testRuns: 0,
        progress: new Progress(true),
      }),
    ).rejects.toThrow(/\/nowhere\/bzImage is gone/);
  });
});
