import { BenchError } from "../../util/errors.js";
import { diffFiles, hasDiff } from "./diff.js";
import { parseMbox, quoteMboxrd, type MailMessage } from "./mail.js";

/** What a subject's "[PATCH ...]" tag says. */
interface PatchTag {
  /** "v8", or "" when the tag carries no version (a first posting). */
  version: string;
  index: number;
  total: number;
  rfc: boolean;
  /** The subject without "Re:" and without the tag. */
  title: string;
  reply: boolean;
}

export interface SeriesPatch {
  index: number;
  subject: string;
  /** Subject without the tag, as the commit's summary line. */
  title: string;
  messageId: string;
  from: string;
  date: string;
  /** Paths the diff touches (post-image names; pre-image for deletions). */
  files: string[];
  /** The mail as an mboxrd entry (From_ line, headers, quoted body); `git am --patch-format=mboxrd` takes it. */
  raw: string;
  /** What the commit is made of when patch(1) applies it: git mailinfo's split of the mail. */
  commit: { message: string; author: string; email: string; date: string };
  /** The diff alone. */
  diff: string;
}

export interface SelectedSeries {
  version: string;
  total: number;
  coverMessageId?: string;
  patches: SeriesPatch[];
  /** Mails that were not taken, with why (reply, cover letter, no diff, other version). */
  dropped: Array<{ subject: string; reason: string }>;
}

interface SelectOptions {
  /** Keep only this version ("v8"; "" for untagged). Without it the mbox must hold one version. */
  version?: string;
  expectedCount?: number;
  /** The mbox's path or URL, for error messages. */
  source: string;
}

/**
 * Reads the tag of a patch subject: "[PATCH v8 3/9]", "[PATCH RFC v7 3/7]",
 * "[RFC PATCH 3/6]", "[PATCH 3/6]", "[PATCHv2 1/2]", "[PATCH erofs-utils v2]".
 * A tag without "k/M" is a single patch (1/1). Returns undefined for subjects
 * without a patch tag.
 */
export function parsePatchTag(subject: string): PatchTag | undefined {
  let s = subject.trim();
  let reply = false;
  for (;;) {
    const m = /^(re|aw|sv|fwd?|antw)\s*:\s*/i.exec(s);
    if (!m) break;
    reply = true;
    s = s.slice(m[0].length);
  }
  const groups = /^((?:\[[^\]]*\]\s*)+)(.*)$/.exec(s);
  if (!groups) return undefined;
  const title = (groups[2] ?? "").trim();
  for (const g of (groups[1] ?? "").matchAll(/\[([^\]]*)\]/g)) {
    const tokens = (g[1] ?? "").split(/[\s,]+/).filter(Boolean);
    let isPatch = false;
    let rfc = false;
    let version = "";
    let index = 1;
    let total = 1;
    for (const t of tokens) {
      const glued = /^PATCH(v\d+)?$/i.exec(t);
      if (glued) {
        isPatch = true;
        if (glued[1]) version = glued[1].toLowerCase();
      } else if (/^RFC$/i.test(t)) {
        rfc = true;
      } else if (/^v\d+$/i.test(t)) {
        version = t.toLowerCase();
      } else {
        const n = /^(\d+)\/(\d+)$/.exec(t);
        if (n) {
          index = Number(n[1]);
          total = Number(n[2]);
        }
      }
    }
    if (isPatch || rfc) return { version, index, total, rfc, title, reply };
  }
  return undefined;
}

/** A normalised version: an untagged first posting and "v1" are the same. */
function sameVersion(a: string, b: string): boolean {
  const norm = (v: string) => (v === "v1" ? "" : v.toLowerCase());
  return norm(a) === norm(b);
}

function label(version: string): string {
  return version || "(no version)";
}

/**
 * Picks the patch mails of one posted series out of a thread: drops the cover
 * letter, replies, reviews and anything without a diff; checks that one
 * version remains and that 1..M are all there exactly once; orders by k.
 */
