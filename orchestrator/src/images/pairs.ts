import path from "node:path";
import type { ErofsUtils } from "./erofsUtils.js";
import {
  buildImage,
  ImageRecordSchema,
  syntheticSource,
  userImageSource,
  type BuiltImage,
  type ImageSource,
} from "./image.js";
import { flattenImage, parseImageRef } from "./oci.js";
import { DebianArchive } from "../host/debianArchive.js";
import { buildDebianRootfs, RootfsRecordSchema, versionLabel, type RootfsRecord } from "./rootfs.js";
import type { ImageProfile } from "../kernel/series.js";
import { loadWorkload, type RuntimeSpec } from "./workloads.js";
import { cached } from "../util/cache.js";
import type { DebStore } from "./debStore.js";
import { lockedWorkload, type LoadedLock } from "./lockFile.js";
import { sha256File } from "../util/fsx.js";
import type { Progress } from "../util/progress.js";
import type { TimeStage } from "../util/stageClock.js";
import { z } from "zod";
import { stat } from "node:fs/promises";

/** One workload's pair as the run record keeps it (the sharing analysis is added beside it). */
export const PairRecordSchema = z.object({
  name: z.string(),
  /** Table label, e.g. "synthetic" and "A & B". */
  image: z.string(),
  versions: z.string(),
  imageA: ImageRecordSchema,
  imageB: ImageRecordSchema,
  /** For Debian-built pairs: suites, resolved and installed package versions. */
  rootfs: z.object({ a: RootfsRecordSchema, b: RootfsRecordSchema }).optional(),
});
export type PairRecord = z.infer<typeof PairRecordSchema>;

/**
 * A Debian pair whose two sides hold the same version of the workload's
 * package: a point release folded the update into the older suite. Its
 * reduction is what sharing gives one version against itself, the most it
 * can give, not what an update gets; a reader must be told before quoting it.
 */
export function pairNotAnUpdate(pair: Pick<PairRecord, "name" | "rootfs">): string | undefined {
  const r = pair.rootfs;
  if (!r || r.a.label !== r.b.label) return undefined;
  return (
    `${pair.name}: A (${r.a.suites.join(" + ")}) and B (${r.b.suites.join(" + ")}) hold the same version ${r.a.label}, ` +
    `so its figures compare one version with itself, not an update: choose suites that carry two versions ` +
    `(apt-cache madison <package> lists them) in workloads/${pair.name}.yaml`
  );
}

export interface ImagePair {
  record: PairRecord;
  a: BuiltImage;
  b: BuiltImage;
  runtime?: RuntimeSpec;
}

/** A container image reference (docker-archive:, oci:, docker://) flattened into a directory, cached by its digest. */
async function containerImageSource(ref: string, progress: Progress): Promise<ImageSource> {
  const parsed = parseImageRef(ref);
  if (!parsed) return userImageSource(ref);
  const identity =
    parsed.kind === "docker"
      ? { ref: parsed.ref, at: new Date().toISOString().slice(0, 10) }
      : { ...parsed, digest: await digestOf(parsed.path) };
  const hit = await cached(
    "oci-rootfs",
    { identity, v: 1 },
    z.object({ rootfs: z.string(), layers: z.number() }),
    (dir) =>
      progress.stage("images", `flattening ${ref}`, async () => {
        const r = await flattenImage(parsed, dir, { logFile: path.join(dir, "flatten.log") });
        return { rootfs: path.relative(dir, r.rootfs), layers: r.layers.length };
      }),
    { say: (m) => progress.info(m) },
  );
  const label = parsed.kind === "docker" ? parsed.ref : path.basename(parsed.path).replace(/\.(tar|tar\.gz)$/, "");
  return { kind: "dir", path: path.join(hit.dir, hit.record.rootfs), label };
}

async function digestOf(p: string): Promise<string> {
  const st = await stat(p);
  // an OCI layout directory is identified by its index; a docker archive by its bytes
  return st.isDirectory() ? sha256File(path.join(p, "index.json")) : sha256File(p);
}

export interface PairsRequest {
  /** --images A,B: the user's own pair instead of the workloads. */
  images?: [string, string];
  workloads: string[];
  profile: ImageProfile;
  erofs: ErofsUtils;
  progress: Progress;
  time: TimeStage;
  /** What the Debian workloads' images are made of; each workload must have its entry. */
  lock: LoadedLock;
  store: DebStore;
}

/** "8.0.2-3+deb13u3 (trixie, trixie-security), 7.0.15-1~deb12u10 (bookworm-security)": which suites could make a pair. */
async function versionsBySuite(archive: DebianArchive, pkg: string): Promise<string> {
  const bySuite = new Map<string, string[]>();
  for (const { version, suite } of await archive.versions(pkg))
    bySuite.set(version, [...(bySuite.get(version) ?? []), suite]);
  return [...bySuite].map(([v, suites]) => `${versionLabel(v)} (${suites.join(", ")})`).join(", ") || `no ${pkg}`;
}

/** The image pairs of this run: --images, or each workload's A and B. */
export async function imagePairs(req: PairsRequest): Promise<ImagePair[]> {
  const { erofs, progress, time } = req;
  const pairs: ImagePair[] = [];
  const make = async (
    name: string,
    image: string,
    versions: (a: string, b: string) => string,
    srcA: ImageSource,
    srcB: ImageSource,
    extra: { runtime?: RuntimeSpec; rootfs?: { a: RootfsRecord; b: RootfsRecord } } = {},
  ) => {
    const a = await time(`image ${name} A`, () =>
      buildImage({ source: srcA, erofsUtils: erofs, profile: req.profile, progress }),
    );
    const b = await time(`image ${name} B`, () =>
      buildImage({ source: srcB, erofsUtils: erofs, profile: req.profile, progress }),
    );
    pairs.push({
      record: {
        name,
        image,
        versions: versions(a.record.label, b.record.label),
        imageA: a.record,
        imageB: b.record,
        rootfs: extra.rootfs,
      },
      a,
      b,
      runtime: extra.runtime,
    });
  };
  if (req.images) {
    const [sa, sb] = [
      await containerImageSource(req.images[0], progress),
      await containerImageSource(req.images[1], progress),
    ];
    await make("images", "images", (x, y) => `${x} & ${y}`, sa, sb);
    return pairs;
  }
  const archive = new DebianArchive();
  for (const name of req.workloads) {
    const w = await loadWorkload(name);
    if (w.kind === "synthetic") {
      await make(w.name, w.image, () => "A & B", await syntheticSource("a"), await syntheticSource("b"));
      continue;
    }
    const locked = lockedWorkload(req.lock, w);
    const side = (s: "a" | "b") =>
      buildDebianRootfs({ workload: w, side: s, locked, archive, store: req.store, progress });
    const ra = await time(`rootfs ${name} A`, () => side("a"));
    const rb = await time(`rootfs ${name} B`, () => side("b"));
    progress.info(`${name}: A has ${w.rootfs.versionPackage} ${ra.record.label}, B has ${rb.record.label}`);
    const same = pairNotAnUpdate({ name, rootfs: { a: ra.record, b: rb.record } });
    if (same)
      progress.info(`warning: ${same}; the archive has ${await versionsBySuite(archive, w.rootfs.versionPackage)}`);
    await make(
      w.name,
      w.image,
      () => `${ra.record.label} & ${rb.record.label}`,
      { kind: "tar", path: ra.tar, label: ra.record.label },
      { kind: "tar", path: rb.tar, label: rb.record.label },
      { runtime: w.runtime, rootfs: { a: ra.record, b: rb.record } },
    );
  }
  return pairs;
}
