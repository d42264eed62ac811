import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gitOkSync } from "../../util/git.js";

/**
 * Reading mail. Splitting an mbox into messages is ours (it must not break a
 * mail at an unquoted "From " line in a commit message, which git mailsplit
 * does); decoding each message (encoded words, transfer encodings, charsets,
 * multipart, where the diff starts) is git's own `git mailinfo`, the parser
 * `git am` applies the same mails with. Series selection lives in select.ts.
 */
export interface MailMessage {
  /** The "From " separator line the message started with. */
  fromLine: string;
  /** The header block exactly as it was (folded), without the separator line. */
  headerText: string;
  /** The whole subject, decoded and unfolded, tags and "Re:" kept. */
  subject: string;
  /** Without angle brackets; "" when the mail has none. */
  messageId: string;
  inReplyTo?: string;
  /** "Name <address>", decoded. */
  from: string;
  author: string;
  email: string;
  date: string;
  /** The body as stored (transfer encoding intact), ">From " unquoted. */
  body: string;
  /** The commit message below the subject, decoded. */
  message: string;
  /** The diff, decoded; "" when the mail has none. */
  patch: string;
  /** The readable text: message and diff. */
  text: string;
}

const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const MON = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
/** "From sender Thu Jan  1 00:00:00 1970", as written by git, lore, b4 and MTAs. */
const FROM_LINE = new RegExp(`^From \\S+\\s+${DAY} ${MON} +\\d{1,2} \\d{1,2}:\\d{2}(?::\\d{2})? .*\\d{4}\\s*$`);
const HEADER_LINE = /^[\x21-\x39\x3b-\x7e]+:/;

/**
 * Splits an mbox into messages. A separator must look like a real From_ line
 * (with a date) and be followed by a header, so a "From " sentence in an
 * unquoted commit message does not start a new mail. mboxrd files (lore,
 * b4: "From mboxrd@z ...") lose one ">" from every ">...>From " line; other
 * files lose it only from ">From " (the classic mboxo quoting).
 */
export function parseMbox(text: string): MailMessage[] {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  const starts: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    if (!line.startsWith("From ") || !FROM_LINE.test(line)) continue;
    if (HEADER_LINE.test(lines[i + 1] ?? "")) starts.push(i);
  }
  const raw: Array<{ fromLine: string; lines: string[] }> = [];
  // A single mail saved without a separator (an .eml file) is still one message.
  if (starts.length === 0 && HEADER_LINE.test(lines[0] ?? "")) raw.push({ fromLine: "", lines });
  for (const [n, start] of starts.entries()) {
    raw.push({ fromLine: lines[start] ?? "", lines: lines.slice(start + 1, starts[n + 1] ?? lines.length) });
  }
  if (!raw.length) return [];
  const scratch = mkdtempSync(path.join(os.tmpdir(), "esb-mailinfo-"));
  try {
    return raw.map((m) => parseMessage(m.fromLine, m.lines, scratch));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function parseMessage(fromLine: string, lines: string[], scratch: string): MailMessage {
  let blank = lines.indexOf("");
  if (blank < 0) blank = lines.length;
  const headerLines = lines.slice(0, blank);
  const mboxrd = /^From mboxrd@/.test(fromLine);
  let bodyLines = lines.slice(blank + 1);
  // The blank line that separates this mail from the next "From " line belongs to the mbox.
  while (bodyLines.length > 0 && bodyLines[bodyLines.length - 1] === "") bodyLines = bodyLines.slice(0, -1);
  const joined = bodyLines.join("\n") + "\n";
  const body = mboxrd ? unquoteMboxrd(joined) : joined.replace(/^>(From )/gm, "$1");
  const headerText = headerLines.join("\n");
  const decoded = mailinfo(`${headerText}\n\n${body}`, scratch);
  const ids = rawHeader(headerLines);
  return {
    fromLine,
    headerText,
    subject: decoded.subject,
    messageId: stripAngles(ids("message-id") ?? ""),
    inReplyTo: ids("in-reply-to") ? stripAngles(ids("in-reply-to") ?? "") : undefined,
    from: decoded.email ? `${decoded.author} <${decoded.email}>` : decoded.author,
    author: decoded.author,
    email: decoded.email,
    date: decoded.date,
    body,
    message: decoded.message,
    patch: decoded.patch,
    text: decoded.patch ? `${decoded.message}\n${decoded.patch}` : decoded.message,
  };
}

/** One mail through `git mailinfo -k -u`: the subject kept whole, everything re-coded to UTF-8. */
function mailinfo(
  mail: string,
  scratch: string,
): { subject: string; author: string; email: string; date: string; message: string; patch: string } {
  const msgFile = path.join(scratch, "msg");
  const patchFile = path.join(scratch, "patch");
  const out = gitOkSync(scratch, ["mailinfo", "-k", "-u", msgFile, patchFile], mail, "reading the series' mails");
  const field = (k: string) => new RegExp(`^${k}: (.*)$`, "m").exec(out)?.[1]?.trim() ?? "";
  return {
    subject: field("Subject").replace(/\s+/g, " "),
    author: field("Author"),
    email: field("Email"),
    date: field("Date"),
    message: readFileSync(msgFile, "utf8"),
    patch: readFileSync(patchFile, "utf8"),
  };
}

/** An ASCII header (Message-ID, In-Reply-To), unfolded; mailinfo does not report these. */
function rawHeader(headerLines: string[]): (name: string) => string | undefined {
  const unfolded = headerLines
    .join("\n")
    .replace(/\n[ \t]+/g, " ")
    .split("\n");
  return (name) => {
    const prefix = `${name.toLowerCase()}:`;
    return unfolded
      .find((l) => l.toLowerCase().startsWith(prefix))
      ?.slice(prefix.length)
      .trim();
  };
}

/** Undoes mboxrd quoting: every ">*From " line loses one ">". */
function unquoteMboxrd(text: string): string {
  return text.replace(/^>(>*From )/gm, "$1");
}

/** Quotes a body for an mboxrd file: every ">*From " line gains one ">". */
export function quoteMboxrd(body: string): string {
  return body.replace(/^(>*From )/gm, ">$1");
}

function stripAngles(v: string): string {
  const m = /<([^>]+)>/.exec(v);
  return (m?.[1] ?? v).trim();
}
