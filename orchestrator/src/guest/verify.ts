import { pathKey, type Manifest } from "../images/manifest.js";
import type { GuestReport } from "./protocol.js";

/** The digests a guest can check each file with: XXH64 (cheap, every boot) or sha256. */
export const DIGESTS = ["xxh64", "sha256"] as const;
export type Digest = (typeof DIGESTS)[number];

/** What one boot's reads proved: every file of the manifest read whole (and with its digest, when one was asked for). */
interface ReadCheck {
  /** Files read whole, matching the manifest. */
  files: number;
  /** Of those, files whose digest was compared. */
  hashed: number;
  problems: string[];
  /** A file read back with different content: with sharing on, a corruption in the kernel under test. */
  corrupt: boolean;
}

interface Expected {
  path: string;
  pathHex?: string;
  size: number;
  sha256: string;
  xxh64?: string;
}

/** Regular files and hard links of one image, by the exact bytes of their names. */
export function expectedFiles(m: Manifest): Map<string, Expected> {
  const out = new Map<string, Expected>();
  const byKey = new Map<string, Expected>();
  for (const e of m.entries) {
    if (e.type === "file" && e.sha256) {
      const x = { path: e.path, pathHex: e.pathHex, size: e.size, sha256: e.sha256, xxh64: e.xxh64 };
      byKey.set(pathKey(e), x);
      out.set(pathKey(e), x);
    }
  }
  for (const e of m.entries) {
    if (e.type !== "hardlink" || e.target === undefined) continue;
    const target = byKey.get(pathKey({ path: e.target, pathHex: e.targetHex }));
    if (target) out.set(pathKey(e), { ...target, path: e.path, pathHex: e.pathHex });
  }
  return out;
}

const shown = (f: { path: string; pathHex?: string }) => (f.pathHex ? `${f.path} (bytes ${f.pathHex})` : f.path);

/**
 * Checks one boot's reads against both manifests: every file read exactly
 * once, its full size delivered by the access path, its digest when the
 * guest computed one, nothing in the image that the manifest lacks, no read or
 * walk error. Any problem fails the boot: a short read would shrink the
 * page cache figure as surely as a wrong page would corrupt it.
 */
export function verifyReads(report: GuestReport, a: Manifest, b: Manifest, opts: { digest: Digest | null }): ReadCheck {
  const problems: string[] = [];
  let files = 0;
  let hashed = 0;
  let corrupt = false;
  for (const [label, m] of [
    ["A", a],
    ["B", b],
  ] as const) {
    if (!report.reads.some((r) => r.image === label)) problems.push(`image ${label} was not read`);
    for (const r of report.reads.filter((x) => x.image === label && x.walk !== 0))
      problems.push(`image ${label}: the ${r.method} walk did not cover the whole tree`);
    const expected = expectedFiles(m);
    const seen = new Map<string, GuestReport["files"][number]>();
    for (const f of report.files.filter((x) => x.image === label)) {
      const key = pathKey(f);
      if (seen.has(key)) problems.push(`image ${label}: ${shown(f)} was read twice`);
      seen.set(key, f);
    }
    for (const [key, want] of expected) {
      const got = seen.get(key);
      if (!got) {
        problems.push(`image ${label}: ${shown(want)} was not read back`);
        continue;
      }
      if (got.bytes !== want.size) {
        problems.push(`image ${label}: ${shown(got)}: ${got.bytes} of ${want.size} bytes read`);
        continue;
      }
      if (opts.digest) {
        const d = opts.digest;
        const [got1, want1] = [got[d], want[d]];
        if (got1 === undefined || want1 === undefined) {
          problems.push(
            `image ${label}: ${shown(got)} has no ${d} ${got1 === undefined ? "from the guest" : "in the manifest"}`,
          );
          continue;
        }
        if (got1 !== want1) {
          corrupt = true;
          problems.push(
            `image ${label}: ${shown(got)} read back as ${d} ${got1.slice(0, 16)}…, manifest says ${want1.slice(0, 16)}…`,
          );
          continue;
        }
        hashed++;
      }
      files++;
    }
    for (const [key, f] of seen)
      if (!expected.has(key)) problems.push(`image ${label}: ${shown(f)} is in the image but not in the manifest`);
  }
  for (const e of report.fileErrors) {
    problems.push(
      `image ${e.image}: ${shown(e) || "(root)"}: ${e.op} failed (errno ${e.errno})${e.bytes ? ` after ${e.bytes} bytes` : ""}`,
    );
  }
  return { files, hashed, problems, corrupt };
}
