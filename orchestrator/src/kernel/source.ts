import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { cached } from "../util/cache.js";
import { BenchError } from "../util/errors.js";
import { run } from "../util/exec.js";
import { sha256File } from "../util/fsx.js";
import type { Progress } from "../util/progress.js";
import type { DebianArchive } from "../host/debianArchive.js";
import { compareDebianVersions } from "../host/debianVersion.js";

export const KernelSourceRecordSchema = z.object({
  kind: z.enum(["debian", "tarball", "git"]),
  description: z.string(),
  package: z.string().optional(),
  packageVersion: z.string().optional(),
  suite: z.string().optional(),
  debSha256: z.string().optional(),
  tarballSha256: z.string().optional(),
  commit: z.string().optional(),
  kernelVersion: z.string(),
  /** Relative to the cache entry. */
  tree: z.string(),
});
type KernelSourceRecord = z.infer<typeof KernelSourceRecordSchema>;

interface KernelSource {
  tree: string;
  record: KernelSourceRecord;
  reused: boolean;
}

/** The newest linux-source-7.x the tool's Debian suites carry, unless pinned. */
export async function resolveDebianKernel(
  archive: DebianArchive,
  req: { package?: string; version?: string },
): Promise<{ pkg: string; version: string; suite: string }> {
  const names = req.package
    ? [req.package]
    : (await archive.packageNames("linux-source-")).filter((n) => /^linux-source-\d+\.\d+$/.test(n));
  const candidates: Array<{ pkg: string; version: string; suite: string }> = [];
  for (const [pkg, vs] of await archive.versionsOf(names)) for (const v of vs) candidates.push({ pkg, ...v });
  const wanted = req.version ? candidates.filter((c) => c.version === req.version) : candidates;
  wanted.sort((a, b) => compareDebianVersions(b.version, a.version));
  const best = wanted[0];
  if (!best) {
    const what = req.package ? `${req.package}${req.version ? `=${req.version}` : ""}` : "any linux-source-N.M package";
    throw new BenchError(
      `no Debian kernel source package found for ${what} in suites ${archive.suites.join(", ")}`,
      `check the name with: apt-cache ${archive.options().join(" ")} madison ${req.package ?? "linux-source-7.2"}`,
    );
  }
  return best;
}

export async function kernelVersionOf(tree: string): Promise<string> {
  const mk = await readFile(path.join(tree, "Makefile"), "utf8");
  // [ \t], not \s: an empty "EXTRAVERSION =" must not reach into the next line ("NAME = ...")
  const get = (k: string) => new RegExp(`^${k}[ \\t]*=[ \\t]*(\\S*)`, "m").exec(mk)?.[1] ?? "";
  const v = get("VERSION");
  if (!v) throw new BenchError(`${tree}/Makefile has no VERSION: not a Linux source tree`);
  return `${v}.${get("PATCHLEVEL")}.${get("SUBLEVEL")}${get("EXTRAVERSION")}`;
}

export async function prepareDebianKernelSource(
  archive: DebianArchive,
  req: { package?: string; version?: string },
  progress: Progress,
): Promise<KernelSource> {
  await archive.update(progress);
  const pick = await resolveDebianKernel(archive, req);
  const hit = await cached(
    "kernel-source",
    { kind: "debian", pkg: pick.pkg, version: pick.version },
    KernelSourceRecordSchema,
    (dir) =>
      progress.stage("source", `downloading and unpacking ${pick.pkg} ${pick.version} (${pick.suite})`, async () => {
        await archive.download(pick.pkg, pick.version, dir);
        const deb = (await readdir(dir)).find((f) => f.endsWith(".deb"));
        if (!deb) throw new BenchError(`apt-get download ${pick.pkg}=${pick.version} left no .deb in ${dir}`);
        const debSha256 = await sha256File(path.join(dir, deb));
        await run("sh", ["-c", `dpkg-deb --fsys-tarfile "${deb}" | tar -x ./usr/src`], {
          cwd: dir,
          what: `unpacking ${deb}`,
        });
        const srcDir = path.join(dir, "usr", "src");
        const tarball = (await readdir(srcDir)).find((f) => /^linux-source-.*\.tar\.(xz|bz2|gz|zst)$/.test(f));
        if (!tarball) throw new BenchError(`${deb} holds no linux-source tarball under /usr/src`);
        await run("tar", ["-xaf", path.join(srcDir, tarball), "-C", dir], { what: `unpacking ${tarball}` });
        const top = tarball.replace(/\.tar\.\w+$/, "");
        await rm(srcDir, { recursive: true, force: true });
        await rm(path.join(dir, "usr"), { recursive: true, force: true });
        await rm(path.join(dir, deb));
        return {
          kind: "debian" as const,
          description: `Debian ${pick.pkg} ${pick.version} (${pick.suite})`,
          package: pick.pkg,
          packageVersion: pick.version,
          suite: pick.suite,
          debSha256,
          kernelVersion: await kernelVersionOf(path.join(dir, top)),
          tree: top,
        };
      }),
    { files: (r) => [path.join(r.tree, "Makefile")], say: (m) => progress.info(m) },
  );
  return { tree: path.join(hit.dir, hit.record.tree), record: hit.record, reused: hit.reused };
}

export async function prepareTarballKernelSource(file: string, progress: Progress): Promise<KernelSource> {
  const digest = await sha256File(file).catch(() => {
    throw new BenchError(
      `kernel tarball ${file} cannot be read`,
      "pass --kernel-src with an existing .tar.{xz,gz,bz2} or a git clone",
    );
  });
  const hit = await cached(
    "kernel-source",
    { kind: "tarball", sha256: digest },
    KernelSourceRecordSchema,
    (dir) =>
      progress.stage("source", `unpacking ${path.basename(file)}`, async () => {
        await mkdir(path.join(dir, "tree"));
        await run("tar", ["-xaf", path.resolve(file), "-C", path.join(dir, "tree"), "--strip-components=1"], {
          what: `unpacking ${file}`,
        });
        return {
          kind: "tarball" as const,
          description: `tarball ${path.basename(file)}`,
          tarballSha256: digest,
          kernelVersion: await kernelVersionOf(path.join(dir, "tree")),
          tree: "tree",
        };
      }),
    { files: (r) => [path.join(r.tree, "Makefile")], say: (m) => progress.info(m) },
  );
  return { tree: path.join(hit.dir, hit.record.tree), record: hit.record, reused: hit.reused };
}
