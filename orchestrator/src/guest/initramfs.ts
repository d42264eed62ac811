import { readdirSync } from "node:fs";
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
  /** esbcheck, the correctness checks (absent in runs made before the correctness phase). */
  checkSha256: z.string().optional(),
  initSha256: z.string(),
});
type InitramfsRecord = z.infer<typeof InitramfsRecordSchema>;

interface Initramfs {
  file: string;
  record: InitramfsRecord;
  reused: boolean;
}

const BUSYBOX = "/bin/busybox";

/** A directory as a gzipped newc cpio owned by root, in a stable order. */
async function packCpio(root: string, out: string, what: string): Promise<void> {
  await run("sh", ["-c", `cd "${root}" && find . | sort | cpio --quiet -o -H newc -R 0:0 | gzip -9n > "${out}"`], {
    what,
  });
}

/** The guest scripts /init sources, copied to /bin. */
const SCRIPTS = ["esb-runtime.sh", "esb-correctness.sh"];

/** The guest agents, each in its own directory of rootfs/ and compiled with the library they share. */
export const AGENTS = ["esbprobe", "esbcheck"] as const;
export type Agent = (typeof AGENTS)[number];
/** rootfs/common/: digests, JSON lines and the directory walk. */
const LIBRARY = "common";
/** As the initramfs builds them: static, for a guest without a libc; an undeclared function is an error (its pointer would be cut to an int). */
export const AGENT_CFLAGS = [
  "-O2",
  "-Wall",
  "-Werror=implicit-function-declaration",
  "-Werror=int-conversion",
  "-static",
];

/**
 * What an agent is compiled from, its own files and the library's (.c, .h
 * and the .def tables they include), in a stable order: also what the
 * initramfs cache key covers.
 */
export function agentSources(agent: Agent, rootfs = rootfsDir): string[] {
  return [agent, LIBRARY].flatMap((dir) =>
    readdirSync(path.join(rootfs, dir))
      .filter((n) => /\.(c|h|def)$/.test(n))
      .sort()
      .map((n) => path.join(rootfs, dir, n)),
  );
}

/** gcc's arguments for an agent: flags, the binary, then its C files and the library's. */
export function agentCompileArgs(
  agent: Agent,
  out: string,
  opts: { rootfs?: string; flags?: string[] } = {},
): string[] {
  return [
    ...(opts.flags ?? AGENT_CFLAGS),
    "-o",
    out,
    ...agentSources(agent, opts.rootfs).filter((f) => f.endsWith(".c")),
  ];
}

/**
 * busybox (static) + rootfs/init and the scripts it sources + the agents
 * (rootfs/esbprobe/, rootfs/esbcheck/, each with rootfs/common/) compiled
 * static, as a gzipped newc cpio.
 */
export async function prepareInitramfs(progress: Progress): Promise<Initramfs> {
  const initText = await readFile(path.join(rootfsDir, "init"), "utf8");
  const scripts: Record<string, string> = {};
  for (const s of SCRIPTS) scripts[s] = sha256(await readFile(path.join(rootfsDir, s), "utf8"));
  const sources: Record<string, string> = {};
  for (const agent of AGENTS)
    for (const f of agentSources(agent)) sources[path.relative(rootfsDir, f)] = sha256(await readFile(f, "utf8"));
  const bb = await sha256File(BUSYBOX).catch(() => {
    throw new BenchError(`${BUSYBOX} is missing`, "apt-get install busybox-static");
  });
  const ldd = await runAllowFail("ldd", [BUSYBOX]);
  if (ldd.exitCode === 0 && !/not a dynamic executable|statically linked/.test(ldd.stdout + ldd.stderr)) {
    throw new BenchError(`${BUSYBOX} is dynamically linked; the guest has no libc`, "apt-get install busybox-static");
  }
  const inputs = { init: sha256(initText), scripts, sources, busybox: bb, cc: await compilerVersion() };
  const hit = await cached(
    "initramfs",
    inputs,
    InitramfsRecordSchema,
    (dir) =>
      progress.stage("guest", "building the initramfs (busybox, init, esbprobe, esbcheck)", async () => {
        const root = path.join(dir, "root");
        for (const d of ["bin", "dev", "proc", "sys", "tmp", "mnt", "sys/fs/cgroup"])
          await mkdir(path.join(root, d), { recursive: true });
        await copyFile(BUSYBOX, path.join(root, "bin/busybox"));
        await copyFile(path.join(rootfsDir, "init"), path.join(root, "init"));
        await chmod(path.join(root, "init"), 0o755);
        for (const s of SCRIPTS) await copyFile(path.join(rootfsDir, s), path.join(root, "bin", s));
        for (const agent of AGENTS) {
          await run("gcc", agentCompileArgs(agent, path.join(root, "bin", agent)), {
            what: `compiling rootfs/${agent}/ (static)`,
          });
        }
        const out = path.join(dir, "initramfs.cpio.gz");
        await packCpio(root, out, "packing the initramfs");
        return {
          initramfs: "initramfs.cpio.gz",
          initramfsSha256: await sha256File(out),
          busybox: BUSYBOX,
          busyboxSha256: bb,
          probeSha256: await sha256File(path.join(root, "bin/esbprobe")),
          checkSha256: await sha256File(path.join(root, "bin/esbcheck")),
          initSha256: inputs.init,
        };
      }),
    { say: (m) => progress.info(m) },
  );
  return { file: path.join(hit.dir, hit.record.initramfs), record: hit.record, reused: hit.reused };
}

/**
 * The base initramfs with `files` appended as a second cpio archive (the
 * kernel unpacks concatenated archives in order), written to `dir/<name>`.
 */
async function initramfsWith(
  base: string,
  files: Record<string, { text: string; mode: number }>,
  dir: string,
  name: string,
): Promise<string> {
  const root = path.join(dir, `${name}-root`);
  for (const [rel, f] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), f.text, { mode: f.mode });
  }
  const extra = path.join(dir, `${name}.cpio.gz`);
  await packCpio(root, extra, `packing the ${name} archive`);
  const out = path.join(dir, `initramfs-with-${name}.cpio.gz`);
  await writeFile(out, Buffer.concat([await readFile(base), await readFile(extra)]));
  return out;
}

/** The base initramfs with a workload's job appended: /job/container.sh. */
export async function initramfsWithJob(base: string, job: { containerScript: string }, dir: string): Promise<string> {
  return initramfsWith(base, { "job/container.sh": { text: job.containerScript, mode: 0o755 } }, dir, "job");
}

/** The base initramfs with a correctness boot's case list appended: /check/cases (see rootfs/README.md). */
export async function initramfsWithCases(base: string, caseList: string, dir: string): Promise<string> {
  return initramfsWith(base, { "check/cases": { text: caseList, mode: 0o644 } }, dir, "cases");
}
