import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DebianArchive } from "../../src/host/debianArchive.js";
import { DebStore } from "../../src/images/debStore.js";
import { prepareErofsUtils } from "../../src/images/erofsUtils.js";
import { buildImage } from "../../src/images/image.js";
import { resolveWorkload } from "../../src/images/lockResolve.js";
import { buildDebianRootfs } from "../../src/images/rootfs.js";
import { parseWorkload, type DebianWorkload } from "../../src/images/workloads.js";
import { loadSeries } from "../../src/kernel/series.js";
import { Progress } from "../../src/util/progress.js";
import { needHost } from "../helpers/host.js";

/**
 * The promise of a lock, on a small real pair: resolved once against the
 * archive, then built twice, each time into an empty cache folder (its own
 * .debs, mkfs.erofs, root filesystems and images), gives the same bytes.
 */
const tiny = parseWorkload(
  "name: tiny\nkind: debian\nimage: tiny\nrootfs:\n  variant: essential\n  include: [hello]\n  versionPackage: hello\n" +
    "  customize: ['echo built > \"$1/etc/esb-customized\"']\n  a: { suites: [bookworm] }\n  b: { suites: [bookworm, bookworm-security] }\n",
  "tiny.yaml",
) as DebianWorkload;

const roots: string[] = [];
const saved = process.env.ESB_CACHE;
afterAll(async () => {
  if (saved === undefined) delete process.env.ESB_CACHE;
  else process.env.ESB_CACHE = saved;
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

describe("images built from a lock", () => {
  it(
    "are byte-identical when built twice into two empty cache folders",
    async (ctx) => {
      await needHost("rootfs", "erofsUtils");
      const progress = new Progress(true);
      const archive = new DebianArchive();
      // the pair is resolved from the live archive: without it there is nothing to pin, which is no failure of the lock
      const reached = await archive.update(progress).then(
        () => true,
        (e: unknown) => (
          console.log(`deb.debian.org not reached, so no pair to lock: ${String(e).split("\n")[0]}`), false
        ),
      );
      if (!reached) ctx.skip();
      const locked = await resolveWorkload(archive, tiny);
      const profile = (await loadSeries("mainline")).imageProfile;
      const erofsVersion = (await archive.sourceVersions("erofs-utils"))[0]!.version;

      const build = async () => {
        const root = await mkdtemp(path.join(os.tmpdir(), "esb-lock-cache-"));
        roots.push(root);
        process.env.ESB_CACHE = root;
        const store = new DebStore();
        expect(store.dir).toBe(path.join(root, "debs"));
        const erofs = await prepareErofsUtils({ archive, progress, version: erofsVersion });
        const out: Record<string, string> = {};
        for (const side of ["a", "b"] as const) {
          const rootfs = await buildDebianRootfs({ workload: tiny, side, locked, archive, store, progress });
          expect(rootfs.reused).toBe(false);
          const image = await buildImage({
            source: { kind: "tar", path: rootfs.tar, label: side },
            erofsUtils: erofs,
            profile,
            progress,
          });
          out[`${side} rootfs`] = rootfs.record.tarSha256;
          out[`${side} image`] = image.record.imageSha256;
          expect(Object.keys(rootfs.record.packages).sort()).toEqual(locked[side].packages.map((p) => p.name).sort());
        }
        return out;
      };
      const first = await build();
      const second = await build();
      expect(second).toEqual(first);
    },
    20 * 60_000,
  );
});
