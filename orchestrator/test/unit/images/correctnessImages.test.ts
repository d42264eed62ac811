import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  corrupt,
  corruptionNames,
  corruptionSet,
  pickCorruptionPaths,
  seededNumbers,
  writeCorruptImages,
  type CorruptionName,
} from "../../../src/images/corrupt.js";
import { hex, inlineXattrs, lookup, readDir, readInode, readLayout } from "../../../src/images/erofsLayout.js";
import {
  fingerprintEntry,
  fingerprintKey,
  longPrefixes,
  type ImageFormat,
} from "../../../src/images/fingerprintKey.js";
import { forgeFingerprint, pickForgeryPath, writeForgedImage } from "../../../src/images/forged.js";
import { packedIshareKeyOf } from "../../../src/images/packedKey.js";
import { SB_OFFSET, parseSuperblock, superblockChecksum } from "../../../src/images/superblock.js";
import { fingerprintOf, tinyErofs, tinyErofsIn } from "../../helpers/tinyErofs.js";

const bytes = (n: number, seed: number) =>
  Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 17 + (i >> 8)) & 0xff);

const shared0 = bytes(9000, 1);
const shared1 = bytes(5000, 2);
const appA = bytes(6000, 3);
const appB = bytes(6000, 4);
const A = tinyErofs([
  { path: "usr/lib/shared-0.bin", data: shared0 },
  { path: "usr/lib/shared-1.bin", data: shared1 },
  { path: "opt/app/app.bin", data: appA, before: { index: 1, name: "mime", value: new TextEncoder().encode("x/bin") } },
]);
const B = tinyErofs([
  { path: "usr/lib/shared-0.bin", data: shared0 },
  { path: "usr/lib/shared-1.bin", data: shared1 },
  { path: "opt/app/app.bin", data: appB },
]);
const filesA = [
  { path: "usr/lib/shared-0.bin", data: shared0 },
  { path: "usr/lib/shared-1.bin", data: shared1 },
  { path: "opt/app/app.bin", data: appA },
];
// mkfs.erofs's layout: inodes in the first block, under the superblock checksum
const A0 = tinyErofs(filesA, { inodesInFirstBlock: true });
const B0 = tinyErofs([filesA[0]!, filesA[1]!, { path: "opt/app/app.bin", data: appB }], { inodesInFirstBlock: true });
const MAINLINE: ImageFormat = "xattr-inode-digest";
const FORMATS: ImageFormat[] = ["xattr-inode-digest", "ishare-key-long-prefix", "ishare-key-packed-name"];
const fp = (img: Uint8Array, p: string, format: ImageFormat = MAINLINE) =>
  fingerprintEntry(img, p, fingerprintKey(img, format));
const OPTS = { seed: "esb-corrupt-1", hitPath: "usr/lib/shared-0.bin", donorPath: "usr/lib/shared-1.bin" };

function checksumOk(img: Uint8Array): boolean {
  return superblockChecksum(img.subarray(0, 4096)) === parseSuperblock(img.subarray(0, 4096)).checksum;
}
function diffOffsets(a: Uint8Array, b: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) out.push(i);
  return out;
}

