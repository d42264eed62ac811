import { BenchError } from "../util/errors.js";
import { EROFS_MAGIC, SB_OFFSET, parseSuperblock, type SuperblockInfo } from "./superblock.js";

/**
 * Just enough of the EROFS on-disk format (fs/erofs/erofs_fs.h) to find a
 * file's inode and its inline xattrs in an uncompressed image, so that the
 * correctness images (forged.ts, corrupt.ts) can change named bytes; which
 * xattr is the fingerprint is fingerprintKey.ts's business.
 * Read-only; every function is pure over the image's bytes.
 */

const INCOMPAT_48BIT = 0x80;
const INCOMPAT_METABOX = 0x100;
export const XATTR_LONG_PREFIX = 0x80;
export const DATALAYOUT = {
  flatPlain: 0,
  compressedFull: 1,
  flatInline: 2,
  compressedCompact: 3,
  chunkBased: 4,
} as const;

/** Superblock fields beyond superblock.ts's parse (offsets relative to SB_OFFSET). */
export const SB_MORE = {
  sbExtslots: 13,
  rootNid2b: 14,
  inos: 16,
  epoch: 24,
  fixedNsec: 32,
  xattrBlkaddr: 44,
  uuid: 48,
  volumeName: 64,
  extraDevices: 86,
  devtSlotoff: 88,
  dirblkbits: 90,
  xattrPrefixStart: 92,
  buildTime: 108,
  rootNid8b: 112,
} as const;

export interface Layout extends SuperblockInfo {
  blockSize: number;
  rootNid: bigint;
  xattrBlkaddr: number;
}

export interface Inode {
  nid: bigint;
  /** Absolute offset of the on-disk inode. */
  offset: number;
  /** 32 (compact) or 64 (extended). */
  inodeSize: 32 | 64;
  format: number;
  datalayout: number;
  mode: number;
  size: bigint;
  xattrIcount: number;
  /** Bytes of inline xattrs after the inode (0 when none). */
  xattrSize: number;
  startBlk: number;
}

export interface XattrEntry {
  /** Absolute offset of the entry header (e_name_len). */
  offset: number;
  nameLen: number;
  nameIndex: number;
  name: Uint8Array;
  valueOffset: number;
  valueSize: number;
  value: Uint8Array;
}

const u16 = (img: Uint8Array, off: number) => img[off]! | (img[off + 1]! << 8);
const u32 = (img: Uint8Array, off: number) =>
  (img[off]! | (img[off + 1]! << 8) | (img[off + 2]! << 16) | (img[off + 3]! << 24)) >>> 0;
const u64 = (img: Uint8Array, off: number) => BigInt(u32(img, off)) | (BigInt(u32(img, off + 4)) << 32n);

export function readLayout(img: Uint8Array): Layout {
  if (img.byteLength < SB_OFFSET + 128) throw new BenchError("too short to hold an EROFS superblock");
  const sb = parseSuperblock(img.subarray(0, Math.min(img.byteLength, 4096 + SB_OFFSET)));
  if (sb.magic !== EROFS_MAGIC) throw new BenchError(`not an EROFS image (magic 0x${sb.magic.toString(16)})`);
  if (sb.featureIncompat & INCOMPAT_METABOX) throw new BenchError("metabox images are not supported here");
  const at = (o: number) => SB_OFFSET + o;
  const rootNid =
    sb.featureIncompat & INCOMPAT_48BIT ? u64(img, at(SB_MORE.rootNid8b)) : BigInt(u16(img, at(SB_MORE.rootNid2b)));
  return { ...sb, blockSize: 1 << sb.blockSizeBits, rootNid, xattrBlkaddr: u32(img, at(SB_MORE.xattrBlkaddr)) };
}

function inodeOffset(layout: Layout, nid: bigint): number {
  return layout.metaBlkaddr * layout.blockSize + Number(nid) * 32;
}

