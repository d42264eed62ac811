import { open } from "node:fs/promises";
import { BenchError } from "../util/errors.js";
import { editSuperblock, parseSuperblock, readSuperblock, SB_FIELD, SB_OFFSET } from "./superblock.js";

/**
 * RFC v7 image format: the kernel reads the fingerprint xattr's full name
 * ("trusted.erofs.fingerprint") from the packed inode, at byte
 * `ishare_key_start << 2`, as a length-prefixed record (erofs_read_metadata),
 * and only when INCOMPAT_FRAGMENTS and INCOMPAT_ISHARE_KEY are both set.
 * No erofs-utils release writes that, so the tool appends a packed inode
 * holding only that record to an image mkfs.erofs made with
 * --xattr-inode-digest (which gives every file the fingerprint xattr).
 */

export const INCOMPAT_FRAGMENTS = 0x20;
const INCOMPAT_48BIT = 0x80;
export const INCOMPAT_ISHARE_KEY = 0x200;
export const COMPAT_PLAIN_XATTR_PFX = 0x10;

const COMPACT_INODE_BYTES = 32;
const S_IFREG = 0o100000;

interface PackedKeyFixup {
  xattrName: string;
  packedNid: number;
  /** The key record's offset in the packed inode, in 4-byte units (the on-disk field). */
  ishareKeyStart: number;
  incompatBefore: number;
  incompatAfter: number;
  blocksBefore: number;
  blocksAfter: number;
  checksumRewritten: boolean;
}

/** The key record as erofs_read_metadata reads it: __le16 length, then the bytes. */
export function keyRecord(xattrName: string): Uint8Array {
  const name = new TextEncoder().encode(xattrName);
  if (name.length === 0 || name.length > 0xffff)
    throw new BenchError(`fingerprint xattr name "${xattrName}" has an impossible length`);
  const rec = new Uint8Array(2 + name.length);
  new DataView(rec.buffer).setUint16(0, name.length, true);
  rec.set(name, 2);
  return rec;
}

/** A 32-byte compact, flat (FLAT_PLAIN) regular-file inode whose data starts at `startBlock`. */
function compactFlatInode(size: number, startBlock: number): Uint8Array {
  const inode = new Uint8Array(COMPACT_INODE_BYTES);
  const dv = new DataView(inode.buffer);
  dv.setUint16(0, 0, true); // i_format: compact, FLAT_PLAIN, nlink in i_nb
  dv.setUint16(4, S_IFREG | 0o600, true);
  dv.setUint16(6, 1, true); // i_nb.nlink
  dv.setUint32(8, size, true);
  dv.setUint32(16, startBlock, true); // i_u.startblk_lo
  return inode;
}

/**
 * Appends two blocks to `image`: one holding the packed inode, one holding
 * the key record, then points the superblock at them and fixes its checksum.
 */
export async function appendPackedIshareKey(image: string, xattrName: string): Promise<PackedKeyFixup> {
  return editSuperblock(image, async (block, sb, fh) => {
    const refuse = (why: string): never => {
      throw new BenchError(
        `${image}: cannot add the RFC v7 packed-inode key: ${why}`,
        "build the image without fragments, metabox or 48-bit layout (plain mkfs.erofs --xattr-inode-digest)",
      );
    };
    const blockSize = 1 << sb.blockSizeBits;
    if (blockSize !== 4096) refuse(`block size ${blockSize}, the tool writes 4096-byte blocks only`);
    if (sb.featureIncompat & INCOMPAT_48BIT) refuse("it uses the 48-bit layout");
    if (sb.packedNid !== 0n || sb.featureIncompat & INCOMPAT_FRAGMENTS)
      refuse(`it already has a packed inode (nid ${sb.packedNid})`);
    if (sb.ishareKeyStart !== 0) refuse(`superblock bytes 120..123 are not zero (0x${sb.ishareKeyStart.toString(16)})`);
    // long prefixes live in the packed inode unless PLAIN_XATTR_PFX says otherwise
    if (sb.xattrPrefixCount > 0 && !(sb.featureCompat & COMPAT_PLAIN_XATTR_PFX))
      refuse("its long xattr prefixes are not stored plain");
    const { size } = await fh.stat();
    if (size !== sb.blocks * blockSize) refuse(`its size ${size} is not blocks_lo (${sb.blocks}) x ${blockSize}`);

    const inodeBlock = sb.blocks;
    const dataBlock = sb.blocks + 1;
    const nidBytes = (inodeBlock - sb.metaBlkaddr) * blockSize;
    if (nidBytes < 0) refuse(`meta_blkaddr ${sb.metaBlkaddr} lies past the end of the image`);
    const packedNid = nidBytes / COMPACT_INODE_BYTES;
    const record = keyRecord(xattrName);
    const tail = new Uint8Array(2 * blockSize);
    tail.set(compactFlatInode(record.length, dataBlock), 0);
    tail.set(record, blockSize); // offset 0 in the packed inode: ishare_key_start = 0
    await fh.write(tail, 0, tail.length, size);

    const incompatAfter = sb.featureIncompat | INCOMPAT_FRAGMENTS | INCOMPAT_ISHARE_KEY;
    const dv = new DataView(block.buffer, block.byteOffset + SB_OFFSET);
    dv.setUint32(SB_FIELD.featureIncompat, incompatAfter, true);
    dv.setBigUint64(SB_FIELD.packedNid, BigInt(packedNid), true);
    dv.setUint32(SB_FIELD.ishareKeyStart, 0, true);
    dv.setUint32(SB_FIELD.blocksLo, sb.blocks + 2, true);
    return {
      xattrName,
      packedNid,
      ishareKeyStart: 0,
      incompatBefore: sb.featureIncompat,
      incompatAfter,
      blocksBefore: sb.blocks,
      blocksAfter: sb.blocks + 2,
    };
  });
}

