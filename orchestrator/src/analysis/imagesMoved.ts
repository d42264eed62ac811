import { z } from "zod";
import { describeChange, packageChanges } from "../images/lockFile.js";

/**
 * Whether two runs measured the same images, workload by workload, and if
 * not, what moved: the packages of a side (from the rootfs records), else
 * the image's own inputs. A row measured on moved images says nothing about
 * the kernel: the judgement of two runs reads this before anything else.
 */

/** What a comparison reads of a run's images. */
export interface ImagesView {
  lock?: { file: string; sha256: string };
  workloads: Array<{
    name: string;
    imageA: { imageSha256: string; mkfsVersion?: string };
    imageB: { imageSha256: string; mkfsVersion?: string };
    rootfs?: {
      a: { packages: Record<string, string>; installed?: Record<string, string> };
      b: { packages: Record<string, string>; installed?: Record<string, string> };
    };
  }>;
}

export const ImageMoveSchema = z.object({
  workload: z.string(),
  side: z.enum(["A", "B"]),
  /** "redis-server 7.0.15-1~deb12u7 -> 7.0.15-1~deb12u10, libssl3 ... (+9 more)", or what else made the image differ. */
  detail: z.string(),
});
export type ImageMove = z.infer<typeof ImageMoveSchema>;

const asList = (m: Record<string, string>) => Object.entries(m).map(([name, version]) => ({ name, version }));

function sideMove(
  workload: string,
  side: "A" | "B",
  b: ImagesView["workloads"][number],
  c: ImagesView["workloads"][number],
  shown: number,
): ImageMove | undefined {
  const key = side === "A" ? "imageA" : "imageB";
  if (b[key].imageSha256 === c[key].imageSha256) return undefined;
  const rb = b.rootfs?.[side === "A" ? "a" : "b"];
  const rc = c.rootfs?.[side === "A" ? "a" : "b"];
  const own = new Set(Object.keys(rc?.installed ?? {}));
  // the workload's own packages first: "redis-server 7.0.15-1~deb12u10 -> ..." is what a reader looks for
  const changes = (rb && rc ? packageChanges(asList(rb.packages), asList(rc.packages)) : []).sort(
    (x, y) => Number(own.has(y.name)) - Number(own.has(x.name)),
  );
  const parts: string[] = [];
  if (changes.length) {
    parts.push(
      changes.slice(0, shown).map(describeChange).join(", ") +
        (changes.length > shown ? ` (+${changes.length - shown} more)` : ""),
    );
  }
  if (b[key].mkfsVersion !== c[key].mkfsVersion)
    parts.push(`mkfs.erofs ${b[key].mkfsVersion ?? "?"} -> ${c[key].mkfsVersion ?? "?"}`);
  if (!parts.length)
    parts.push(
      `image ${b[key].imageSha256.slice(0, 12)} -> ${c[key].imageSha256.slice(0, 12)} (same packages: the recipe's hooks or the image's own inputs)`,
    );
  return { workload, side, detail: parts.join("; ") };
}

/** Every side of every workload both runs measured whose image differs. */
export function imagesMoved(base: ImagesView, cur: ImagesView, shown = 4): ImageMove[] {
  const out: ImageMove[] = [];
  for (const c of cur.workloads) {
    const b = base.workloads.find((w) => w.name === c.name);
    if (!b) continue;
    for (const side of ["A", "B"] as const) {
      const m = sideMove(c.name, side, b, c, shown);
      if (m) out.push(m);
    }
  }
  return out;
}

/** "images: same" or "images moved: redis B redis-server 7.0.15-1~deb12u7 -> 7.0.15-1~deb12u10; ...". */
export function describeImages(moves: ImageMove[]): string {
  if (!moves.length) return "images: same";
  return `images moved: ${moves.map((m) => `${m.workload} ${m.side} ${m.detail}`).join("; ")}`;
}
