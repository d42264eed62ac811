import { mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  COMPAT_PLAIN_XATTR_PFX,
  INCOMPAT_FRAGMENTS,
  INCOMPAT_ISHARE_KEY,
  appendPackedIshareKey,
  keyRecord,
  readPackedIshareKey,
} from "../../../src/images/packedKey.js";
import {
  COMPAT_SB_CHKSUM,
  EROFS_MAGIC,
  SB_OFFSET,
  readSuperblock,
  superblockChecksum,
} from "../../../src/images/superblock.js";

const BLOCK = 4096;
const XATTR_PREFIXES = 0x40;

/** The superblock block of a 3-block image as mkfs.erofs lays it out (only the fields the fix-up reads). */
async function fakeImage(
  over: {
    compat?: number;
    incompat?: number;
    prefixes?: number;
    packedNid?: bigint;
    blocks?: number;
    size?: number;
  } = {},
): Promise<string> {
  const blocks = over.blocks ?? 3;
  const img = new Uint8Array(over.size ?? blocks * BLOCK);
  const dv = new DataView(img.buffer, SB_OFFSET);
  dv.setUint32(0, EROFS_MAGIC, true);
  dv.setUint32(8, over.compat ?? COMPAT_SB_CHKSUM | COMPAT_PLAIN_XATTR_PFX, true);
  dv.setUint8(12, 12);
  dv.setUint32(36, blocks, true);
  dv.setUint32(80, over.incompat ?? XATTR_PREFIXES, true);
  dv.setUint8(91, over.prefixes ?? 1);
  dv.setBigUint64(96, over.packedNid ?? 0n, true);
  img.fill(0xa5, BLOCK, 2 * BLOCK); // stand-in for metadata that must survive
  dv.setUint32(4, superblockChecksum(img.subarray(0, BLOCK)), true);
  const dir = await mkdtemp(path.join(os.tmpdir(), "esb-pk-"));
  const file = path.join(dir, "image.erofs");
  await writeFile(file, img);
  return file;
}

describe("RFC v7 packed-inode key", () => {
  it("encodes the key as erofs_read_metadata reads it: __le16 length, then the name", () => {
    const rec = keyRecord("trusted.erofs.fingerprint");
    expect(rec.length).toBe(27);
    expect(rec[0]).toBe(25);
    expect(rec[1]).toBe(0);
    expect(new TextDecoder().decode(rec.subarray(2))).toBe("trusted.erofs.fingerprint");
  });

  it("appends a packed inode holding the key, sets the feature bits and keeps the checksum valid", async () => {
    const image = await fakeImage();
    const before = await readFile(image);
    const fix = await appendPackedIshareKey(image, "trusted.erofs.fingerprint");
    expect(fix.packedNid).toBe((3 * BLOCK) / 32);
    expect(fix.incompatBefore).toBe(XATTR_PREFIXES);
    expect(fix.incompatAfter).toBe(XATTR_PREFIXES | INCOMPAT_FRAGMENTS | INCOMPAT_ISHARE_KEY);
    expect([fix.blocksBefore, fix.blocksAfter]).toEqual([3, 5]);
    expect((await stat(image)).size).toBe(5 * BLOCK);

    const after = await readFile(image);
    const sb = new DataView(after.buffer, after.byteOffset + SB_OFFSET);
    expect(sb.getUint32(36, true)).toBe(5);
    expect(sb.getBigUint64(96, true)).toBe(BigInt(fix.packedNid));
    expect(sb.getUint32(120, true)).toBe(0);
    expect((await readSuperblock(image)).checksumOk).toBe(true);
    // everything mkfs wrote outside the superblock is untouched
    expect(Buffer.compare(after.subarray(BLOCK, 3 * BLOCK), before.subarray(BLOCK, 3 * BLOCK))).toBe(0);

    // the inode: compact, FLAT_PLAIN, regular file, size of the record, data in the next block
    const inode = new DataView(after.buffer, after.byteOffset + 3 * BLOCK, 32);
    expect(inode.getUint16(0, true)).toBe(0);
    expect(inode.getUint16(4, true) & 0o170000).toBe(0o100000);
    expect(inode.getUint16(6, true)).toBe(1);
    expect(inode.getUint32(8, true)).toBe(27);
    expect(inode.getUint32(16, true)).toBe(4);
    expect(await readPackedIshareKey(image)).toBe("trusted.erofs.fingerprint");
  });

  it("reads no key from an image that has none", async () => {
    expect(await readPackedIshareKey(await fakeImage())).toBeNull();
  });

  it("refuses images it would corrupt, naming why", async () => {
    await expect(
      appendPackedIshareKey(
        await fakeImage({ packedNid: 42n, incompat: XATTR_PREFIXES | INCOMPAT_FRAGMENTS }),
        "trusted.x",
      ),
    ).rejects.toThrow(/already has a packed inode \(nid 42\)/);
    await expect(appendPackedIshareKey(await fakeImage({ compat: COMPAT_SB_CHKSUM }), "trusted.x")).rejects.toThrow(
      /long xattr prefixes are not stored plain/,
    );
    await expect(appendPackedIshareKey(await fakeImage({ incompat: 0x80 }), "trusted.x")).rejects.toThrow(
      /48-bit layout/,
    );
    await expect(appendPackedIshareKey(await fakeImage({ size: 3 * BLOCK + 512 }), "trusted.x")).rejects.toThrow(
      /is not blocks_lo \(3\) x 4096/,
    );
  });

  it("accepts an image without long prefixes even when they are not marked plain", async () => {
    const fix = await appendPackedIshareKey(await fakeImage({ compat: COMPAT_SB_CHKSUM, prefixes: 0 }), "user.fp");
    expect(fix.checksumRewritten).toBe(true);
  });
});
