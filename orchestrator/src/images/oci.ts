import { createHash } from "node:crypto";
import { constants as fsConstants, createReadStream } from "node:fs";
import { access, mkdir, readFile, realpath, rm, stat } from "node:fs/promises";
import path from "node:path";
import { createGunzip } from "node:zlib";
import { BenchError } from "../util/errors.js";
import { lastLines, run, runAllowFail, tailOfFile } from "../util/exec.js";
import { sha256File } from "../util/fsx.js";
import { applyLayer, compressionOf, zstdError } from "./ociLayers.js";

/** A container image as the user names it on the command line. */
type ImageRef =
  | { kind: "docker-archive"; path: string }
  | { kind: "oci"; path: string; ref?: string }
  | { kind: "docker"; ref: string };

interface FlatImage {
  layers: Array<{ digest: string; size: number }>;
  configDigest?: string;
  labels: Record<string, string>;
  /** `<destDir>/rootfs`: every layer applied in order. */
  rootfs: string;
}

const REF_NAME = "org.opencontainers.image.ref.name";
const FORMS = "docker-archive:FILE (from docker save), oci:DIR[:TAG] (an OCI image layout) or docker://REF";

/** `docker-archive:FILE`, `oci:DIR[:TAG]`, `docker://REF`; null for anything else. */
export function parseImageRef(s: string): ImageRef | null {
  if (s.startsWith("docker-archive:")) return s.length > 15 ? { kind: "docker-archive", path: s.slice(15) } : null;
  if (s.startsWith("docker://")) return s.length > 9 ? { kind: "docker", ref: s.slice(9) } : null;
  if (!s.startsWith("oci:")) return null;
  const rest = s.slice(4);
  const m = /^(.+):([A-Za-z0-9_][A-Za-z0-9._-]{0,127})$/.exec(rest);
  if (m) return { kind: "oci", path: m[1]!, ref: m[2]! };
  return rest ? { kind: "oci", path: rest } : null;
}

