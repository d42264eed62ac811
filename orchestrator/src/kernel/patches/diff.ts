/** What a unified diff touches: files and hunk headers, read without applying it. */

/** True when the text holds a unified diff. */
export function hasDiff(text: string): boolean {
  if (/^diff --git /m.test(text)) return true;
  return /^--- \S.*\n\+\+\+ \S.*\n@@ -\d/m.test(text);
}

/** Paths a diff touches, in order, without the a/ b/ prefixes (post-image names; pre-image for deletions). */
export function diffFiles(text: string): string[] {
  return [...new Set(diffSections(text).map((s) => s.file))];
}

/** One file section of a unified diff: the target path and its hunk headers in order. */
interface DiffSection {
  file: string;
  headers: string[];
}

/** Splits a patch into file sections, skipping hunk bodies by their line counts. */
export function diffSections(text: string): DiffSection[] {
  const lines = text.split("\n");
  const out: DiffSection[] = [];
  let cur: DiffSection | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const git = /^diff --git "?a\/.+? "?b\/(.+?)"?$/.exec(line);
    if (git) {
      cur = { file: git[1] ?? "", headers: [] };
      out.push(cur);
      continue;
    }
    const next = lines[i + 1] ?? "";
    if (line.startsWith("--- ") && next.startsWith("+++ ")) {
      const name = (s: string) => (s.split("\t")[0] ?? "").trim().replace(/^"|"$/g, "");
      const oldP = name(line.slice(4));
      const newP = name(next.slice(4));
      const file = (newP === "/dev/null" ? oldP : newP).replace(/^[^/]+\//, "");
      if (!cur || cur.headers.length > 0 || cur.file !== file) {
        cur = { file, headers: [] };
        out.push(cur);
      }
      i++;
      continue;
    }
    const h = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(line);
    if (h && cur) {
      cur.headers.push(line);
      let oldLeft = h[1] === undefined ? 1 : Number(h[1]);
      let newLeft = h[2] === undefined ? 1 : Number(h[2]);
      while ((oldLeft > 0 || newLeft > 0) && i + 1 < lines.length) {
        const body = lines[++i] ?? "";
        if (body.startsWith("\\")) continue;
        if (body.startsWith("-")) oldLeft--;
        else if (body.startsWith("+")) newLeft--;
        else {
          oldLeft--;
          newLeft--;
        }
      }
    }
  }
  return out;
}
