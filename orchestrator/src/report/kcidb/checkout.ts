import type { RunRecord } from "../../record/runRecord.js";
import { sha256 } from "../../util/fsx.js";
import { digestOf, KCIDB_ORIGIN, kcidbId, logsOf, uriOf, type RunPlace } from "./place.js";
import type { KcidbBuild, KcidbCheckout, KcidbStatus } from "./kcidbSchema.js";

/**
 * The checkout (the tree and the series applied to it) and the build (the
 * guest kernel) of a run, as KCIDB objects.
 */

const EXCERPT_MAX = 16384;
export const excerpt = (s: string) => (s.length > EXCERPT_MAX ? s.slice(0, EXCERPT_MAX - 1) + "…" : s);

/** Where paths in misc are relative to: said once per object, since nothing is uploaded. */
export const relativeNote = (place: RunPlace) => `paths are relative to the run folder ${place.folder}`;

/**
 * KCIDB's patchset hash: the sha256 of the newline-terminated sha256 of
 * each patch, in order ("" when none was applied). Each patch here is its
 * diff as applied (the mail's headers and text are not the code).
 */
export function patchsetHash(diffSha256: string[]): string {
  return diffSha256.length ? sha256(diffSha256.map((h) => `${h}\n`).join("")) : "";
}

/** A file name for a patch, as git format-patch would give it. */
function patchFileName(index: number, subject: string): string {
  const slug = subject
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 52)
    .replace(/-+$/, "");
  return `${String(index).padStart(4, "0")}-${slug || "patch"}.patch`;
}

/** A Message-ID as KCIDB takes it (an e-mail address): without angle brackets, else not at all. */
function messageIdOf(id: string | undefined): string | undefined {
  const bare = id?.replace(/^<|>$/g, "");
  return bare && /^[^\s@<>]+@[^\s@<>]+$/.test(bare) ? bare : undefined;
}

type Source = NonNullable<RunRecord["kernel"]>["source"];

