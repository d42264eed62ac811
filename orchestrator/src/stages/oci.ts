import { createHash } from "node:crypto";
import { constants as fsConstants, createReadStream } from "node:fs";
import { access, lstat, mkdir, open, readdir, readFile, realpath, rm, stat } from "node:fs/promises";
import path from "node:path";
import { createGunzip } from "node:zlib";
import { BenchError } from "../util/errors.js";
import { lastLines, run, runAllowFail, tailOfFile } from "../util/exec.js";
import { sha256File } from "../util/fsx.js";

/** A container image as the user names it on the command line. */
export type ImageRef =
  | { kind: "docker-archive"; path: string }
  | { kind: "oci"; path: string; ref?: string }
  | { kind: "docker"; ref: string };

export interface FlatImage {
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
export async function flattenImage(ref: ImageRef | string, destDir: string, opts: { logFile?: string } = {}): Promise<FlatImage> {
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
      if (!(await stat(img.path).catch(() => null))?.isFile()) throw new BenchError(`docker-archive: ${img.path} is not a file`, "pass the tar that docker save -o FILE wrote");
      await mkdir(work, { recursive: true });
      await run("tar", ["-xf", path.resolve(img.path), "-C", work], { logFile: opts.logFile, what: `unpacking ${img.path}` });
      image = await resolveDockerArchive(img.path, work);
    }
    for (const l of image.layers) await applyLayer(realRoot, l.file, l.name, opts.logFile);
    return { layers: image.layers.map((l) => ({ digest: l.digest, size: l.size })), configDigest: image.configDigest, labels: labelsOf(image.config), rootfs };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

interface Descriptor { mediaType?: string; digest: string; size?: number; annotations?: Record<string, string>; platform?: { os?: string; architecture?: string; variant?: string } }
interface LayerFile { file: string; digest: string; size: number; name: string }
interface Resolved { layers: LayerFile[]; config: unknown; configDigest?: string }

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
  const desc = tag !== undefined ? all.find((d) => d.annotations?.[REF_NAME] === tag) : all.length === 1 ? all[0] : undefined;
  if (!desc && tag !== undefined) throw new BenchError(`${dir}: no manifest tagged "${tag}"; ${listed}`, `pick one: oci:${dir}:TAG`);
  if (!desc) throw new BenchError(`${dir} holds ${all.length} manifests and no tag was given; ${listed}`, `name the one to use: oci:${dir}:${tags[0] ?? "TAG"}`);
  let manifest = await readBlob(dir, desc, "manifest");
  for (let depth = 0; isIndex(manifest); depth++) {
    if (depth > 4) throw new BenchError(`${dir}: image indexes nested too deeply`);
    manifest = await readBlob(dir, pickPlatform(dir, (manifest as { manifests?: Descriptor[] }).manifests ?? []), "manifest");
  }
  const m = manifest as { config?: Descriptor; layers?: Descriptor[] };
  if (!m.config || !Array.isArray(m.layers)) throw new BenchError(`${dir}: the selected manifest has no config or layers`);
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
  throw new BenchError(`${dir}: no linux/${arch} image in the index (has: ${have || "nothing"})`, "copy the image for this architecture");
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
  if (!m) throw new BenchError(`${dir}: ${what} digest "${d.digest}" is not sha256:<64 hex digits>`, "only sha256 digests are supported");
  const file = path.join(dir, "blobs", "sha256", m[1]!);
  const st = await stat(file).catch(() => null);
  if (!st) throw new BenchError(`${what} blob ${d.digest} is missing from ${dir}`, "copy the image again");
  await checkHash(file, m[1]!, `${what} blob ${d.digest} in ${dir}`);
  if (d.size !== undefined && d.size !== st.size) throw new BenchError(`${what} blob ${d.digest} in ${dir} is ${st.size} bytes, its descriptor says ${d.size}`);
  return file;
}

async function checkHash(file: string, want: string, what: string, gunzip = false): Promise<void> {
  const got = gunzip ? await sha256Gunzipped(file) : await sha256File(file);
  if (got !== want) throw hashMismatch(what, got, want);
}

function hashMismatch(what: string, got: string, want: string): BenchError {
  return new BenchError(`${what}: content hashes to sha256:${got}, expected sha256:${want}`, "the image is damaged or truncated; copy it again");
}

async function sha256Gunzipped(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(file).pipe(createGunzip())) h.update(chunk as Buffer);
  return h.digest("hex");
}

