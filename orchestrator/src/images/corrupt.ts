import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { BenchError } from "../util/errors.js";
import { readLayout, SB_MORE } from "./erofsLayout.js";
import { fingerprintEntry, fingerprintKey, type ImageFormat } from "./fingerprintKey.js";
import { plainPath, type ManifestFile } from "./forged.js";
import { applyEdits, EditSet, sealEdits, writeEdited, type Edit } from "./imageEdits.js";
import { ishareKeyCorruption, packedKeyCorruption } from "./corruptKey.js";
import { SB_FIELD, SB_OFFSET } from "./superblock.js";

/**
 * The corrupted images of the correctness phase: a fixed, seeded set of
 * corruptions of one image at named places (superblock, a shared file's
 * inode, its fingerprint xattr, and for RFC v7 the packed inode holding
 * the fingerprint's name). Each is a pure function of the image's bytes,
 * its format and the seed, so the same inputs always give the same bytes.
 * Where the series read the fingerprint's key differently, the same name
 * hits each series' own field (corruptKey.ts).
 *
 * What the guest may accept from each (its `expect`):
 * - all-correct: the mount is refused, or every file reads its exact bytes
 *   (the corruption touches nothing a read depends on);
 * - others-correct: refused, or every file but the hit one reads right;
 * - no-harm: anything through the corrupted image, as long as nothing oopses
 *   and the clean image mounted beside it still reads right;
 * - trusted-lie: one of its files claims another of its own files'
 *   fingerprint (with another size): the copy may serve either's bytes for
 *   both, since a fingerprint is trusted within the copy's own domain (a
 *   finding, named); the clean image must still read right.
 */

type Expect = "all-correct" | "others-correct" | "no-harm" | "trusted-lie";

interface Corruption {
  name: string;
  place: "superblock" | "inode" | "xattr" | "packed-inode";
  /** What was changed, in words ("xor 0x5a into meta_blkaddr byte 2"). */
  what: string;
  expect: Expect;
  /** The file whose inode or xattr was hit, or null for superblock corruptions. */
  hitPath: string | null;
  edits: Edit[];
  /**
   * The superblock checksum: recomputed because an edit fell in the block it
   * covers (the superblock, or inodes mkfs put in the first block),
   * deliberately left stale, or untouched because no edit fell there.
   */
  checksum: "recomputed" | "stale" | "untouched";
}

interface CorruptOptions {
  seed: string;
  /** A file identical in both images: the one whose inode and xattr get hit. */
  hitPath: string;
  /** Another file identical in both, of a different size: its fingerprint is copied onto the hit file. */
  donorPath: string;
}

/** Superblock fields a random corruption may hit (offset from SB_OFFSET, width), checksum recomputed. */
const RANDOM_SB_FIELDS: Array<[string, number, number]> = [
  ["sb_extslots", SB_MORE.sbExtslots, 1],
  ["root_nid", SB_MORE.rootNid2b, 2],
  ["inos", SB_MORE.inos, 8],
  ["blocks_lo", SB_FIELD.blocksLo, 4],
  ["meta_blkaddr", SB_FIELD.metaBlkaddr, 4],
  ["xattr_blkaddr", SB_MORE.xattrBlkaddr, 4],
  ["feature_incompat", SB_FIELD.featureIncompat, 4],
  ["extra_devices", SB_MORE.extraDevices, 2],
  ["devt_slotoff", SB_MORE.devtSlotoff, 2],
  ["dirblkbits", SB_MORE.dirblkbits, 1],
  ["xattr_prefix_count", SB_FIELD.xattrPrefixCount, 1],
  ["xattr_prefix_start", SB_MORE.xattrPrefixStart, 4],
  ["packed_nid", SB_FIELD.packedNid, 8],
];

const COMMON = [
  "sb-checksum",
  "sb-ishare-key-oob",
  "sb-ishare-off",
  "sb-prefix-start",
  "sb-random-1",
  "sb-random-2",
  "sb-random-3",
  "inode-size",
  "inode-layout",
  "inode-xattr-count",
  "fp-missing",
  "fp-prefix-oob",
  "fp-len-zero",
  "fp-len-short",
  "fp-len-long",
  "fp-len-huge",
  "fp-value-flip",
  "fp-value-other",
] as const;
/** RFC v7 reads the fingerprint's name from a record in the packed inode: that record is a place of its own. */
const PACKED_KEY = ["packed-key-len-huge", "packed-key-other-name"] as const;
const CORRUPTION_NAMES = [...COMMON, ...PACKED_KEY] as const;
export type CorruptionName = (typeof CORRUPTION_NAMES)[number];

/** The corruptions made for an image of `format`, in order. */
export function corruptionNames(format: ImageFormat): CorruptionName[] {
  return format === "ishare-key-packed-name" ? [...COMMON, ...PACKED_KEY] : [...COMMON];
}

