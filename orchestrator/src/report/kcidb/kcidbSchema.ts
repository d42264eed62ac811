import { z } from "zod";
import { allStorable, isStorableText } from "./text.js";

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
 * - `log_url`, `config_url`, resource urls and `git_repository_url` are
 *   JSON Schema "uri"s, which kcidb-io checks as RFC 3986 URIs (absolute,
 *   ASCII, anything else %-escaped); a resource's name is a file name
 *   without "/";
 * - `patchset_hash` is "" (no patches) or a sha256; `git_commit_hash` a
 *   sha1; `git_repository_url` an https URL; `message_id` an e-mail
 *   address (approximated below as local@domain without spaces or angle
 *   brackets);
 * - free text (comments, `log_excerpt`, commands, names) has no NUL;
 *   `log_excerpt` is at most 16384 characters; `misc` is any object.
 *
 * One rule is KCIDB's database's, not the schema's: no NUL and no lone
 * surrogate in any string, misc included (PostgreSQL refuses them).
 */

export const KCIDB_VERSION = { major: 5, minor: 3 } as const;

const ORIGIN_PATTERN = /^[a-z0-9_]+$/;
const idString = z.string().regex(/^[a-z0-9_]+:[^\0]*$/, "an id is <origin>:<id>");
const origin = z.string().regex(ORIGIN_PATTERN, "an origin is [a-z0-9_]+");
/** Free text: the schema's "no NUL", and what else the database refuses. */
const noNul = z.string().refine(isStorableText, "text without NUL or a lone surrogate");
const sha256 = /^[0-9a-f]{64}$/;
const sha1 = /^[0-9a-f]{40}$/;
/** RFC 3339 date-time, as JSON Schema's date-time format. */
const dateTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/, "an RFC 3339 date-time");
/** RFC 3986's URI, as kcidb-io checks JSON Schema's "uri" format (with the rfc3987 package): ASCII only, brackets only round an IP literal host. */
const PCT = "%[0-9A-Fa-f]{2}";
const UNRESERVED_SUB_DELIMS = "A-Za-z0-9\\-._~!$&'()*+,;=";
const PCHAR = `(?:[${UNRESERVED_SUB_DELIMS}:@]|${PCT})`;
const HOST = `(?:\\[[0-9A-Fa-f:.]+\\]|\\[v[0-9A-Fa-f]+\\.[${UNRESERVED_SUB_DELIMS}:]+\\]|(?:[${UNRESERVED_SUB_DELIMS}]|${PCT})*)`;
const AUTHORITY = `(?:(?:[${UNRESERVED_SUB_DELIMS}:]|${PCT})*@)?${HOST}(?::[0-9]*)?`;
const HIER_PART = `(?://${AUTHORITY}(?:/${PCHAR}*)*|/?(?:${PCHAR}+(?:/${PCHAR}*)*)?)`;
const URI_PATTERN = new RegExp(
  `^[A-Za-z][A-Za-z0-9+.-]*:${HIER_PART}(?:\\?(?:${PCHAR}|[/?])*)?(?:#(?:${PCHAR}|[/?])*)?$`,
);
const uri = z.string().regex(URI_PATTERN, "an RFC 3986 URI (absolute, ASCII, anything else %-escaped)");
const misc = z
  .record(z.string(), z.unknown())
  .refine(allStorable, "misc without NUL or a lone surrogate in any string");
const excerpt = noNul.max(16384);

/** Test paths: "" or dot-separated parts of letters, digits, "_" and "-". */
const TEST_PATH_PATTERN = /^([a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*)?$/;

const KCIDB_STATUSES = ["FAIL", "ERROR", "MISS", "PASS", "DONE", "SKIP"] as const;
export type KcidbStatus = (typeof KCIDB_STATUSES)[number];

export const KcidbResourceSchema = z.strictObject({
  name: z.string().regex(/^[^/\0]+$/, "a file name without /"),
  url: uri,
});

const KcidbCheckoutSchema = z.strictObject({
  id: idString,
  origin,
  tree_name: noNul.optional(),
  git_repository_url: uri.regex(/^https:\/\//).optional(),
  git_commit_hash: z.string().regex(sha1).optional(),
  git_commit_name: noNul.optional(),
  git_repository_branch: noNul.optional(),
  patchset_files: z.array(KcidbResourceSchema).optional(),
  patchset_hash: z
    .string()
    .regex(new RegExp(`^$|${sha256.source}`))
    .optional(),
  message_id: z
    .string()
    .regex(/^[^\s@<>]+@[^\s@<>]+$/, "an e-mail address (a Message-ID without <>)")
    .optional(),
  comment: noNul.optional(),
  start_time: dateTime.optional(),
  log_url: uri.optional(),
  log_excerpt: excerpt.optional(),
  valid: z.boolean().optional(),
  misc: misc.optional(),
});

const KcidbBuildSchema = z.strictObject({
  id: idString,
  checkout_id: idString,
  origin,
  comment: noNul.optional(),
  start_time: dateTime.optional(),
  duration: z.number().optional(),
  architecture: z
    .string()
    .regex(/^[a-z0-9_]*$/)
    .optional(),
  command: noNul.optional(),
  compiler: noNul.optional(),
  input_files: z.array(KcidbResourceSchema).optional(),
  output_files: z.array(KcidbResourceSchema).optional(),
  config_name: noNul.optional(),
  config_url: uri.optional(),
  log_url: uri.optional(),
  log_excerpt: excerpt.optional(),
  status: z.enum(KCIDB_STATUSES).optional(),
  misc: misc.optional(),
});

const KcidbNumberSchema = z.strictObject({
  value: z.number(),
  unit: noNul.optional(),
  prefix: z.enum(["metric", "binary"]).optional(),
});

const KcidbTestSchema = z.strictObject({
  id: idString,
  build_id: idString,
  origin,
  environment: z.strictObject({ comment: noNul.optional(), misc: misc.optional() }).optional(),
  path: z.string().regex(TEST_PATH_PATTERN, "dot-separated parts of [a-zA-Z0-9_-]").optional(),
  comment: noNul.optional(),
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
  version: z.strictObject({
    major: z.literal(KCIDB_VERSION.major),
    minor: z.number().int().min(0).max(KCIDB_VERSION.minor).optional(),
  }),
  checkouts: z.array(KcidbCheckoutSchema).optional(),
  builds: z.array(KcidbBuildSchema).optional(),
  tests: z.array(KcidbTestSchema).optional(),
});
export type KcidbData = z.infer<typeof KcidbDataSchema>;
export type KcidbCheckout = z.infer<typeof KcidbCheckoutSchema>;
export type KcidbBuild = z.infer<typeof KcidbBuildSchema>;
export type KcidbTest = z.infer<typeof KcidbTestSchema>;