async function resolveDockerArchive(archive: string, work: string): Promise<Resolved> {
  const hint = "docker-archive: takes the tar that docker save writes";
  const list = await readJson(path.join(work, "manifest.json")).catch(() => null);
  if (!Array.isArray(list) || list.length === 0) throw new BenchError(`${archive}: no manifest.json listing an image`, hint);
  if (list.length > 1) {
    const names = list.flatMap((e: { RepoTags?: string[] }) => e.RepoTags ?? ["(untagged)"]);
    throw new BenchError(`${archive} holds ${list.length} images (${names.join(", ")})`, "docker save exactly one image into the archive");
  }
  const entry = list[0] as { Config?: string; Layers?: string[] };
  if (typeof entry.Config !== "string" || !Array.isArray(entry.Layers)) throw new BenchError(`${archive}: manifest.json lacks Config or Layers`, hint);
  const configFile = inside(work, entry.Config, archive);
  const configHex = await sha256File(configFile);
  const named = /([a-f0-9]{64})(\.json)?$/.exec(entry.Config);
  if (named && named[1] !== configHex) throw hashMismatch(`config blob ${entry.Config} in ${archive}`, configHex, named[1]!);
  const config = await readJson(configFile);
  const diffIds = ((config as { rootfs?: { diff_ids?: string[] } }).rootfs?.diff_ids ?? []).map((d) => d.replace(/^sha256:/, ""));
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
  if (!p.startsWith(root + path.sep)) throw new BenchError(`${archive}: manifest.json names "${rel}", outside the archive`);
  return p;
}

async function readJson(file: string): Promise<unknown> {
  return JSON.parse(await readFile(file, "utf8"));
}

function labelsOf(config: unknown): Record<string, string> {
  const raw = (config as { config?: { Labels?: Record<string, unknown> | null } } | null)?.config?.Labels ?? {};
  return Object.fromEntries(Object.entries(raw).filter((e): e is [string, string] => typeof e[1] === "string"));
}

function zstdError(what: string): BenchError {
  return new BenchError(`${what} is zstd-compressed, which is not supported`, "recompress: skopeo copy --dest-compress-format gzip oci:DIR oci:NEWDIR");
}

async function compressionOf(file: string): Promise<"gzip" | "zstd" | "none"> {
  const fh = await open(file, "r");
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(4), 0, 4, 0);
    if (bytesRead >= 2 && buffer[0] === 0x1f && buffer[1] === 0x8b) return "gzip";
    if (bytesRead === 4 && buffer.readUInt32LE(0) === 0xfd2fb528) return "zstd";
    return "none";
  } finally {
    await fh.close();
  }
}

interface TarEntry { type: string; name: string; link?: string }

/** Applies one layer on top of the tree: whiteouts first, then the layer's own entries. */
async function applyLayer(root: string, file: string, layer: string, logFile?: string): Promise<void> {
  const kind = await compressionOf(file);
  if (kind === "zstd") throw zstdError(`layer ${layer}`);
  const z = kind === "gzip" ? ["-z"] : [];
  const listing = await run("tar", ["-t", "-v", ...z, "-f", file, "--quoting-style=c", "--numeric-owner", "--full-time"], { what: `listing layer ${layer}` });
  // V and M lines are volume labels and multi-volume continuations, not paths
  const entries = listing.stdout.split("\n").filter((l) => l.trim() && !"VM".includes(l[0]!)).map((l) => parseListLine(l, layer));
  const guard = rootGuard(root, layer);
  for (const e of entries) {
    const base = path.posix.basename(e.name);
    if (!base.startsWith(".wh.")) continue;
    await guard.check(e.name);
    const dir = path.join(root, path.posix.dirname(e.name));
    if (base === ".wh..wh..opq") {
      const st = await lstat(dir).catch(() => null);
      if (st?.isDirectory()) for (const child of await readdir(dir)) await rm(path.join(dir, child), { recursive: true, force: true });
      else if (st && dir !== root) await rm(dir, { force: true });
    } else if (!/^\.wh\.(\.\.?)?$/.test(base)) {
      await rm(path.join(dir, base.slice(4)), { recursive: true, force: true });
    }
    guard.forget();
  }
  for (const e of entries) {
    if (!e.name || path.posix.basename(e.name).startsWith(".wh.")) continue;
    await guard.check(e.name);
    if (e.type === "h" && e.link) await guard.check(e.link);
    const abs = path.join(root, e.name);
    const st = await lstat(abs).catch(() => null);
    // only a directory may stay under a directory entry; anything else is replaced, never written through
    if (st && !(st.isDirectory() && e.type === "d")) {
      await rm(abs, { recursive: true, force: true });
      guard.forget();
    }
  }
  const xattrs = (await tarHasXattrs()) ? ["--xattrs", "--xattrs-include=*"] : [];
  await run(
    "tar",
    ["-x", ...z, "-f", file, "-C", root, "--numeric-owner", "--same-owner", "-p", ...xattrs, "--wildcards", "--no-anchored", "--exclude=.wh.*"],
    { logFile, what: `extracting layer ${layer}` },
  );
}

