import { appendFile, mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportArtifacts, importArtifacts } from "../../../src/pipeline/artifacts.js";
import type { Artefacts } from "../../../src/pipeline/buildArtefacts.js";
import { loadSeries } from "../../../src/kernel/series.js";
import { Progress } from "../../../src/util/progress.js";
import { tempDir } from "../../helpers/gitSeries.js";
import { writeLock } from "../../../src/images/lockFile.js";
import { sha256 } from "../../../src/util/fsx.js";
import { imageRecord, runRecord } from "../../helpers/runRecord.js";

let dir: string;
let art: Artefacts;
const quiet = new Progress(true);

beforeAll(async () => {
  dir = await tempDir("esb-art-");
  const src = path.join(dir, "src");
  await mkdir(path.join(src, "out"), { recursive: true });
  await writeFile(path.join(src, "bzImage"), "kernel bytes");
  await writeFile(path.join(src, "out", "vmlinux"), "symbols");
  await writeFile(path.join(src, "initramfs.cpio.gz"), "cpio");
  await writeFile(path.join(src, "a.erofs"), Buffer.alloc(8192, 1));
  await writeFile(path.join(src, "b.erofs"), Buffer.alloc(8192, 2));
  const manifest = { entries: [{ path: "f", type: "file" as const, size: 3, mode: 0o644, sha256: "x", xxh64: "y" }] };
  const rec = runRecord().workloads[0]!;
  art = {
    kernel: { bzImage: path.join(src, "bzImage"), vmlinux: path.join(src, "out", "vmlinux") },
    initramfs: path.join(src, "initramfs.cpio.gz"),
    pairs: [
      {
        record: {
          name: rec.name,
          image: rec.image,
          versions: rec.versions,
          imageA: imageRecord("aa".repeat(32)),
          imageB: imageRecord("bb".repeat(32)),
        },
        a: { image: path.join(src, "a.erofs"), manifest, record: imageRecord("aa".repeat(32)), reused: true },
        b: { image: path.join(src, "b.erofs"), manifest, record: imageRecord("bb".repeat(32)), reused: true },
        runtime: {
          setup: "",
          start: "redis-server",
          ready: "true",
          readyTimeoutS: 5,
          logs: [],
          load: [],
          params: {},
          quick: {},
        },
      },
    ],
  };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const record = () =>
  runRecord({
    erofsUtils: {
      mkfs: "m",
      version: "1.9.4",
      sourcePackage: "erofs-utils 1.9.4",
      suite: "forky",
      dscSha256: "d",
      patches: [],
      log: "l",
    },
    initramfs: {
      initramfs: "initramfs.cpio.gz",
      initramfsSha256: "i",
      busybox: "/bin/busybox",
      busyboxSha256: "b",
      probeSha256: "p",
      initSha256: "n",
    },
  });

describe("built once, measured many times", () => {
  it("exports the kernel, initramfs, images and records, and imports them checked", async () => {
    const out = path.join(dir, "export1");
    await exportArtifacts(out, art, await loadSeries("mainline"), record(), quiet);
    const { manifest, artefacts } = await importArtifacts(out, quiet);
    expect(manifest.files.map((f) => f.path)).toEqual([
      "kernel/bzImage",
      "kernel/out/vmlinux",
      "initramfs.cpio.gz",
      "images/redis/A.erofs",
      "images/redis/A.manifest.json",
      "images/redis/B.erofs",
      "images/redis/B.manifest.json",
    ]);
    expect(artefacts.kernel.bzImage).toBe(path.join(out, "kernel/bzImage"));
    expect(artefacts.pairs[0]!.a.manifest).toEqual(art.pairs[0]!.a.manifest);
    expect(artefacts.pairs[0]!.runtime?.start).toBe("redis-server");
    expect(manifest.kernel.buildKey).toBe("k1");
  });

  it("carries the pair the checks boot, also when it is not a measured workload", async () => {
    const src = path.join(dir, "src");
    const manifest = { entries: [{ path: "g", type: "file" as const, size: 1, mode: 0o644, sha256: "s", xxh64: "z" }] };
    const checks = {
      record: {
        name: "synthetic",
        image: "synthetic",
        versions: "A & B",
        imageA: imageRecord("cc".repeat(32)),
        imageB: imageRecord("dd".repeat(32)),
      },
      a: { image: path.join(src, "b.erofs"), manifest, record: imageRecord("cc".repeat(32)), reused: true },
      b: { image: path.join(src, "a.erofs"), manifest, record: imageRecord("dd".repeat(32)), reused: true },
    };
    const out = path.join(dir, "export-checks");
    await exportArtifacts(out, { ...art, checks }, await loadSeries("mainline"), record(), quiet);
    const { manifest: m, artefacts } = await importArtifacts(out, quiet);
    expect(m.files.map((f) => f.path)).toContain("images/synthetic/A.erofs");
    expect(artefacts.pairs.map((p) => p.record.name)).toEqual(["redis"]);
    expect(artefacts.checks?.record.name).toBe("synthetic");
    expect(artefacts.checks?.a.manifest).toEqual(manifest);
    // the measured pair doubles as the checks' pair (--images): exported once, found again
    const out2 = path.join(dir, "export-checks2");
    await exportArtifacts(out2, { ...art, checks: art.pairs[0] }, await loadSeries("mainline"), record(), quiet);
    const again = await importArtifacts(out2, quiet);
    expect(again.artefacts.checks).toBe(again.artefacts.pairs[0]);
    // exported without the checks: none to run
    expect((await importArtifacts(path.join(dir, "export1"), quiet)).artefacts.checks).toBeUndefined();
  });

  it("refuses a file whose digest does not match, and a missing one, naming it", async () => {
    const out = path.join(dir, "export2");
    await exportArtifacts(out, art, await loadSeries("mainline"), record(), quiet);
    await appendFile(path.join(out, "images/redis/B.erofs"), "x");
    await expect(importArtifacts(out, quiet)).rejects.toThrow(
      /images\/redis\/B\.erofs has sha256 [0-9a-f]{16}…, the export says [0-9a-f]{16}…/,
    );
    await rm(path.join(out, "kernel/bzImage"));
    await expect(importArtifacts(out, quiet)).rejects.toThrow("kernel/bzImage is missing");
    await expect(importArtifacts(path.join(dir, "nothing"), quiet)).rejects.toThrow("holds no artifacts.json");
  });
});

describe("an export and the lock its images came from", () => {
  it("carries the lock and every .deb of it the cache holds, so the images can be built again offline", async () => {
    const cache = path.join(dir, "cache");
    const saved = process.env.ESB_CACHE;
    process.env.ESB_CACHE = cache;
    try {
      const deb = (name: string, body: string) => ({
        name,
        version: "1.0-1",
        arch: "amd64",
        sha256: sha256(body),
        size: body.length,
        filename: `pool/${name}.deb`,
        body,
      });
      const [libc, redis] = [deb("libc6", "libc bytes"), deb("redis-server", "redis bytes")];
      await mkdir(path.join(cache, "debs"), { recursive: true });
      for (const p of [libc, redis]) await writeFile(path.join(cache, "debs", `${p.sha256}.deb`), p.body);
      const pkgs = [libc, redis].map(({ body: _b, ...p }) => p);
      const lockFile = path.join(dir, "lock.json");
      const side = { suites: ["bookworm"], packages: pkgs };
      await writeLock(lockFile, {
        schema: 1,
        lockedAt: "2026-12-07T00:00:00.000Z",
        tools: { erofsUtils: { version: "1.9.4-1" } },
        workloads: { redis: { recipe: "r", lockedAt: "2026-12-07T00:00:00.000Z", archive: {}, a: side, b: side } },
      });
      const lock = {
        file: lockFile,
        sha256: "ab".repeat(32),
        lockedAt: "2026-12-07T00:00:00.000Z",
        erofsUtils: "1.9.4-1",
        workloads: {},
      };
      const out = path.join(dir, "export-lock");
      await exportArtifacts(out, art, await loadSeries("mainline"), { ...record(), lock }, quiet);
      const { manifest } = await importArtifacts(out, quiet);
      expect(manifest.lock).toEqual(lock);
      expect(manifest.files.map((f) => f.path).filter((f) => f.startsWith("debs/") || f === "lock.json")).toEqual([
        "lock.json",
        "debs/libc6_1.0-1_amd64.deb",
        "debs/redis-server_1.0-1_amd64.deb",
      ]);
    } finally {
      if (saved === undefined) delete process.env.ESB_CACHE;
      else process.env.ESB_CACHE = saved;
    }
  });
});
