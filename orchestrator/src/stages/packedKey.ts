import { open } from "node:fs/promises";
import { BenchError } from "../util/errors.js";
import { COMPAT_SB_CHKSUM, EROFS_MAGIC, SB_OFFSET, superblockChecksum } from "./superblock.js";

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
export const INCOMPAT_48BIT = 0x80;
export const INCOMPAT_ISHARE_KEY = 0x200;
export const COMPAT_PLAIN_XATTR_PFX = 0x10;

/** Superblock field offsets (relative to SB_OFFSET) this stage reads or writes. */
const SB = {
  featureCompat: 8,
  blkszbits: 12,
  blocksLo: 36,
  metaBlkaddr: 40,
  featureIncompat: 80,
  xattrPrefixCount: 91,
  packedNid: 96,
  /** RFC v7 turns the first half of `reserved2` into `__le32 ishare_key_start`. */
  ishareKeyStart: 120,
} as const;

const COMPACT_INODE_BYTES = 32;
const S_IFREG = 0o100000;

export interface PackedKeyFixup {
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

interface SuperblockFields {
  blockSize: number;
  featureCompat: number;
  featureIncompat: number;
  blocks: number;
  metaBlkaddr: number;
  xattrPrefixCount: number;
  packedNid: bigint;
  ishareKeyStart: number;
}

function fieldsOf(block: Uint8Array): SuperblockFields {
  const dv = new DataView(block.buffer, block.byteOffset + SB_OFFSET);
  return {
    blockSize: 1 << dv.getUint8(SB.blkszbits),
    featureCompat: dv.getUint32(SB.featureCompat, true),
    featureIncompat: dv.getUint32(SB.featureIncompat, true),
    blocks: dv.getUint32(SB.blocksLo, true),
    metaBlkaddr: dv.getUint32(SB.metaBlkaddr, true),
    xattrPrefixCount: dv.getUint8(SB.xattrPrefixCount),
    packedNid: dv.getBigUint64(SB.packedNid, true),
    ishareKeyStart: dv.getUint32(SB.ishareKeyStart, true),
  };
}

/** The key record as erofs_read_metadata reads it: __le16 length, then the bytes. */
export function keyRecord(xattrName: string): Uint8Array {
  const name = new TextEncoder().encode(xattrName);
  if (name.length === 0 || name.length > 0xffff) throw new BenchError(`fingerprint xattr name "${xattrName}" has an impossible length`);
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
  const fh = await open(image, "r+");
  try {
    const head = new Uint8Array(4096);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const dv = new DataView(head.buffer, SB_OFFSET);
    if (bytesRead < SB_OFFSET + 128 || dv.getUint32(0, true) !== EROFS_MAGIC) throw new BenchError(`${image}: not an EROFS image`);
    const sb = fieldsOf(head);
    const refuse = (why: string): never => {
      throw new BenchError(`${image}: cannot add the RFC v7 packed-inode key: ${why}`, "build the image without fragments, metabox or 48-bit layout (plain mkfs.erofs --xattr-inode-digest)");
    };
    if (sb.blockSize !== 4096) refuse(`block size ${sb.blockSize}, the tool writes 4096-byte blocks only`);
    if (sb.featureIncompat & INCOMPAT_48BIT) refuse("it uses the 48-bit layout");
    if (sb.packedNid !== 0n || sb.featureIncompat & INCOMPAT_FRAGMENTS) refuse(`it already has a packed inode (nid ${sb.packedNid})`);
    if (sb.ishareKeyStart !== 0) refuse(`superblock bytes 120..123 are not zero (0x${sb.ishareKeyStart.toString(16)})`);
    // long prefixes live in the packed inode unless PLAIN_XATTR_PFX says otherwise
    if (sb.xattrPrefixCount > 0 && !(sb.featureCompat & COMPAT_PLAIN_XATTR_PFX)) refuse("its long xattr prefixes are not stored plain");
    const { size } = await fh.stat();
    if (size !== sb.blocks * sb.blockSize) refuse(`its size ${size} is not blocks_lo (${sb.blocks}) x ${sb.blockSize}`);

    const inodeBlock = sb.blocks;
    const dataBlock = sb.blocks + 1;
    const nidBytes = (inodeBlock - sb.metaBlkaddr) * sb.blockSize;
    if (nidBytes < 0) refuse(`meta_blkaddr ${sb.metaBlkaddr} lies past the end of the image`);
    const packedNid = nidBytes / COMPACT_INODE_BYTES;
    const record = keyRecord(xattrName);
    const tail = new Uint8Array(2 * sb.blockSize);
    tail.set(compactFlatInode(record.length, dataBlock), 0);
    tail.set(record, sb.blockSize); // offset 0 in the packed inode: ishare_key_start = 0
    await fh.write(tail, 0, tail.length, size);

    const incompatAfter = sb.featureIncompat | INCOMPAT_FRAGMENTS | INCOMPAT_ISHARE_KEY;
    dv.setUint32(SB.featureIncompat, incompatAfter, true);
    dv.setBigUint64(SB.packedNid, BigInt(packedNid), true);
    dv.setUint32(SB.ishareKeyStart, 0, true);
    dv.setUint32(SB.blocksLo, sb.blocks + 2, true);
    const checksumRewritten = (sb.featureCompat & COMPAT_SB_CHKSUM) !== 0;
    if (checksumRewritten) dv.setUint32(4, superblockChecksum(head), true);
    await fh.write(head, SB_OFFSET, sb.blockSize - SB_OFFSET, SB_OFFSET);
    return {
      xattrName,
      packedNid,
      ishareKeyStart: 0,
      incompatBefore: sb.featureIncompat,
      incompatAfter,
      blocksBefore: sb.blocks,
      blocksAfter: sb.blocks + 2,
      checksumRewritten,
    };
  } finally {
    await fh.close();
  }
}

/**
 * Reads the key back the way the RFC v7 kernel does (superblock, packed
 * inode, record); used to check an image after the fix-up.
 */
export async function readPackedIshareKey(image: string): Promise<string | null> {
  const fh = await open(image, "r");
  try {
    const head = new Uint8Array(4096);
    await fh.read(head, 0, head.length, 0);
    const sb = fieldsOf(head);
    const needed = INCOMPAT_FRAGMENTS | INCOMPAT_ISHARE_KEY;
    if ((sb.featureIncompat & needed) !== needed || sb.packedNid === 0n) return null;
    const inodeAt = sb.metaBlkaddr * sb.blockSize + Number(sb.packedNid) * COMPACT_INODE_BYTES;
    const inode = new Uint8Array(COMPACT_INODE_BYTES);
    await fh.read(inode, 0, inode.length, inodeAt);
    const idv = new DataView(inode.buffer);
    const format = idv.getUint16(0, true);
    if (format !== 0) throw new BenchError(`${image}: packed inode has i_format 0x${format.toString(16)}, this reader knows compact FLAT_PLAIN only`);
    const inodeSize = idv.getUint32(8, true);
    const dataAt = idv.getUint32(16, true) * sb.blockSize;
    const at = dataAt + sb.ishareKeyStart * 4;
    if (sb.ishareKeyStart * 4 + 2 > inodeSize) throw new BenchError(`${image}: ishare_key_start ${sb.ishareKeyStart} lies past the packed inode's ${inodeSize} bytes`);
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
