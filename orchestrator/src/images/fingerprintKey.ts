import type { ImageProfile } from "../kernel/series.js";
import { BenchError } from "../util/errors.js";
import {
  inlineXattrs,
  lookup,
  readLayout,
  XATTR_LONG_PREFIX,
  type Inode,
  type Layout,
  type XattrEntry,
} from "./erofsLayout.js";
import { COMPAT_PLAIN_XATTR_PFX, packedIshareKeyOf } from "./packedKey.js";
import { COMPAT_ISHARE_XATTRS, LONG_PREFIX_BIT, SB_OFFSET } from "./superblock.js";

/**
 * Which xattr holds a file's fingerprint, the way each series' kernel finds
 * it. mkfs.erofs --xattr-inode-digest stores the fingerprint as an inline
 * xattr under a long prefix with no name of its own; the series differ in
 * how the superblock names that prefix:
 * - mainline (xattr-inode-digest): COMPAT_ISHARE_XATTRS and the prefix id in
 *   byte 105 (`ishare_xattr_prefix_id`);
 * - v8 (ishare-key-long-prefix): byte 105 (`ishare_key_start`) with the 0x80
 *   long-prefix bit and the prefix id below it;
 * - RFC v7 (ishare-key-packed-name): the xattr's full name in the packed
 *   inode; the prefix is the long prefix whose full name it is.
 */
export type ImageFormat = ImageProfile["format"];

/** The xattr name prefixes of EROFS's short name indexes (fs/erofs/xattr.h). */
const BASE_PREFIXES: Record<number, string> = {
  1: "user.",
  2: "system.posix_acl_access",
  3: "system.posix_acl_default",
  4: "trusted.",
  6: "security.",
};

interface LongPrefix {
  id: number;
  baseIndex: number;
  /** The full name: base prefix and infix. */
  name: string;
  /** Absolute offset of the record (__le16 size, base index, infix). */
  offset: number;
}

const u16 = (img: Uint8Array, off: number) => img[off]! | (img[off + 1]! << 8);
const u32 = (img: Uint8Array, off: number) =>
  (img[off]! | (img[off + 1]! << 8) | (img[off + 2]! << 16) | (img[off + 3]! << 24)) >>> 0;

/** The long xattr prefixes, read where mkfs.erofs stores them plain (COMPAT_PLAIN_XATTR_PFX). */
export function longPrefixes(img: Uint8Array, layout: Layout = readLayout(img)): LongPrefix[] {
  if (layout.xattrPrefixCount === 0) return [];
  if (!(layout.featureCompat & COMPAT_PLAIN_XATTR_PFX)) {
    throw new BenchError(
      "the long xattr prefixes live in the packed inode (no PLAIN_XATTR_PFX): this reader knows plain ones only",
    );
  }
  const out: LongPrefix[] = [];
  let at = u32(img, SB_OFFSET + 92) * 4;
  for (let id = 0; id < layout.xattrPrefixCount; id++) {
    if (at + 3 > img.byteLength) throw new BenchError(`long xattr prefix ${id} lies beyond the image`);
    const size = u16(img, at);
    const baseIndex = img[at + 2]!;
    const infix = Buffer.from(img.subarray(at + 3, at + 2 + size)).toString("latin1");
    out.push({ id, baseIndex, name: (BASE_PREFIXES[baseIndex] ?? `(index ${baseIndex})`) + infix, offset: at });
    at += (2 + size + 3) & ~3;
  }
  return out;
}

interface FingerprintKey {
  layout: Layout;
  format: ImageFormat;
  /** The long prefix id of the fingerprint xattr. */
  prefixId: number;
  /** Its full name ("trusted.erofs.fingerprint"). */
  name: string;
}

/** The fingerprint xattr of an image as the kernel of `format` finds it; an image that names none is refused. */
export function fingerprintKey(img: Uint8Array, format: ImageFormat, layout: Layout = readLayout(img)): FingerprintKey {
  const prefixes = longPrefixes(img, layout);
  const byId = (id: number, how: string): FingerprintKey => {
    const p = prefixes[id];
    if (!p) throw new BenchError(`${how} names long prefix ${id}, and the image has ${prefixes.length}`);
    return { layout, format, prefixId: id, name: p.name };
  };
  switch (format) {
    case "xattr-inode-digest":
      if (!(layout.featureCompat & COMPAT_ISHARE_XATTRS))
        throw new BenchError("the image offers no fingerprints (no COMPAT_ISHARE_XATTRS)");
      return byId(layout.ishareByte, "ishare_xattr_prefix_id");
    case "ishare-key-long-prefix":
      if (!(layout.ishareByte & LONG_PREFIX_BIT))
        throw new BenchError(`ishare_key_start 0x${layout.ishareByte.toString(16)} lacks the long-prefix bit (0x80)`);
      return byId(layout.ishareByte & ~LONG_PREFIX_BIT, "ishare_key_start");
    case "ishare-key-packed-name": {
      const name = packedIshareKeyOf(img);
      if (name === null)
        throw new BenchError("the image has no fingerprint name in a packed inode (INCOMPAT_ISHARE_KEY)");
      const p = prefixes.find((x) => x.name === name);
      if (!p)
        throw new BenchError(
          `the packed inode names the fingerprint ${name}, and no long prefix has that name (${prefixes.map((x) => x.name).join(", ")})`,
        );
      return { layout, format, prefixId: p.id, name };
    }
  }
}

/**
 * The fingerprint xattr of a file: the inline entry under the key's long
 * prefix with no name of its own, as `mkfs.erofs --xattr-inode-digest`
 * writes it (the kernel would also take a shared xattr; mkfs writes none).
 */
export function fingerprintEntry(
  img: Uint8Array,
  path: string,
  key: FingerprintKey,
): { inode: Inode; entry: XattrEntry } {
  const inode = lookup(img, path, key.layout);
  const { entries, shared } = inlineXattrs(img, inode);
  const entry = entries.find((e) => e.nameIndex === (XATTR_LONG_PREFIX | key.prefixId) && e.nameLen === 0);
  if (!entry)
    throw new BenchError(
      `${path}: no inline fingerprint xattr (${key.name}, long prefix ${key.prefixId}; ${entries.length} inline, ${shared} shared xattrs)`,
    );
  return { inode, entry };
}
