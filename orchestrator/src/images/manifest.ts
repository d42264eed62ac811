import { createReadStream } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import path from "node:path";
import { createGunzip } from "node:zlib";
import { createHash } from "node:crypto";
import { extract } from "tar-stream";
import { BenchError } from "../util/errors.js";
import { sha256File } from "../util/fsx.js";
import { z } from "zod";

export const ManifestEntrySchema = z.object({
  path: z.string(),
  type: z.enum(["file", "dir", "symlink", "hardlink", "other"]),
  size: z.number().int().nonnegative(),
  mode: z.number().int(),
  sha256: z.string().optional(),
  /** For symlinks the target; for hard links the path they link to. */
  target: z.string().optional(),
});
export type ManifestEntry = z.infer<typeof ManifestEntrySchema>;

export const ManifestSchema = z.object({
  entries: z.array(ManifestEntrySchema),
});
export type Manifest = z.infer<typeof ManifestSchema>;

export const PAGE_SIZE = 4096;

export function pagesOf(size: number, pageSize = PAGE_SIZE): number {
  return Math.ceil(size / pageSize);
}

/** Regular files with their own inode (hard links count once). */
export function regularFiles(m: Manifest): Array<ManifestEntry & { sha256: string }> {
  return m.entries.filter((e): e is ManifestEntry & { sha256: string } => e.type === "file" && typeof e.sha256 === "string");
}

/** Every entry of a directory tree; hard links after the first are marked as such. */
export async function manifestOfDir(root: string): Promise<Manifest> {
  const entries: ManifestEntry[] = [];
  const seenInodes = new Map<string, string>();
  async function walk(rel: string): Promise<void> {
    const abs = path.join(root, rel);
    const names = (await readdir(abs)).sort();
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(path.join(root, r));
      const mode = st.mode & 0o7777;
      if (st.isDirectory()) {
        entries.push({ path: r, type: "dir", size: 0, mode });
        await walk(r);
      } else if (st.isSymbolicLink()) {
        entries.push({ path: r, type: "symlink", size: 0, mode, target: await readlink(path.join(root, r)) });
      } else if (st.isFile()) {
        const ino = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? seenInodes.get(ino) : undefined;
        if (first) {
          entries.push({ path: r, type: "hardlink", size: 0, mode, target: first });
        } else {
          if (st.nlink > 1) seenInodes.set(ino, r);
          entries.push({ path: r, type: "file", size: st.size, mode, sha256: await sha256File(path.join(root, r)) });
        }
      } else {
        entries.push({ path: r, type: "other", size: 0, mode });
      }
    }
  }
  try {
    await walk("");
  } catch (e) {
    throw new BenchError(`cannot read image directory ${root}: ${(e as Error).message}`);
  }
  return { entries };
}

export function isGzip(file: string): boolean {
  return /\.(tgz|tar\.gz)$/.test(file);
}

/** Every entry of a (optionally gzipped) tarball, hashed as it streams by. */
export async function manifestOfTar(file: string): Promise<Manifest> {
  const entries: ManifestEntry[] = [];
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on("entry", (h, stream, next) => {
      const p = h.name.replace(/^\.\//, "").replace(/\/$/, "");
      const mode = (h.mode ?? 0) & 0o7777;
      const hash = createHash("sha256");
      let size = 0;
      stream.on("data", (c: unknown) => {
        const chunk = c as Buffer;
        hash.update(chunk);
        size += chunk.length;
      });
      stream.on("end", () => {
        if (p) {
          if (h.type === "file" || h.type === "contiguous-file") entries.push({ path: p, type: "file", size, mode, sha256: hash.digest("hex") });
          else if (h.type === "directory") entries.push({ path: p, type: "dir", size: 0, mode });
          else if (h.type === "symlink") entries.push({ path: p, type: "symlink", size: 0, mode, target: h.linkname ?? "" });
          else if (h.type === "link") entries.push({ path: p, type: "hardlink", size: 0, mode, target: (h.linkname ?? "").replace(/^\.\//, "") });
          else entries.push({ path: p, type: "other", size: 0, mode });
        }
        next();
      });
      stream.on("error", reject);
    });
    ex.on("finish", resolve);
    ex.on("error", reject);
  });
  const input = createReadStream(file);
  input.on("error", (e) => ex.destroy(e));
  if (isGzip(file)) input.pipe(createGunzip()).pipe(ex);
  else input.pipe(ex);
  try {
    await done;
  } catch (e) {
    throw new BenchError(`${file}: not a readable tar archive: ${(e as Error).message}`, "pass a directory, a .tar or a .tar.gz");
  }
  entries.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  return { entries };
}
