import { copyFile, mkdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { InitramfsRecordSchema } from "../guest/initramfs.js";
import { ErofsUtilsRecordSchema } from "../images/erofsUtils.js";
import { ManifestSchema } from "../images/manifest.js";
import { DebStore, uniqueBySha } from "../images/debStore.js";
import { loadLock, LockRecordSchema } from "../images/lockFile.js";
import { PairRecordSchema, type ImagePair, type PairRecord } from "../images/pairs.js";
import { RuntimeSchema } from "../images/workloads.js";
import { SeriesSpecSchema, type SeriesSpec } from "../kernel/series.js";
import { KernelRecordSchema, WorkloadRecordSchema, type RunRecord } from "../record/runRecord.js";
import { BenchError } from "../util/errors.js";
import { sha256File, writeJsonAtomic } from "../util/fsx.js";
import type { Progress } from "../util/progress.js";
import type { Artefacts } from "./buildArtefacts.js";

/**
 * A job's built artefacts, exported once and measured on many machines: the
 * kernel (with vmlinux, for oopses), the guest initramfs, both images of
 * every pair with their manifests, and the records that say what they are.
 * Every file is listed with its digest and checked on import, so shards
 * measure the same bits and their merge can prove it.
 */
export const ArtifactsSchema = z.object({
  schema: z.literal(1),
  spec: SeriesSpecSchema,
  specSha256: z.string(),
  kernel: KernelRecordSchema,
  erofsUtils: ErofsUtilsRecordSchema,
  /** The lock the images were built from (its file is exported as lock.json beside them). */
  lock: LockRecordSchema.optional(),
  initramfs: InitramfsRecordSchema,
  workloads: z.array(WorkloadRecordSchema.extend({ runtime: RuntimeSchema.optional() })),
  /** The pair the correctness checks boot (its images are exported with the workloads' when it is not one of them). */
  checksPair: PairRecordSchema.optional(),
  files: z.array(z.object({ path: z.string(), sha256: z.string(), size: z.number() })),
});
export type ArtifactsManifest = z.infer<typeof ArtifactsSchema>;

const KERNEL = "kernel/bzImage";
/** Beside bzImage where the build keeps it (vmlinuxBeside), so oopses are symbolised on import too. */
const VMLINUX = "kernel/out/vmlinux";
const INITRAMFS = "initramfs.cpio.gz";
/** The lock the images were built from, and every .deb it names for them. */
export const LOCK_FILE = "lock.json";
export const DEBS_DIR = "debs";
const imageFile = (name: string, side: "A" | "B") => `images/${name}/${side}.erofs`;
const manifestFile = (name: string, side: "A" | "B") => `images/${name}/${side}.manifest.json`;

/** Copies what a run built into `dir`, with artifacts.json listing every file's digest. */
export async function exportArtifacts(
  dir: string,
  art: Artefacts,
  spec: SeriesSpec,
  record: RunRecord,
  progress: Progress,
): Promise<void> {
  if (!record.kernel || !record.erofsUtils || !record.initramfs)
    throw new BenchError("nothing to export: the run did not build its kernel, tools and images");
  const files: ArtifactsManifest["files"] = [];
  const put = async (rel: string, from?: string, data?: string) => {
    const to = path.join(dir, rel);
    await mkdir(path.dirname(to), { recursive: true });
    if (from) await copyFile(from, to);
    else await writeJsonAtomic(to, JSON.parse(data!));
    files.push({ path: rel, sha256: await sha256File(to), size: (await stat(to)).size });
  };
  await progress.stage("export", `writing the job's artefacts to ${dir}`, async () => {
    await put(KERNEL, art.kernel.bzImage);
    await put(VMLINUX, art.kernel.vmlinux);
    await put(INITRAMFS, art.initramfs);
    const extra = art.checks && !art.pairs.includes(art.checks) ? [art.checks] : [];
    for (const p of [...art.pairs, ...extra]) {
      for (const [side, img] of [
        ["A", p.a],
        ["B", p.b],
      ] as const) {
        await put(imageFile(p.record.name, side), img.image);
        await put(manifestFile(p.record.name, side), undefined, JSON.stringify(img.manifest));
      }
    }
    // what the images were built from, so a shard or a reviewer can build them again offline: --lock DIR/lock.json --debs DIR/debs
    if (record.lock) {
      const { lock } = await loadLock(record.lock.file);
      await put(LOCK_FILE, record.lock.file);
      const store = new DebStore();
      const pkgs = uniqueBySha(
        art.pairs.flatMap((p) => {
          const entry = lock.workloads[p.record.name];
          return entry ? [...entry.a.packages, ...entry.b.packages] : [];
        }),
      );
      for (const pkg of pkgs)
        if (await store.has(pkg))
          await put(`${DEBS_DIR}/${pkg.name}_${pkg.version.replace(/^\d+:/, "")}_${pkg.arch}.deb`, store.fileOf(pkg));
    }
  });
  const manifest: ArtifactsManifest = {
    schema: 1,
    spec,
    specSha256: record.series.specSha256,
    kernel: record.kernel,
    erofsUtils: record.erofsUtils,
    initramfs: record.initramfs,
    ...(record.lock ? { lock: record.lock } : {}),
    workloads: record.workloads.map((w) => ({
      ...w,
      runtime: art.pairs.find((p) => p.record.name === w.name)?.runtime,
    })),
    checksPair: art.checks?.record,
    files,
  };
  await writeJsonAtomic(path.join(dir, "artifacts.json"), ArtifactsSchema.parse(manifest));
}

/** Reads and checks exported artefacts: every file present with its digest, or an error naming the file. */
export async function importArtifacts(
  dir: string,
  progress: Progress,
): Promise<{ manifest: ArtifactsManifest; artefacts: Artefacts }> {
  const file = path.join(dir, "artifacts.json");
  const raw = await readFile(file, "utf8").catch(() => {
    throw new BenchError(`--artifacts ${dir} holds no artifacts.json`, "pass the folder export wrote");
  });
  const parsed = ArtifactsSchema.safeParse(JSON.parse(raw));
  if (!parsed.success)
    throw new BenchError(
      `${file} is not an artifacts manifest this version reads: ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`,
      "export again with this version",
    );
  const manifest = parsed.data;
  await progress.stage("artifacts", `checking ${manifest.files.length} files in ${dir}`, async () => {
    for (const f of manifest.files) {
      const p = path.join(dir, f.path);
      const digest = await sha256File(p).catch(() => null);
      if (digest === null)
        throw new BenchError(`--artifacts ${dir}: ${f.path} is missing`, "copy the whole exported folder");
      if (digest !== f.sha256)
        throw new BenchError(
          `--artifacts ${dir}: ${f.path} has sha256 ${digest.slice(0, 16)}…, the export says ${f.sha256.slice(0, 16)}…`,
          "the copy is damaged or was changed: copy the exported folder again",
        );
    }
  });
  const built = async (name: string, side: "A" | "B", rec: PairRecord["imageA"]) => ({
    image: path.join(dir, imageFile(name, side)),
    manifest: ManifestSchema.parse(JSON.parse(await readFile(path.join(dir, manifestFile(name, side)), "utf8"))),
    record: rec,
    reused: true,
  });
  const pairOf = async (record: PairRecord, runtime?: ImagePair["runtime"]): Promise<ImagePair> => ({
    record,
    a: await built(record.name, "A", record.imageA),
    b: await built(record.name, "B", record.imageB),
    runtime,
  });
  const pairs: ImagePair[] = [];
  for (const { sharing: _sharing, runtime, ...record } of manifest.workloads) pairs.push(await pairOf(record, runtime));
  // exported by a run without the checks: there is no pair for them
  const wanted = manifest.checksPair;
  const checks = wanted ? (pairs.find((p) => p.record.name === wanted.name) ?? (await pairOf(wanted))) : undefined;
  return {
    manifest,
    artefacts: {
      kernel: { bzImage: path.join(dir, KERNEL), vmlinux: path.join(dir, VMLINUX) },
      initramfs: path.join(dir, INITRAMFS),
      pairs,
      checks,
    },
  };
}
