import { z } from "zod";

/**
 * The rules of KernelCI's KCIDB I/O schema that the files this tool writes
 * rely on, written from the schema's published documentation (kcidb-io,
 * I/O schema v5.3: `kcidb_io/schema/v05_03.py`, its JSON Schema's
 * descriptions). Not a copy of that schema: only the objects and fields
 * written here, each with the constraint the schema puts on it. What it
 * says and this follows:
 *
 * - the data is one object with a required `version` {major, minor}, and
 *   lists `checkouts`, `builds`, `tests` (also `issues`, `incidents`,
 *   which this tool does not write); no other top-level property;
 * - every object is closed (no property the schema does not name), and no
 *   property may be null;
 * - an object id is "<origin>:<anything without NUL>", an origin matches
 *   [a-z0-9_]+;
 * - a test's path is dot-separated [a-zA-Z0-9_-] parts (or "" for all tests
 *   of a build);
 * - a status is one of FAIL, ERROR, MISS, PASS, DONE, SKIP (in priority
 *   order);
 * - a test's `number` is {value (required), unit, prefix: metric|binary};
 * - `log_url`, `config_url`, resource urls are URIs (absolute, with a
 *   scheme); a resource's name is a file name without "/";
 * - `patchset_hash` is "" (no patches) or a sha256; `git_commit_hash` a
 *   sha1; `git_repository_url` an https URL; `message_id` an e-mail
 *   address (approximated below as local@domain without spaces or angle
 *   brackets);
 * - `log_excerpt` is at most 16384 characters; `misc` is any object.
 */

export const KCIDB_VERSION = { major: 5, minor: 3 } as const;

export const ORIGIN_PATTERN = /^[a-z0-9_]+$/;
const idString = z.string().regex(/^[a-z0-9_]+:[^\0]*$/, "an id is <origin>:<id>");
const origin = z.string().regex(ORIGIN_PATTERN, "an origin is [a-z0-9_]+");
const noNul = z.string().regex(/^[^\0]*$/);
const sha256 = /^[0-9a-f]{64}$/;
const sha1 = /^[0-9a-f]{40}$/;
/** RFC 3339 date-time, as JSON Schema's date-time format. */
const dateTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/, "an RFC 3339 date-time");
/** JSON Schema's "uri" format: an absolute URI, scheme first (a path relative to something is not one). */
const uri = z.string().regex(/^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s]*$/, "an absolute URI");
const misc = z.record(z.string(), z.unknown());
const excerpt = z.string().max(16384);

/** Test paths: "" or dot-separated parts of letters, digits, "_" and "-". */
export const TEST_PATH_PATTERN = /^([a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*)?$/;

export const KCIDB_STATUSES = ["FAIL", "ERROR", "MISS", "PASS", "DONE", "SKIP"] as const;
export type KcidbStatus = (typeof KCIDB_STATUSES)[number];

export const KcidbResourceSchema = z.strictObject({ name: z.string().regex(/^[^/\0]+$/, "a file name without /"), url: uri });

export const KcidbCheckoutSchema = z.strictObject({
  id: idString,
  origin,
  tree_name: noNul.optional(),
  git_repository_url: z.string().regex(/^https:\/\/[^\0]*$/).optional(),
  git_commit_hash: z.string().regex(sha1).optional(),
  git_commit_name: noNul.optional(),
  git_repository_branch: noNul.optional(),
  patchset_files: z.array(KcidbResourceSchema).optional(),
  patchset_hash: z.string().regex(new RegExp(`^$|${sha256.source}`)).optional(),
  message_id: z.string().regex(/^[^\s@<>]+@[^\s@<>]+$/, "an e-mail address (a Message-ID without <>)").optional(),
  comment: z.string().optional(),
  start_time: dateTime.optional(),
  log_url: uri.optional(),
  log_excerpt: excerpt.optional(),
  valid: z.boolean().optional(),
  misc: misc.optional(),
});

export const KcidbBuildSchema = z.strictObject({
  id: idString,
  checkout_id: idString,
  origin,
  comment: z.string().optional(),
  start_time: dateTime.optional(),
  duration: z.number().optional(),
  architecture: z.string().regex(/^[a-z0-9_]*$/).optional(),
  command: z.string().optional(),
  compiler: z.string().optional(),
  input_files: z.array(KcidbResourceSchema).optional(),
  output_files: z.array(KcidbResourceSchema).optional(),
  config_name: z.string().optional(),
  config_url: uri.optional(),
  log_url: uri.optional(),
  log_excerpt: excerpt.optional(),
  status: z.enum(KCIDB_STATUSES).optional(),
  misc: misc.optional(),
});

export const KcidbNumberSchema = z.strictObject({
  value: z.number(),
  unit: z.string().optional(),
  prefix: z.enum(["metric", "binary"]).optional(),
});

export const KcidbTestSchema = z.strictObject({
  id: idString,
  build_id: idString,
  origin,
  environment: z.strictObject({ comment: z.string().optional(), misc: misc.optional() }).optional(),
  path: z.string().regex(TEST_PATH_PATTERN, "dot-separated parts of [a-zA-Z0-9_-]").optional(),
  comment: z.string().optional(),
  log_url: uri.optional(),
  log_excerpt: excerpt.optional(),
  status: z.enum(KCIDB_STATUSES).optional(),
  number: KcidbNumberSchema.optional(),
  start_time: dateTime.optional(),
  duration: z.number().optional(),
  input_files: z.array(KcidbResourceSchema).optional(),
  output_files: z.array(KcidbResourceSchema).optional(),
  misc: misc.optional(),
});

/** The file kcidb writes: one submission for kcidb-submit. */
export const KcidbDataSchema = z.strictObject({
  version: z.strictObject({ major: z.literal(KCIDB_VERSION.major), minor: z.number().int().min(0).max(KCIDB_VERSION.minor).optional() }),
  checkouts: z.array(KcidbCheckoutSchema).optional(),
  builds: z.array(KcidbBuildSchema).optional(),
  tests: z.array(KcidbTestSchema).optional(),
});
export type KcidbData = z.infer<typeof KcidbDataSchema>;
export type KcidbCheckout = z.infer<typeof KcidbCheckoutSchema>;
export type KcidbBuild = z.infer<typeof KcidbBuildSchema>;
export type KcidbTest = z.infer<typeof KcidbTestSchema>;