describe("erofs layout", () => {
  it("finds files by path and their fingerprint xattr", () => {
    const layout = readLayout(A);
    expect([...readDir(A, layout, readInode(A, layout, layout.rootNid)).keys()].sort()).toEqual([
      ".",
      "..",
      "opt",
      "usr",
    ]);
    const ino = lookup(A, "usr/lib/shared-1.bin");
    expect(ino.size).toBe(5000n);
    const { entry } = fp(A, "opt/app/app.bin");
    expect(hex(entry.value)).toBe(hex(fingerprintOf(appA)));
    expect(inlineXattrs(A, ino).entries).toHaveLength(1);
    // an unaligned entry before the fingerprint: 4 + 4 + 5 bytes, padded to 16
    const app = inlineXattrs(A, lookup(A, "opt/app/app.bin")).entries;
    expect(app.map((e) => [e.nameIndex, e.nameLen, e.valueSize])).toEqual([
      [1, 4, 5],
      [0x80, 0, 39],
    ]);
    expect(lookup(A, "usr/lib/shared-1.bin").xattrIcount).toBe(12); // as mkfs.erofs 1.9.4 writes it
    expect(app[1]!.offset - app[0]!.offset).toBe(16);
    expect(() => lookup(A, "usr/lib/missing.bin")).toThrow(/no entry missing.bin/);
    expect(longPrefixes(A).map((p) => p.name)).toEqual(["trusted.erofs.fingerprint"]);
  });

  it("finds the fingerprint xattr the way each series' kernel does", async () => {
    const v8 = await tinyErofsIn("ishare-key-long-prefix", filesA);
    const v7 = await tinyErofsIn("ishare-key-packed-name", filesA);
    for (const [img, format] of [
      [A, MAINLINE],
      [v8, "ishare-key-long-prefix"],
      [v7, "ishare-key-packed-name"],
    ] as const) {
      const key = fingerprintKey(img, format);
      expect(key).toMatchObject({ prefixId: 0, name: "trusted.erofs.fingerprint" });
      expect(hex(fingerprintEntry(img, "opt/app/app.bin", key).entry.value)).toBe(hex(fingerprintOf(appA)));
    }
    // each format is read its own way: a v8 image read the mainline way names long prefix 0x80
    expect(() => fingerprintKey(v8, MAINLINE)).toThrow(/names long prefix 128/);
    expect(() => fingerprintKey(A, "ishare-key-long-prefix")).toThrow(/lacks the long-prefix bit/);
    expect(() => fingerprintKey(A, "ishare-key-packed-name")).toThrow(/no fingerprint name in a packed inode/);
  });
});

describe("forged fingerprints", () => {
  it("picks a path of the same size with different content", () => {
    const m = (img: string) => [
      { path: "usr/lib/shared-0.bin", size: 9000, sha256: "s0" },
      { path: "opt/app/app.bin", size: 6000, sha256: `app-${img}` },
      { path: "opt/app/grown.bin", size: img === "a" ? 10 : 20, sha256: `g-${img}` },
    ];
    expect(pickForgeryPath(m("a"), m("b"))).toBe("opt/app/app.bin");
    expect(pickForgeryPath(m("a"), m("a"))).toBeNull();
  });

  it("gives B's file A's fingerprint and changes nothing else", () => {
    const f = forgeFingerprint(B, "opt/app/app.bin", A, MAINLINE);
    expect(f.before).toBe(hex(fingerprintOf(appB)));
    expect(f.after).toBe(hex(fingerprintOf(appA)));
    expect(hex(fp(f.image, "opt/app/app.bin").entry.value)).toBe(hex(fingerprintOf(appA)));
    const changed = diffOffsets(B, f.image);
    expect(changed.length).toBeGreaterThan(0);
    expect(Math.min(...changed)).toBeGreaterThanOrEqual(f.offset);
    expect(Math.max(...changed)).toBeLessThan(f.offset + 39);
    expect(checksumOk(f.image)).toBe(true);
    // the content stays B's
    expect(
      Buffer.from(
        f.image.subarray(
          Number(lookup(f.image, "opt/app/app.bin").startBlk) * 4096,
          Number(lookup(f.image, "opt/app/app.bin").startBlk) * 4096 + 6000,
        ),
      ).equals(Buffer.from(appB)),
    ).toBe(true);
  });

  it("recomputes the superblock checksum when the fingerprint lies in the first block", () => {
    expect(lookup(B0, "opt/app/app.bin").offset).toBeLessThan(4096);
    expect(checksumOk(B0)).toBe(true);
    const f = forgeFingerprint(B0, "opt/app/app.bin", A0, MAINLINE);
    expect(f.checksumRewritten).toBe(true);
    expect(checksumOk(f.image)).toBe(true);
    expect(hex(fp(f.image, "opt/app/app.bin").entry.value)).toBe(hex(fingerprintOf(appA)));
    expect(forgeFingerprint(B, "opt/app/app.bin", A, MAINLINE).checksumRewritten).toBe(false);
  });

  it("refuses a donor of another size (the kernel would not share it)", () => {
    expect(() => forgeFingerprint(B, "usr/lib/shared-0.bin", A, MAINLINE, "usr/lib/shared-1.bin")).toThrow(
      /would not share/,
    );
    expect(() => forgeFingerprint(B, "usr/lib/shared-0.bin", A, MAINLINE)).toThrow(
      /already has the donor's fingerprint/,
    );
  });

  it("forges images of every series' format, and writes them as a copy with the edits", async () => {
    const filesB = [filesA[0]!, filesA[1]!, { path: "opt/app/app.bin", data: appB }];
    const dir = await mkdtemp(path.join(os.tmpdir(), "esb-forged-"));
    for (const format of FORMATS) {
      const [a, b] = [await tinyErofsIn(format, filesA), await tinyErofsIn(format, filesB)];
      const f = forgeFingerprint(b, "opt/app/app.bin", a, format);
      expect(hex(fp(f.image, "opt/app/app.bin", format).entry.value)).toBe(hex(fingerprintOf(appA)));
      expect(checksumOk(f.image)).toBe(true);
      await writeFile(path.join(dir, "a"), a);
      await writeFile(path.join(dir, "b"), b);
      const written = await writeForgedImage(
        path.join(dir, "b"),
        path.join(dir, "a"),
        "opt/app/app.bin",
        path.join(dir, "forged"),
        format,
      );
      expect(written.xattrName).toBe("trusted.erofs.fingerprint");
      expect(Buffer.from(await readFile(path.join(dir, "forged"))).equals(Buffer.from(f.image))).toBe(true);
    }
  });

  it("picks only names the guest's case list can carry", () => {
    const m = (p: string, sha: string) => [{ path: p, size: 10, sha256: sha }];
    expect(pickForgeryPath(m("with space", "a"), m("with space", "b"))).toBeNull();
    expect(pickForgeryPath(m("caf\u00e9", "a"), m("caf\u00e9", "b"))).toBeNull();
  });
});

