import { z } from "zod";
import { PAGE_SIZE, pagesOf, regularFiles, type Manifest } from "../images/manifest.js";

const ImageStatsSchema = z.object({
  files: z.number(),
  bytes: z.number(),
  /** Page cache pages if every file is read through its own inode. */
  pages: z.number(),
  /** Pages if files with the same content share one copy (sharing within the image). */
  distinctPages: z.number(),
});
type ImageStats = z.infer<typeof ImageStatsSchema>;

const AfterSchema = z.object({ afterA: z.number(), afterB: z.number() });

export const SharingAnalysisSchema = z.object({
  pageSize: z.number(),
  a: ImageStatsSchema,
  b: ImageStatsSchema,
  /** Files of B whose content also exists in A, and their bytes/pages. */
  sharedFiles: z.number(),
  sharedBytes: z.number(),
  sharedPages: z.number(),
  /** Expected page cache in MiB after reading A, then A and B, per mode. */
  expected: z.object({ off: AfterSchema, on: AfterSchema, split: AfterSchema }),
  /** (off - on) / off after both images, in percent. */
  expectedReductionPct: z.number(),
});
export type SharingAnalysis = z.infer<typeof SharingAnalysisSchema>;

function statsOf(m: Manifest, pageSize: number): ImageStats & { byDigest: Map<string, number> } {
  const files = regularFiles(m);
  const byDigest = new Map<string, number>();
  for (const f of files) byDigest.set(f.sha256, pagesOf(f.size, pageSize));
  return {
    files: files.length,
    bytes: files.reduce((s, f) => s + f.size, 0),
    pages: files.reduce((s, f) => s + pagesOf(f.size, pageSize), 0),
    distinctPages: [...byDigest.values()].reduce((s, p) => s + p, 0),
    byDigest,
  };
}

/**
 * What sharing can save for a pair: identical content (the fingerprint is the
 * file's sha256) is cached once per domain, whatever its path or image.
 */
export function analyseSharing(a: Manifest, b: Manifest, pageSize = PAGE_SIZE): SharingAnalysis {
  const sa = statsOf(a, pageSize);
  const sb = statsOf(b, pageSize);
  let sharedFiles = 0;
  let sharedBytes = 0;
  let sharedPages = 0;
  for (const f of regularFiles(b)) {
    if (sa.byDigest.has(f.sha256)) {
      sharedFiles++;
      sharedBytes += f.size;
      sharedPages += pagesOf(f.size, pageSize);
    }
  }
  let unionPages = sa.distinctPages;
  for (const [digest, pages] of sb.byDigest) if (!sa.byDigest.has(digest)) unionPages += pages;
  const mib = (pages: number) => (pages * pageSize) / (1024 * 1024);
  const off = { afterA: mib(sa.pages), afterB: mib(sa.pages + sb.pages) };
  const on = { afterA: mib(sa.distinctPages), afterB: mib(unionPages) };
  const split = { afterA: mib(sa.distinctPages), afterB: mib(sa.distinctPages + sb.distinctPages) };
  const { byDigest: _a, ...aStats } = sa;
  const { byDigest: _b, ...bStats } = sb;
  return {
    pageSize,
    a: aStats,
    b: bStats,
    sharedFiles,
    sharedBytes,
    sharedPages,
    expected: { off, on, split },
    expectedReductionPct: off.afterB > 0 ? ((off.afterB - on.afterB) / off.afterB) * 100 : 0,
  };
}
