import { createHash } from "node:crypto";
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { pack, type Header } from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flattenImage, parseImageRef } from "../../../src/images/oci.js";
import { manifestOfDir } from "../../../src/images/manifest.js";

type Entry = Partial<Header> & { name: string; body?: string | Buffer };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    p.on("data", (c: unknown) => chunks.push(c as Buffer));
    p.on("end", () => resolve(Buffer.concat(chunks)));
    p.on("error", reject);
  });
  for (const { body, ...h } of entries) {
    const header: Partial<Header> & { name: string } = {
      mode: h.type === "directory" ? 0o755 : 0o644,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      ...h,
    };
    await new Promise<void>((resolve, reject) => p.entry(header, body ?? "", (e) => (e ? reject(e) : resolve())));
  }
  p.finalize();
  return done;
}

const hex = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const dir = (name: string): Entry => ({ name, type: "directory" });
const file = (name: string, body: string | Buffer, extra: Partial<Header> = {}): Entry => ({ name, body, ...extra });

const LAYER1: Entry[] = [
  dir("etc/"),
  file("etc/conf", "one"),
  file("etc/keep", "kept", { uid: 1234, gid: 99, mode: 0o600 }),
  dir("gone/"),
  file("gone/a", "a"),
  dir("gone/sub/"),
  file("gone/sub/b", "b"),
  dir("opq/"),
  file("opq/old1", "o"),
  dir("opq/olddir/"),
  file("opq/olddir/x", "x"),
  dir("bin/"),
  file("bin/tool", "t1"),
  file("rm-me", "bye"),
];
const LAYER2: Entry[] = [
  dir("etc/"),
  file("etc/.wh.conf", ""),
  file(".wh.gone", ""),
  file(".wh.rm-me", ""),
  dir("opq/"),
  file("opq/.wh..wh..opq", ""),
  file("opq/new", "n"),
  dir("bin/"),
  file("bin/tool", "t2"),
  file("etc/added", "a2"),
];
const EXPECTED = ["bin/", "bin/tool", "etc/", "etc/added", "etc/keep", "opq/", "opq/new"];

interface Blob {
  data: Buffer;
  mediaType: string;
}
async function putBlob(root: string, data: Buffer | string): Promise<{ digest: string; size: number }> {
  const b = Buffer.from(data);
  await mkdir(path.join(root, "blobs", "sha256"), { recursive: true });
  await writeFile(path.join(root, "blobs", "sha256", hex(b)), b);
  return { digest: `sha256:${hex(b)}`, size: b.length };
}

async function ociLayout(
  root: string,
  images: Array<{ tag?: string; layers: Blob[]; labels?: Record<string, string> }>,
): Promise<void> {
  await mkdir(root, { recursive: true });
  await writeFile(path.join(root, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const manifests = [];
  for (const img of images) {
    const config = {
      architecture: "amd64",
      os: "linux",
      config: { Labels: img.labels ?? {} },
      rootfs: { type: "layers", diff_ids: [] },
    };
    const cfg = await putBlob(root, JSON.stringify(config));
    const layers = [];
    for (const l of img.layers) layers.push({ mediaType: l.mediaType, ...(await putBlob(root, l.data)) });
    const manifest = {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...cfg },
      layers,
    };
    const m = await putBlob(root, JSON.stringify(manifest));
    manifests.push({
      mediaType: manifest.mediaType,
      ...m,
      ...(img.tag ? { annotations: { "org.opencontainers.image.ref.name": img.tag } } : {}),
    });
  }
  await writeFile(path.join(root, "index.json"), JSON.stringify({ schemaVersion: 2, manifests }));
}

/** Every path under root, directories with a trailing slash, sorted. */
async function treeOf(root: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(path.join(root, rel))).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    if ((await lstat(path.join(root, r))).isDirectory()) out.push(`${r}/`, ...(await treeOf(root, r)));
    else out.push(r);
  }
  return out.sort();
}

