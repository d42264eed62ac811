import { createReadStream } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { createGunzip } from "node:zlib";
import { extract } from "tar-stream";
import { BenchError } from "../util/errors.js";
import { digester, fileDigests } from "../util/fsx.js";
import { z } from "zod";

const ManifestEntrySchema = z.object({
  /** The name as UTF-8; a name that is not valid UTF-8 has U+FFFD here and its bytes in pathHex. */
  path: z.string(),
  pathHex: z.string().optional(),
  type: z.enum(["file", "dir", "symlink", "hardlink", "other"]),
  size: z.number().int().nonnegative(),
  mode: z.number().int(),
  sha256: z.string().optional(),
  /** XXH64 of the content, hex: what the guest checks every file it reads against. */
  xxh64: z.string().optional(),
  /** For symlinks the target; for hard links the path they link to (its bytes in targetHex when not UTF-8). */
  target: z.string().optional(),
  targetHex: z.string().optional(),
});
type ManifestEntry = z.infer<typeof ManifestEntrySchema>;

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
  return m.entries.filter(
    (e): e is ManifestEntry & { sha256: string } => e.type === "file" && typeof e.sha256 === "string",
  );
}

/** A file name's bytes as the manifest keeps them: UTF-8 text, plus the raw bytes when they are not UTF-8. */
function nameOf(bytes: Buffer): { path: string; pathHex?: string } {
  try {
    return { path: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
  } catch {
    return { path: bytes.toString("utf8"), pathHex: bytes.toString("hex") };
  }
}

/** The exact bytes of an entry's name, as hex: how a file read back in the guest is matched to the manifest. */
export function pathKey(e: { path: string; pathHex?: string }): string {
  return e.pathHex ?? Buffer.from(e.path, "utf8").toString("hex");
}

/** A hard link: the name it links to is kept byte-exact, like any name (its bytes in targetHex when not UTF-8). */
function hardlinkEntry(id: { path: string; pathHex?: string }, mode: number, target: Buffer): ManifestEntry {
  const t = nameOf(target);
  return {
    ...id,
    type: "hardlink",
    size: 0,
    mode,
    target: t.path,
    ...(t.pathHex ? { targetHex: t.pathHex } : {}),
  };
}

const bySortedName = (x: Buffer, y: Buffer) => {
  const [a, b] = [x.toString("utf8"), y.toString("utf8")];
  return a < b ? -1 : a > b ? 1 : Buffer.compare(x, y);
};

/** Every entry of a directory tree, names byte-exact; hard links after the first are marked as such. */
export async function manifestOfDir(root: string): Promise<Manifest> {
  const entries: ManifestEntry[] = [];
  const seenInodes = new Map<string, Buffer>();
  const rootBytes = Buffer.from(root);
  const abs = (rel: Buffer) => (rel.length ? Buffer.concat([rootBytes, Buffer.from("/"), rel]) : rootBytes);
  async function walk(rel: Buffer): Promise<void> {
    const names = (await readdir(abs(rel), { encoding: "buffer" })).sort(bySortedName);
    for (const name of names) {
      const r = rel.length ? Buffer.concat([rel, Buffer.from("/"), name]) : name;
      const st = await lstat(abs(r));
      const mode = st.mode & 0o7777;
      const id = nameOf(r);
      if (st.isDirectory()) {
        entries.push({ ...id, type: "dir", size: 0, mode });
        await walk(r);
      } else if (st.isSymbolicLink()) {
        entries.push({
          ...id,
          type: "symlink",
          size: 0,
          mode,
          target: (await readlink(abs(r), { encoding: "buffer" })).toString("utf8"),
        });
      } else if (st.isFile()) {
        const ino = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? seenInodes.get(ino) : undefined;
        if (first) {
          entries.push(hardlinkEntry(id, mode, first));
        } else {
          if (st.nlink > 1) seenInodes.set(ino, r);
          entries.push({ ...id, type: "file", size: st.size, mode, ...(await fileDigests(abs(r))) });
        }
      } else {
        entries.push({ ...id, type: "other", size: 0, mode });
      }
    }
  }
  try {
    await walk(Buffer.alloc(0));
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
  const newDigest = await digester();
  // latin1 keeps a ustar/GNU name's bytes as they are; a pax name is UTF-8 by definition
  const ex = extract({ filenameEncoding: "latin1" } as Parameters<typeof extract>[0]);
  const bytesOf = (name: string, fromPax: boolean) =>
    Buffer.from(name.replace(/^\.\//, "").replace(/\/$/, ""), fromPax ? "utf8" : "latin1");
  const done = new Promise<void>((resolve, reject) => {
    ex.on("entry", (h, stream, next) => {
      const pax = (h.pax ?? {}) as Record<string, string | undefined>;
      const raw = bytesOf(h.name, Boolean(pax.path));
      const id = nameOf(raw);
      const p = id.path;
      const mode = (h.mode ?? 0) & 0o7777;
      const hash = newDigest();
      let size = 0;
      stream.on("data", (c: unknown) => {
        const chunk = c as Buffer;
        hash.update(chunk);
        size += chunk.length;
      });
      stream.on("end", () => {
        if (p) {
          const link = () => bytesOf(h.linkname ?? "", Boolean(pax.linkpath));
          if (h.type === "file" || h.type === "contiguous-file")
            entries.push({ ...id, type: "file", size, mode, ...hash.digests() });
          else if (h.type === "directory") entries.push({ ...id, type: "dir", size: 0, mode });
          else if (h.type === "symlink")
            entries.push({ ...id, type: "symlink", size: 0, mode, target: nameOf(link()).path });
          else if (h.type === "link") entries.push(hardlinkEntry(id, mode, link()));
          else entries.push({ ...id, type: "other", size: 0, mode });
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
    throw new BenchError(
      `${file}: not a readable tar archive: ${(e as Error).message}`,
      "pass a directory, a .tar or a .tar.gz",
    );
  }
  entries.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  return { entries };
}