export function selectSeries(messages: MailMessage[], opts: SelectOptions): SelectedSeries {
  const dropped: SelectedSeries["dropped"] = [];
  const candidates: Array<{ tag: PatchTag; msg: MailMessage }> = [];
  const covers: Array<{ tag: PatchTag; msg: MailMessage }> = [];
  for (const msg of messages) {
    const tag = parsePatchTag(msg.subject);
    if (!tag) dropped.push({ subject: msg.subject, reason: "no [PATCH] tag" });
    else if (tag.reply) dropped.push({ subject: msg.subject, reason: "reply" });
    else if (tag.index === 0) {
      covers.push({ tag, msg });
      dropped.push({ subject: msg.subject, reason: "cover letter" });
    } else if (!hasDiff(msg.text)) dropped.push({ subject: msg.subject, reason: "no diff" });
    else candidates.push({ tag, msg });
  }

  const fix = `check the file, or fetch the series again (b4 am <message-id>) and pass it with --mbox`;
  const versions = [...new Set(candidates.map((c) => c.tag.version))];
  let version: string;
  if (opts.version !== undefined) {
    version = opts.version;
    if (!versions.some((v) => sameVersion(v, version))) {
      const found = versions.length ? versions.map(label).join(", ") : "no patch mails at all";
      throw new BenchError(`${opts.source}: no patches of version ${label(version)} (found: ${found})`, fix, [
        opts.source,
      ]);
    }
  } else {
    if (versions.length === 0)
      throw new BenchError(`${opts.source}: no patch mails (no "[PATCH ...]" subject with a diff)`, fix, [opts.source]);
    if (versions.length > 1) {
      throw new BenchError(
        `${opts.source}: mixes versions ${versions.map(label).join(" and ")} of the series`,
        `give the version to use (series spec "version"), or pass an mbox holding one version`,
        [opts.source],
      );
    }
    version = versions[0] ?? "";
  }
  const chosen = candidates.filter((c) => {
    if (sameVersion(c.tag.version, version)) return true;
    dropped.push({ subject: c.msg.subject, reason: `version ${label(c.tag.version)}` });
    return false;
  });

  const totals = [...new Set(chosen.map((c) => c.tag.total))];
  if (totals.length > 1) {
    throw new BenchError(
      `${opts.source}: version ${label(version)} patches disagree on the series length (${totals.map((t) => `of ${t}`).join(", ")})`,
      fix,
      [opts.source],
    );
  }
  const total = totals[0] ?? 0;
  if (opts.expectedCount !== undefined && opts.expectedCount !== total) {
    throw new BenchError(
      `${opts.source}: the series has ${total} patches, the spec expects ${opts.expectedCount}`,
      `pass the mbox of the right series, or correct "patches" in the series spec`,
      [opts.source],
    );
  }
  const byIndex = new Map<number, Array<{ tag: PatchTag; msg: MailMessage }>>();
  for (const c of chosen) byIndex.set(c.tag.index, [...(byIndex.get(c.tag.index) ?? []), c]);
  const twice = [...byIndex.entries()].filter(([, list]) => list.length > 1).map(([k]) => `${k}/${total}`);
  if (twice.length) {
    throw new BenchError(
      `${opts.source}: patch ${twice.join(", ")} appears more than once`,
      `remove the resent copy from the mbox`,
      [opts.source],
    );
  }
  const missing: number[] = [];
  for (let k = 1; k <= total; k++) if (!byIndex.has(k)) missing.push(k);
  if (missing.length) {
    throw new BenchError(
      `${opts.source}: series ${label(version)} is missing patch ${missing.map((k) => `${k}/${total}`).join(", ")}`,
      `fetch the whole thread (b4 am <message-id>) and pass it with --mbox`,
      [opts.source],
    );
  }
  const extra = [...byIndex.keys()].filter((k) => k > total);
  if (extra.length)
    throw new BenchError(`${opts.source}: patch numbers ${extra.join(", ")} exceed the series length ${total}`, fix, [
      opts.source,
    ]);

  const cover = covers.find((c) => sameVersion(c.tag.version, version));
  const patches = [...chosen]
    .sort((a, b) => a.tag.index - b.tag.index)
    .map(({ tag, msg }) => ({
      index: tag.index,
      subject: msg.subject,
      title: tag.title,
      messageId: msg.messageId,
      from: msg.from,
      date: msg.date,
      files: diffFiles(msg.text),
      raw: toMboxrdEntry(msg),
      commit: { message: `${tag.title}\n\n${msg.message}`, author: msg.author, email: msg.email, date: msg.date },
      diff: msg.patch,
    }));
  return { version, total, coverMessageId: cover?.msg.messageId || undefined, patches, dropped };
}

/** One mail as an mboxrd entry, ending with a blank line so entries concatenate. */
function toMboxrdEntry(msg: MailMessage): string {
  const fromLine = msg.fromLine || "From mboxrd@z Thu Jan  1 00:00:00 1970";
  return `${fromLine}\n${msg.headerText}\n\n${quoteMboxrd(msg.body)}\n`;
}

/** Parses an mbox file's text and selects the series in it. */
export function seriesFromMbox(text: string, opts: SelectOptions): SelectedSeries {
  return selectSeries(parseMbox(text), opts);
}