/** Deterministic numbers from (seed, name): sha256 blocks read as uint32s. */
export function seededNumbers(seed: string, name: string): () => number {
  let block = 0;
  let buf = Buffer.alloc(0);
  let at = 0;
  return () => {
    if (at + 4 > buf.length) {
      buf = createHash("sha256").update(`${seed}\0${name}\0${block++}`).digest();
      at = 0;
    }
    const v = buf.readUInt32LE(at);
    at += 4;
    return v;
  };
}

const hex2 = (n: number) => `0x${n.toString(16).padStart(2, "0")}`;

type Made = Pick<Corruption, "what"> & Partial<Pick<Corruption, "place" | "expect" | "hitPath">> & { stale?: boolean };

/** One named corruption of `image` as edits (the image itself is not changed). */
function corruptionEdits(
  image: Uint8Array,
  name: CorruptionName,
  opts: CorruptOptions,
  format: ImageFormat,
): Corruption {
  if (!corruptionNames(format).includes(name))
    throw new BenchError(`corruption ${name} does not apply to ${format} images`);
  const layout = readLayout(image);
  const ed = new EditSet(image);
  const rnd = seededNumbers(opts.seed, name);
  const sb = (o: number) => SB_OFFSET + o;
  const hit = () => fingerprintEntry(image, opts.hitPath, fingerprintKey(image, format, layout));
  const onHit = (place: "inode" | "xattr", expect: Expect = "all-correct") => ({
    place,
    expect,
    hitPath: opts.hitPath,
  });
  let made: Made;
  switch (name) {
    case "sb-checksum": {
      // one bit of the uuid or volume name: only the checksum can tell
      const off = SB_MORE.uuid + (rnd() % 32);
      const bit = rnd() % 8;
      ed.set(sb(off), [ed.byte(sb(off)) ^ (1 << bit)]);
      made = { what: `flip bit ${bit} of superblock byte ${off} (uuid/volume name), checksum left stale`, stale: true };
      break;
    }
    case "sb-ishare-key-oob":
    case "sb-ishare-off":
      made = ishareKeyCorruption(image, ed, name, format);
      break;
    case "sb-prefix-start": {
      const cur = new DataView(image.buffer, image.byteOffset).getUint32(sb(SB_MORE.xattrPrefixStart), true);
      const delta = 1 + (rnd() % 16);
      ed.u32(sb(SB_MORE.xattrPrefixStart), cur + delta);
      made = {
        what: `xattr_prefix_start ${cur} -> ${cur + delta}: the long prefixes (the fingerprint's name) are read from the wrong place`,
      };
      break;
    }
    case "sb-random-1":
    case "sb-random-2":
    case "sb-random-3": {
      const fields =
        format === "ishare-key-packed-name"
          ? [...RANDOM_SB_FIELDS, ["ishare_key_start", SB_FIELD.ishareKeyStart, 4] as [string, number, number]]
          : RANDOM_SB_FIELDS;
      const [field, off, width] = fields[rnd() % fields.length]!;
      const byte = rnd() % width;
      const x = 1 + (rnd() % 255);
      ed.set(sb(off + byte), [ed.byte(sb(off + byte)) ^ x]);
      made = { what: `xor ${hex2(x)} into ${field} byte ${byte}`, expect: "no-harm" };
      break;
    }
    case "inode-size": {
      const { inode } = hit();
      const size = Number(inode.size);
      const next = Math.floor(size / 2) + 1;
      ed.u32(inode.offset + 8, next);
      if (inode.inodeSize === 64) ed.u32(inode.offset + 12, 0);
      made = {
        what: `i_size ${size} -> ${next} (the fingerprint stays: same fingerprint, different size)`,
        ...onHit("inode", "others-correct"),
      };
      break;
    }
    case "inode-layout": {
      const { inode } = hit();
      const to = [1, 3, 4][rnd() % 3]!;
      ed.u16(inode.offset, (inode.format & ~(7 << 1)) | (to << 1));
      made = {
        what: `data layout ${inode.datalayout} -> ${to} (${to === 4 ? "chunk-based" : "compressed"}), fingerprint kept`,
        ...onHit("inode", "others-correct"),
      };
      break;
    }
    case "inode-xattr-count": {
      const { inode } = hit();
      const to = inode.xattrIcount + 1 + (rnd() % (0xffff - inode.xattrIcount));
      ed.u16(inode.offset + 2, to);
      made = {
        what: `i_xattr_icount ${inode.xattrIcount} -> ${to}: the inline xattr area claims ${12 + 4 * (to - 1)} bytes`,
        ...onHit("inode", "others-correct"),
      };
      break;
    }
    case "fp-missing": {
      const { entry } = hit();
      ed.set(entry.offset + 1, [1]);
      made = {
        what: `fingerprint entry's name index ${hex2(entry.nameIndex)} -> 0x01 (user.): the file has no fingerprint`,
        ...onHit("xattr"),
      };
      break;
    }
    case "fp-prefix-oob": {
      const { entry } = hit();
      ed.set(entry.offset + 1, [0xff]);
      made = {
        what: `fingerprint entry's name index ${hex2(entry.nameIndex)} -> 0xff (long prefix 127, which does not exist)`,
        ...onHit("xattr"),
      };
      break;
    }
    case "fp-len-zero":
    case "fp-len-short":
    case "fp-len-long":
    case "fp-len-huge": {
      const { entry, inode } = hit();
      const areaEnd = inode.offset + inode.inodeSize + inode.xattrSize;
      const past = areaEnd - entry.valueOffset; // the longest value that still fits
      const to =
        name === "fp-len-zero"
          ? 0
          : name === "fp-len-short"
            ? Math.max(1, entry.valueSize >> 1)
            : name === "fp-len-long"
              ? past + 1 + (rnd() % Math.max(1, layout.blockSize - past))
              : 0xffff;
      ed.u16(entry.offset + 2, to);
      made = {
        what: `fingerprint value size ${entry.valueSize} -> ${to}${to > past ? ` (runs ${to - past} bytes past the inline xattr area)` : ""}`,
        ...onHit("xattr"),
      };
      break;
    }
    case "fp-value-flip": {
      const { entry } = hit();
      const i = rnd() % entry.valueSize;
      const x = 1 + (rnd() % 255);
      ed.set(entry.valueOffset + i, [ed.byte(entry.valueOffset + i) ^ x]);
      made = { what: `xor ${hex2(x)} into fingerprint byte ${i}: a fingerprint nobody else has`, ...onHit("xattr") };
      break;
    }
    case "fp-value-other": {
      const { entry, inode } = hit();
      const donor = fingerprintEntry(image, opts.donorPath, fingerprintKey(image, format, layout));
      if (donor.inode.size === inode.size)
        throw new BenchError(`fp-value-other: ${opts.donorPath} has the hit file's size; pick a donor of another size`);
      if (donor.entry.valueSize !== entry.valueSize)
        throw new BenchError(`fp-value-other: fingerprints of ${opts.donorPath} and ${opts.hitPath} differ in length`);
      ed.set(entry.valueOffset, Array.from(donor.entry.value));
      made = {
        what: `fingerprint := that of ${opts.donorPath} (${donor.inode.size} bytes, not ${inode.size}): same fingerprint, different size`,
        ...onHit("xattr", "trusted-lie"),
      };
      break;
    }
    case "packed-key-len-huge":
    case "packed-key-other-name":
      made = packedKeyCorruption(image, ed, name);
      break;
  }
  const checksum = sealEdits(image, ed, { stale: made.stale });
  return {
    name,
    place: made.place ?? "superblock",
    what: made.what,
    expect: made.expect ?? "all-correct",
    hitPath: made.hitPath ?? null,
    edits: ed.edits,
    checksum,
  };
}