describe("corrupted images", () => {
  it("is reproducible from the seed, and another seed gives other bytes", () => {
    const again = corruptionSet(A, OPTS);
    for (const [i, c] of corruptionSet(A, OPTS).entries())
      expect(Buffer.from(c.image).equals(Buffer.from(again[i]!.image))).toBe(true);
    const other = corrupt(A, "sb-random-1", { ...OPTS, seed: "another" });
    const first = corrupt(A, "sb-random-1", OPTS);
    const n1 = seededNumbers("s", "x");
    const n2 = seededNumbers("s", "x");
    expect([n1(), n1(), n1()]).toEqual([n2(), n2(), n2()]);
    expect(
      Buffer.from(other.image).equals(Buffer.from(first.image)) && other.corruption.what === first.corruption.what,
    ).toBe(false);
  });

  it("leaves the original untouched and records every edit", () => {
    const copy = Uint8Array.from(A);
    for (const { image, corruption } of corruptionSet(A, OPTS)) {
      const changed = diffOffsets(A, image).filter((o) => o < SB_OFFSET + 4 || o >= SB_OFFSET + 8);
      const edited = new Set(corruption.edits.flatMap((e) => e.after.map((_, i) => e.offset + i)));
      for (const o of changed)
        expect(edited.has(o), `${corruption.name}: byte ${o} changed without an edit`).toBe(true);
      expect(changed.length, corruption.name).toBeGreaterThan(0);
    }
    expect(Buffer.from(A).equals(Buffer.from(copy))).toBe(true);
  });

  it("keeps the superblock checksum valid except where the checksum is the target", () => {
    for (const img of [A, A0]) {
      for (const { image, corruption } of corruptionSet(img, OPTS)) {
        if (corruption.name === "sb-checksum") {
          expect(corruption.checksum).toBe("stale");
          expect(checksumOk(image)).toBe(false);
        } else {
          expect(checksumOk(image), corruption.name).toBe(true);
          // inode and xattr edits only need it when mkfs put the inode in the first block
          expect(corruption.checksum, corruption.name).toBe(
            corruption.place === "superblock" || img === A0 ? "recomputed" : "untouched",
          );
        }
      }
    }
  });

  it("hits the named places", () => {
    const sb = (n: CorruptionName) => parseSuperblock(corrupt(A, n, OPTS).image.subarray(0, 4096));
    expect(sb("sb-ishare-key-oob").ishareByte).toBe(1);
    expect(sb("sb-ishare-off").featureCompat & 0x20).toBe(0);
    const fp = (n: CorruptionName) => {
      const img = corrupt(A, n, OPTS).image;
      const ino = lookup(img, OPTS.hitPath);
      const x = ino.offset + 32 + 12;
      return {
        nameIndex: img[x + 1],
        valueSize: img[x + 2]! | (img[x + 3]! << 8),
        value: img.subarray(x + 4, x + 43),
        ino,
      };
    };
    expect(fp("fp-missing").nameIndex).toBe(1);
    expect(fp("fp-prefix-oob").nameIndex).toBe(0xff);
    expect(fp("fp-len-zero").valueSize).toBe(0);
    expect(fp("fp-len-short").valueSize).toBe(19);
    expect(fp("fp-len-long").valueSize).toBeGreaterThan(40);
    expect(fp("fp-len-long").valueSize).toBeLessThanOrEqual(4096);
    expect(fp("fp-len-huge").valueSize).toBe(0xffff);
    expect(hex(fp("fp-value-other").value)).toBe(hex(fingerprintOf(shared1)));
    expect(hex(fp("fp-value-flip").value)).not.toBe(hex(fingerprintOf(shared0)));
    expect(fp("inode-size").ino.size).toBe(4501n);
    expect([1, 3, 4]).toContain(fp("inode-layout").ino.datalayout);
    expect(fp("inode-xattr-count").ino.xattrIcount).toBeGreaterThan(10);
    // only the hit file's metadata changes
    expect(lookup(corrupt(A, "inode-size", OPTS).image, "usr/lib/shared-1.bin").size).toBe(5000n);
  });

  it("hits each series' own fingerprint key, and RFC v7's packed name record", async () => {
    expect(corruptionNames(MAINLINE)).not.toContain("packed-key-len-huge");
    const v8 = await tinyErofsIn("ishare-key-long-prefix", filesA);
    const sb8 = (n: CorruptionName) =>
      parseSuperblock(corrupt(v8, n, OPTS, "ishare-key-long-prefix").image.subarray(0, 4096));
    expect(sb8("sb-ishare-key-oob").ishareByte).toBe(0x81);
    expect(sb8("sb-ishare-off").ishareByte).toBe(0);
    expect(sb8("sb-ishare-off").featureCompat).toBe(parseSuperblock(v8.subarray(0, 4096)).featureCompat);
    const v7 = await tinyErofsIn("ishare-key-packed-name", filesA);
    const c7 = (n: CorruptionName) => corrupt(v7, n, OPTS, "ishare-key-packed-name");
    expect(corruptionNames("ishare-key-packed-name")).toEqual(
      expect.arrayContaining(["packed-key-len-huge", "packed-key-other-name"]),
    );
    expect(parseSuperblock(c7("sb-ishare-off").image.subarray(0, 4096)).featureIncompat & 0x200).toBe(0);
    expect(parseSuperblock(c7("sb-ishare-key-oob").image.subarray(0, 4096)).ishareKeyStart).toBeGreaterThan(1000);
    expect(packedIshareKeyOf(c7("packed-key-other-name").image)).toBe("trusted.erofs.fingerprinT");
    expect(c7("packed-key-len-huge").corruption).toMatchObject({
      place: "packed-inode",
      expect: "no-harm",
      checksum: "untouched",
    });
    for (const format of FORMATS) {
      const img = await tinyErofsIn(format, filesA, { inodesInFirstBlock: true });
      for (const { image, corruption } of corruptionSet(img, OPTS, format)) {
        expect(checksumOk(image), `${format} ${corruption.name}`).toBe(corruption.name !== "sb-checksum");
      }
    }
  });

  it("writes each corrupted image as a copy of the original with its edits", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "esb-corrupt-"));
    await writeFile(path.join(dir, "a.erofs"), A0);
    const made = await writeCorruptImages(path.join(dir, "a.erofs"), dir, OPTS, MAINLINE);
    expect(made.map((m) => m.corruption.name)).toEqual(corruptionNames(MAINLINE));
    for (const m of made)
      expect(
        Buffer.from(await readFile(m.file)).equals(
          Buffer.from(corrupt(A0, m.corruption.name as CorruptionName, OPTS).image),
        ),
        m.corruption.name,
      ).toBe(true);
  });

  it("picks the largest shared file and a donor of another size", () => {
    const m = (app: string) => [
      { path: "a", size: 100, sha256: "1" },
      { path: "b", size: 300, sha256: "2" },
      { path: "c", size: 300, sha256: "3" },
      { path: "app", size: 999, sha256: app },
    ];
    expect(pickCorruptionPaths(m("x"), m("y"))).toEqual({ hitPath: "b", donorPath: "a" });
    expect(
      pickCorruptionPaths([{ path: "a", size: 1, sha256: "1" }], [{ path: "a", size: 1, sha256: "1" }]),
    ).toBeNull();
  });
});
