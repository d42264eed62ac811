import { readdir } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { cached } from "../util/cache.js";
import { BenchError } from "../util/errors.js";
import { run } from "../util/exec.js";
import { sha256, sha256File } from "../util/fsx.js";
import type { Progress } from "../util/progress.js";
import type { DebianArchive } from "../host/debianArchive.js";
import { compareDebianVersions } from "../host/debianVersion.js";

export const ErofsUtilsRecordSchema = z.object({
  mkfs: z.string(),
  version: z.string(),
  sourcePackage: z.string(),
  suite: z.string(),
  dscSha256: z.string(),
  patches: z.array(z.object({ name: z.string(), sha256: z.string() })),
  log: z.string(),
});
type ErofsUtilsRecord = z.infer<typeof ErofsUtilsRecordSchema>;

export interface ErofsUtils {
  mkfs: string;
  record: ErofsUtilsRecord;
  reused: boolean;
}

/** --xattr-inode-digest arrived in erofs-utils 1.9. */
export const MIN_EROFS_UTILS = "1.9";

/**
 * mkfs.erofs built from Debian's erofs-utils source package (Debian's binary
 * needs a newer glibc than bookworm has). Optional patches, e.g. a series'
 * own erofs-utils patch, are applied on top and make a separate cache entry.
 */
export async function prepareErofsUtils(opts: {
  archive: DebianArchive;
  progress: Progress;
  version?: string;
  patches?: Array<{ name: string; text: string }>;
}): Promise<ErofsUtils> {
  // a pinned version is looked for in the cache first: the archive may have moved on since it was built
  const find = async (): Promise<{ version: string; suite: string }> => {
    await opts.archive.update(opts.progress);
    const all = await opts.archive.sourceVersions("erofs-utils");
    const usable = all.filter((v) => compareDebianVersions(v.version, MIN_EROFS_UTILS) >= 0);
    const found = opts.version ? all.find((v) => v.version === opts.version) : usable[0];
    if (!found) {
      throw new BenchError(
        `no erofs-utils source package ${opts.version ?? `>= ${MIN_EROFS_UTILS}`} in suites ${opts.archive.suites.join(", ")} (found: ${all.map((v) => v.version).join(", ") || "none"}), and none built in the cache`,
        opts.version
          ? "the lock pins it: move the lock forward with: npm run bench -- lock update (every image then changes, and says so)"
          : "check the network and the tool's apt suites",
      );
    }
    return found;
  };
  const version = opts.version ?? (await find()).version;
  const patches = opts.patches ?? [];
  const inputs = { pkg: "erofs-utils", version, patches: patches.map((p) => p.text) };
  const hit = await cached(
    "erofs-utils",
    inputs,
    ErofsUtilsRecordSchema,
    async (dir) => {
      const pick = await find();
      return opts.progress.stage(
        "erofs-utils",
        `building mkfs.erofs from erofs-utils ${pick.version} (${pick.suite})`,
        async () => {
          const log = path.join(dir, "build.log");
          await opts.archive.source("erofs-utils", pick.version, dir);
          const dsc = (await readdir(dir)).find((f) => f.endsWith(".dsc"));
          if (!dsc) throw new BenchError(`apt-get source erofs-utils=${pick.version} left no .dsc in ${dir}`);
          const src = path.join(dir, "src");
          await run("dpkg-source", ["--no-check", "-x", dsc, src], {
            cwd: dir,
            logFile: log,
            what: `dpkg-source -x ${dsc}`,
          });
          for (const p of patches) {
            await run("patch", ["-p1", "--no-backup-if-mismatch"], {
              cwd: src,
              input: p.text,
              logFile: log,
              what: `applying erofs-utils patch ${p.name}`,
            });
          }
          await run("./autogen.sh", [], { cwd: src, logFile: log, what: "erofs-utils autogen.sh" });
          await run(
            "./configure",
            [
              "--disable-fuse",
              "--without-selinux",
              "--disable-lzma",
              "--without-libzstd",
              "--without-xxhash",
              "--without-libdeflate",
            ],
            {
              cwd: src,
              logFile: log,
              what: "erofs-utils configure",
            },
          );
          await run("make", ["-j2", "-C", "lib"], { cwd: src, logFile: log, what: "make -C lib" });
          await run("make", ["-j2", "-C", "mkfs"], { cwd: src, logFile: log, what: "make -C mkfs" });
          const mkfs = path.join("src", "mkfs", "mkfs.erofs");
          const v = await run(path.join(dir, mkfs), ["--version"]);
          return {
            mkfs,
            version: /erofs-utils\)\s+(\S+)/.exec(v.stdout + v.stderr)?.[1] ?? pick.version,
            sourcePackage: `erofs-utils ${pick.version}`,
            suite: pick.suite,
            dscSha256: await sha256File(path.join(dir, dsc)),
            patches: patches.map((p) => ({ name: p.name, sha256: sha256(p.text) })),
            log: "build.log",
          };
        },
      );
    },
    { files: (r) => [r.mkfs], say: (m) => opts.progress.info(m) },
  );
  return { mkfs: path.join(hit.dir, hit.record.mkfs), record: hit.record, reused: hit.reused };
}
