import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { cached } from "../util/cache.js";
import { BenchError } from "../util/errors.js";
import { run } from "../util/exec.js";
import { hashOf, sha256File, writeJsonAtomic } from "../util/fsx.js";
import type { Progress } from "../util/progress.js";
import type { ErofsUtils } from "./erofsUtils.js";
import { isGzip, manifestOfDir, manifestOfTar, ManifestSchema, type Manifest } from "./manifest.js";
import type { ImageProfile } from "../kernel/series.js";
import { appendPackedIshareKey, readPackedIshareKey } from "./packedKey.js";
import { readSuperblock, setIshareLongPrefixBit } from "./superblock.js";
import { DEFAULT_SYNTHETIC, writeSyntheticTree, type SyntheticSpec } from "./synthetic.js";

/** What an image is made from. */
export type ImageSource = { kind: "dir"; path: string; label?: string } | { kind: "tar"; path: string; label?: string };

export const ImageRecordSchema = z.object({
  label: z.string(),
  source: z.string(),
  image: z.string(),
  imageSha256: z.string(),
  imageBytes: z.number(),
  manifest: z.string(),
  manifestSha256: z.string(),
  mkfsVersion: z.string(),
  mkfsArgs: z.array(z.string()),
  profile: z.string(),
  superblock: z.object({
    featureCompat: z.number(),
    ishareByte: z.number(),
    longPrefixFixup: z.object({ before: z.number(), after: z.number(), checksumRewritten: z.boolean() }).optional(),
    packedKeyFixup: z
      .object({
        xattrName: z.string(),
        packedNid: z.number(),
        ishareKeyStart: z.number(),
        incompatBefore: z.number(),
        incompatAfter: z.number(),
        blocksBefore: z.number(),
        blocksAfter: z.number(),
        checksumRewritten: z.boolean(),
      })
      .optional(),
  }),
});
export type ImageRecord = z.infer<typeof ImageRecordSchema>;

export interface BuiltImage {
  image: string;
  manifest: Manifest;
  record: ImageRecord;
  reused: boolean;
}

/** Materialises the built-in synthetic tree for one side of the pair (cached). */
export async function syntheticSource(
  variant: "a" | "b",
  spec: SyntheticSpec = DEFAULT_SYNTHETIC,
): Promise<ImageSource> {
  const hit = await cached("synthetic-tree", { spec, variant, v: 1 }, z.object({ tree: z.string() }), async (dir) => {
    await writeSyntheticTree(spec, variant, path.join(dir, "tree"));
    return { tree: "tree" };
  });
  return { kind: "dir", path: path.join(hit.dir, hit.record.tree), label: `synthetic ${variant.toUpperCase()}` };
}

/** `--images A,B`: each a directory or a tarball. */
export async function userImageSource(p: string): Promise<ImageSource> {
  const st = await stat(p).catch(() => null);
  if (!st)
    throw new BenchError(`image input ${p} does not exist`, "--images takes two directories or tarballs: --images A,B");
  if (st.isDirectory()) return { kind: "dir", path: path.resolve(p), label: path.basename(p) };
  if (/\.(tar|tgz|tar\.gz)$/.test(p))
    return { kind: "tar", path: path.resolve(p), label: path.basename(p).replace(/\.(tar|tgz|tar\.gz)$/, "") };
  throw new BenchError(`image input ${p} is neither a directory nor a .tar/.tar.gz`, "pass a directory or a tarball");
}

/**
 * A tarball's manifest, made once: a tarball is never changed in place (a
 * new rootfs is a new file), so its manifest is kept by the file's identity
 * (device, inode, size, modification time) and a warm run does not hash a
 * gigabyte of rootfs again.
 */
async function tarManifest(tar: string, label: string, progress: Progress): Promise<Manifest> {
  const st = await stat(tar);
  const id = { path: path.resolve(tar), dev: st.dev, ino: st.ino, size: st.size, mtime: st.mtimeMs, v: 2 };
  const hit = await cached(
    "tar-manifest",
    id,
    z.object({ manifest: z.string() }),
    async (dir) => {
      const m = await progress.stage("images", `hashing every file of ${label}`, () => manifestOfTar(tar));
      await writeJsonAtomic(path.join(dir, "manifest.json"), m);
      return { manifest: "manifest.json" };
    },
    { say: (msg) => progress.info(msg) },
  );
  return ManifestSchema.parse(JSON.parse(await readFile(path.join(hit.dir, hit.record.manifest), "utf8")));
}

