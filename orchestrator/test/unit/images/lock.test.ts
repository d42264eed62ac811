import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DebianArchive, parsePackageStanzas, parseSimulatedInstall } from "../../../src/host/debianArchive.js";
import { DebStore, ensureLockedPackages } from "../../../src/images/debStore.js";
import {
  LOCK_SCHEMA,
  loadLock,
  lockedWorkload,
  lockMoves,
  recipeOf,
  renderLock,
  writeLock,
  type Lock,
  type LockedPackage,
} from "../../../src/images/lockFile.js";
import { installedAgainstLock, rootfsInputs } from "../../../src/images/rootfs.js";
import { parseWorkload, type DebianWorkload } from "../../../src/images/workloads.js";
import { hashOf, sha256 } from "../../../src/util/fsx.js";
import { Progress } from "../../../src/util/progress.js";
import { tempDir } from "../../helpers/gitSeries.js";
import type { RunRecord } from "../../../src/record/runRecord.js";
import { lockLine, pairPackageLine } from "../../../src/report/imageInputs.js";

const APT_OUTPUT = `NOTE: This is only a simulation!
Inst gcc-14-base (14.2.0-19 Debian:13.7/stable [amd64])
Inst libc6 (2.41-12+deb13u4 Debian:13.7/stable [amd64]) []
Inst libssl3t64 [3.5.1-1] (3.5.1-1+deb13u1 Debian-Security:13/stable-security [amd64])
Conf libc6 (2.41-12+deb13u4 Debian:13.7/stable [amd64])
Inst tzdata (2025b-4+deb13u1 Debian:13.7/stable [all])
Inst redis-server (5:8.0.2-3+deb13u3 Debian-Security:13/stable-security [amd64])
`;

const SHOW_OUTPUT = `Package: libc6
Version: 2.41-12+deb13u4
Architecture: amd64
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Filename: pool/main/g/glibc/libc6_2.41-12+deb13u4_amd64.deb
Size: 2851200
SHA256: ${"a".repeat(64)}
Description: GNU C Library: Shared libraries

Package: tzdata
Version: 2025b-4+deb13u1
Architecture: all
Filename: pool/main/t/tzdata/tzdata_2025b-4+deb13u1_all.deb
Size: 260000
SHA256: ${"b".repeat(64)}
`;

const workload = parseWorkload(
  "name: redis\nkind: debian\nimage: redis\nrootfs:\n  include: [redis-server]\n  versionPackage: redis-server\n  a: { suites: [bookworm] }\n  b: { suites: [bookworm, bookworm-security] }\n",
  "redis.yaml",
) as DebianWorkload;

const pkg = (name: string, version: string, body = `${name} ${version}`): LockedPackage & { body: string } => ({
  name,
  version,
  arch: "amd64",
  sha256: sha256(body),
  size: Buffer.byteLength(body),
  filename: `pool/main/${name}_${version}_amd64.deb`,
  body,
});

function lockOf(a: LockedPackage[], b: LockedPackage[]): Lock {
  const strip = (ps: LockedPackage[]) =>
    ps.map(({ name, version, arch, sha256, size, filename }) => ({ name, version, arch, sha256, size, filename }));
  return {
    schema: LOCK_SCHEMA,
    lockedAt: "2026-12-07T00:00:00.000Z",
    tools: { erofsUtils: { version: "1.9.4-1" } },
    workloads: {
      redis: {
        recipe: recipeOf(workload),
        lockedAt: "2026-12-07T00:00:00.000Z",
        archive: { bookworm: "Sat, 11 Jul 2026 10:16:37 UTC" },
        a: { suites: ["bookworm"], packages: strip(a) },
        b: { suites: ["bookworm", "bookworm-security"], packages: strip(b) },
      },
    },
  };
}