/** Turns a container image into one directory tree, the way a container runtime stacks its layers. */
export async function flattenImage(
  ref: ImageRef | string,
  destDir: string,
  opts: { logFile?: string } = {},
): Promise<FlatImage> {
  const img = typeof ref === "string" ? parseImageRef(ref) : ref;
  if (!img) throw new BenchError(`${String(ref)}: not a container image reference`, `write it as ${FORMS}`);
  const dest = path.resolve(destDir);
  const rootfs = path.join(dest, "rootfs");
  await rm(rootfs, { recursive: true, force: true });
  await mkdir(rootfs, { recursive: true });
  const realRoot = await realpath(rootfs);
  // scratch space for a pulled layout or an unpacked archive, gone once the layers are applied
  const work = path.join(dest, img.kind === "docker" ? "pulled-oci" : "docker-archive");
  await rm(work, { recursive: true, force: true });
  try {
    let image: Resolved;
    if (img.kind === "docker") {
      await pullWithSkopeo(img.ref, work, opts.logFile);
      image = await resolveOci(work, "latest");
    } else if (img.kind === "oci") {
      image = await resolveOci(img.path, img.ref);
    } else {
      if (!(await stat(img.path).catch(() => null))?.isFile())
        throw new BenchError(
          `docker-archive: ${img.path} is not a file`,
          "pass the tar that docker save -o FILE wrote",
        );
      await mkdir(work, { recursive: true });
      await run("tar", ["-xf", path.resolve(img.path), "-C", work], {
        logFile: opts.logFile,
        what: `unpacking ${img.path}`,
      });
      image = await resolveDockerArchive(img.path, work);
    }
    for (const l of image.layers) await applyLayer(realRoot, l.file, l.name, opts.logFile);
    return {
      layers: image.layers.map((l) => ({ digest: l.digest, size: l.size })),
      configDigest: image.configDigest,
      labels: labelsOf(image.config),
      rootfs,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string; variant?: string };
}
interface LayerFile {
  file: string;
  digest: string;
  size: number;
  name: string;
}
interface Resolved {
  layers: LayerFile[];
  config: unknown;
  configDigest?: string;
}

async function resolveOci(dir: string, tag: string | undefined): Promise<Resolved> {
  const hint = "an OCI layout comes from e.g. skopeo copy docker://REF oci:DIR:TAG";
  const layout = await readJson(path.join(dir, "oci-layout")).catch(() => null);
  if (!layout || typeof (layout as { imageLayoutVersion?: unknown }).imageLayoutVersion !== "string")
    throw new BenchError(`${dir}: not an OCI image layout (no readable oci-layout file)`, hint);
  const index = (await readJson(path.join(dir, "index.json")).catch((e: Error) => {
    throw new BenchError(`${dir}/index.json: ${e.message}`, hint);
  })) as { manifests?: Descriptor[] };
  const all = index.manifests ?? [];
  const tags = all.map((d) => d.annotations?.[REF_NAME]).filter((t): t is string => !!t);
  const listed = `tags: ${tags.join(", ") || "(none)"}`;
  const desc =
    tag !== undefined ? all.find((d) => d.annotations?.[REF_NAME] === tag) : all.length === 1 ? all[0] : undefined;
  if (!desc && tag !== undefined)
    throw new BenchError(`${dir}: no manifest tagged "${tag}"; ${listed}`, `pick one: oci:${dir}:TAG`);
  if (!desc)
    throw new BenchError(
      `${dir} holds ${all.length} manifests and no tag was given; ${listed}`,
      `name the one to use: oci:${dir}:${tags[0] ?? "TAG"}`,
    );
  let manifest = await readBlob(dir, desc, "manifest");
  for (let depth = 0; isIndex(manifest); depth++) {
    if (depth > 4) throw new BenchError(`${dir}: image indexes nested too deeply`);
    manifest = await readBlob(
      dir,
      pickPlatform(dir, (manifest as { manifests?: Descriptor[] }).manifests ?? []),
      "manifest",
    );
  }
  const m = manifest as { config?: Descriptor; layers?: Descriptor[] };
  if (!m.config || !Array.isArray(m.layers))
    throw new BenchError(`${dir}: the selected manifest has no config or layers`);
  const config = await readBlob(dir, m.config, "config");
  const layers: LayerFile[] = [];
  for (const l of m.layers) {
    if (/zstd/.test(l.mediaType ?? "")) throw zstdError(`${dir}: layer ${l.digest}`);
    const file = await verifiedBlob(dir, l, "layer");
    layers.push({ file, digest: l.digest, size: l.size ?? (await stat(file)).size, name: l.digest });
  }
  return { layers, config, configDigest: m.config.digest };
}

function isIndex(doc: unknown): boolean {
  const d = doc as { mediaType?: string; manifests?: unknown };
  return Array.isArray(d.manifests) || /image\.index|manifest\.list/.test(d.mediaType ?? "");
}

function pickPlatform(dir: string, list: Descriptor[]): Descriptor {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const real = list.filter((d) => d.platform?.os !== "unknown");
  const match = real.filter((d) => d.platform?.os === "linux" && d.platform.architecture === arch);
  const pick = match[0] ?? (real.length === 1 ? real[0] : undefined);
  if (pick) return pick;
  const have = real.map((d) => `${d.platform?.os}/${d.platform?.architecture}`).join(", ");
  throw new BenchError(
    `${dir}: no linux/${arch} image in the index (has: ${have || "nothing"})`,
    "copy the image for this architecture",
  );
}

async function readBlob(dir: string, d: Descriptor, what: string): Promise<unknown> {
  const file = await verifiedBlob(dir, d, what);
  try {
    return JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw new BenchError(`${what} blob ${d.digest} in ${dir} is not JSON: ${(e as Error).message}`);
  }
}

/** The blob's path, once its content is known to hash to its digest. */
async function verifiedBlob(dir: string, d: Descriptor, what: string): Promise<string> {
  const m = /^sha256:([a-f0-9]{64})$/.exec(d.digest ?? "");
  if (!m)
    throw new BenchError(
      `${dir}: ${what} digest "${d.digest}" is not sha256:<64 hex digits>`,
      "only sha256 digests are supported",
    );
  const file = path.join(dir, "blobs", "sha256", m[1]!);
  const st = await stat(file).catch(() => null);
  if (!st) throw new BenchError(`${what} blob ${d.digest} is missing from ${dir}`, "copy the image again");
  await checkHash(file, m[1]!, `${what} blob ${d.digest} in ${dir}`);
  if (d.size !== undefined && d.size !== st.size)
    throw new BenchError(`${what} blob ${d.digest} in ${dir} is ${st.size} bytes, its descriptor says ${d.size}`);
  return file;
}

async function checkHash(file: string, want: string, what: string, gunzip = false): Promise<void> {
  const got = gunzip ? await sha256Gunzipped(file) : await sha256File(file);
  if (got !== want) throw hashMismatch(what, got, want);
}

function hashMismatch(what: string, got: string, want: string): BenchError {
  return new BenchError(
    `${what}: content hashes to sha256:${got}, expected sha256:${want}`,
    "the image is damaged or truncated; copy it again",
  );
}

async function sha256Gunzipped(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(file).pipe(createGunzip())) h.update(chunk as Buffer);
  return h.digest("hex");
}