/**
 * Reads the key back the way the RFC v7 kernel does (superblock, packed
 * inode, record); used to check an image after the fix-up.
 */
export async function readPackedIshareKey(image: string): Promise<string | null> {
  const sb = await readSuperblock(image);
  const needed = INCOMPAT_FRAGMENTS | INCOMPAT_ISHARE_KEY;
  if ((sb.featureIncompat & needed) !== needed || sb.packedNid === 0n) return null;
  const blockSize = 1 << sb.blockSizeBits;
  const fh = await open(image, "r");
  try {
    const inodeAt = sb.metaBlkaddr * blockSize + Number(sb.packedNid) * COMPACT_INODE_BYTES;
    const inode = new Uint8Array(COMPACT_INODE_BYTES);
    await fh.read(inode, 0, inode.length, inodeAt);
    const idv = new DataView(inode.buffer);
    const format = idv.getUint16(0, true);
    if (format !== 0)
      throw new BenchError(
        `${image}: packed inode has i_format 0x${format.toString(16)}, this reader knows compact FLAT_PLAIN only`,
      );
    const inodeSize = idv.getUint32(8, true);
    const dataAt = idv.getUint32(16, true) * blockSize;
    const at = dataAt + sb.ishareKeyStart * 4;
    if (sb.ishareKeyStart * 4 + 2 > inodeSize)
      throw new BenchError(
        `${image}: ishare_key_start ${sb.ishareKeyStart} lies past the packed inode's ${inodeSize} bytes`,
      );
    const len = new Uint8Array(2);
    await fh.read(len, 0, 2, at);
    const n = new DataView(len.buffer).getUint16(0, true);
    const name = new Uint8Array(n);
    await fh.read(name, 0, n, at + 2);
    return new TextDecoder().decode(name);
  } finally {
    await fh.close();
  }
}

/**
 * The key record as the RFC v7 kernel reads it from an image held in memory
 * (superblock, packed inode, record): where it lies and the name; null when
 * the image has none.
 */
export function packedKeyRecord(
  img: Uint8Array,
): { inodeOffset: number; inodeSize: number; offset: number; length: number; name: string } | null {
  const sb = parseSuperblock(img.subarray(0, Math.min(img.byteLength, 4096 + SB_OFFSET)));
  const needed = INCOMPAT_FRAGMENTS | INCOMPAT_ISHARE_KEY;
  if ((sb.featureIncompat & needed) !== needed || sb.packedNid === 0n) return null;
  const blockSize = 1 << sb.blockSizeBits;
  const inodeOffset = sb.metaBlkaddr * blockSize + Number(sb.packedNid) * COMPACT_INODE_BYTES;
  if (inodeOffset + COMPACT_INODE_BYTES > img.byteLength)
    throw new BenchError(`packed inode at ${inodeOffset} lies beyond the image`);
  const dv = new DataView(img.buffer, img.byteOffset, img.byteLength);
  const format = dv.getUint16(inodeOffset, true);
  if (format !== 0)
    throw new BenchError(
      `packed inode has i_format 0x${format.toString(16)}, this reader knows compact FLAT_PLAIN only`,
    );
  const inodeSize = dv.getUint32(inodeOffset + 8, true);
  const offset = dv.getUint32(inodeOffset + 16, true) * blockSize + sb.ishareKeyStart * 4;
  if (sb.ishareKeyStart * 4 + 2 > inodeSize || offset + 2 > img.byteLength)
    throw new BenchError(`ishare_key_start ${sb.ishareKeyStart} lies past the packed inode's ${inodeSize} bytes`);
  const length = dv.getUint16(offset, true);
  const name = new TextDecoder().decode(img.subarray(offset + 2, offset + 2 + length));
  return { inodeOffset, inodeSize, offset, length, name };
}

/** The fingerprint xattr's name an RFC v7 kernel reads from the image, or null. */
export function packedIshareKeyOf(img: Uint8Array): string | null {
  return packedKeyRecord(img)?.name ?? null;
}
