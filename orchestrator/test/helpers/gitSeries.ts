import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";

/**
 * Fixtures for the mbox and apply tests: throwaway git repositories and real
 * `git format-patch` output, built in temporary directories. Every git call
 * here carries its own identity and ignores the user's configuration.
 */
export const TEST_GIT_ENV: Record<string, string> = {
  GIT_AUTHOR_NAME: "Test Author",
  GIT_AUTHOR_EMAIL: "author@example.org",
  GIT_AUTHOR_DATE: "2025-01-02T03:04:05Z",
  GIT_COMMITTER_NAME: "Test Committer",
  GIT_COMMITTER_EMAIL: "committer@example.org",
  GIT_COMMITTER_DATE: "2025-01-02T03:04:05Z",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
  LC_ALL: "C",
};

/** Makes the code under test run as on a machine with no git configuration and no identity. */
export function isolateGitFromUser(): void {
  process.env.GIT_CONFIG_GLOBAL = "/dev/null";
  process.env.GIT_CONFIG_NOSYSTEM = "1";
  for (const k of [
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_AUTHOR_DATE",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "GIT_COMMITTER_DATE",
  ]) {
    delete process.env[k];
  }
}

export async function tempDir(prefix = "esb-test-"): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function git(cwd: string, ...args: string[]): Promise<string> {
  const r = await execa("git", ["-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", ...args], {
    cwd,
    env: TEST_GIT_ENV,
  });
  return String(r.stdout).trim();
}

export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), text);
  }
}

/** "<prefix> 1\n<prefix> 2\n..." */
export function numbered(prefix: string, n: number): string {
  return Array.from({ length: n }, (_v, i) => `${prefix} ${i + 1}\n`).join("");
}

/** Replaces the text of one numbered line. */
export function editLine(text: string, from: string, to: string): string {
  const lines = text.split("\n");
  const at = lines.indexOf(from);
  if (at < 0) throw new Error(`no line "${from}"`);
  lines[at] = to;
  return lines.join("\n");
}

export async function initRepo(dir: string, files: Record<string, string>, message = "base"): Promise<string> {
  await mkdir(dir, { recursive: true });
  await git(dir, "init", "-q");
  return commitFiles(dir, files, message);
}

export async function commitFiles(dir: string, files: Record<string, string>, message: string): Promise<string> {
  await writeFiles(dir, files);
  await git(dir, "add", "-A");
  await git(dir, "commit", "-q", "-m", message);
  return git(dir, "rev-parse", "HEAD");
}

/** Mails of `git format-patch` for `range`, one string per mail (cover letter first when asked for). */
export async function formatPatches(
  repo: string,
  range: string,
  opts: { prefix?: string; version?: number; rfc?: boolean; cover?: boolean } = {},
): Promise<string[]> {
  const out = await tempDir("esb-fp-");
  const args = ["format-patch", "-q", "--thread=shallow", "-o", out];
  if (opts.cover) args.push("--cover-letter");
  if (opts.prefix) args.push(`--subject-prefix=${opts.prefix}`);
  if (opts.version) args.push(`-v${opts.version}`);
  if (opts.rfc) args.push("--rfc");
  await git(repo, ...args, range);
  const names = (await readdir(out)).filter((f) => f.endsWith(".patch")).sort();
  const mails = await Promise.all(names.map((n) => readFile(path.join(out, n), "utf8")));
  await rm(out, { recursive: true, force: true });
  return mails;
}

/** Concatenates mails into one mbox, each separated by a blank line as mbox writers do. */
export function concatMbox(mails: string[]): string {
  return mails.map((m) => m.replace(/\n*$/, "\n\n")).join("");
}

/** A mail written by hand (a reply, a review, a note) in mbox form. */
export function handMail(subject: string, body: string, extra: Record<string, string> = {}): string {
  const headers = {
    From: "Reviewer <reviewer@example.org>",
    Date: "Thu, 2 Jan 2025 10:00:00 +0000",
    Subject: subject,
    "Message-ID": `<${Math.random().toString(36).slice(2)}@example.org>`,
    ...extra,
  };
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join("\n");
  return `From reviewer@example.org Thu Jan  2 10:00:00 2025\n${head}\n\n${body}`;
}

export const BASE_FILES: Record<string, string> = {
  Makefile: "VERSION = 6\nPATCHLEVEL = 19\nSUBLEVEL = 0\nEXTRAVERSION =\n",
  "src/a.c": numbered("a line", 40),
  "src/b.c": numbered("b line", 40),
};

export const SERIES_TITLES = ["demo: change a", "demo: add c", "demo: change b twice"];

/**
 * Builds `upstream/` with a base commit and a three-patch series on top:
 * 1/3 edits src/a.c line 20 (one hunk), 2/3 adds src/c.c, 3/3 edits src/b.c
 * lines 10 and 30 (two hunks). Returns the repository and its base commit.
 */
export async function buildSeriesRepo(root: string): Promise<{ repo: string; base: string }> {
  const repo = path.join(root, "upstream");
  const base = await initRepo(repo, BASE_FILES);
  const a = BASE_FILES["src/a.c"] ?? "";
  const b = BASE_FILES["src/b.c"] ?? "";
  await commitFiles(
    repo,
    { "src/a.c": editLine(a, "a line 20", "a line 20 changed") },
    `${SERIES_TITLES[0]}\n\nChange line 20.\n\nSigned-off-by: Test Author <author@example.org>`,
  );
  await commitFiles(repo, { "src/c.c": "int c(void)\n{\n\treturn 3;\n}\n" }, `${SERIES_TITLES[1]}\n\nA new file.`);
  await commitFiles(
    repo,
    { "src/b.c": editLine(editLine(b, "b line 10", "b line 10 changed"), "b line 30", "b line 30 changed") },
    `${SERIES_TITLES[2]}\n\nTwo hunks.`,
  );
  return { repo, base };
}

/** A plain directory (no git) holding the base files with some changed, as a tarball would unpack. */
export async function plainTree(dir: string, overrides: Record<string, string> = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFiles(dir, { ...BASE_FILES, ...overrides });
  return dir;
}