async function resolveDockerArchive(archive: string, work: string): Promise<Resolved> {
  const hint = "docker-archive: takes the tar that docker save writes";
  const list = await readJson(path.join(work, "manifest.json")).catch(() => null);
  if (!Array.isArray(list) || list.length === 0)
    throw new BenchError(`${archive}: no manifest.json listing an image`, hint);
  if (list.length > 1) {
    const names = list.flatMap((e: { RepoTags?: string[] }) => e.RepoTags ?? ["(untagged)"]);
    throw new BenchError(
      `${archive} holds ${list.length} images (${names.join(", ")})`,
      "docker save exactly one image into the archive",
    );
  }
  const entry = list[0] as { Config?: string; Layers?: string[] };
  if (typeof entry.Config !== "string" || !Array.isArray(entry.Layers))
    throw new BenchError(`${archive}: manifest.json lacks Config or Layers`, hint);
  const configFile = inside(work, entry.Config, archive);
  const configHex = await sha256File(configFile);
  const named = /([a-f0-9]{64})(\.json)?$/.exec(entry.Config);
  if (named && named[1] !== configHex)
    throw hashMismatch(`config blob ${entry.Config} in ${archive}`, configHex, named[1]!);
  const config = await readJson(configFile);
  const diffIds = ((config as { rootfs?: { diff_ids?: string[] } }).rootfs?.diff_ids ?? []).map((d) =>
    d.replace(/^sha256:/, ""),
  );
  const layers: LayerFile[] = [];
  for (const [i, name] of entry.Layers.entries()) {
    const file = inside(work, name, archive);
    const st = await stat(file).catch(() => null);
    if (!st) throw new BenchError(`layer blob ${name} is missing from ${archive}`, hint);
    const what = `layer blob ${name} in ${archive}`;
    const kind = await compressionOf(file);
    if (kind === "zstd") throw zstdError(what);
    const hex = await sha256File(file);
    const blobName = /blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
    if (blobName && blobName[1] !== hex) throw hashMismatch(what, hex, blobName[1]!);
    const diff = diffIds[i];
    const diffWhat = `${what} (uncompressed, against the config's diff_ids)`;
    if (diff && kind === "gzip") await checkHash(file, diff, diffWhat, true);
    else if (diff && diff !== hex) throw hashMismatch(diffWhat, hex, diff);
    layers.push({ file, digest: `sha256:${hex}`, size: st.size, name });
  }
  return { layers, config, configDigest: `sha256:${configHex}` };
}

function inside(root: string, rel: string, archive: string): string {
  const p = path.resolve(root, rel);
  if (!p.startsWith(root + path.sep))
    throw new BenchError(`${archive}: manifest.json names "${rel}", outside the archive`);
  return p;
}

async function readJson(file: string): Promise<unknown> {
  return JSON.parse(await readFile(file, "utf8"));
}

function labelsOf(config: unknown): Record<string, string> {
  const raw = (config as { config?: { Labels?: Record<string, unknown> | null } } | null)?.config?.Labels ?? {};
  return Object.fromEntries(Object.entries(raw).filter((e): e is [string, string] => typeof e[1] === "string"));
}

async function pullWithSkopeo(ref: string, dir: string, logFile?: string): Promise<void> {
  const have = await Promise.any(
    (process.env.PATH ?? "")
      .split(path.delimiter)
      .filter(Boolean)
      .map((d) => access(path.join(d, "skopeo"), fsConstants.X_OK)),
  ).then(
    () => true,
    () => false,
  );
  if (!have)
    throw new BenchError(
      `docker://${ref} needs skopeo, which is not installed`,
      "run: apt-get install skopeo (or pass docker-archive:FILE / oci:DIR)",
    );
  await rm(dir, { recursive: true, force: true });
  const r = await runAllowFail("skopeo", ["copy", `docker://${ref}`, `oci:${dir}:latest`], {
    logFile,
    timeoutMs: 30 * 60_000,
  });
  if (r.exitCode !== 0) {
    const tail = logFile ? await tailOfFile(logFile, 5) : lastLines(r.stderr || r.stdout, 5);
    throw new BenchError(
      `could not fetch docker://${ref}: the registry could not be reached or refused the image (skopeo exit ${r.exitCode})${tail ? `:\n${tail}` : ""}`,
      `on a machine that can reach it, run docker save -o img.tar ${ref} (or skopeo copy docker://${ref} oci:DIR:latest), copy the result here and pass docker-archive:img.tar or oci:DIR`,
      logFile ? [logFile] : [],
    );
  }
}
