import { open } from "node:fs/promises";
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

export interface SuperblockInfo {
  magic: number;
  checksum: number;
  featureCompat: number;
  blockSizeBits: number;
  ishareByte: number;
}

export function parseSuperblock(block: Uint8Array): SuperblockInfo {
  const dv = new DataView(block.buffer, block.byteOffset, block.byteLength);
  return {
    magic: dv.getUint32(SB_OFFSET, true),
    checksum: dv.getUint32(SB_OFFSET + 4, true),
    featureCompat: dv.getUint32(SB_OFFSET + 8, true),
    blockSizeBits: dv.getUint8(SB_OFFSET + 12),
    ishareByte: dv.getUint8(SB_OFFSET + ISHARE_BYTE),
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

async function readFirstBlock(image: string): Promise<Uint8Array> {
  const fh = await open(image, "r");
  try {
    const buf = new Uint8Array(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead < SB_OFFSET + 128) throw new BenchError(`${image}: too short to hold an EROFS superblock`);
    return buf;
  } finally {
    await fh.close();
  }
}

export async function readSuperblock(image: string): Promise<SuperblockInfo & { checksumOk: boolean | null }> {
  const block = await readFirstBlock(image);
  const info = parseSuperblock(block);
  if (info.magic !== EROFS_MAGIC) throw new BenchError(`${image}: not an EROFS image (magic 0x${info.magic.toString(16)})`);
  const checksumOk = info.featureCompat & COMPAT_SB_CHKSUM ? superblockChecksum(block) === info.checksum : null;
  return { ...info, checksumOk };
}

/**
 * Turns a mainline-format image (bare prefix index in byte 105) into the
 * v8 / RFC v7 format (0x80 long-prefix bit plus the index), fixing the
 * superblock checksum. Returns the byte before and after.
 */
export async function setIshareLongPrefixBit(image: string): Promise<{ before: number; after: number; checksumRewritten: boolean }> {
  const block = await readFirstBlock(image);
  const info = parseSuperblock(block);
  if (info.magic !== EROFS_MAGIC) throw new BenchError(`${image}: not an EROFS image`);
  if (!(info.featureCompat & COMPAT_ISHARE_XATTRS)) {
    throw new BenchError(`${image}: has no ishare xattr prefix (compat 0x${info.featureCompat.toString(16)})`, "build it with mkfs.erofs --xattr-inode-digest=<name>");
  }
  const after = info.ishareByte | LONG_PREFIX_BIT;
  block[SB_OFFSET + ISHARE_BYTE] = after;
  let checksumRewritten = false;
  const dv = new DataView(block.buffer);
  if (info.featureCompat & COMPAT_SB_CHKSUM) {
    dv.setUint32(SB_OFFSET + 4, superblockChecksum(block), true);
    checksumRewritten = true;
  }
  const fh = await open(image, "r+");
  try {
    const end = 1 << info.blockSizeBits;
    await fh.write(block, SB_OFFSET, end - SB_OFFSET, SB_OFFSET);
  } finally {
    await fh.close();
  }
  return { before: info.ishareByte, after, checksumRewritten };
}