export function readInode(img: Uint8Array, layout: Layout, nid: bigint): Inode {
  const offset = inodeOffset(layout, nid);
  if (offset + 32 > img.byteLength) throw new BenchError(`inode ${nid} lies beyond the image`);
  const format = u16(img, offset);
  const extended = (format & 1) === 1;
  const xattrIcount = u16(img, offset + 2);
  return {
    nid,
    offset,
    inodeSize: extended ? 64 : 32,
    format,
    datalayout: (format >> 1) & 7,
    mode: u16(img, offset + 4),
    size: extended ? u64(img, offset + 8) : BigInt(u32(img, offset + 8)),
    xattrIcount,
    xattrSize: xattrIcount ? 12 + 4 * (xattrIcount - 1) : 0,
    startBlk: u32(img, offset + 16),
  };
}

/** The inline xattr entries of an inode (shared xattrs are only counted). */
export function inlineXattrs(img: Uint8Array, inode: Inode): { shared: number; entries: XattrEntry[] } {
  if (!inode.xattrSize) return { shared: 0, entries: [] };
  const start = inode.offset + inode.inodeSize;
  const end = start + inode.xattrSize;
  const shared = img[start + 4]!;
  const entries: XattrEntry[] = [];
  let p = start + 12 + 4 * shared;
  while (p + 4 <= end) {
    const nameLen = img[p]!;
    const nameIndex = img[p + 1]!;
    const valueSize = u16(img, p + 2);
    const valueOffset = p + 4 + nameLen;
    if (valueOffset + valueSize > end)
      throw new BenchError(`inode ${inode.nid}: xattr entry at ${p} runs past the inline xattr area`);
    entries.push({
      offset: p,
      nameLen,
      nameIndex,
      name: img.slice(p + 4, valueOffset),
      valueOffset,
      valueSize,
      value: img.slice(valueOffset, valueOffset + valueSize),
    });
    p += (4 + nameLen + valueSize + 3) & ~3;
  }
  return { shared, entries };
}

/** The bytes of an uncompressed inode's data (directories, small files). */
function inodeData(img: Uint8Array, layout: Layout, inode: Inode): Uint8Array {
  const size = Number(inode.size);
  const bs = layout.blockSize;
  if (inode.datalayout === DATALAYOUT.flatPlain) return img.subarray(inode.startBlk * bs, inode.startBlk * bs + size);
  if (inode.datalayout === DATALAYOUT.flatInline) {
    const full = Math.floor(size / bs) * bs;
    const tail = size - full;
    const inlineAt = inode.offset + inode.inodeSize + inode.xattrSize;
    const out = new Uint8Array(size);
    if (full) out.set(img.subarray(inode.startBlk * bs, inode.startBlk * bs + full), 0);
    out.set(img.subarray(inlineAt, inlineAt + tail), full);
    return out;
  }
  throw new BenchError(`inode ${inode.nid}: data layout ${inode.datalayout} is not readable here (only flat images)`);
}

/** Directory entries: name -> nid. */
export function readDir(img: Uint8Array, layout: Layout, dir: Inode): Map<string, bigint> {
  const data = inodeData(img, layout, dir);
  const bs = layout.blockSize;
  const out = new Map<string, bigint>();
  const dec = new TextDecoder();
  for (let blk = 0; blk < data.length; blk += bs) {
    const b = data.subarray(blk, Math.min(data.length, blk + bs));
    const count = u16(b, 8) / 12;
    for (let i = 0; i < count; i++) {
      const nameoff = u16(b, i * 12 + 8);
      const next = i + 1 < count ? u16(b, (i + 1) * 12 + 8) : b.length;
      let name = b.subarray(nameoff, next);
      const nul = name.indexOf(0);
      if (nul >= 0) name = name.subarray(0, nul);
      out.set(dec.decode(name), u64(b, i * 12));
    }
  }
  return out;
}

/** The inode of a path ("usr/lib/x.bin") from the root directory. */
export function lookup(img: Uint8Array, path: string, layout = readLayout(img)): Inode {
  let inode = readInode(img, layout, layout.rootNid);
  for (const part of path.split("/").filter(Boolean)) {
    if ((inode.mode & 0o170000) !== 0o040000) throw new BenchError(`${path}: ${part}'s parent is not a directory`);
    const nid = readDir(img, layout, inode).get(part);
    if (nid === undefined) throw new BenchError(`${path}: no entry ${part}`);
    inode = readInode(img, layout, nid);
  }
  return inode;
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}
