import { open, type FileHandle } from "node:fs/promises";
import { BenchError } from "../util/errors.js";

/** EROFS on-disk superblock facts we touch (include/erofs_fs.h). */
export const SB_OFFSET = 1024;
export const EROFS_MAGIC = 0xe0f5e1e2;
export const COMPAT_SB_CHKSUM = 0x1;
export const COMPAT_ISHARE_XATTRS = 0x20;
/** Byte 105 of the superblock: `ishare_xattr_prefix_id` (mainline) / `ishare_key_start` (v8). */
export const ISHARE_BYTE = 105;
export const LONG_PREFIX_BIT = 0x80;

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** crc32c as the kernel's crc32c(seed, ...) computes it: no final inversion. */
export function crc32c(seed: number, data: Uint8Array): number {
  let c = seed >>> 0;
  for (const b of data) c = (CRC32C_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8)) >>> 0;
  return c >>> 0;
}

/** Field offsets relative to SB_OFFSET. */
export const SB_FIELD = {
  magic: 0,
  checksum: 4,
  featureCompat: 8,
  blkszbits: 12,
  blocksLo: 36,
  metaBlkaddr: 40,
  featureIncompat: 80,
  xattrPrefixCount: 91,
  packedNid: 96,
  ishareByte: ISHARE_BYTE,
  /** RFC v7 turns the first half of `reserved2` into `__le32 ishare_key_start`. */
  ishareKeyStart: 120,
} as const;

export interface SuperblockInfo {
  magic: number;
  checksum: number;
  featureCompat: number;
  featureIncompat: number;
  blockSizeBits: number;
  /** blocks_lo: the image's size in blocks (without the 48-bit high part). */
  blocks: number;
  metaBlkaddr: number;
  xattrPrefixCount: number;
  packedNid: bigint;
  ishareByte: number;
  ishareKeyStart: number;
}

export function parseSuperblock(block: Uint8Array): SuperblockInfo {
  const dv = new DataView(block.buffer, block.byteOffset + SB_OFFSET, block.byteLength - SB_OFFSET);
  return {
    magic: dv.getUint32(SB_FIELD.magic, true),
    checksum: dv.getUint32(SB_FIELD.checksum, true),
    featureCompat: dv.getUint32(SB_FIELD.featureCompat, true),
    featureIncompat: dv.getUint32(SB_FIELD.featureIncompat, true),
    blockSizeBits: dv.getUint8(SB_FIELD.blkszbits),
    blocks: dv.getUint32(SB_FIELD.blocksLo, true),
    metaBlkaddr: dv.getUint32(SB_FIELD.metaBlkaddr, true),
    xattrPrefixCount: dv.getUint8(SB_FIELD.xattrPrefixCount),
    packedNid: dv.getBigUint64(SB_FIELD.packedNid, true),
    ishareByte: dv.getUint8(SB_FIELD.ishareByte),
    ishareKeyStart: dv.getUint32(SB_FIELD.ishareKeyStart, true),
  };
}

/** The checksum over the superblock's block from offset 1024 with the field zeroed. */
export function superblockChecksum(block: Uint8Array): number {
  const info = parseSuperblock(block);
  const end = 1 << info.blockSizeBits;
  const region = Uint8Array.from(block.subarray(SB_OFFSET, end));
  region.fill(0, 4, 8);
  return crc32c(0xffffffff, region);
}

async function readFirstBlock(fh: FileHandle, image: string): Promise<Uint8Array> {
  const buf = new Uint8Array(4096);
  const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
  if (bytesRead < SB_OFFSET + 128) throw new BenchError(`${image}: too short to hold an EROFS superblock`);
  return buf;
}

export async function readSuperblock(image: string): Promise<SuperblockInfo & { checksumOk: boolean | null }> {
  const fh = await open(image, "r");
  const block = await readFirstBlock(fh, image).finally(() => fh.close());
  const info = parseSuperblock(block);
  if (info.magic !== EROFS_MAGIC)
    throw new BenchError(`${image}: not an EROFS image (magic 0x${info.magic.toString(16)})`);
  const checksumOk = info.featureCompat & COMPAT_SB_CHKSUM ? superblockChecksum(block) === info.checksum : null;
  return { ...info, checksumOk };
}

/**
 * Opens an EROFS image for update and lets `edit` change its superblock
 * block in place (and write elsewhere through the handle, to append), then
 * recomputes the superblock checksum and writes the block back.
 */
export async function editSuperblock<T>(
  image: string,
  edit: (block: Uint8Array, info: SuperblockInfo, fh: FileHandle) => Promise<T>,
): Promise<T & { checksumRewritten: boolean }> {
  const fh = await open(image, "r+");
  try {
    const block = await readFirstBlock(fh, image);
    const info = parseSuperblock(block);
    if (info.magic !== EROFS_MAGIC) throw new BenchError(`${image}: not an EROFS image`);
    const result = await edit(block, info, fh);
    const checksumRewritten = (info.featureCompat & COMPAT_SB_CHKSUM) !== 0;
    if (checksumRewritten)
      new DataView(block.buffer).setUint32(SB_OFFSET + SB_FIELD.checksum, superblockChecksum(block), true);
    const end = 1 << info.blockSizeBits;
    await fh.write(block, SB_OFFSET, end - SB_OFFSET, SB_OFFSET);
    return { ...result, checksumRewritten };
  } finally {
    await fh.close();
  }
}

/**
 * Turns a mainline-format image (bare prefix index in byte 105) into the
 * v8 format (0x80 long-prefix bit plus the index), fixing the superblock
 * checksum. Returns the byte before and after.
 */
export async function setIshareLongPrefixBit(
  image: string,
): Promise<{ before: number; after: number; checksumRewritten: boolean }> {
  return editSuperblock(image, async (block, info) => {
    if (!(info.featureCompat & COMPAT_ISHARE_XATTRS)) {
      throw new BenchError(
        `${image}: has no ishare xattr prefix (compat 0x${info.featureCompat.toString(16)})`,
        "build it with mkfs.erofs --xattr-inode-digest=<name>",
      );
    }
    const after = info.ishareByte | LONG_PREFIX_BIT;
    block[SB_OFFSET + ISHARE_BYTE] = after;
    return { before: info.ishareByte, after };
  });
}
