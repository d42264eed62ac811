import { BenchError } from "../util/errors.js";
import { readLayout } from "./erofsLayout.js";
import type { ImageFormat } from "./fingerprintKey.js";
import type { EditSet } from "./imageEdits.js";
import { INCOMPAT_ISHARE_KEY, packedKeyRecord } from "./packedKey.js";
import { COMPAT_ISHARE_XATTRS, LONG_PREFIX_BIT, SB_FIELD, SB_OFFSET } from "./superblock.js";

/**
 * Corruptions of where an image names its fingerprint xattr: each series
 * names it its own way (see fingerprintKey.ts), so the same corruption hits
 * each series' own field, and RFC v7's name record in the packed inode is a
 * place of its own.
 */

interface KeyCorruption {
  what: string;
  place?: "packed-inode";
  expect?: "no-harm";
}

const hex2 = (n: number) => `0x${n.toString(16).padStart(2, "0")}`;

/** The superblock's reference to the fingerprint key, each series' own. */
export function ishareKeyCorruption(
  image: Uint8Array,
  ed: EditSet,
  name: "sb-ishare-key-oob" | "sb-ishare-off",
  format: ImageFormat,
): KeyCorruption {
  const layout = readLayout(image);
  const sb = (o: number) => SB_OFFSET + o;
  const count = layout.xattrPrefixCount;
  switch (format) {
    case "xattr-inode-digest":
      if (name === "sb-ishare-key-oob") {
        ed.set(sb(SB_FIELD.ishareByte), [count]);
        return {
          what: `ishare_xattr_prefix_id ${layout.ishareByte} -> ${count} (one past the ${count} long prefixes)`,
        };
      }
      ed.u32(sb(SB_FIELD.featureCompat), layout.featureCompat & ~COMPAT_ISHARE_XATTRS);
      return { what: "clear feature_compat ISHARE_XATTRS (0x20): the image no longer offers fingerprints" };
    case "ishare-key-long-prefix":
      if (name === "sb-ishare-key-oob") {
        ed.set(sb(SB_FIELD.ishareByte), [LONG_PREFIX_BIT | count]);
        return {
          what: `ishare_key_start ${hex2(layout.ishareByte)} -> ${hex2(LONG_PREFIX_BIT | count)} (long prefix ${count}, one past the ${count} there are)`,
        };
      }
      ed.set(sb(SB_FIELD.ishareByte), [layout.ishareByte & ~LONG_PREFIX_BIT]);
      return {
        what: `ishare_key_start ${hex2(layout.ishareByte)} -> ${hex2(layout.ishareByte & ~LONG_PREFIX_BIT)}: without the long-prefix bit the image names no fingerprint`,
      };
    case "ishare-key-packed-name": {
      if (name === "sb-ishare-off") {
        ed.u32(sb(SB_FIELD.featureIncompat), layout.featureIncompat & ~INCOMPAT_ISHARE_KEY);
        return { what: "clear feature_incompat ISHARE_KEY (0x200): the image no longer names its fingerprint" };
      }
      const rec = packedKeyRecord(image);
      if (!rec) throw new BenchError("sb-ishare-key-oob: the image has no packed fingerprint name");
      const to = Math.ceil(rec.inodeSize / 4) + 1024;
      ed.u32(sb(SB_FIELD.ishareKeyStart), to);
      return {
        what: `ishare_key_start ${layout.ishareKeyStart} -> ${to}: the name is read ${to * 4 - rec.inodeSize} bytes past the end of the packed inode's ${rec.inodeSize}`,
      };
    }
  }
}

/** The RFC v7 name record in the packed inode. */
export function packedKeyCorruption(
  image: Uint8Array,
  ed: EditSet,
  name: "packed-key-len-huge" | "packed-key-other-name",
): KeyCorruption {
  const rec = packedKeyRecord(image);
  if (!rec) throw new BenchError(`${name}: the image has no packed fingerprint name`);
  if (name === "packed-key-len-huge") {
    ed.u16(rec.offset, 0xffff);
    return {
      what: `fingerprint name length ${rec.length} -> 65535: read past the packed inode's ${rec.inodeSize} bytes`,
      place: "packed-inode",
      expect: "no-harm",
    };
  }
  const last = rec.offset + 2 + rec.length - 1;
  const from = ed.byte(last);
  const to = from ^ 0x20;
  ed.set(last, [to]);
  const other = rec.name.slice(0, -1) + String.fromCharCode(to);
  return {
    what: `fingerprint name ${rec.name} -> ${other}: a name no file carries, so nothing is shared`,
    place: "packed-inode",
  };
}
