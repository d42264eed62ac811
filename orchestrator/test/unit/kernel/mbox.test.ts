import { readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { diffFiles } from "../../../src/kernel/patches/diff.js";
import { parseMbox } from "../../../src/kernel/patches/mail.js";
import { parsePatchTag, selectSeries, seriesFromMbox } from "../../../src/kernel/patches/select.js";
import { acquirePatches, loreUrl, seriesCachePath } from "../../../src/kernel/patches/acquire.js";
import { SeriesSpecSchema } from "../../../src/kernel/series.js";
import { BenchError } from "../../../src/util/errors.js";
import { sha256 } from "../../../src/util/fsx.js";
import { Progress } from "../../../src/util/progress.js";
import {
  buildSeriesRepo,
  concatMbox,
  formatPatches,
  handMail,
  SERIES_TITLES,
  tempDir,
  writeFiles,
} from "../../helpers/gitSeries.js";

let root: string;
let repo: string;
let v3: string[];

beforeAll(async () => {
  root = await tempDir();
  ({ repo } = await buildSeriesRepo(root));
  v3 = await formatPatches(repo, "HEAD~3", { version: 3, cover: true });
});

const scratch: string[] = [];
afterAll(async () => {
  for (const d of [root, ...scratch]) await rm(d, { recursive: true, force: true });
});

/** A fresh cache directory for one test. */
async function freshCache(): Promise<void> {
  const dir = await tempDir("esb-cache-");
  scratch.push(dir);
  process.env.ESB_CACHE = dir;
}

function errorOf(fn: () => unknown): BenchError {
  try {
    fn();
  } catch (e) {
    if (e instanceof BenchError) return e;
    throw e;
  }
  throw new Error("expected a BenchError");
}

describe("parsePatchTag", () => {
  it.each([
    ["[PATCH v8 3/9] erofs: x", { version: "v8", index: 3, total: 9, rfc: false, reply: false, title: "erofs: x" }],
    ["[PATCH RFC v7 2/7] erofs: y", { version: "v7", index: 2, total: 7, rfc: true, reply: false, title: "erofs: y" }],
    ["[RFC PATCH 6/6] erofs: z", { version: "", index: 6, total: 6, rfc: true, reply: false, title: "erofs: z" }],
    ["[PATCH 04/10] fs: w", { version: "", index: 4, total: 10, rfc: false, reply: false, title: "fs: w" }],
    [
      "[PATCH erofs-utils v2 1/2] mkfs: q",
      { version: "v2", index: 1, total: 2, rfc: false, reply: false, title: "mkfs: q" },
    ],
    [
      "[PATCH v2] erofs-utils: single",
      { version: "v2", index: 1, total: 1, rfc: false, reply: false, title: "erofs-utils: single" },
    ],
    [
      "Re: [PATCH v8 0/9] erofs: cover",
      { version: "v8", index: 0, total: 9, rfc: false, reply: true, title: "erofs: cover" },
    ],
  ])("%s", (subject, want) => {
    expect(parsePatchTag(subject)).toEqual(want);
  });

  it("ignores subjects without a patch tag", () => {
    expect(parsePatchTag("erofs: meeting notes")).toBeUndefined();
    expect(parsePatchTag("[ANNOUNCE] erofs-utils 1.9")).toBeUndefined();
  });
});

describe("parseMbox", () => {
  it("unfolds headers, decodes encoded words and keeps bodies apart", () => {
    const text = [
      "From mboxrd@z Thu Jan  1 00:00:00 1970",
      "From: =?UTF-8?q?Jos=C3=A9_Dev?= <jose@example.org>",
      "Subject: [PATCH v2 1/1] a subject that",
      "\tgoes on",
      "Message-Id: <one@example.org>",
      "",
      "First line.",
      ">From the start this was quoted.",
      ">>From twice quoted.",
      "",
      "From mboxrd@z Thu Jan  1 00:00:00 1970",
      "Subject: second",
      "Message-ID: <two@example.org>",
      "In-Reply-To: <one@example.org>",
      "",
      "body two",
      "",
    ].join("\n");
    const [m1, m2, extra] = parseMbox(text);
    expect(extra).toBeUndefined();
    expect(m1?.subject).toBe("[PATCH v2 1/1] a subject that goes on");
    expect(m1?.from).toBe("José Dev <jose@example.org>");
    expect(m1?.messageId).toBe("one@example.org");
    expect(m1?.body).toBe("First line.\nFrom the start this was quoted.\n>From twice quoted.\n");
    expect(m2?.inReplyTo).toBe("one@example.org");
    expect(m2?.body).toBe("body two\n");
  });

  it("does not split at a From sentence inside an unquoted commit message", () => {
    const mail = handMail("[PATCH] demo", "From now on this works.\nFrom here Mon Sep 17 00:00:00 2001 too\nend\n");
    const msgs = parseMbox(concatMbox([mail, handMail("other", "x\n")]));
    expect(msgs.map((m) => m.subject)).toEqual(["[PATCH] demo", "other"]);
    expect(msgs[0]?.body).toContain("From now on this works.\nFrom here Mon Sep 17");
  });

  it("reads a single mail saved without a From_ line", () => {
    const [m, more] = parseMbox("Subject: [PATCH] one\nMessage-ID: <solo@example.org>\n\nbody\n");
    expect(more).toBeUndefined();
    expect(m?.subject).toBe("[PATCH] one");
    expect(m?.messageId).toBe("solo@example.org");
  });

  it("decodes a quoted-printable body for diff detection", () => {
    const mail = handMail(
      "[PATCH 1/1] qp",
      "Text=\n here.\n---\ndiff --git a/x=3Dy.c b/x=3Dy.c\n--- a/x=3Dy.c\n+++ b/x=3Dy.c\n@@ -1 +1 @@\n-a\n+b\n",
      {
        "Content-Transfer-Encoding": "quoted-printable",
      },
    );
    const [m] = parseMbox(mail);
    expect(m?.text).toContain("Text here.");
    expect(diffFiles(m?.text ?? "")).toEqual(["x=y.c"]);
  });
});

describe("selectSeries", () => {
  it("takes a git format-patch series with its cover letter", () => {
    const s = seriesFromMbox(concatMbox(v3), { source: "v3.mbox", expectedCount: 3 });
    expect(s.version).toBe("v3");
    expect(s.total).toBe(3);
    expect(s.patches.map((p) => p.index)).toEqual([1, 2, 3]);
    expect(s.patches.map((p) => p.title)).toEqual(SERIES_TITLES);
    expect(s.patches.map((p) => p.files)).toEqual([["src/a.c"], ["src/c.c"], ["src/b.c"]]);
    expect(s.patches[0]?.subject).toBe("[PATCH v3 1/3] demo: change a");
    expect(s.patches[0]?.from).toBe("Test Author <author@example.org>");
    expect(s.coverMessageId).toMatch(/@/);
    expect(s.patches[0]?.raw.startsWith("From ")).toBe(true);
    expect(s.dropped).toEqual([{ subject: "[PATCH v3 0/3] *** SUBJECT HERE ***", reason: "cover letter" }]);
  });

  it("drops replies, reviews and other mail, and orders by k whatever the mbox order", () => {
    const [cover, p1, p2, p3] = v3;
    const reply = handMail(
      "Re: [PATCH v3 2/3] demo: add c",
      "> diff --git a/src/c.c b/src/c.c\n> +int c(void)\n\nReviewed-by: R <r@example.org>\n",
    );
    const review = handMail("Re: [PATCH v3 0/3] *** SUBJECT HERE ***", "Looks good.\n");
    const other = handMail("erofs: meeting notes", "nothing to apply\n");
    const noDiff = handMail("[PATCH v3 1/3] demo: change a", "the diff got lost\n");
    const text = concatMbox([p3, reply, cover, other, p1, review, noDiff, p2].map((m) => m ?? ""));
    const s = selectSeries(parseMbox(text), { source: "thread.mbox", version: "v3", expectedCount: 3 });
    expect(s.patches.map((p) => `${p.index}/${s.total} ${p.title}`)).toEqual([
      "1/3 demo: change a",
      "2/3 demo: add c",
      "3/3 demo: change b twice",
    ]);
    expect(s.dropped.map((d) => d.reason).sort()).toEqual([
      "cover letter",
      "no [PATCH] tag",
      "no diff",
      "reply",
      "reply",
    ]);
  });

  it("names the missing patch", () => {
    const e = errorOf(() =>
      seriesFromMbox(concatMbox([v3[0], v3[1], v3[3]].map((m) => m ?? "")), { source: "/tmp/gap.mbox" }),
    );
    expect(e.message).toContain("/tmp/gap.mbox");
    expect(e.message).toMatch(/missing patch 2\/3\b/);
    expect(e.files).toEqual(["/tmp/gap.mbox"]);
    expect(e.hint).toContain("--mbox");
  });

  it("refuses two versions mixed, naming both, unless one is asked for", async () => {
    const v4 = await formatPatches(repo, "HEAD~3", { version: 4 });
    const text = concatMbox([...v3, ...v4]);
    const e = errorOf(() => seriesFromMbox(text, { source: "mixed.mbox" }));
    expect(e.message).toMatch(/v3 and v4|v4 and v3/);
    const picked = seriesFromMbox(text, { source: "mixed.mbox", version: "v4" });
    expect(picked.patches.map((p) => p.subject)).toEqual(SERIES_TITLES.map((t, i) => `[PATCH v4 ${i + 1}/3] ${t}`));
    expect(picked.dropped.filter((d) => d.reason === "version v3")).toHaveLength(3);
  });

  it("reads RFC tags and checks the count against the spec", async () => {
    const rfc = await formatPatches(repo, "HEAD~3", { prefix: "PATCH RFC", version: 7 });
    expect(seriesFromMbox(concatMbox(rfc), { source: "rfc.mbox", version: "v7" }).patches[2]?.subject).toBe(
      "[PATCH RFC v7 3/3] demo: change b twice",
    );
    const plain = await formatPatches(repo, "HEAD~3", { rfc: true });
    const s = seriesFromMbox(concatMbox(plain), { source: "rfc.mbox", version: "" });
    expect(s.version).toBe("");
    expect(s.patches[0]?.subject).toBe("[RFC PATCH 1/3] demo: change a");
    const e = errorOf(() => seriesFromMbox(concatMbox(plain), { source: "rfc.mbox", expectedCount: 9 }));
    expect(e.message).toContain("has 3 patches, the spec expects 9");
    const wrong = errorOf(() => seriesFromMbox(concatMbox(plain), { source: "rfc.mbox", version: "v8" }));
    expect(wrong.message).toContain("no patches of version v8 (found: (no version))");
  });
});

describe("acquirePatches", () => {
  const saved = process.env.ESB_CACHE;
  afterEach(() => {
    if (saved === undefined) delete process.env.ESB_CACHE;
    else process.env.ESB_CACHE = saved;
  });
  const spec = SeriesSpecSchema.parse({
    name: "demo",
    title: "demo",
    messageId: "cover.1@example.org",
    patches: 3,
    version: "v3",
    base: { kind: "git", ref: "v6.19" },
    symbols: {},
    shareMountOptions: "",
    imageProfile: { format: "xattr-inode-digest" },
  });
  const progress = new Progress(true);

  it("takes --mbox, stores it, and reuses the stored copy next time", async () => {
    await freshCache();
    const file = path.join(root, "given.mbox");
    const text = concatMbox(v3);
    await writeFiles(root, { "given.mbox": text });
    const first = await acquirePatches({ spec, mboxFile: file, progress, b4: false });
    expect(first.source).toBe("mbox");
    expect(first.sha256).toBe(sha256(text));
    expect(first.mboxPath).toBe(seriesCachePath("cover.1@example.org"));
    expect(await readFile(first.mboxPath, "utf8")).toBe(text);
    const again = await acquirePatches({
      spec,
      progress,
      b4: false,
      fetchImpl: () => Promise.reject(new Error("no network in tests")),
    });
    expect(again.source).toBe("cache");
    expect(again.sha256).toBe(first.sha256);
    expect(again.series.patches).toHaveLength(3);
  });

  it("downloads the thread from lore when nothing else has it", async () => {
    await freshCache();
    const urls: string[] = [];
    const fetchImpl = (async (url: string | URL | Request) => {
      urls.push(String(url));
      return new Response(gzipSync(Buffer.from(concatMbox(v3))));
    }) as typeof fetch;
    const got = await acquirePatches({ spec, progress, b4: false, fetchImpl });
    expect(urls).toEqual(["https://lore.kernel.org/all/cover.1@example.org/t.mbox.gz"]);
    expect(got.source).toBe("lore");
    expect(got.series.patches.map((p) => p.index)).toEqual([1, 2, 3]);
    expect(loreUrl("a/b@c")).toBe("https://lore.kernel.org/all/a%2Fb@c/t.mbox.gz");
  });

  it("fetches over real HTTP from an archive at another base URL, and reports its HTTP status", async () => {
    await freshCache();
    const served: string[] = [];
    const server = createServer((req, res) => {
      served.push(req.url ?? "");
      if (req.url === "/archive/cover.1@example.org/t.mbox.gz") {
        res.writeHead(200, { "content-type": "application/gzip" });
        res.end(gzipSync(Buffer.from(concatMbox(v3))));
      } else {
        res.writeHead(404);
        res.end("not found");
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const got = await acquirePatches({ spec, progress, b4: false, loreBase: `${base}/archive` });
      expect(got.source).toBe("lore");
      expect(got.series.patches.map((p) => p.index)).toEqual([1, 2, 3]);
      await freshCache();
      const err = await acquirePatches({ spec, progress, b4: false, loreBase: `${base}/elsewhere` }).catch(
        (e: unknown) => e,
      );
      expect((err as BenchError).message).toContain(
        `could not download ${base}/elsewhere/cover.1@example.org/t.mbox.gz: HTTP 404`,
      );
      expect(served).toEqual(["/archive/cover.1@example.org/t.mbox.gz", "/elsewhere/cover.1@example.org/t.mbox.gz"]);
    } finally {
      server.close();
    }
  });

  it("says to pass --mbox when the network fails", async () => {
    await freshCache();
    const fetchImpl = (() => Promise.reject(new TypeError("fetch failed"))) as typeof fetch;
    const err = await acquirePatches({ spec, progress, b4: false, fetchImpl }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BenchError);
    expect((err as BenchError).message).toContain(
      "could not download https://lore.kernel.org/all/cover.1@example.org/t.mbox.gz: fetch failed",
    );
    expect((err as BenchError).hint).toContain("--mbox FILE");
  });
});
