import { constants } from "node:fs";
import { copyFile, open } from "node:fs/promises";
import { BenchError } from "../util/errors.js";
import { COMPAT_SB_CHKSUM, parseSuperblock, SB_FIELD, SB_OFFSET, superblockChecksum } from "./superblock.js";

/**
 * Byte edits of an EROFS image, kept as a list rather than applied to a
 * copy: the correctness images are the built image plus a few bytes each,
 * so they are written as a file copy with the edits on top, never a second
 * image held in memory.
 */

export interface Edit {
  offset: number;
  before: number[];
  after: number[];
}

/** Edits over an image that stays unchanged: reads see the edits made so far. */
export class EditSet {
  readonly edits: Edit[] = [];
  private readonly overlay = new Map<number, number>();
  constructor(readonly image: Uint8Array) {}

  byte(offset: number): number {
    return this.overlay.get(offset) ?? this.image[offset]!;
  }

  set(offset: number, bytes: number[]): void {
    if (offset < 0 || offset + bytes.length > this.image.length)
      throw new BenchError(`edit at ${offset} lies outside the image`);
    const before = bytes.map((_, i) => this.byte(offset + i));
    for (const [i, b] of bytes.entries()) this.overlay.set(offset + i, b);
    this.edits.push({ offset, before, after: bytes });
  }

  u16(offset: number, v: number): void {
    this.set(offset, [v & 0xff, (v >> 8) & 0xff]);
  }

  u32(offset: number, v: number): void {
    this.set(offset, [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]);
  }
}

/**
 * The superblock checksum covers the first block from offset 1024, and
 * mkfs.erofs puts the first inodes and the long prefixes there: an edit
 * anywhere in [1024, block size) invalidates it. Adds the edit that puts it
 * right (unless `stale` is asked for: a corruption of the checksum itself).
 */
export function sealEdits(
  image: Uint8Array,
  set: EditSet,
  opts: { stale?: boolean } = {},
): "recomputed" | "stale" | "untouched" {
  if (opts.stale) return "stale";
  // parsed from the original: a corrupted feature word or block size must not stop the seal
  const sb = parseSuperblock(image.subarray(0, Math.min(image.byteLength, 4096 + SB_OFFSET)));
  const blockSize = 1 << sb.blockSizeBits;
  if (!set.edits.some((e) => e.offset + e.after.length > SB_OFFSET && e.offset < blockSize)) return "untouched";
  if (!(sb.featureCompat & COMPAT_SB_CHKSUM)) return "untouched";
  if (sb.blockSizeBits < 10 || sb.blockSizeBits > 16)
    throw new BenchError(`block size bits ${sb.blockSizeBits}: cannot recompute the superblock checksum`);
  const block = Uint8Array.from(image.subarray(0, Math.max(4096, blockSize)));
  for (const e of set.edits) {
    for (const [i, b] of e.after.entries()) if (e.offset + i < block.length) block[e.offset + i] = b;
  }
  const sum = superblockChecksum(block);
  const at = SB_OFFSET + SB_FIELD.checksum;
  const current = new DataView(block.buffer).getUint32(at, true);
  if (sum !== current) set.u32(at, sum);
  return "recomputed";
}

/** A copy of `image` with the edits applied. */
export function applyEdits(image: Uint8Array, edits: Edit[]): Uint8Array {
  const out = Uint8Array.from(image);
  for (const e of edits) out.set(e.after, e.offset);
  return out;
}

/** `out` as a copy of the image file `src` (a reflink where the file system can) with the edits written on top. */
export async function writeEdited(src: string, out: string, edits: Edit[]): Promise<void> {
  await copyFile(src, out, constants.COPYFILE_FICLONE);
  const fh = await open(out, "r+");
  try {
    for (const e of edits) await fh.write(Uint8Array.from(e.after), 0, e.after.length, e.offset);
  } finally {
    await fh.close();
  }
}
