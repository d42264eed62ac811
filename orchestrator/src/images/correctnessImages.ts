import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { ImageProfile } from "../kernel/series.js";
import { cached } from "../util/cache.js";
import { BenchError } from "../util/errors.js";
import type { Progress } from "../util/progress.js";
import { pickCorruptionPaths, writeCorruptImages } from "./corrupt.js";
import { keylessEdits, writeCraftedImages } from "./crafted.js";
import { pickForgeryPath, writeForgedImage } from "./forged.js";
import { writeEdited, type Edit } from "./imageEdits.js";
import { regularFiles } from "./manifest.js";
import type { ImagePair } from "./pairs.js";

/**
 * The extra images of the correctness checks trust (a forged copy of B)
 * and corrupt (corrupted copies of A), made once from a pair's built
 * images in the series' format and cached by the images' content. Either
 * kind may be impossible for a pair (no file to forge, say): then it is not
 * made, and the reason says why the check is not applicable.
 */

/** The seed of the corruption set: a new seed is a new set of images. */
const CORRUPT_SEED = "esb-corrupt-1";

const EditSchema = z.object({ offset: z.number(), before: z.array(z.number()), after: z.array(z.number()) });

/** The domain trust-cross-domain mounts A in, against which the crafted images are made (esbcheck's check_trust). */
export const VICTIM_DOMAIN = "esb-a";

export const CorrectnessImagesRecordSchema = z.object({
  format: z.string(),
  forged: z.union([
    z.object({
      file: z.string(),
      path: z.string(),
      offset: z.number(),
      before: z.string(),
      after: z.string(),
      size: z.number(),
      xattrName: z.string(),
      checksumRewritten: z.boolean(),
      edits: z.array(EditSchema),
    }),
    z.object({ notApplicable: z.string() }),
  ]),
  /** Images crafted against the sharing key's layout (images/crafted.ts); a case on "forged" mounts the forged image. */
  crafted: z
    .union([
      z.object({
        cases: z.array(
          z.object({
            name: z.string(),
            what: z.string(),
            victimDomain: z.string(),
            domainHex: z.string(),
            file: z.string().nullable(),
            edits: z.array(EditSchema),
          }),
        ),
      }),
      z.object({ notApplicable: z.string() }),
    ])
    .default({ notApplicable: "made before crafted images existed" }),
  /** A and B without their fingerprint key: domain-id mounts images that have none. */
  keyless: z
    .union([
      z.object({ a: z.string(), b: z.string(), edits: z.array(EditSchema) }),
      z.object({ notApplicable: z.string() }),
    ])
    .default({ notApplicable: "made before keyless images existed" }),
  corrupt: z.union([
    z.object({
      seed: z.string(),
      hitPath: z.string(),
      donorPath: z.string(),
      images: z.array(
        z.object({
          file: z.string(),
          name: z.string(),
          place: z.string(),
          what: z.string(),
          expect: z.string(),
          hitPath: z.string().nullable(),
          checksum: z.string(),
          edits: z.array(EditSchema),
        }),
      ),
    }),
    z.object({ notApplicable: z.string() }),
  ]),
});
type CorrectnessImagesRecord = z.infer<typeof CorrectnessImagesRecordSchema>;

interface CorrectnessImages {
  dir: string;
  record: CorrectnessImagesRecord;
  reused: boolean;
}

/** Why an image kind cannot be made, as a reason for "not applicable", or rethrown when it is not about the image. */
function notApplicable(e: unknown, what: string, format: string): { notApplicable: string } {
  if (!(e instanceof BenchError)) throw e;
  return { notApplicable: `${what} for a ${format} image: ${e.message}` };
}

export async function prepareCorrectnessImages(
  pair: ImagePair,
  profile: ImageProfile,
  want: { forged: boolean; corrupt: boolean; keyless: boolean },
  progress: Progress,
): Promise<CorrectnessImages> {
  const files = (side: "a" | "b") =>
    regularFiles(pair[side].manifest).map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 }));
  const inputs = {
    a: pair.a.record.imageSha256,
    b: pair.b.record.imageSha256,
    format: profile.format,
    seed: CORRUPT_SEED,
    want,
    v: 3,
  };
  const hit = await cached(
    "correctness-images",
    inputs,
    CorrectnessImagesRecordSchema,
    (dir) =>
      progress.stage("images", `forged and corrupted images of ${pair.record.name} (${profile.format})`, async () => {
        const [fa, fb] = [files("a"), files("b")];
        let forged: CorrectnessImagesRecord["forged"] = { notApplicable: "not asked for" };
        if (want.forged) {
          const p = pickForgeryPath(fa, fb);
          if (!p)
            forged = {
              notApplicable:
                "no file has the same path and size in A and B with different content (a plain name, no white space)",
            };
          else {
            try {
              const f = await writeForgedImage(
                pair.b.image,
                pair.a.image,
                p,
                path.join(dir, "forged.erofs"),
                profile.format,
              );
              forged = { file: "forged.erofs", ...f };
            } catch (e) {
              forged = notApplicable(e, "forging a fingerprint", profile.format);
            }
          }
        }
        let crafted: CorrectnessImagesRecord["crafted"] = {
          notApplicable: "notApplicable" in forged ? forged.notApplicable : "no forged image",
        };
        if ("file" in forged) {
          try {
            const cases = await writeCraftedImages(
              pair.b.image,
              pair.a.image,
              forged.path,
              profile.format,
              VICTIM_DOMAIN,
              dir,
            );
            crafted = { cases: cases.map(({ image: _image, ...c }) => c) };
          } catch (e) {
            crafted = notApplicable(e, "crafting fingerprints against the key", profile.format);
          }
        }
        let keyless: CorrectnessImagesRecord["keyless"] = { notApplicable: "not asked for" };
        if (want.keyless) {
          try {
            let editsOfA: Edit[] = [];
            for (const side of ["a", "b"] as const) {
              const edits = keylessEdits(new Uint8Array(await readFile(pair[side].image)), profile.format);
              await writeEdited(pair[side].image, path.join(dir, `keyless-${side}.erofs`), edits);
              if (side === "a") editsOfA = edits;
            }
            keyless = { a: "keyless-a.erofs", b: "keyless-b.erofs", edits: editsOfA };
          } catch (e) {
            keyless = notApplicable(e, "taking the fingerprint key away", profile.format);
          }
        }
        let corrupt: CorrectnessImagesRecord["corrupt"] = { notApplicable: "not asked for" };
        if (want.corrupt) {
          const picks = pickCorruptionPaths(fa, fb);
          if (!picks)
            corrupt = {
              notApplicable:
                "A and B share no two files of different sizes (with plain names) to hit and to take a fingerprint from",
            };
          else {
            try {
              await mkdir(path.join(dir, "corrupt"), { recursive: true });
              const made = await writeCorruptImages(
                pair.a.image,
                path.join(dir, "corrupt"),
                { seed: CORRUPT_SEED, ...picks },
                profile.format,
              );
              corrupt = {
                seed: CORRUPT_SEED,
                ...picks,
                images: made.map((m) => ({ ...m.corruption, file: path.relative(dir, m.file) })),
              };
            } catch (e) {
              corrupt = notApplicable(e, "corrupting", profile.format);
            }
          }
        }
        return { format: profile.format, forged, crafted, keyless, corrupt };
      }),
    {
      say: (m) => progress.info(m),
      files: (r) => ("images" in r.corrupt ? r.corrupt.images.map((i) => i.file) : []),
    },
  );
  return { dir: hit.dir, record: hit.record, reused: hit.reused };
}
