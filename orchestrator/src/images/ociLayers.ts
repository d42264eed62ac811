import { lstat, open, readdir, realpath, rm } from "node:fs/promises";
import path from "node:path";
import { BenchError } from "../util/errors.js";
import { run, runAllowFail } from "../util/exec.js";

export function zstdError(what: string): BenchError {
  return new BenchError(
    `${what} is zstd-compressed, which is not supported`,
    "recompress: skopeo copy --dest-compress-format gzip oci:DIR oci:NEWDIR",
  );
}

export async function compressionOf(file: string): Promise<"gzip" | "zstd" | "none"> {
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

interface TarEntry {
  type: string;
  name: string;
  link?: string;
}

/** Applies one layer on top of the tree: whiteouts first, then the layer's own entries. */
export async function applyLayer(root: string, file: string, layer: string, logFile?: string): Promise<void> {
  const kind = await compressionOf(file);
  if (kind === "zstd") throw zstdError(`layer ${layer}`);
  const z = kind === "gzip" ? ["-z"] : [];
  const listing = await run(
    "tar",
    ["-t", "-v", ...z, "-f", file, "--quoting-style=c", "--numeric-owner", "--full-time"],
    { what: `listing layer ${layer}` },
  );
  // V and M lines are volume labels and multi-volume continuations, not paths
  const entries = listing.stdout
    .split("\n")
    .filter((l) => l.trim() && !"VM".includes(l[0]!))
    .map((l) => parseListLine(l, layer));
  const guard = rootGuard(root, layer);
  for (const e of entries) {
    const base = path.posix.basename(e.name);
    if (!base.startsWith(".wh.")) continue;
    await guard.check(e.name);
    const dir = path.join(root, path.posix.dirname(e.name));
    if (base === ".wh..wh..opq") {
      const st = await lstat(dir).catch(() => null);
      if (st?.isDirectory())
        for (const child of await readdir(dir)) await rm(path.join(dir, child), { recursive: true, force: true });
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
  // only root can give files their owners; images are made --all-root, so a user's flattening loses nothing they hold
  const owner = process.getuid?.() === 0 ? ["--numeric-owner", "--same-owner"] : ["--no-same-owner"];
  await run(
    "tar",
    ["-x", ...z, "-f", file, "-C", root, ...owner, "-p", ...xattrs, "--wildcards", "--no-anchored", "--exclude=.wh.*"],
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
  const linkAt = rest.startsWith(' -> "') ? 4 : rest.startsWith(' link to "') ? 9 : -1;
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
  if (raw.startsWith("/"))
    throw new BenchError(`layer ${layer}: entry "${raw}" is an absolute path, outside the root filesystem`, hint);
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes(".."))
    throw new BenchError(`layer ${layer}: entry "${raw}" escapes the root filesystem through ".."`, hint);
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
      if (!(await memo.get(dir)))
        throw new BenchError(
          `layer ${layer}: entry "${rel}" would be written through a symbolic link that leads outside the root filesystem`,
          "the image is malformed or hostile; rebuild it",
        );
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