const TAR = "application/vnd.oci.image.layer.v1.tar";
let tmp: string;
let l1: Buffer;
let l2: Buffer;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), "oci-test-"));
  l1 = await tarOf(LAYER1);
  l2 = await tarOf(LAYER2);
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe("parseImageRef", () => {
  it("reads the three forms", () => {
    expect(parseImageRef("docker-archive:/x/img.tar")).toEqual({ kind: "docker-archive", path: "/x/img.tar" });
    expect(parseImageRef("oci:/x/lay")).toEqual({ kind: "oci", path: "/x/lay" });
    expect(parseImageRef("oci:/x/lay:v1.2")).toEqual({ kind: "oci", path: "/x/lay", ref: "v1.2" });
    expect(parseImageRef("docker://docker.io/library/redis:7")).toEqual({
      kind: "docker",
      ref: "docker.io/library/redis:7",
    });
    expect(parseImageRef("/some/dir")).toBeNull();
    expect(parseImageRef("oci:")).toBeNull();
  });
});

describe("flattenImage", () => {
  it("applies whiteouts, whole-directory whiteouts and opaque directories from an OCI layout", async () => {
    const lay = path.join(tmp, "lay1");
    await ociLayout(lay, [
      {
        layers: [
          { data: l1, mediaType: TAR },
          { data: l2, mediaType: TAR },
        ],
        labels: { "x.y": "z" },
      },
    ]);
    const r = await flattenImage(`oci:${lay}`, path.join(tmp, "out1"));
    expect(r.rootfs).toBe(path.join(tmp, "out1", "rootfs"));
    expect(await treeOf(r.rootfs)).toEqual(EXPECTED);
    expect(await readFile(path.join(r.rootfs, "bin/tool"), "utf8")).toBe("t2");
    expect(await readFile(path.join(r.rootfs, "etc/keep"), "utf8")).toBe("kept");
    expect(await readFile(path.join(r.rootfs, "opq/new"), "utf8")).toBe("n");
    expect(r.layers).toEqual([
      { digest: `sha256:${hex(l1)}`, size: l1.length },
      { digest: `sha256:${hex(l2)}`, size: l2.length },
    ]);
    expect(r.labels).toEqual({ "x.y": "z" });
    expect(r.configDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const keep = await lstat(path.join(r.rootfs, "etc/keep"));
    expect(keep.mode & 0o7777).toBe(0o600);
    if (process.getuid?.() === 0) expect([keep.uid, keep.gid]).toEqual([1234, 99]);
  });

  it("reads a gzip layer by its magic bytes, whatever its media type says", async () => {
    const lay = path.join(tmp, "lay-gz");
    await ociLayout(lay, [
      {
        layers: [
          { data: l1, mediaType: TAR },
          { data: gzipSync(l2), mediaType: TAR },
        ],
      },
    ]);
    const r = await flattenImage({ kind: "oci", path: lay }, path.join(tmp, "out-gz"));
    expect(await treeOf(r.rootfs)).toEqual(EXPECTED);
    expect(await readFile(path.join(r.rootfs, "etc/added"), "utf8")).toBe("a2");
  });

  it("refuses a blob whose content does not match its digest", async () => {
    const lay = path.join(tmp, "lay-bad");
    await ociLayout(lay, [{ layers: [{ data: l1, mediaType: TAR }] }]);
    await writeFile(
      path.join(lay, "blobs", "sha256", hex(l1)),
      Buffer.concat([l1.subarray(0, l1.length - 1), Buffer.from([1])]),
    );
    await expect(flattenImage(`oci:${lay}`, path.join(tmp, "out-bad"))).rejects.toThrow(
      new RegExp(`layer blob sha256:${hex(l1)} .*content hashes to`),
    );
  });

  it("refuses zstd layers with a hint", async () => {
    const lay = path.join(tmp, "lay-zstd");
    await ociLayout(lay, [{ layers: [{ data: l1, mediaType: `${TAR}+zstd` }] }]);
    await expect(flattenImage(`oci:${lay}`, path.join(tmp, "out-zstd"))).rejects.toMatchObject({
      message: expect.stringMatching(/zstd-compressed, which is not supported/),
      hint: expect.stringMatching(/--dest-compress-format gzip/),
    });
  });

  it("refuses entries that leave the root, by .. or through a symbolic link", async () => {
    const outside = path.join(tmp, "outside");
    await mkdir(outside, { recursive: true });
    const dotdot = await tarOf([file("ok", "1"), file("a/../../evil", "x")]);
    const lay = path.join(tmp, "lay-esc");
    await ociLayout(lay, [{ layers: [{ data: dotdot, mediaType: TAR }] }]);
    await expect(flattenImage(`oci:${lay}`, path.join(tmp, "out-esc"))).rejects.toThrow(
      /layer sha256:[0-9a-f]+: entry "a\/\.\.\/\.\.\/evil" escapes/,
    );

    const abs = await tarOf([file("/abs/x", "x")]);
    const layAbs = path.join(tmp, "lay-abs");
    await ociLayout(layAbs, [{ layers: [{ data: abs, mediaType: TAR }] }]);
    await expect(flattenImage(`oci:${layAbs}`, path.join(tmp, "out-abs"))).rejects.toThrow(
      /entry "\/abs\/x" is an absolute path/,
    );

    const link = await tarOf([{ name: "hop", type: "symlink", linkname: outside }]);
    const through = await tarOf([file("hop/planted", "x")]);
    const lay2 = path.join(tmp, "lay-link");
    await ociLayout(lay2, [
      {
        layers: [
          { data: link, mediaType: TAR },
          { data: through, mediaType: TAR },
        ],
      },
    ]);
    await expect(flattenImage(`oci:${lay2}`, path.join(tmp, "out-link"))).rejects.toThrow(
      /entry "hop\/planted" would be written through a symbolic link/,
    );
    expect(await readdir(outside)).toEqual([]);
  });

  it("picks a manifest by tag and lists the tags when none is given", async () => {
    const lay = path.join(tmp, "lay-tags");
    await ociLayout(lay, [
      { tag: "v1", layers: [{ data: l1, mediaType: TAR }] },
      {
        tag: "v2",
        layers: [
          { data: l1, mediaType: TAR },
          { data: l2, mediaType: TAR },
        ],
      },
    ]);
    await expect(flattenImage(`oci:${lay}`, path.join(tmp, "out-tags"))).rejects.toThrow(
      /2 manifests and no tag was given; tags: v1, v2/,
    );
    await expect(flattenImage(`oci:${lay}:v3`, path.join(tmp, "out-tags"))).rejects.toThrow(
      /no manifest tagged "v3"; tags: v1, v2/,
    );
    const r = await flattenImage(`oci:${lay}:v1`, path.join(tmp, "out-tags"));
    expect(await readFile(path.join(r.rootfs, "bin/tool"), "utf8")).toBe("t1");
    expect(await treeOf(r.rootfs)).toContain("gone/sub/b");
  });

  it("gives the same tree from a docker-archive as from the OCI layout of the same layers", async () => {
    const config = JSON.stringify({
      config: { Labels: { k: "v" } },
      rootfs: { type: "layers", diff_ids: [`sha256:${hex(l1)}`, `sha256:${hex(l2)}`] },
    });
    const manifest = [
      { Config: `${hex(config)}.json`, RepoTags: ["t:latest"], Layers: ["aaa/layer.tar", "bbb/layer.tar"] },
    ];
    const archive = await tarOf([
      file("manifest.json", JSON.stringify(manifest)),
      file(`${hex(config)}.json`, config),
      dir("aaa/"),
      file("aaa/layer.tar", l1),
      dir("bbb/"),
      file("bbb/layer.tar", gzipSync(l2)),
    ]);
    await writeFile(path.join(tmp, "img.tar"), archive);
    const fromArchive = await flattenImage(`docker-archive:${path.join(tmp, "img.tar")}`, path.join(tmp, "out-da"));
    const lay = path.join(tmp, "lay-same");
    await ociLayout(lay, [
      {
        layers: [
          { data: l1, mediaType: TAR },
          { data: l2, mediaType: TAR },
        ],
      },
    ]);
    const fromLayout = await flattenImage(`oci:${lay}`, path.join(tmp, "out-same"));
    expect(await treeOf(fromArchive.rootfs)).toEqual(EXPECTED);
    expect(await manifestOfDir(fromArchive.rootfs)).toEqual(await manifestOfDir(fromLayout.rootfs));
    expect(fromArchive.labels).toEqual({ k: "v" });
    expect(fromArchive.configDigest).toBe(`sha256:${hex(config)}`);
    expect(fromArchive.layers.map((l) => l.digest)).toEqual([`sha256:${hex(l1)}`, `sha256:${hex(gzipSync(l2))}`]);
    expect(await readdir(path.join(tmp, "out-da"))).toEqual(["rootfs"]);
  });

  it("checks docker-archive layers against the config's diff_ids", async () => {
    const config = JSON.stringify({ rootfs: { type: "layers", diff_ids: [`sha256:${hex(l2)}`] } });
    const manifest = [{ Config: "config.json", Layers: ["one/layer.tar"] }];
    await writeFile(
      path.join(tmp, "bad.tar"),
      await tarOf([
        file("manifest.json", JSON.stringify(manifest)),
        file("config.json", config),
        file("one/layer.tar", l1),
      ]),
    );
    await expect(
      flattenImage(`docker-archive:${path.join(tmp, "bad.tar")}`, path.join(tmp, "out-bad-da")),
    ).rejects.toThrow(
      new RegExp(`layer blob one/layer.tar in .*bad.tar .*hashes to sha256:${hex(l1)}, expected sha256:${hex(l2)}`),
    );
  });

  it("says how to get skopeo or an archive for docker:// when it cannot pull", async () => {
    const saved = process.env.PATH;
    const bin = path.join(tmp, "fake-bin");
    await mkdir(bin, { recursive: true });
    try {
      process.env.PATH = path.join(tmp, "empty-path");
      await expect(flattenImage("docker://example.invalid/x:1", path.join(tmp, "out-pull"))).rejects.toMatchObject({
        hint: expect.stringMatching(/apt-get install skopeo/),
      });
      await writeFile(
        path.join(bin, "skopeo"),
        "#!/bin/sh\necho 'dial tcp: lookup example.invalid: no such host' >&2\nexit 1\n",
        { mode: 0o755 },
      );
      process.env.PATH = `${bin}:${saved}`;
      const err = await flattenImage("docker://example.invalid/x:1", path.join(tmp, "out-pull")).catch(
        (e: unknown) => e,
      );
      expect(err).toMatchObject({
        message: expect.stringMatching(/registry could not be reached[\s\S]*no such host/),
        hint: expect.stringMatching(/docker save .*docker-archive:.*oci:DIR/),
      });
    } finally {
      process.env.PATH = saved;
    }
  });

  it("flattens what skopeo copied for docker://", async () => {
    const src = path.join(tmp, "lay-pulled");
    await ociLayout(src, [
      {
        tag: "latest",
        layers: [
          { data: l1, mediaType: TAR },
          { data: gzipSync(l2), mediaType: `${TAR}+gzip` },
        ],
      },
    ]);
    const bin = path.join(tmp, "fake-bin2");
    await mkdir(bin, { recursive: true });
    // skopeo copy docker://REF oci:DIR:latest
    await writeFile(path.join(bin, "skopeo"), `#!/bin/sh\nd=\${3#oci:}\ncp -r '${src}' "\${d%:latest}"\n`, {
      mode: 0o755,
    });
    const saved = process.env.PATH;
    process.env.PATH = `${bin}:${saved}`;
    try {
      const r = await flattenImage("docker://example.invalid/x:1", path.join(tmp, "out-pulled"));
      expect(await treeOf(r.rootfs)).toEqual(EXPECTED);
      expect(await readdir(path.join(tmp, "out-pulled"))).toEqual(["rootfs"]);
    } finally {
      process.env.PATH = saved;
    }
  });
});
