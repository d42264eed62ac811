import { createHash } from "node:crypto";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { appendPackedIshareKey, COMPAT_PLAIN_XATTR_PFX } from "../../src/images/packedKey.js";
import {
  COMPAT_ISHARE_XATTRS,
  COMPAT_SB_CHKSUM,
  EROFS_MAGIC,
  SB_OFFSET,
  setIshareLongPrefixBit,
  superblockChecksum,
} from "../../src/images/superblock.js";
import type { ImageFormat } from "../../src/images/fingerprintKey.js";

/**
 * A minimal EROFS image in the layout mkfs.erofs --xattr-inode-digest writes
 * for uncompressed files: 4 KiB blocks, compact inodes in block 1, every
 * regular file with one inline fingerprint xattr (long prefix 0, no name of
 * its own, "sha256:" and the 32-byte digest of the content, 39 bytes, as
 * erofs-utils 1.9.4 writes it), directories and data flat.
 * The long prefix ("trusted." + "erofs.fingerprint") is stored plain after
 * the superblock. Enough for the image tools' tests; the kernel never sees it.
 */
export interface TinyFile {
  path: string;
  data: Uint8Array;
  /** Overrides the fingerprint (default: sha256 of the data). */
  fingerprint?: Uint8Array;
  /** An xattr stored before the fingerprint (short prefix index, name, value). */
  before?: { index: number; name: string; value: Uint8Array };
}

const BS = 4096;
/** The one long prefix, stored plain after the superblock: __le16 size, base index 4 ("trusted."), infix. */
const PREFIX_AT = SB_OFFSET + 128;
const PREFIX_RECORD = (() => {
  const infix = new TextEncoder().encode("erofs.fingerprint");
  const rec = new Uint8Array(3 + infix.length);
  new DataView(rec.buffer).setUint16(0, 1 + infix.length, true);
  rec[2] = 4;
  rec.set(infix, 3);
  return rec;
})();

export function fingerprintOf(data: Uint8Array): Uint8Array {
  return new Uint8Array(Buffer.concat([Buffer.from("sha256:"), createHash("sha256").update(data).digest()]));
}

interface Node {
  name: string;
  dir: boolean;
  children: Node[];
  file?: TinyFile;
  nid: number;
  dataBlk: number;
}

/**
 * `inodesInFirstBlock`: meta_blkaddr 0 with the inodes right after the
 * superblock, as mkfs.erofs 1.9 lays out small images (the superblock
 * checksum then covers them); otherwise they start in block 1.
 */
