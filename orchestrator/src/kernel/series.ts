import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { strictObject } from "../util/schema.js";
import { kernelDir } from "../util/paths.js";
import { BenchError } from "../util/errors.js";
import { parseYamlWith, yamlNames } from "../util/yamlFile.js";

/**
 * How images must be made for a series' kernel to recognise them.
 * - xattr-inode-digest: mainline format (COMPAT_ISHARE_XATTRS + prefix id),
 *   written by mkfs.erofs --xattr-inode-digest.
 * - ishare-key-long-prefix: v8 format: the same mkfs output with the 0x80
 *   long-prefix bit set in the superblock byte `ishare_key_start`.
 * - ishare-key-packed-name: RFC v7 format: the same mkfs output plus a packed
 *   inode holding the fingerprint xattr's name (INCOMPAT_ISHARE_KEY).
 */
const ImageProfileSchema = strictObject({
  format: z.enum(["xattr-inode-digest", "ishare-key-long-prefix", "ishare-key-packed-name"]),
  xattrName: z.string().default("trusted.erofs.fingerprint"),
  mkfsArgs: z.array(z.string()).default([]),
});
export type ImageProfile = z.infer<typeof ImageProfileSchema>;

const KernelSourceSpecSchema = z.discriminatedUnion("kind", [
  strictObject({ kind: z.literal("debian"), package: z.string().optional(), version: z.string().optional() }),
  strictObject({
    kind: z.literal("git"),
    ref: z.string(),
    /** VERSION.PATCHLEVEL the base tree's Makefile must show, e.g. "6.19". */
    expectVersion: z.string().optional(),
  }),
]);

/**
 * A change upstream made after a series version that a test can observe:
 * the recall table (`recall`) shows the verdict of each check that sees it
 * on the series and on mainline; a change no check sees says why.
 */
const LaterUpstreamSchema = strictObject({
  /** The upstream commit's subject, or what changed in words when it has none of its own. */
  change: z.string(),
  /** Where it landed: a series version, a release. */
  landed: z.string(),
  /** What a test sees differ. */
  observable: z.string(),
  /** The correctness results that see it (names as in checks.def). */
  seenBy: z.array(z.string()).default([]),
  /** Why no check sees it yet, when seenBy is empty. */
  unseen: z.string().optional(),
}).refine((c) => c.seenBy.length > 0 || c.unseen, { message: "a change no check sees says why (unseen)" });

export const SeriesSpecSchema = strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/),
  title: z.string(),
  /** Cover letter Message-ID (no angle brackets); absent for mainline. */
  messageId: z.string().optional(),
  patches: z.number().int().nonnegative().default(0),
  /** "vN" as in the subjects ("[PATCH v8 3/9]"); "" for unversioned RFCs. */
  version: z.string().optional(),
  base: KernelSourceSpecSchema,
  symbols: z.record(z.string().regex(/^CONFIG_[A-Z0-9_]+$/), z.string()),
  /** Mount options for sharing on; "{domain}" is replaced by the domain id. */
  shareMountOptions: z.string(),
  /** A string the kernel logs when sharing is active, checked in "on" mode. */
  shareBanner: z.string().optional(),
  imageProfile: ImageProfileSchema,
  fixups: z.array(z.string()).default([]),
  erofsUtilsPatches: z.array(z.string()).default([]),
  /** When set the tool refuses the series with this reason. */
  notRunnable: z.string().optional(),
  /** What upstream changed after this version that a test can observe (the recall table). */
  laterUpstream: z.array(LaterUpstreamSchema).default([]),
});
export type SeriesSpec = z.infer<typeof SeriesSpecSchema>;

function seriesDir(): string {
  return path.join(kernelDir, "series");
}

export async function listSeries(dir = seriesDir()): Promise<string[]> {
  return yamlNames(dir);
}

export function parseSeriesSpec(text: string, source: string): SeriesSpec {
  return parseYamlWith(SeriesSpecSchema, text, source, "series spec", "see kernel/series/README.md for the fields");
}

/** A series by name (kernel/series/NAME.yaml), or a spec file of your own (a path ending in .yaml). */
export async function loadSeries(name: string, dir = seriesDir()): Promise<SeriesSpec> {
  const own = name.endsWith(".yaml");
  const file = own ? path.resolve(name) : path.join(dir, `${name}.yaml`);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    if (own)
      throw new BenchError(`series spec ${file} cannot be read`, "check the path, or name a series in kernel/series/");
    const known = await listSeries(dir).catch(() => []);
    throw new BenchError(`unknown series "${name}"`, `use one of: ${known.join(", ")} (or add ${file})`);
  }
  const spec = parseSeriesSpec(text, file);
  const expected = path.basename(file, ".yaml");
  if (spec.name !== expected)
    throw new BenchError(`${file}: name is "${spec.name}", expected "${expected}"`, "a spec's name is its file name");
  return spec;
}

/**
 * A developer's own tree, benched as it is: the kernel at `ref` of their
 * clone, no mails applied, with the feature symbol, image profile and mount
 * options of the series named by --profile (a v9 in progress measured before
 * it is posted, or a maintainer's dev branch followed every night).
 */
export function treeSpec(profile: SeriesSpec, ref: string): SeriesSpec {
  return {
    ...profile,
    name: `${profile.name}-tree`,
    title: `a tree at ${ref}, benched with the ${profile.name} profile`,
    messageId: undefined,
    patches: 0,
    version: undefined,
    base: { kind: "git", ref },
    fixups: [],
    notRunnable: undefined,
  };
}

export function shareOptions(spec: SeriesSpec, domain: string): string {
  return spec.shareMountOptions.replaceAll("{domain}", domain);
}
