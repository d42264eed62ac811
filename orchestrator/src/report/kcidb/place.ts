import path from "node:path";
import { sha256 } from "../../util/fsx.js";
import type { KcidbResourceSchema } from "./kcidbSchema.js";
import type { z } from "zod";

/**
 * Names and places in a KCIDB file: the origin this tool submits as, ids
 * made from what a run record says (the same run gives the same ids, the
 * same tree and series the same checkout, the same build key the same
 * build), and where a run's logs are.
 */

/** The CI system name, agreed with the KCIDB maintainers before a first real submission. */
export const KCIDB_ORIGIN = "erofs_share_bench";

/** The root of every test path this tool writes. */
export const TEST_ROOT = "erofs.ishare";

export const kcidbId = (local: string) => `${KCIDB_ORIGIN}:${local}`;

/** A short digest of anything JSON can say, for ids made of content. */
export const digestOf = (v: unknown) => sha256(JSON.stringify(v)).slice(0, 16);

/** One part of a test path: what KCIDB allows ([a-zA-Z0-9_-]), anything else as "_". */
export function pathPart(s: string): string {
  return s.replace(/[^a-zA-Z0-9_-]/g, "_") || "_";
}

/** boots/<name>/console.log: a boot's console inside the run folder, wherever the boot folder was when measured. */
export function consoleOf(bootDir: string): string | undefined {
  return bootDir ? path.posix.join("boots", path.basename(bootDir), "console.log") : undefined;
}

/**
 * Where one run's files are. Nothing is uploaded, so a file is named by its
 * path relative to the run folder (in misc); given the URL the run folders
 * are published under, it is also a log_url or an output file.
 */
export interface RunPlace {
  /** The run folder's name (its last path part). */
  folder: string;
  /** URL under which run folders are published, each as <baseUrl>/<folder>/. */
  baseUrl?: string;
  /** Whether a file (relative to the run folder) is there; a file that is not is not named. */
  has: (relative: string) => boolean;
}

/** What the WHATWG URL leaves as it is past the host but RFC 3986 does not allow there ("|", "^", "[", "]", a second "#", a "%" that starts no escape). */
const NOT_RFC3986 = /[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%]|%(?![0-9A-Fa-f]{2})/g;
const rfc3986Part = (s: string) => s.replace(NOT_RFC3986, encodeURIComponent);

/**
 * A URL as the schema's "uri" format takes it (RFC 3986, ASCII only). The
 * WHATWG URL does the encoding (UTF-8 %-escapes, punycode for a host);
 * what it lets through that RFC 3986 refuses is escaped after it.
 */
export function uriOf(url: URL): string {
  url.pathname = rfc3986Part(url.pathname);
  url.search = rfc3986Part(url.search.slice(1));
  url.hash = rfc3986Part(url.hash.slice(1));
  return url.href;
}

function urlOf(place: RunPlace, relative: string): string | undefined {
  if (!place.baseUrl) return undefined;
  const url = new URL(place.baseUrl);
  const parts = [place.folder, ...relative.split("/")].map(encodeURIComponent).join("/");
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/${parts}`;
  return uriOf(url);
}

/** The files a test or build names: the first as its log, the rest as output files when there is a URL; all of them by path in misc. */
export function logsOf(
  place: RunPlace,
  relatives: Array<string | undefined>,
): {
  log_url?: string;
  output_files?: Array<z.infer<typeof KcidbResourceSchema>>;
  paths: string[];
} {
  const paths = [...new Set(relatives.filter((r): r is string => Boolean(r) && place.has(r!)))];
  const urls = paths
    .map((p) => ({ p, url: urlOf(place, p) }))
    .filter((x): x is { p: string; url: string } => Boolean(x.url));
  const [first, ...rest] = urls;
  return {
    ...(first ? { log_url: first.url } : {}),
    // a resource's name is a file name: the boot folder's name goes into it, so that two consoles do not share one
    ...(rest.length
      ? { output_files: rest.map((x) => ({ name: x.p.split("/").slice(-2).join("-"), url: x.url })) }
      : {}),
    paths,
  };
}
