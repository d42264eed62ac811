/**
 * Text as KCIDB can keep it. The schema refuses NUL in its strings, and
 * PostgreSQL, where KCIDB keeps submissions, refuses NUL in text and jsonb
 * and a lone surrogate in jsonb, misc included. A guest's console brings all
 * of that (stray NULs on a serial line, terminal colours, a progress line's
 * carriage returns), and an excerpt cut at its limit can split a surrogate
 * pair; so every string of a submission goes through here once, before it
 * is checked against the schema.
 */

/** A terminal's escape sequences (colours, cursor moves): formatting, not text. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences are what it removes
const ESCAPE_SEQUENCE = /\x1b\[[0-?]*[ -/]*[@-~]/g;
/** Half of a surrogate pair without the other half: not a character, so UTF-8 cannot carry it. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** C0 and C1 controls but tab and newline, DEL, lone surrogates. */
const UNSTORABLE = new RegExp(`[\\0-\\x08\\x0b-\\x1f\\x7f-\\x9f]|${LONE_SURROGATE.source}`, "g");
/** What the schema or the database refuse outright (the other controls are replaced only to keep reports readable). */
const REFUSED = new RegExp(`\\0|${LONE_SURROGATE.source}`);

/** A string KCIDB keeps: escape sequences dropped, line ends as "\n", any other control as U+FFFD, so that a reader still sees something was there. */
export function storableText(s: string): string {
  return s.replace(ESCAPE_SEQUENCE, "").replace(/\r\n?/g, "\n").replace(UNSTORABLE, "\ufffd");
}

/** Whether KCIDB can keep a string as it is: what the schema checks, and storableText guarantees. */
export const isStorableText = (s: string) => !REFUSED.test(s);

/** Every string in a JSON value, keys too, as storableText makes it. */
export function storable<T>(v: T): T {
  if (typeof v === "string") return storableText(v) as T;
  if (Array.isArray(v)) return v.map(storable) as T;
  if (v && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [storableText(k), storable(x)])) as T;
  return v;
}

/** Whether every string in a JSON value, keys too, KCIDB can keep as it is. */
export function allStorable(v: unknown): boolean {
  if (typeof v === "string") return isStorableText(v);
  if (Array.isArray(v)) return v.every(allStorable);
  if (v && typeof v === "object") return Object.entries(v).every(([k, x]) => isStorableText(k) && allStorable(x));
  return true;
}
