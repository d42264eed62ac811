import { chmod, copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { cached } from "../util/cache.js";
import { rootfsDir } from "../util/paths.js";
import { BenchError } from "../util/errors.js";
import { run, runAllowFail } from "../util/exec.js";
import { sha256, sha256File } from "../util/fsx.js";
import type { Progress } from "../util/progress.js";
import { compilerVersion } from "../kernel/build.js";

export const InitramfsRecordSchema = z.object({
  initramfs: z.string(),
  initramfsSha256: z.string(),
  busybox: z.string(),
  busyboxSha256: z.string(),
  probeSha256: z.string(),
  initSha256: z.string(),
});
export type InitramfsRecord = z.infer<typeof InitramfsRecordSchema>;

export interface Initramfs {
  file: string;
  record: InitramfsRecord;
  reused: boolean;
}

const BUSYBOX = "/bin/busybox";

/** A directory as a gzipped newc cpio owned by root, in a stable order. */
async function packCpio(root: string, out: string, what: string): Promise<void> {
  await run("sh", ["-c", `cd "${root}" && find . | sort | cpio --quiet -o -H newc -R 0:0 | gzip -9n > "${out}"`], { what });
}

/** busybox (static) + rootfs/init + rootfs/esbprobe.c compiled static, as a gzipped newc cpio. */
export async function prepareInitramfs(progress: Progress): Promise<Initramfs> {
  const initText = await readFile(path.join(rootfsDir, "init"), "utf8");
  const runtimeText = await readFile(path.join(rootfsDir, "esb-runtime.sh"), "utf8");
  const probeSrc = await readFile(path.join(rootfsDir, "esbprobe.c"), "utf8");
  const bb = await sha256File(BUSYBOX).catch(() => {
    throw new BenchError(`${BUSYBOX} is missing`, "apt-get install busybox-static");
  });
  const ldd = await runAllowFail("ldd", [BUSYBOX]);
  if (ldd.exitCode === 0 && !/not a dynamic executable|statically linked/.test(ldd.stdout + ldd.stderr)) {
    throw new BenchError(`${BUSYBOX} is dynamically linked; the guest has no libc`, "apt-get install busybox-static");
  }
  const inputs = { init: sha256(initText), runtime: sha256(runtimeText), probe: sha256(probeSrc), busybox: bb, cc: await compilerVersion() };
  const hit = await cached("initramfs", inputs, InitramfsRecordSchema, (dir) =>
    progress.stage("guest", "building the initramfs (busybox, init, esbprobe)", async () => {
      const root = path.join(dir, "root");
      for (const d of ["bin", "dev", "proc", "sys", "tmp", "mnt", "sys/fs/cgroup"]) await mkdir(path.join(root, d), { recursive: true });
      await copyFile(BUSYBOX, path.join(root, "bin/busybox"));
      await copyFile(path.join(rootfsDir, "init"), path.join(root, "init"));
      await chmod(path.join(root, "init"), 0o755);
      await copyFile(path.join(rootfsDir, "esb-runtime.sh"), path.join(root, "bin/esb-runtime.sh"));
      await run("gcc", ["-O2", "-Wall", "-static", "-o", path.join(root, "bin/esbprobe"), path.join(rootfsDir, "esbprobe.c")], {
        what: "compiling rootfs/esbprobe.c (static)",
      });
      const out = path.join(dir, "initramfs.cpio.gz");
      await packCpio(root, out, "packing the initramfs");
      return {
        initramfs: "initramfs.cpio.gz",
        initramfsSha256: await sha256File(out),
        busybox: BUSYBOX,
        busyboxSha256: bb,
        probeSha256: await sha256File(path.join(root, "bin/esbprobe")),
        initSha256: inputs.init,
      };
    }),
    { say: (m) => progress.info(m) },
  );
  return { file: path.join(hit.dir, hit.record.initramfs), record: hit.record, reused: hit.reused };
}

/**
 * The base initramfs with a workload's job appended as a second cpio archive
 * (the kernel unpacks concatenated archives in order): /job/container.sh.
 */
export async function initramfsWithJob(base: string, job: { containerScript: string }, dir: string): Promise<string> {
  const root = path.join(dir, "job-root");
  await mkdir(path.join(root, "job"), { recursive: true });
  await writeFile(path.join(root, "job", "container.sh"), job.containerScript, { mode: 0o755 });
  const jobCpio = path.join(dir, "job.cpio.gz");
  await packCpio(root, jobCpio, "packing the job archive");
  const out = path.join(dir, "initramfs-with-job.cpio.gz");
  await writeFile(out, Buffer.concat([await readFile(base), await readFile(jobCpio)]));
  return out;
}
