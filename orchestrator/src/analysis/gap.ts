import { z } from "zod";
import type { FileLayout } from "../images/fileLayout.js";
import { pagesOf, pathKey, regularFiles, type Manifest } from "../images/manifest.js";

/**
 * Why sharing saves less than the model expects. The model says every file
 * of B whose content is also in A shares A's pages; the guest measures, after
 * reading A and before reading B, which of B's pages are already resident
 * (mincore): those files do share. Each identical file that does not is put
 * down to a cause the tool can see; what the files do not explain (directory
 * and inode pages, or anything else) is the rest.
 */
const GAP_CAUSES = [
  "inline or tail-packed data",
  "no fingerprint xattr",
  "smaller than a page",
  "partly shared",
  "unexplained",
] as const;
type GapCause = (typeof GAP_CAUSES)[number];

/** What one boot's residency walk showed, summed per cause (MiB, files). */
export const GapEvidenceSchema = z.object({
  workload: z.string(),
  path: z.string(),
  identicalFiles: z.number().int(),
  identicalMiB: z.number(),
  sharedMiB: z.number(),
  notShared: z.array(
    z.object({ cause: z.enum(GAP_CAUSES), MiB: z.number(), files: z.number().int(), example: z.string() }),
  ),
});
export type GapEvidence = z.infer<typeof GapEvidenceSchema>;

const PAGE = 4096;
const MIB = 2 ** 20;

export function gapEvidence(opts: {
  workload: string;
  path: string;
  manifestA: Manifest;
  manifestB: Manifest;
  residentB: Array<{ path: string; pathHex?: string; pages: number; resident: number }>;
  layoutB?: (key: string) => FileLayout | undefined;
}): GapEvidence {
  const inA = new Set(regularFiles(opts.manifestA).map((f) => f.sha256));
  const resident = new Map(opts.residentB.map((r) => [pathKey(r), r]));
  const notShared = new Map<GapCause, { MiB: number; files: number; example: string }>();
  let identicalFiles = 0;
  let identicalPages = 0;
  let sharedPages = 0;
  for (const f of regularFiles(opts.manifestB)) {
    if (!inA.has(f.sha256) || f.size === 0) continue;
    identicalFiles++;
    const pages = pagesOf(f.size);
    identicalPages += pages;
    const r = resident.get(pathKey(f));
    const got = Math.min(pages, r?.resident ?? 0);
    sharedPages += got;
    if (got === pages) continue;
    const layout = opts.layoutB?.(pathKey(f));
    const cause: GapCause = layout?.inline
      ? "inline or tail-packed data"
      : layout && !layout.fingerprint
        ? "no fingerprint xattr"
        : f.size < PAGE
          ? "smaller than a page"
          : got > 0
            ? "partly shared"
            : "unexplained";
    const c = notShared.get(cause) ?? { MiB: 0, files: 0, example: f.path };
    c.MiB += ((pages - got) * PAGE) / MIB;
    c.files++;
    notShared.set(cause, c);
  }
  return {
    workload: opts.workload,
    path: opts.path,
    identicalFiles,
    identicalMiB: (identicalPages * PAGE) / MIB,
    sharedMiB: (sharedPages * PAGE) / MIB,
    notShared: GAP_CAUSES.filter((c) => notShared.has(c)).map((cause) => ({ cause, ...notShared.get(cause)! })),
  };
}

/** The gap between measured and expected page cache with sharing on, and what explains it. */
export interface GapTable {
  workload: string;
  path: string;
  /** measured on - expected on, MiB. */
  gapMiB: number;
  /** Identical files' pages that were not shared, by cause. */
  notShared: GapEvidence["notShared"];
  /** Page cache beyond file data that every mount costs (directories, inodes): off as measured minus off as modelled. */
  metadataMiB: number;
  /** What neither explains. */
  restMiB: number;
  offMiB: number;
}

/** The table a reader sees, from a boot's evidence and the cells' medians. */
export function gapTable(
  e: GapEvidence,
  cells: { offMeasured: number; offExpected: number; onMeasured: number; onExpected: number },
): GapTable {
  const gapMiB = cells.onMeasured - cells.onExpected;
  const notSharedMiB = e.notShared.reduce((s, c) => s + c.MiB, 0);
  const metadataMiB = Math.max(0, cells.offMeasured - cells.offExpected);
  return {
    workload: e.workload,
    path: e.path,
    gapMiB,
    notShared: e.notShared,
    metadataMiB,
    restMiB: gapMiB - notSharedMiB - metadataMiB,
    offMiB: cells.offMeasured,
  };
}

/** A read-all cell as the gap tables read it: its median and what the model expected. */
interface GapCell {
  afterB: { median: number };
  expectedAfterB: number;
}

/** The parts of a run the gap tables read; a parsed run.json is one. */
interface GapView {
  gapEvidence: GapEvidence[];
  comparisons: Array<{ workload: string; path: string; off?: GapCell; on?: GapCell }>;
}

/** Every workload and access path with evidence, and both an off and an on cell to measure the gap by. */
export function gapTables(run: GapView): GapTable[] {
  return run.gapEvidence.flatMap((e) => {
    const c = run.comparisons.find((x) => x.workload === e.workload && x.path === e.path);
    if (!c?.on || !c.off) return [];
    return [
      gapTable(e, {
        offMeasured: c.off.afterB.median,
        offExpected: c.off.expectedAfterB,
        onMeasured: c.on.afterB.median,
        onExpected: c.on.expectedAfterB,
      }),
    ];
  });
}
