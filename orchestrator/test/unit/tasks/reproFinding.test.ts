import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { shellQuote } from "../../../src/guest/qemu.js";
import { findingOf, readRecordedBoot } from "../../../src/tasks/reproFinding.js";
import { shQuote, splitShellWords } from "../../../src/util/shell.js";
import { correctnessResult, runRecord } from "../../helpers/runRecord.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "esb-repro-finding-"));
});

/** A boot folder whose qemu.command is quoted the way the tool writes it. */
async function bootDir(run: string, name: string, append: string, disks = ["/c/a,1/image.erofs", "/c/b/image.erofs"]) {
  const dir = path.join(run, "boots", name);
  await mkdir(dir, { recursive: true });
  const argv = [
    "qemu-system-x86_64",
    ...["-accel", "tcg,thread=single", "-cpu", "max", "-m", "768", "-smp", "2", "-kernel", "/c/k/bzImage"],
    ...["-append", `console=ttyS0 panic=-1 ${append}`],
    ...disks.flatMap((d) => ["-drive", `file=${d.replaceAll(",", ",,")},if=virtio,format=raw,readonly=on`]),
  ];
  await writeFile(path.join(dir, "qemu.command"), shellQuote(argv) + "\n");
  return dir;
}

async function runDir(name: string): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir, { recursive: true });
  return dir;
}

describe("splitShellWords", () => {
  it("undoes shQuote, whatever the word holds", () => {
    const words = ["plain", "with space", "it's", "a,,b", "", "x'y'z", "{domain}"];
    expect(splitShellWords(words.map(shQuote).join(" "))).toEqual(words);
    expect(splitShellWords("a  b\tc")).toEqual(["a", "b", "c"]);
    expect(() => splitShellWords("a 'b")).toThrow(/unterminated quote/);
  });
});

describe("readRecordedBoot", () => {
  it("reads the kernel, the machine, the disks (commas undoubled) and the init's esb.* parameters from qemu.command", async () => {
    const run = await runDir("boot");
    const dir = await bootDir(run, "b1", "esb.check=umount-race esb.share=inode_share,domain_id={domain}");
    expect(await readRecordedBoot(dir)).toEqual({
      dir,
      kernel: "/c/k/bzImage",
      disks: ["/c/a,1/image.erofs", "/c/b/image.erofs"],
      memoryMiB: 768,
      cpus: 2,
      accel: { accel: "tcg", tcgThread: "single" },
      guestArgs: { "esb.check": "umount-race", "esb.share": "inode_share,domain_id={domain}" },
    });
  });

  it("names the missing file of a folder that is not a boot's", async () => {
    await expect(readRecordedBoot(path.join(root, "nowhere"))).rejects.toThrow(/qemu\.command is missing/);
  });
});

