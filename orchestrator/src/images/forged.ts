import { readFile } from "node:fs/promises";
import { BenchError } from "../util/errors.js";
import { hex } from "./erofsLayout.js";
import { fingerprintEntry, fingerprintKey, type ImageFormat } from "./fingerprintKey.js";
import { applyEdits, EditSet, sealEdits, writeEdited, type Edit } from "./imageEdits.js";

/**
 * The trust-boundary image of the correctness phase: a copy of image B in
 * which one file's fingerprint xattr carries the value of another image's
 * file with the same size and different content. Mounted in A's domain, the
 * kernel trusts the fingerprint (by design); in another domain it must not
 * share anything.
 */

interface Forgery {
  path: string;
  /** Absolute offset of the overwritten fingerprint value. */
  offset: number;
  before: string;
  after: string;
  size: number;
  /** The fingerprint xattr as the series' kernel finds it. */
  xattrName: string;
  /** The value lay in the first block, which the superblock checksum covers: the checksum was recomputed. */
  checksumRewritten: boolean;
  edits: Edit[];
}

/**
 * The edits that give `path` in `target` the fingerprint of `donorPath` in
 * `donor`. The sizes must match: the kernel refuses to share inodes whose
 * sizes differ ("i_size mismatch"), so a forgery of another size would
 * prove nothing. When the value lies in the first block the superblock
 * checksum covers it, and it is recomputed: the kernel must see a
 * well-formed image that lies, not a corrupt one.
 */
function forgeryEdits(
  target: Uint8Array,
  path: string,
  donor: Uint8Array,
  format: ImageFormat,
  donorPath = path,
): Forgery {
  const t = fingerprintEntry(target, path, fingerprintKey(target, format));
  const d = fingerprintEntry(donor, donorPath, fingerprintKey(donor, format));
  if (t.entry.valueSize !== d.entry.valueSize) {
    throw new BenchError(`${path}: fingerprint is ${t.entry.valueSize} bytes, the donor's ${d.entry.valueSize}`);
  }
  if (t.inode.size !== d.inode.size) {
    throw new BenchError(
      `${path}: ${t.inode.size} bytes, the donor ${donorPath} ${d.inode.size}: the kernel would not share them`,
      "pick a donor file of the same size",
    );
  }
  if (hex(t.entry.value) === hex(d.entry.value))
    throw new BenchError(`${path}: already has the donor's fingerprint (same content?)`);
  const set = new EditSet(target);
  set.set(t.entry.valueOffset, Array.from(d.entry.value));
  const checksum = sealEdits(target, set);
  return {
    path,
    offset: t.entry.valueOffset,
    before: hex(t.entry.value),
    after: hex(d.entry.value),
    size: Number(t.inode.size),
    xattrName: fingerprintKey(target, format).name,
    checksumRewritten: checksum === "recomputed",
    edits: set.edits,
  };
}

/** The forged copy of `target` in memory, with what was done. */
export function forgeFingerprint(
  target: Uint8Array,
  path: string,
  donor: Uint8Array,
  format: ImageFormat,
  donorPath = path,
): Forgery & { image: Uint8Array } {
  const f = forgeryEdits(target, path, donor, format, donorPath);
  return { ...f, image: applyEdits(target, f.edits) };
}

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
}

/**
 * A path the guest's case list can carry (split on white space) and its C
 * code can name (no U+FFFD stand-ins): printable ASCII without spaces.
 */
export function plainPath(p: string): boolean {
  return /^[\x21-\x7e]+$/.test(p);
}

/**
 * The file to forge: at the same path in A and B, the same size, different
 * content (an "updated package"); the largest such, ties by path.
 */
export function pickForgeryPath(a: ManifestFile[], b: ManifestFile[]): string | null {
  const inB = new Map(b.map((f) => [f.path, f]));
  const candidates = a
    .filter((f) => {
      const o = inB.get(f.path);
      return plainPath(f.path) && o !== undefined && o.size === f.size && f.size > 0 && o.sha256 !== f.sha256;
    })
    .sort((x, y) => y.size - x.size || x.path.localeCompare(y.path));
  return candidates[0]?.path ?? null;
}

/** Writes B with `path`'s fingerprint taken from A to `out`. */
export async function writeForgedImage(
  imageB: string,
  imageA: string,
  path: string,
  out: string,
  format: ImageFormat,
): Promise<Forgery> {
  const f = forgeryEdits(new Uint8Array(await readFile(imageB)), path, new Uint8Array(await readFile(imageA)), format);
  await writeEdited(imageB, out, f.edits);
  return f;
}
