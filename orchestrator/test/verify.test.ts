import { describe, expect, it } from "vitest";
import { mountOptions } from "../src/guest/modes.js";
import { verifyChecksums } from "../src/guest/readAll.js";
import type { GuestReport } from "../src/guest/protocol.js";
import type { Manifest } from "../src/images/manifest.js";

const manifest: Manifest = {
  entries: [
    { path: "bin", type: "dir", size: 0, mode: 0o755 },
    { path: "bin/x", type: "file", size: 3, mode: 0o755, sha256: "aa" },
    { path: "bin/y", type: "hardlink", size: 0, mode: 0o755, target: "bin/x" },
    { path: "bin/z", type: "symlink", size: 0, mode: 0o777, target: "x" },
  ],
};

function report(files: Array<[string, string, string]>, errors: GuestReport["fileErrors"] = []): GuestReport {
  return {
    samples: [], reads: [], errors: [], cgroups: [], outputs: [], dmesg: "", complete: true, fileErrors: errors,
    files: files.map(([image, path, sha256]) => ({ t: "file" as const, image, path, size: 3, sha256 })),
  };
}

describe("read-back verification", () => {
  it("accepts every file and hard link of both images read back with its digest", () => {
    const r = report([["A", "bin/x", "aa"], ["A", "bin/y", "aa"], ["B", "bin/x", "aa"], ["B", "bin/y", "aa"]]);
    expect(verifyChecksums(r, manifest, manifest)).toEqual({ files: 4, problems: [] });
  });

  it("names a wrong digest, a file not read, an unknown file and a read error", () => {
    const r = report([["A", "bin/x", "bb"], ["A", "bin/y", "aa"], ["B", "bin/y", "aa"], ["B", "extra", "cc"]], [
      { t: "file-error", image: "B", path: "bin/y", errno: 5 },
    ]);
    const { problems } = verifyChecksums(r, manifest, manifest);
    expect(problems).toEqual([
      "image A: bin/x read back as sha256 bb…, manifest says aa…",
      "image B: bin/x was not read back",
      "image B: extra is in the image but not in the manifest",
      "image B: bin/y: read failed (errno 5)",
    ]);
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