/** One named corruption of a copy of `image`. */
export function corrupt(
  image: Uint8Array,
  name: CorruptionName,
  opts: CorruptOptions,
  format: ImageFormat = "xattr-inode-digest",
): { image: Uint8Array; corruption: Corruption } {
  const corruption = corruptionEdits(image, name, opts, format);
  return { image: applyEdits(image, corruption.edits), corruption };
}

/** The whole fixed set for the format, in corruptionNames order. */
export function corruptionSet(
  image: Uint8Array,
  opts: CorruptOptions,
  format: ImageFormat = "xattr-inode-digest",
): Array<{ image: Uint8Array; corruption: Corruption }> {
  return corruptionNames(format).map((n) => corrupt(image, n, opts, format));
}

/**
 * The hit file (the largest file identical in A and B) and the donor (the
 * largest other identical file of another size), with names the case list can carry.
 */
export function pickCorruptionPaths(
  a: ManifestFile[],
  b: ManifestFile[],
): { hitPath: string; donorPath: string } | null {
  const inB = new Map(b.map((f) => [f.path, f.sha256]));
  const shared = a
    .filter((f) => f.size > 0 && plainPath(f.path) && inB.get(f.path) === f.sha256)
    .sort((x, y) => y.size - x.size || x.path.localeCompare(y.path));
  const hit = shared[0];
  const donor = shared.find((f) => hit && f.size !== hit.size);
  return hit && donor ? { hitPath: hit.path, donorPath: donor.path } : null;
}

/** Writes every corruption of `image` for its format as `<dir>/<name>.erofs`; returns what was written. */
export async function writeCorruptImages(
  image: string,
  dir: string,
  opts: CorruptOptions,
  format: ImageFormat,
): Promise<Array<{ file: string; corruption: Corruption }>> {
  const bytes = new Uint8Array(await readFile(image));
  const out: Array<{ file: string; corruption: Corruption }> = [];
  for (const name of corruptionNames(format)) {
    const corruption = corruptionEdits(bytes, name, opts, format);
    const file = path.join(dir, `${name}.erofs`);
    await writeEdited(image, file, corruption.edits);
    out.push({ file, corruption });
  }
  return out;
}