function mkfsArguments(profile: ImageProfile): string[] {
  // fixed timestamp and UUID: the same tree gives the same image
  return [
    "-T0",
    "-U",
    "00000000-0000-0000-0000-000000000000",
    "--all-root",
    `--xattr-inode-digest=${profile.xattrName}`,
    ...profile.mkfsArgs,
  ];
}

/**
 * What the tool writes after mkfs so that a series' kernel recognises the
 * image (see ImageProfileSchema); recorded in the image record.
 */
async function applyProfileFixup(
  image: string,
  profile: ImageProfile,
): Promise<Pick<ImageRecord["superblock"], "longPrefixFixup" | "packedKeyFixup">> {
  switch (profile.format) {
    case "xattr-inode-digest":
      return {};
    case "ishare-key-long-prefix":
      return { longPrefixFixup: await setIshareLongPrefixBit(image) };
    case "ishare-key-packed-name": {
      const packedKeyFixup = await appendPackedIshareKey(image, profile.xattrName);
      const readBack = await readPackedIshareKey(image);
      if (readBack !== profile.xattrName)
        throw new BenchError(
          `${image}: packed-inode key reads back as ${JSON.stringify(readBack)}, not ${profile.xattrName}`,
        );
      return { packedKeyFixup };
    }
  }
}

export async function buildImage(opts: {
  source: ImageSource;
  erofsUtils: ErofsUtils;
  profile: ImageProfile;
  progress: Progress;
}): Promise<BuiltImage> {
  const { source, profile } = opts;
  const label = source.label ?? path.basename(source.path);
  const manifest =
    source.kind === "dir"
      ? await opts.progress.stage("images", `hashing every file of ${label}`, () => manifestOfDir(source.path))
      : await tarManifest(source.path, label, opts.progress);
  const manifestSha256 = hashOf(manifest);
  const args = mkfsArguments(profile);
  const inputs = { manifestSha256, mkfs: opts.erofsUtils.record, args, format: profile.format, kind: source.kind };
  const hit = await cached(
    "image",
    inputs,
    ImageRecordSchema,
    (dir) =>
      opts.progress.stage("images", `mkfs.erofs ${label}`, async () => {
        const image = path.join(dir, "image.erofs");
        const log = path.join(dir, "mkfs.log");
        const srcArgs =
          source.kind === "dir"
            ? [image, source.path]
            : [`--tar=f`, ...(isGzip(source.path) ? ["--ungzip"] : []), image, source.path];
        await run(opts.erofsUtils.mkfs, [...args, ...srcArgs], { logFile: log, what: `mkfs.erofs for ${label}` });
        const sb = await readSuperblock(image);
        if (sb.checksumOk === false)
          throw new BenchError(`${image}: superblock checksum does not verify right after mkfs`);
        const fixups = await applyProfileFixup(image, profile);
        const after = await readSuperblock(image);
        if (after.checksumOk === false)
          throw new BenchError(`${image}: superblock checksum wrong after the ${profile.format} fix-up`);
        await writeJsonAtomic(path.join(dir, "manifest.json"), manifest);
        return {
          label,
          source: `${source.kind}:${source.path}`,
          image: "image.erofs",
          imageSha256: await sha256File(image),
          imageBytes: (await stat(image)).size,
          manifest: "manifest.json",
          manifestSha256,
          mkfsVersion: opts.erofsUtils.record.version,
          mkfsArgs: [...args, ...srcArgs.slice(0, -2)],
          profile: profile.format,
          superblock: { featureCompat: after.featureCompat, ishareByte: after.ishareByte, ...fixups },
        };
      }),
    { say: (m) => opts.progress.info(m) },
  );
  const parsed = ManifestSchema.parse(manifest);
  return { image: path.join(hit.dir, hit.record.image), manifest: parsed, record: hit.record, reused: hit.reused };
}
