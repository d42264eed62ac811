import { describe, expect, it } from "vitest";
import { mountOptions } from "../../../src/guest/modes.js";
import { verifyReads } from "../../../src/guest/verify.js";
import { emptyGuestReport, type GuestReport } from "../../../src/guest/protocol.js";
import type { Manifest } from "../../../src/images/manifest.js";

const manifest: Manifest = {
  entries: [
    { path: "bin", type: "dir", size: 0, mode: 0o755 },
    { path: "bin/x", type: "file", size: 3, mode: 0o755, sha256: "aa" },
    { path: "bin/y", type: "hardlink", size: 0, mode: 0o755, target: "bin/x" },
    { path: "bin/z", type: "symlink", size: 0, mode: 0o777, target: "x" },
  ],
};

type Line = [image: string, path: string, sha256: string | undefined, bytes?: number, pathHex?: string];

/** Every file and hard link of `manifest`, in both images, read back whole with its digest. */
const READ_BACK: Line[] = [
  ["A", "bin/x", "aa"],
  ["A", "bin/y", "aa"],
  ["B", "bin/x", "aa"],
  ["B", "bin/y", "aa"],
];

function report(files: Line[], errors: GuestReport["fileErrors"] = [], walk = 0): GuestReport {
  return {
    ...emptyGuestReport(),
    complete: true,
    fileErrors: errors,
    reads: ["A", "B"].map((image) => ({
      t: "read" as const,
      image,
      method: "read",
      files: 2,
      bytes: 6,
      errors: errors.length,
      ms: 1,
      walk,
    })),
    files: files.map(([image, path, sha256, bytes, pathHex]) => ({
      t: "file" as const,
      image,
      path,
      size: 3,
      bytes: bytes ?? 3,
      sha256,
      pathHex,
    })),
  };
}
const verifyChecksums = (r: GuestReport, a: Manifest, b: Manifest) => {
  const { files, problems } = verifyReads(r, a, b, { digest: "sha256" });
  return { files, problems };
};

describe("read-back verification", () => {
  it("accepts every file and hard link of both images read back with its digest", () => {
    const r = report(READ_BACK);
    expect(verifyChecksums(r, manifest, manifest)).toEqual({ files: 4, problems: [] });
  });

  it("names a wrong digest, a file not read, an unknown file and a read error", () => {
    const r = report(
      [
        ["A", "bin/x", "bb"],
        ["A", "bin/y", "aa"],
        ["B", "bin/y", "aa"],
        ["B", "extra", "cc"],
      ],
      [{ t: "file-error", image: "B", path: "bin/y", errno: 5, op: "read", bytes: 0 }],
    );
    const { problems } = verifyChecksums(r, manifest, manifest);
    expect(problems).toEqual([
      "image A: bin/x read back as sha256 bb…, manifest says aa…",
      "image B: bin/x was not read back",
      "image B: extra is in the image but not in the manifest",
      "image B: bin/y: read failed (errno 5)",
    ]);
  });
});

describe("reads checked in every mode", () => {
  it("fails a boot without digests (sharing off) when a file came back short or not at all", () => {
    const all = READ_BACK.map(([image, path]): Line => [image, path, undefined]);
    expect(verifyReads(report(all), manifest, manifest, { digest: null })).toEqual({
      files: 4,
      hashed: 0,
      problems: [],
      corrupt: false,
    });
    const short = verifyReads(report([["A", "bin/x", undefined, 2], ...all.slice(1, 3)]), manifest, manifest, {
      digest: null,
    });
    expect(short.problems).toEqual(["image A: bin/x: 2 of 3 bytes read", "image B: bin/y was not read back"]);
  });

  it("fails a boot whose walk stopped early or that never read an image", () => {
    const walked = verifyReads(report(READ_BACK, [], -1), manifest, manifest, { digest: "sha256" });
    expect(walked.problems).toContain("image A: the read walk did not cover the whole tree");
    const none = verifyReads({ ...report([]), reads: [] }, manifest, manifest, { digest: null });
    expect(none.problems.slice(0, 1)).toEqual(["image A was not read"]);
  });

  it("matches names byte for byte: UTF-8 as text, anything else by its bytes", () => {
    const odd: Manifest = {
      entries: [
        { path: "café", type: "file", size: 3, mode: 0o644, sha256: "aa" },
        {
          path: "bad\ufffd.bin",
          pathHex: Buffer.from([0x62, 0x61, 0x64, 0xff, 0x2e, 0x62, 0x69, 0x6e]).toString("hex"),
          type: "file",
          size: 3,
          mode: 0o644,
          sha256: "bb",
        },
      ],
    };
    const badHex = odd.entries[1]!.pathHex!;
    const good: Line[] = [
      ["A", "café", "aa"],
      ["A", "bad\ufffd.bin", "bb", 3, badHex],
      ["B", "café", "aa"],
      ["B", "bad\ufffd.bin", "bb", 3, badHex],
    ];
    expect(verifyReads(report(good), odd, odd, { digest: "sha256" }).problems).toEqual([]);
    // the same text with other bytes behind it is another file
    const wrongBytes: Line[] = [
      ["A", "café", "aa"],
      ["A", "bad\ufffd.bin", "bb", 3, "626164fe2e62696e"],
      ["B", "café", "aa"],
      ["B", "bad\ufffd.bin", "bb", 3, badHex],
    ];
    expect(verifyReads(report(wrongBytes), odd, odd, { digest: "sha256" }).problems).toEqual([
      `image A: bad\ufffd.bin (bytes ${badHex}) was not read back`,
      "image A: bad\ufffd.bin (bytes 626164fe2e62696e) is in the image but not in the manifest",
    ]);
    // a name the guest mangled (Latin-1 bytes of UTF-8) no longer matches
    expect(
      verifyReads(report([["A", "cafÃ©", "aa"], ...good.slice(1)]), odd, odd, { digest: "sha256" }).problems,
    ).toContain("image A: café was not read back");
  });

  it("marks a wrong digest as corruption, a short read as not", () => {
    // the clean read-back, but for how A's bin/x came back
    const withAx = (x: Line) =>
      verifyReads(report([x, ...READ_BACK.slice(1)]), manifest, manifest, { digest: "sha256" });
    expect(withAx(["A", "bin/x", "bb"]).corrupt).toBe(true);
    expect(withAx(["A", "bin/x", "aa", 1]).corrupt).toBe(false);
  });
});

describe("mount options per mode", () => {
  const opts = (d: string) => `inode_share,domain_id=${d}`;
  it("shares one domain when on, none when off, two domains when split", () => {
    expect(mountOptions("off", opts)).toEqual({ a: "none", b: "none" });
    expect(mountOptions("on", opts)).toEqual({ a: "inode_share,domain_id=esb", b: "inode_share,domain_id=esb" });
    const split = mountOptions("split", opts);
    expect(split.a).not.toBe(split.b);
  });
});