describe("findingOf", () => {
  it("makes the umount-race scenario from the check's failing boot: its file, the domain filled in, a loop of 20 runs", async () => {
    const dir = await runDir("race");
    await bootDir(dir, "correctness-synthetic-umount-race-r3", "esb.share=inode_share,domain_id={domain}");
    const race = correctnessResult("umount-race", "oops", "2 of 400 unmounts of A found its inodes busy", {
      details: { file: "usr/lib/x.bin", seconds: 60 },
      boots: { of: 20, failed: 19, results: [] },
      failures: [{ bootDir: "/elsewhere/boots/correctness-synthetic-umount-race-r3", result: "oops", reason: "" }],
    });
    const f = await findingOf(runRecord({ correctness: [correctnessResult("fadvise", "pass"), race] }), dir);
    expect(f).toMatchObject({
      title: "check umount-race",
      scenario: "umount-race",
      rate: { failed: 19, of: 20 },
      defaultRuns: 20,
      // the run folder moved: its boots are found beside its run.json
      failedBoots: [path.join(dir, "boots", "correctness-synthetic-umount-race-r3")],
      disks: [
        { name: "A.erofs", source: "/c/a,1/image.erofs" },
        { name: "B.erofs", source: "/c/b/image.erofs" },
      ],
    });
    expect(f.defines).toMatchObject({
      REPRO_FILE: '"usr/lib/x.bin"',
      REPRO_SHARE_OPTS: '"inode_share,domain_id=esb"',
      REPRO_SECONDS: "60",
    });
    expect(f.signature).toMatch(/Busy inodes after unmount/);
  });

  it("takes the shared file from the step the check says first when every failing boot died before its result", async () => {
    const dir = await runDir("race-died");
    const boot = await bootDir(dir, "correctness-synthetic-umount-race", "esb.share=domain_id={domain}");
    const step = {
      t: "check-step",
      check: "umount-race",
      step: "race-file",
      ms: 3,
      file: "usr/lib/y.bin",
      seconds: 60,
    };
    await writeFile(path.join(boot, "samples.jsonl"), JSON.stringify(step) + "\n");
    const race = correctnessResult("umount-race", "oops", "oops", { details: {}, bootDir: boot });
    const f = await findingOf(runRecord({ correctness: [race] }), dir);
    expect(f.defines.REPRO_FILE).toBe('"usr/lib/y.bin"');
    await writeFile(path.join(boot, "samples.jsonl"), "");
    await expect(findingOf(runRecord({ correctness: [race] }), dir)).rejects.toThrow(/recorded no shared file/);
  });

  it("makes the read-all scenario from a DATA CORRUPTION boot: each image attached twice, the second time mounted without sharing", async () => {
    const dir = await runDir("readall");
    await bootDir(
      dir,
      "synthetic-on-read-r1",
      "esb.opts_a=inode_share,domain_id=esb esb.opts_b=inode_share,domain_id=esb",
    );
    const run = runRecord({
      failedBoots: [
        {
          phase: "read-all",
          workload: "synthetic",
          mode: "on",
          path: "read",
          rep: 1,
          failure: "3 file(s) read back wrong (DATA CORRUPTION)",
          bootDir: "/x/boots/synthetic-on-read-r1",
        },
        {
          phase: "read-all",
          workload: "synthetic",
          mode: "on",
          path: "read",
          rep: 2,
          failure: "5 file(s) read back wrong (DATA CORRUPTION)",
          bootDir: "/x/boots/synthetic-on-read-r2",
        },
      ],
    });
    // two boots of one cell are one finding: it is taken without --finding
    const f = await findingOf(run, dir);
    expect(f.rate).toEqual({ failed: 2, of: 2 });
    expect(f.failedBoots).toEqual([
      path.join(dir, "boots", "synthetic-on-read-r1"),
      path.join(dir, "boots", "synthetic-on-read-r2"),
    ]);
    expect(f.scenario).toBe("read-all");
    expect(f.disks.map((d) => [d.name, d.source])).toEqual([
      ["A.erofs", "/c/a,1/image.erofs"],
      ["B.erofs", "/c/b/image.erofs"],
      ["A.erofs", "/c/a,1/image.erofs"],
      ["B.erofs", "/c/b/image.erofs"],
    ]);
    expect(f.defines).toEqual({
      REPRO_OPTS_A: '"inode_share,domain_id=esb"',
      REPRO_OPTS_B: '"inode_share,domain_id=esb"',
      REPRO_ACCESS: '"read"',
    });
  });

  it("refuses before any work: a run without findings, an unknown finding, a check without a scenario, two findings unnamed", async () => {
    const dir = await runDir("none");
    await expect(findingOf(runRecord({ correctness: [correctnessResult("fadvise", "pass")] }), dir)).rejects.toThrow(
      /no finding to reproduce/,
    );
    const two = runRecord({
      correctness: [
        correctnessResult("fadvise", "fail"),
        correctnessResult("umount-race", "oops"),
        correctnessResult("reclaim", "fail"),
      ],
    });
    await expect(findingOf(two, dir)).rejects.toThrow(
      /more than one finding:\n {2}fadvise\n {2}umount-race\n {2}reclaim \(no reproducer scenario for the check reclaim yet\)/,
    );
    await expect(findingOf(two, dir, "copy-up")).rejects.toThrow(/has no finding "copy-up"/);
    await expect(findingOf(two, dir, "reclaim")).rejects.toThrow(/no reproducer scenario for the check reclaim/);
  });
});