let dir: string;
beforeAll(async () => {
  dir = await tempDir("esb-lock-");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("what apt says", () => {
  it("reads a simulated install with each package's architecture", () => {
    expect(parseSimulatedInstall(APT_OUTPUT)).toEqual(
      new Map([
        ["gcc-14-base", { version: "14.2.0-19", arch: "amd64" }],
        ["libc6", { version: "2.41-12+deb13u4", arch: "amd64" }],
        ["libssl3t64", { version: "3.5.1-1+deb13u1", arch: "amd64" }],
        ["tzdata", { version: "2025b-4+deb13u1", arch: "all" }],
        ["redis-server", { version: "5:8.0.2-3+deb13u3", arch: "amd64" }],
      ]),
    );
  });

  it("reads the archive's record of a .deb: SHA256, size, pool path", () => {
    expect(parsePackageStanzas(SHOW_OUTPUT)).toEqual([
      {
        name: "libc6",
        version: "2.41-12+deb13u4",
        arch: "amd64",
        sha256: "a".repeat(64),
        size: 2851200,
        filename: "pool/main/g/glibc/libc6_2.41-12+deb13u4_amd64.deb",
      },
      {
        name: "tzdata",
        version: "2025b-4+deb13u1",
        arch: "all",
        sha256: "b".repeat(64),
        size: 260000,
        filename: "pool/main/t/tzdata/tzdata_2025b-4+deb13u1_all.deb",
      },
    ]);
  });
});

describe("a lock", () => {
  const a = [pkg("libc6", "2.36-9+deb12u13"), pkg("redis-server", "5:7.0.15-1~deb12u7")];
  const b = [pkg("libc6", "2.36-9+deb12u14"), pkg("redis-server", "5:7.0.15-1~deb12u10")];

  it("is written one package per line and read back as it was", async () => {
    const file = path.join(dir, "lock.json");
    await writeLock(file, lockOf(a, b));
    const text = renderLock(lockOf(a, b));
    expect(text.split("\n").filter((l) => l.includes('"name":"libc6"'))).toHaveLength(2);
    const loaded = await loadLock(file);
    expect(loaded.lock).toEqual(lockOf(a, b));
    expect(loaded.sha256).toBe(sha256(text));
  });

  it("refuses a workload it has no entry for, or whose recipe changed since, naming the command that moves it", async () => {
    const loaded = await loadLock(path.join(dir, "lock.json"));
    expect(lockedWorkload(loaded, workload).a.packages).toHaveLength(2);
    const changed = { ...workload, rootfs: { ...workload.rootfs, include: ["redis-server", "redis-tools"] } };
    expect(() => lockedWorkload(loaded, changed)).toThrow(/workloads\/redis\.yaml changed .* since lock/);
    expect(() => lockedWorkload(loaded, { ...workload, name: "nginx" })).toThrow(/workload nginx is not in lock/);
  });

  it("says what moved package by package, and nothing when nothing did", () => {
    const before = lockOf(a, b);
    const after = lockOf(a, [
      pkg("libc6", "2.36-9+deb12u14"),
      pkg("redis-server", "5:7.0.15-1~deb12u11"),
      pkg("libnew1", "1.0"),
    ]);
    expect(lockMoves(before, after, ["redis"])).toEqual([
      {
        workload: "redis",
        side: "b",
        pipChanged: false,
        changes: [
          { name: "libnew1", to: "1.0" },
          { name: "redis-server", from: "5:7.0.15-1~deb12u10", to: "5:7.0.15-1~deb12u11" },
        ],
      },
    ]);
    expect(lockMoves(before, before, ["redis"])).toEqual([]);
  });

  it("keys a rootfs on the locked .debs: a rebuilt .deb of one version is a new image", () => {
    const side = lockOf(a, b).workloads.redis!.a;
    const key = hashOf(rootfsInputs(workload.rootfs, side));
    expect(hashOf(rootfsInputs(workload.rootfs, { ...side }))).toBe(key);
    expect(
      hashOf(
        rootfsInputs(workload.rootfs, {
          ...side,
          packages: [{ ...side.packages[0]!, sha256: "c".repeat(64) }, side.packages[1]!],
        }),
      ),
    ).not.toBe(key);
  });

  it("finds a rootfs that does not hold what its lock says", () => {
    const side = lockOf(a, b).workloads.redis!.a;
    expect(
      installedAgainstLock(
        new Map([
          ["libc6", "2.36-9+deb12u13"],
          ["redis-server", "5:7.0.15-1~deb12u7"],
        ]),
        side,
      ),
    ).toEqual([]);
    expect(
      installedAgainstLock(
        new Map([
          ["libc6", "2.36-9+deb12u14"],
          ["redis-server", "5:7.0.15-1~deb12u7"],
          ["apt", "2.6.1"],
        ]),
        side,
      ),
    ).toEqual(["libc6 2.36-9+deb12u13 locked, 2.36-9+deb12u14 installed", "apt 2.6.1 installed, not in the lock"]);
  });
});

describe("the locked packages", () => {
  const a = [pkg("libc6", "2.36-9+deb12u13"), pkg("redis-server", "5:7.0.15-1~deb12u7")];
  const gone = pkg("redis-server", "5:7.0.15-1~deb12u9");

  /** An archive that offers `offered` and downloads their bodies; it must never be asked to build anything. */
  function archive(offered: Array<LockedPackage & { body: string }>, served = offered): DebianArchive {
    return Object.assign(new DebianArchive(["bookworm"], path.join(dir, "apt")), {
      update: async () => undefined,
      packageRecords: async (wanted: LockedPackage[]) =>
        new Map(
          offered
            .filter((o) => wanted.some((w) => w.name === o.name && w.version === o.version))
            .map((o) => [`${o.name}=${o.version}`, o]),
        ),
      downloadMany: async (wanted: LockedPackage[], dest: string) => {
        await mkdir(dest, { recursive: true });
        for (const w of wanted) {
          const p = served.find((o) => o.name === w.name && o.version === w.version)!;
          await writeFile(path.join(dest, `${p.name}_${p.version.replace(":", "%3a")}_${p.arch}.deb`), p.body);
        }
      },
    });
  }

  it("stops before any build when a version is in neither the archive nor the cache, naming it and both ways out", async () => {
    const loaded = { file: "/repo/workloads/lock.json", sha256: "0", lock: lockOf(a, [a[0]!, gone]) };
    const store = new DebStore(path.join(dir, "store-gone"));
    const run = ensureLockedPackages({
      lock: loaded,
      workloads: [workload],
      archive: archive(a),
      store,
      progress: new Progress(),
    });
    await expect(run).rejects.toThrow(
      "1 package(s) of lock /repo/workloads/lock.json are neither in the archive any more nor in the cache",
    );
    await expect(run).rejects.toThrow(/redis-server 5:7\.0\.15-1~deb12u9 \(amd64; redis\)/);
    await expect(run).rejects.toMatchObject({
      hint: expect.stringMatching(/--debs DIR .* or move the lock .*lock update/),
    });
    // a package the cache holds is enough, whatever the archive says
    await store.keep(await bodyFile("gone.deb", gone.body), gone, "a test");
    await expect(
      ensureLockedPackages({
        lock: loaded,
        workloads: [workload],
        archive: archive(a),
        store,
        progress: new Progress(),
      }),
    ).resolves.toBeUndefined();
  });

  it("takes a folder of .debs by SHA256 (--debs), leaving other files alone", async () => {
    const folder = path.join(dir, "debs-folder");
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, "any-name.deb"), gone.body);
    await writeFile(path.join(folder, "unrelated.deb"), "not in the lock");
    const loaded = { file: "/elsewhere/lock.json", sha256: "0", lock: lockOf(a, [a[0]!, gone]) };
    const store = new DebStore(path.join(dir, "store-debs"));
    await ensureLockedPackages({
      lock: loaded,
      workloads: [workload],
      archive: archive(a),
      store,
      debs: folder,
      progress: new Progress(),
    });
    expect(await store.has(gone)).toBe(true);
    expect((await readdir(store.dir)).sort()).toEqual([`${gone.sha256}.deb`]);
  });

  it("refuses a downloaded .deb whose SHA256 is not the lock's", async () => {
    const store = new DebStore(path.join(dir, "store-bad"));
    const tampered = { ...a[1]!, body: "another build of that version" };
    const fetching = store.fetch(archive(a, [a[0]!, tampered]), a, new Progress());
    await expect(fetching).rejects.toThrow(
      /gave redis-server_5%3a7\.0\.15-1~deb12u7_amd64\.deb with sha256 [0-9a-f]{64}, and the lock says redis-server 5:7\.0\.15-1~deb12u7 \(amd64\) is [0-9a-f]{64}: refused/,
    );
    expect(await store.has(a[1]!)).toBe(false);
  });

  async function bodyFile(name: string, body: string): Promise<string> {
    const f = path.join(dir, name);
    await writeFile(f, body);
    return f;
  }
});