/** One line of `tar -tv --quoting-style=c`: the type letter, then quoted names. */
function parseListLine(line: string, layer: string): TarEntry {
  const q = line.indexOf('"');
  if (q < 0) throw new BenchError(`layer ${layer}: cannot read tar listing line: ${line}`);
  const [raw, end] = unquoteC(line, q);
  const type = line[0]!;
  const entry: TarEntry = { type, name: cleanName(raw, layer) };
  const rest = line.slice(end);
  const linkAt = rest.startsWith(" -> \"") ? 4 : rest.startsWith(" link to \"") ? 9 : -1;
  if (linkAt >= 0) {
    const target = unquoteC(rest, linkAt)[0];
    entry.link = type === "h" ? cleanName(target, layer) : target;
  }
  return entry;
}

const C_ESCAPES: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11 };

/** A C-quoted string starting at s[start]; returns its text and the index after the closing quote. */
function unquoteC(s: string, start: number): [string, number] {
  const bytes: number[] = [];
  let i = start + 1;
  for (; i < s.length && s[i] !== '"'; i++) {
    const oct = s[i] === "\\" ? /^[0-7]{1,3}/.exec(s.slice(i + 1, i + 4)) : null;
    if (oct) bytes.push(parseInt(oct[0], 8)), (i += oct[0].length);
    else if (s[i] === "\\") bytes.push(C_ESCAPES[s[i + 1]!] ?? s.charCodeAt(i + 1)), i++;
    else bytes.push(...Buffer.from(s[i]!, "utf8"));
  }
  return [Buffer.from(bytes).toString("utf8"), i + 1];
}

function cleanName(raw: string, layer: string): string {
  const hint = "the image is malformed or hostile; rebuild it";
  if (raw.startsWith("/")) throw new BenchError(`layer ${layer}: entry "${raw}" is an absolute path, outside the root filesystem`, hint);
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new BenchError(`layer ${layer}: entry "${raw}" escapes the root filesystem through ".."`, hint);
  return parts.join("/");
}

/** Refuses entries whose parent directories pass through a symbolic link that leaves the tree. */
function rootGuard(root: string, layer: string): { check(rel: string): Promise<void>; forget(): void } {
  const memo = new Map<string, Promise<boolean>>();
  return {
    forget: () => memo.clear(),
    async check(rel) {
      const dir = path.posix.dirname(rel);
      if (!memo.has(dir)) memo.set(dir, staysInside(root, dir));
      if (!(await memo.get(dir))) throw new BenchError(`layer ${layer}: entry "${rel}" would be written through a symbolic link that leads outside the root filesystem`, "the image is malformed or hostile; rebuild it");
    },
  };
}

async function staysInside(root: string, dir: string): Promise<boolean> {
  let cur = root;
  for (const part of dir === "." ? [] : dir.split("/")) {
    cur = path.join(cur, part);
    const st = await lstat(cur).catch(() => null);
    if (!st || !(st.isDirectory() || st.isSymbolicLink())) return true;
    if (st.isSymbolicLink()) {
      const real = await realpath(cur).catch(() => null);
      if (!real || !(real === root || real.startsWith(root + path.sep))) return false;
      cur = real;
    }
  }
  return true;
}

let xattrSupport: Promise<boolean> | undefined;
function tarHasXattrs(): Promise<boolean> {
  xattrSupport ??= runAllowFail("tar", ["--help"]).then((r) => r.stdout.includes("--xattrs"));
  return xattrSupport;
}

async function pullWithSkopeo(ref: string, dir: string, logFile?: string): Promise<void> {
  const have = await Promise.any((process.env.PATH ?? "").split(path.delimiter).filter(Boolean).map((d) => access(path.join(d, "skopeo"), fsConstants.X_OK)))
    .then(() => true, () => false);
  if (!have) throw new BenchError(`docker://${ref} needs skopeo, which is not installed`, "run: apt-get install skopeo (or pass docker-archive:FILE / oci:DIR)");
  await rm(dir, { recursive: true, force: true });
  const r = await runAllowFail("skopeo", ["copy", `docker://${ref}`, `oci:${dir}:latest`], { logFile, timeoutMs: 30 * 60_000 });
  if (r.exitCode !== 0) {
    const tail = logFile ? await tailOfFile(logFile, 5) : lastLines(r.stderr || r.stdout, 5);
    throw new BenchError(
      `could not fetch docker://${ref}: the registry could not be reached or refused the image (skopeo exit ${r.exitCode})${tail ? `:\n${tail}` : ""}`,
      `on a machine that can reach it, run docker save -o img.tar ${ref} (or skopeo copy docker://${ref} oci:DIR:latest), copy the result here and pass docker-archive:img.tar or oci:DIR`,
      logFile ? [logFile] : [],
    );
  }
}