export function tinyErofs(files: TinyFile[], opts: { inodesInFirstBlock?: boolean } = {}): Uint8Array {
  const root: Node = { name: "", dir: true, children: [], nid: 0, dataBlk: 0 };
  for (const f of files) {
    const parts = f.path.split("/");
    let at = root;
    for (const [i, p] of parts.entries()) {
      const last = i === parts.length - 1;
      let next = at.children.find((c) => c.name === p);
      if (!next) {
        next = { name: p, dir: !last, children: [], file: last ? f : undefined, nid: 0, dataBlk: 0 };
        at.children.push(next);
      }
      at = next;
    }
  }
  const all: Node[] = [];
  const walk = (n: Node) => {
    all.push(n);
    n.children.sort((a, b) => (a.name < b.name ? -1 : 1));
    n.children.forEach(walk);
  };
  walk(root);
  // inodes: directories take one 32-byte slot, files the inode plus their inline xattrs
  const align4 = (n: number) => (n + 3) & ~3;
  const beforeSize = (f?: TinyFile) => (f?.before ? align4(4 + f.before.name.length + f.before.value.length) : 0);
  const fpOf = (f: TinyFile) => f.fingerprint ?? fingerprintOf(f.data);
  const xattrBytes = (f: TinyFile) => 12 + beforeSize(f) + align4(4 + fpOf(f).length);
  // the long prefix table follows the superblock, as mkfs.erofs writes it; inodes come after it
  const firstSlot = opts.inodesInFirstBlock ? Math.ceil((PREFIX_AT + align4(PREFIX_RECORD.length)) / 32) : 0;
  let slot = firstSlot;
  for (const n of all) {
    n.nid = slot;
    slot += n.dir ? 1 : Math.ceil((32 + xattrBytes(n.file!)) / 32);
  }
  if (slot * 32 > BS) throw new Error("too many inodes for one metadata block");
  let blk = 2;
  for (const n of all) {
    n.dataBlk = blk;
    blk += n.dir ? 1 : Math.max(1, Math.ceil(n.file!.data.length / BS));
  }
  const img = new Uint8Array(blk * BS);
  const dv = new DataView(img.buffer);
  // superblock
  dv.setUint32(SB_OFFSET, EROFS_MAGIC, true);
  dv.setUint32(SB_OFFSET + 8, COMPAT_SB_CHKSUM | COMPAT_PLAIN_XATTR_PFX | COMPAT_ISHARE_XATTRS, true);
  img[SB_OFFSET + 12] = 12;
  dv.setUint16(SB_OFFSET + 14, root.nid, true);
  dv.setBigUint64(SB_OFFSET + 16, BigInt(all.length), true);
  dv.setUint32(SB_OFFSET + 36, blk, true);
  const metaBlk = opts.inodesInFirstBlock ? 0 : 1;
  dv.setUint32(SB_OFFSET + 40, metaBlk, true); // meta_blkaddr
  dv.setUint32(SB_OFFSET + 80, 0x40, true); // XATTR_PREFIXES
  img[SB_OFFSET + 91] = 1; // one long prefix
  dv.setUint32(SB_OFFSET + 92, PREFIX_AT / 4, true); // xattr_prefix_start, in 4-byte units
  img.set(PREFIX_RECORD, PREFIX_AT);
  img[SB_OFFSET + 105] = 0; // ishare prefix id
  const meta = metaBlk * BS;
  for (const n of all) {
    const off = meta + n.nid * 32;
    if (n.dir) {
      // dirents: ".", "..", children
      const entries: Array<[string, number, number]> = [
        [".", n.nid, 2],
        ["..", n.nid, 2],
        ...n.children.map((c): [string, number, number] => [c.name, c.nid, c.dir ? 2 : 1]),
      ];
      entries.sort((a, b) => (a[0] < b[0] ? -1 : 1));
      const d = n.dataBlk * BS;
      let nameoff = entries.length * 12;
      for (const [i, [name, nid, type]] of entries.entries()) {
        dv.setBigUint64(d + i * 12, BigInt(nid), true);
        dv.setUint16(d + i * 12 + 8, nameoff, true);
        img[d + i * 12 + 10] = type;
        img.set(new TextEncoder().encode(name), d + nameoff);
        nameoff += name.length;
      }
      dv.setUint16(off, 0, true); // compact, flat plain
      dv.setUint16(off + 4, 0o040755, true);
      dv.setUint32(off + 8, nameoff, true);
      dv.setUint32(off + 16, n.dataBlk, true);
    } else {
      const f = n.file!;
      dv.setUint16(off, 0, true);
      dv.setUint16(off + 2, 1 + (xattrBytes(f) - 12) / 4, true); // i_xattr_icount: 12 + (n - 1) * 4 bytes
      dv.setUint16(off + 4, 0o100644, true);
      dv.setUint32(off + 8, f.data.length, true);
      dv.setUint32(off + 16, n.dataBlk, true);
      const x = off + 32;
      dv.setUint32(x, 0xffffffff, true); // name filter: nothing claimed
      img[x + 4] = 0; // no shared xattrs
      let e = x + 12;
      if (f.before) {
        img[e] = f.before.name.length;
        img[e + 1] = f.before.index;
        dv.setUint16(e + 2, f.before.value.length, true);
        img.set(new TextEncoder().encode(f.before.name), e + 4);
        img.set(f.before.value, e + 4 + f.before.name.length);
        e += beforeSize(f);
      }
      img[e] = 0; // e_name_len
      img[e + 1] = 0x80; // long prefix 0
      dv.setUint16(e + 2, fpOf(f).length, true);
      img.set(fpOf(f), e + 4);
      img.set(f.data, n.dataBlk * BS);
    }
  }
  dv.setUint32(SB_OFFSET + 4, superblockChecksum(img.subarray(0, BS)), true);
  return img;
}

/** A tiny image in a series' format, made the way the tool makes it: the image, then the profile's fix-up. */
export async function tinyErofsIn(
  format: ImageFormat,
  files: TinyFile[],
  opts: { inodesInFirstBlock?: boolean } = {},
): Promise<Uint8Array> {
  const img = tinyErofs(files, opts);
  if (format === "xattr-inode-digest") return img;
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), "esb-tiny-")), "image.erofs");
  await writeFile(file, img);
  if (format === "ishare-key-long-prefix") await setIshareLongPrefixBit(file);
  else await appendPackedIshareKey(file, "trusted.erofs.fingerprint");
  return new Uint8Array(await readFile(file));
}