describe("what the cover letter says of a pair's images", () => {
  const rootfs = (pkgs: Record<string, string>) => ({
    tar: "rootfs.tar",
    tarSha256: "5".repeat(64),
    tarBytes: 1,
    suites: ["trixie"],
    installed: { nginx: pkgs.nginx!, wrk: pkgs.wrk! },
    packages: pkgs,
    label: pkgs.nginx!,
    mmdebstrap: "mmdebstrap 1.3.5",
    seconds: 1,
  });
  const w = {
    name: "nginx",
    rootfs: {
      a: rootfs({
        nginx: "1.26.3-3+deb13u10",
        wrk: "4.1.0-4",
        libssl3t64: "3.5.9-1",
        libzstd1: "1.5.7+dfsg-1",
        passwd: "1:4.17.4-2",
      }),
      b: rootfs({
        nginx: "1.26.3-3+deb13u12",
        wrk: "4.1.0-4",
        libssl3t64: "3.5.10-1",
        libzstd1: "1.5.7+dfsg-1+deb13u1",
        passwd: "1:4.17.4-2+deb13u1",
      }),
    },
  } as unknown as RunRecord["workloads"][number];

  it("names how many packages differ, the workload's own first, then the others up to a limit", () => {
    expect(pairPackageLine(w)).toBe(
      "nginx: A and B differ in 4 package(s): nginx (the workload's); libssl3t64 3.5.9-1 -> 3.5.10-1, libzstd1 1.5.7+dfsg-1 -> 1.5.7+dfsg-1+deb13u1, passwd 4.17.4-2 -> 4.17.4-2+deb13u1",
    );
    expect(pairPackageLine(w, 1)).toMatch(
      /libssl3t64 3\.5\.9-1 -> 3\.5\.10-1, and 2 more \(run\.json: workloads\[\]\.rootfs\)$/,
    );
    expect(
      lockLine({
        lock: {
          file: "/r/workloads/lock.json",
          sha256: "ab".repeat(32),
          lockedAt: "2026-12-07T21:28:44.412Z",
          erofsUtils: "1.9.4-1",
          workloads: {},
        },
      }),
    ).toBe(
      "Images built from lock /r/workloads/lock.json (sha256 abababababab, locked 2026-12-07), mkfs.erofs from erofs-utils 1.9.4-1.",
    );
  });
});