/** A repository's https URL as the schema's "uri" takes it; a path or another scheme is no repository URL KCIDB can use. */
function repositoryUrl(repo: string): string | undefined {
  if (!/^https:\/\//.test(repo) || !URL.canParse(repo)) return undefined;
  return uriOf(new URL(repo));
}

function sourceFields(source: Source): Partial<KcidbCheckout> {
  if (source.kind === "debian") return { tree_name: "debian" };
  const commit =
    "commit" in source && source.commit && /^[0-9a-f]{40}$/.test(source.commit)
      ? { git_commit_hash: source.commit }
      : {};
  const ref = "ref" in source && source.ref ? { git_commit_name: source.ref } : {};
  const url = "repo" in source ? repositoryUrl(source.repo) : undefined;
  const repo = url ? { git_repository_url: url } : {};
  return { ...commit, ...ref, ...repo };
}

/** What makes the tree what it is: the same base, patches and fixups give the same checkout id in any run. */
function checkoutIdentity(run: RunRecord): unknown {
  const k = run.kernel;
  if (!k) return { run: run.runId };
  const s = k.source as Record<string, unknown>;
  const base = ["kind", "package", "packageVersion", "debSha256", "commit", "tarballSha256"].map((f) => s[f] ?? null);
  const apply = k.apply;
  return {
    base,
    patches: apply ? (apply.patchDiffSha256 ?? apply.patches.map((p) => p.messageId)) : [],
    fixups: apply?.fixups.map((f) => [f.name, f.status]) ?? [],
  };
}

export function checkoutOf(run: RunRecord, place: RunPlace): KcidbCheckout {
  const k = run.kernel;
  const apply = k?.apply;
  const source = k?.source;
  const description =
    source && "description" in source
      ? source.description
      : source
        ? `${source.ref} (${source.commit.slice(0, 12)}) of ${source.repo}`
        : "?";
  const hash = apply ? (apply.patchDiffSha256 ? patchsetHash(apply.patchDiffSha256) : undefined) : k ? "" : undefined;
  const patchFiles = (apply?.patches ?? [])
    .filter((p) => messageIdOf(p.messageId))
    .map((p) => ({
      name: patchFileName(p.index, p.subject),
      // nothing of the series is uploaded; each patch is on lore under its Message-ID
      url: `https://lore.kernel.org/all/${encodeURIComponent(messageIdOf(p.messageId)!).replace(/%40/g, "@")}/raw`,
    }));
  const failed = apply?.patches.filter((p) => p.status === "failed") ?? [];
  const log = logsOf(place, [apply ? "apply.log" : undefined]);
  const messageId = messageIdOf(run.series.messageId);
  return {
    id: kcidbId(`checkout-${digestOf(checkoutIdentity(run))}`),
    origin: KCIDB_ORIGIN,
    ...(source ? sourceFields(source) : {}),
    ...(hash !== undefined ? { patchset_hash: hash } : {}),
    ...(patchFiles.length ? { patchset_files: patchFiles } : {}),
    ...(messageId ? { message_id: messageId } : {}),
    comment: `series ${run.series.name} (${run.series.title}) on ${description}`,
    start_time: run.startedAt,
    ...(log.log_url ? { log_url: log.log_url } : {}),
    ...(failed.length
      ? { log_excerpt: excerpt(failed.map((p) => `patch ${p.index}/${p.total} ${p.subject}: failed`).join("\n")) }
      : {}),
    ...(k ? { valid: failed.length === 0 } : {}),
    misc: {
      series: run.series.name,
      series_spec_sha256: run.series.specSha256,
      ...(run.series.messageId && !messageId ? { series_message_id: run.series.messageId } : {}),
      source: source ?? null,
      ...(apply
        ? {
            patches: apply.patches.map((p) => ({
              index: p.index,
              subject: p.subject,
              message_id: p.messageId,
              method: p.method,
              status: p.status,
            })),
            fixups: apply.fixups.map((f) => ({ name: f.name, status: f.status, files: f.files })),
            patch_source: apply.patchSource,
            mbox_sha256: apply.mboxSha256,
            patchset_hash_covers:
              "each patch's diff as applied, in order (the series' fixups are not part of it; they are listed under fixups)",
          }
        : {}),
      ...(apply && !apply.patchDiffSha256
        ? { patchset_hash_missing: "this run was recorded before patch digests were" }
        : {}),
      ...(log.paths.length ? { log_path: log.paths[0], note: relativeNote(place) } : {}),
    },
  };
}

/** How the build's own steps fail (make's configuration, its check of the config), as against the rest of the run. */
const BUILD_STEP_ERROR = /^(kernel config lost requested symbols|make (tinyconfig|olddefconfig) failed)/;

/**
 * FAIL for a compiler error; ERROR when a step of the build itself failed;
 * MISS when the run stopped for anything else (the tool, an interrupt)
 * before the build was done. No status while it is still running, nor when
 * the series did not apply: that is the checkout's verdict (valid: false),
 * and the build was never begun.
 */
function buildStatus(run: RunRecord): { status?: KcidbStatus; log_excerpt?: string } {
  if (run.kernel?.build) return { status: "PASS" };
  if (run.status !== "failed" && run.status !== "interrupted") return {};
  if (run.kernel?.apply?.patches.some((p) => p.status === "failed")) return {};
  const error = run.error ?? "";
  // KCIDB's MISS is "didn't run due to a failure in the test harness": the build's code is not what stopped it
  const status = /^kernel build failed/.test(error) ? "FAIL" : BUILD_STEP_ERROR.test(error) ? "ERROR" : "MISS";
  return { status, ...(error ? { log_excerpt: excerpt(error) } : {}) };
}

export function buildIdOf(run: RunRecord): string {
  return kcidbId(`build-${run.kernel?.buildKey || run.runId}`);
}

export function buildOf(run: RunRecord, place: RunPlace, checkoutId: string): KcidbBuild {
  const b = run.kernel?.build;
  const log = logsOf(place, ["build.log"]);
  const reused = run.stageTimes.find((t) => t.stage === "kernel build")?.reused;
  return {
    id: buildIdOf(run),
    checkout_id: checkoutId,
    origin: KCIDB_ORIGIN,
    comment: `guest kernel${run.kernel?.release ? ` ${run.kernel.release}` : ""} for series ${run.series.name}`,
    ...(b ? { duration: b.buildSeconds } : {}),
    architecture: "x86_64",
    ...(b ? { command: `make O=<cache>/out -j${b.jobs} bzImage`, compiler: b.compiler } : {}),
    config_name: `tinyconfig+guest.config+${run.series.name}`,
    ...(log.log_url ? { log_url: log.log_url } : {}),
    ...buildStatus(run),
    misc: {
      build_key: run.kernel?.buildKey ?? null,
      ...(b
        ? {
            kernel_release: b.kernelRelease,
            config_sha256: b.configSha256,
            config:
              "tinyconfig, then kernel/guest.config and the series' feature symbols merged, then olddefconfig; every requested symbol verified",
            config_file_in_cache: `kernel-build/<build_key>/${b.config}`,
          }
        : {}),
      ...(reused !== undefined ? { reused_from_cache: reused } : {}),
      ...(log.paths.length ? { log_path: log.paths[0], note: relativeNote(place) } : {}),
    },
  };
}
