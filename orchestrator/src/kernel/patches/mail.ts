/**
 * Reading mail: splitting an mbox into messages, unfolding headers, decoding
 * encoded words and transfer encodings. Series selection lives in mbox.ts.
 */

export interface MailHeader {
  name: string;
  /** Unfolded, encoded words decoded. */
  value: string;
}

export interface MailMessage {
  /** The "From " separator line the message started with. */
  fromLine: string;
  headers: MailHeader[];
  /** The header block exactly as it was (folded), without the separator line. */
  headerText: string;
  subject: string;
  /** Without angle brackets; "" when the mail has none. */
  messageId: string;
  inReplyTo?: string;
  from: string;
  date: string;
  /** The body as stored (transfer encoding intact), ">From " unquoted. */
  body: string;
  /** The body with quoted-printable/base64 undone and text parts joined. */
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
  // A single mail saved without a separator (an .eml file) is still one message.
  if (starts.length === 0 && HEADER_LINE.test(lines[0] ?? "")) return [parseMessage("", lines)];
  const out: MailMessage[] = [];
  starts.forEach((start, n) => {
    const end = starts[n + 1] ?? lines.length;
    out.push(parseMessage(lines[start] ?? "", lines.slice(start + 1, end)));
  });
  return out;
}

function parseMessage(fromLine: string, lines: string[]): MailMessage {
  let blank = lines.indexOf("");
  if (blank < 0) blank = lines.length;
  const headerLines = lines.slice(0, blank);
  const headers: MailHeader[] = [];
  for (const line of headerLines) {
    const last = headers[headers.length - 1];
    if (/^[ \t]/.test(line) && last) {
      last.value += " " + line.trim();
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    headers.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
  }
  for (const h of headers) h.value = decodeEncodedWords(h.value);

  const mboxrd = /^From mboxrd@/.test(fromLine);
  let bodyLines = lines.slice(blank + 1);
  // The blank line that separates this mail from the next "From " line belongs to the mbox.
  while (bodyLines.length > 0 && bodyLines[bodyLines.length - 1] === "") bodyLines = bodyLines.slice(0, -1);
  const joined = bodyLines.join("\n") + "\n";
  const body = mboxrd ? unquoteMboxrd(joined) : joined.replace(/^>(From )/gm, "$1");

  const get = (name: string) => headerValue(headers, name);
  return {
    fromLine,
    headers,
    headerText: headerLines.join("\n"),
    subject: (get("subject") ?? "").replace(/\s+/g, " ").trim(),
    messageId: stripAngles(get("message-id") ?? ""),
    inReplyTo: get("in-reply-to") ? stripAngles(get("in-reply-to") ?? "") : undefined,
    from: get("from") ?? "",
    date: get("date") ?? "",
    body,
    text: decodeBody(headers, body),
  };
}

/** Undoes mboxrd quoting: every ">*From " line loses one ">". */
export function unquoteMboxrd(text: string): string {
  return text.replace(/^>(>*From )/gm, "$1");
}

/** Quotes a body for an mboxrd file: every ">*From " line gains one ">". */
export function quoteMboxrd(body: string): string {
  return body.replace(/^(>*From )/gm, ">$1");
}

export function headerValue(headers: MailHeader[], name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers.find((h) => h.name.toLowerCase() === lower)?.value;
}

function stripAngles(v: string): string {
  const m = /<([^>]+)>/.exec(v);
  return (m?.[1] ?? v).trim();
}

/** RFC 2047 "=?utf-8?q?...?=" words; unknown charsets are left as they are. */
export function decodeEncodedWords(value: string): string {
  const word = /=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g;
  const joined = value.replace(/(=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)\s+(?==\?)/g, "$1");
  return joined.replace(word, (all, charset: string, enc: string, data: string) => {
    const cs = charset.toLowerCase().replace(/\*.*$/, "");
    const bufEnc = cs === "utf-8" || cs === "utf8" || cs === "us-ascii" ? "utf8" : cs === "iso-8859-1" || cs === "latin1" ? "latin1" : undefined;
    if (!bufEnc) return all;
    const bytes = enc.toUpperCase() === "B"
      ? Buffer.from(data, "base64")
      : qpBytes(data.replace(/_/g, " "));
    return bytes.toString(bufEnc);
  });
}

function qpBytes(s: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? "";
    const hex = s.slice(i + 1, i + 3);
    if (c === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      for (const b of Buffer.from(c, "utf8")) bytes.push(b);
    }
  }
  return Buffer.from(bytes);
}

function decodeTransfer(encoding: string | undefined, body: string): string {
  const enc = (encoding ?? "").trim().toLowerCase();
  if (enc === "quoted-printable") return qpBytes(body.replace(/=\n/g, "")).toString("utf8");
  if (enc === "base64") return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  return body;
}

/** The readable text of a mail: single part decoded, or the text parts of a multipart mail joined. */
function decodeBody(headers: MailHeader[], body: string): string {
  const ctype = headerValue(headers, "content-type") ?? "text/plain";
  const boundary = /boundary="?([^";]+)"?/i.exec(ctype)?.[1];
  if (!/^multipart\//i.test(ctype) || !boundary) return decodeTransfer(headerValue(headers, "content-transfer-encoding"), body);
  const parts = body.split(new RegExp(`^--${escapeRe(boundary)}(?:--)?[ \\t]*$`, "m")).slice(1);
  const texts: string[] = [];
  for (const part of parts) {
    const sep = part.indexOf("\n\n");
    if (sep < 0) continue;
    const partHeaders = parseMessage("", part.replace(/^\n/, "").split("\n")).headers;
    const type = headerValue(partHeaders, "content-type") ?? "text/plain";
    if (!/^(text\/|application\/(x-)?(patch|diff))/i.test(type)) continue;
    texts.push(decodeTransfer(headerValue(partHeaders, "content-transfer-encoding"), part.slice(sep + 2)));
  }
  return texts.join("\n");
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
