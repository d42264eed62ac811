import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { gapEvidence } from "../../../src/analysis/gap.js";
import { inlineXattrs, lookup } from "../../../src/images/erofsLayout.js";
import { imageFileLayouts } from "../../../src/images/fileLayout.js";
import { pathKey, type Manifest } from "../../../src/images/manifest.js";
import { tempDir } from "../../helpers/gitSeries.js";
import { tinyErofs } from "../../helpers/tinyErofs.js";

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + seed * 7) & 0xff);
const FILES = ["lib/plain.so", "lib/inline.so", "lib/nofp.so"].map((p, i) => ({ path: p, data: bytes(9000, i) }));

/** B as mkfs.erofs could write it: lib/inline.so's tail in its inode (FLAT_INLINE), lib/nofp.so without a fingerprint. */
async function imageB(): Promise<string> {
  const img = tinyErofs(FILES);
  const inline = lookup(img, "lib/inline.so");
  img[inline.offset] = (img[inline.offset]! & ~0x0e) | (2 << 1); // i_format: datalayout 2
  const fp = inlineXattrs(img, lookup(img, "lib/nofp.so")).entries[0]!;
  img[fp.offset + 1] = 0x81; // a long prefix that is not the fingerprint's
  const file = path.join(await tempDir("esb-layout-"), "b.erofs");
  await writeFile(file, img);
  return file;
}

describe("why an identical file of B did not share", () => {
  it("reads inline data and a missing fingerprint off the image", async () => {
    const layout = await imageFileLayouts(await imageB(), "xattr-inode-digest");
    const of = (p: string) => layout(pathKey({ path: p }));
    expect(of("lib/plain.so")).toEqual({ inline: false, fingerprint: true });
    expect(of("lib/inline.so")).toEqual({ inline: true, fingerprint: true });
    expect(of("lib/nofp.so")).toEqual({ inline: false, fingerprint: false });
    expect(of("lib/missing.so")).toBeUndefined();
  });

  it("puts the unshared pages down to those causes, and the rest to unexplained", async () => {
    const layoutB = await imageFileLayouts(await imageB(), "xattr-inode-digest");
    const manifest: Manifest = {
      entries: [
        ...FILES.map((f, i) => ({ path: f.path, type: "file" as const, size: 9000, sha256: `s${i}` })),
        { path: "lib/other.so", type: "file" as const, size: 9000, sha256: "s9" },
      ],
    } as Manifest;
    const e = gapEvidence({
      workload: "w",
      path: "read",
      manifestA: manifest,
      manifestB: manifest,
      layoutB,
      residentB: [
        { path: "lib/plain.so", pages: 3, resident: 3 },
        { path: "lib/inline.so", pages: 3, resident: 0 },
        { path: "lib/nofp.so", pages: 3, resident: 0 },
        { path: "lib/other.so", pages: 3, resident: 0 },
      ],
    });
    expect(e.notShared.map((c) => [c.cause, c.files, c.example])).toEqual([
      ["inline or tail-packed data", 1, "lib/inline.so"],
      ["no fingerprint xattr", 1, "lib/nofp.so"],
      ["unexplained", 1, "lib/other.so"],
    ]);
  });
});
