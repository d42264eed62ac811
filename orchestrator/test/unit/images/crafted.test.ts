import { describe, expect, it } from "vitest";
import { craftedCases, keylessEdits } from "../../../src/images/crafted.js";
import { hex } from "../../../src/images/erofsLayout.js";
import { fingerprintEntry, fingerprintKey, type ImageFormat } from "../../../src/images/fingerprintKey.js";
import { applyEdits } from "../../../src/images/imageEdits.js";
import { parseSuperblock, superblockChecksum } from "../../../src/images/superblock.js";
import { tinyErofsIn } from "../../helpers/tinyErofs.js";

const bytes = (n: number, seed: number) =>
  Uint8Array.from({ length: n }, (_, i) => (i * 29 + seed * 13 + (i >> 7)) & 0xff);
const FORMATS: ImageFormat[] = ["xattr-inode-digest", "ishare-key-long-prefix", "ishare-key-packed-name"];
const PATH = "opt/app/app.bin";
const VICTIM = "esb-a";

/** The key v8 and v18 build: the value, then the domain (the length in front is their sum). */
const joinedKey = (value: Uint8Array, domain: Uint8Array) => hex(Uint8Array.from([...value, ...domain]));
/** Mainline's key: the domain, a NUL, the value. */
const mainlineKey = (value: Uint8Array, domain: Uint8Array) => hex(Uint8Array.from([...domain, 0, ...value]));

describe("craftedCases", async () => {
  const images = Object.fromEntries(
    await Promise.all(
      FORMATS.map(async (f) => {
        const a = await tinyErofsIn(f, [{ path: PATH, data: bytes(6000, 1) }], { inodesInFirstBlock: true });
        const b = await tinyErofsIn(f, [{ path: PATH, data: bytes(6000, 2) }], { inodesInFirstBlock: true });
        return [f, { a, b }];
      }),
    ),
  ) as Record<ImageFormat, { a: Uint8Array; b: Uint8Array }>;

  it.each(FORMATS)("%s: each split gives v8's joined key of the victim, never mainline's", (format) => {
    const { a, b } = images[format];
    const victimValue = fingerprintEntry(a, PATH, fingerprintKey(a, format)).entry.value;
    const victimDomain = Buffer.from(VICTIM, "latin1");
    const cases = craftedCases(b, a, PATH, format, VICTIM);
    const splits = cases.filter((c) => c.image === "own");
    // "sha256:" and 32 bytes: 39, padded to 40 in a 44-byte entry: one byte to grow, two to shrink
    expect(splits.map((c) => c.name).sort()).toEqual(["domain-takes-1", "domain-takes-2", "value-takes-1"]);
    for (const c of splits) {
      const img = applyEdits(b, c.edits);
      const value = fingerprintEntry(img, PATH, fingerprintKey(img, format)).entry.value;
      const domain = Buffer.from(c.domainHex, "hex");
      expect(joinedKey(value, domain)).toBe(joinedKey(victimValue, victimDomain));
      expect(mainlineKey(value, domain)).not.toBe(mainlineKey(victimValue, victimDomain));
      expect([...domain]).not.toContain(0);
      expect([...domain]).not.toContain(0x2c);
      // still a well-formed image: the checksum covers the edited entry
      const sb = parseSuperblock(img.subarray(0, 4096));
      expect(superblockChecksum(img.subarray(0, 4096))).toBe(sb.checksum);
    }
    const domains = cases.filter((c) => c.image === "forged").map((c) => Buffer.from(c.domainHex, "hex").toString());
    expect(domains).toEqual(["esb-", "sb-a", "esb-aesb-a"]);
  });

  it("refuses a file whose sizes differ, as the kernel would not share it", async () => {
    const format: ImageFormat = "xattr-inode-digest";
    const a = await tinyErofsIn(format, [{ path: PATH, data: bytes(6000, 1) }]);
    const b = await tinyErofsIn(format, [{ path: PATH, data: bytes(5000, 2) }]);
    expect(() => craftedCases(b, a, PATH, format, VICTIM)).toThrow(/would not share them/);
  });
});

describe("keylessEdits", () => {
  it.each(FORMATS)("%s: the image no longer names a fingerprint key, and stays well-formed", async (format) => {
    const img = await tinyErofsIn(format, [{ path: PATH, data: bytes(6000, 1) }], { inodesInFirstBlock: true });
    expect(() => fingerprintKey(img, format)).not.toThrow();
    const keyless = applyEdits(img, keylessEdits(img, format));
    expect(() => fingerprintKey(keyless, format)).toThrow();
    expect(superblockChecksum(keyless.subarray(0, 4096))).toBe(parseSuperblock(keyless.subarray(0, 4096)).checksum);
  });
});
