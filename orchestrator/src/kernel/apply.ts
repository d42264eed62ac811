import { appendFile, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { kernelDir } from "../util/paths.js";
import { BenchError } from "../util/errors.js";
import { runAllowFail } from "../util/exec.js";
import { exists, removeQuietly } from "../util/fsx.js";
import {
  hunkResults,
  statusOf,
  type ApplyMethod,
  type ApplyReport,
  type FixupReport,
  type HunkReport,
  type PatchReport,
} from "./applyReport.js";
import type { SeriesPatch } from "./patches/select.js";
import { BENCH_IDENT, committerEnv, git, gitOk } from "../util/git.js";

/** A patch that did not apply; `report` says what did, up to the failure. */
export class ApplyError extends BenchError {
  constructor(
    message: string,
    hint: string | undefined,
    files: string[],
    readonly report: ApplyReport,
  ) {
    super(message, hint, files);
    this.name = "ApplyError";
  }
}

export interface Fixup {
  /** File name under kernel/fixups/. */
  name: string;
  /** A unified diff applied with patch -p1 after the series. */
  text: string;
}

function fixupsDir(): string {
  return path.join(kernelDir, "fixups");
}

export async function loadFixups(names: string[], dir = fixupsDir()): Promise<Fixup[]> {
  return Promise.all(
    names.map(async (name) => {
      try {
        return { name, text: await readFile(path.resolve(dir, name), "utf8") };
      } catch {
        throw new BenchError(
          `fixup ${name} not found in ${dir}`,
          `add ${path.join(dir, name)} or remove it from the series spec's fixups`,
        );
      }
    }),
  );
}

interface ApplyOptions {
  /** A git tree at the base commit (makeWorktree or gitInitTree), with a clean index. */
  worktree: string;
  patches: SeriesPatch[];
  /** The series length M; defaults to the number of patches. */
  total?: number;
  fixups?: Fixup[];
  /** Every command and its output is appended here. */
  logFile: string;
}

const PATCH_ARGS = [
  "-p1",
  "--fuzz=2",
  "--no-backup-if-mismatch",
  "--forward",
  "--batch",
  "--reject-file=-",
  "--quoting-style=literal",
];

/**
 * Applies a series with one commit per patch: `git am`, else `git am --3way`,
 * else GNU patch with fuzz, patch by patch (each dry-run first, so a failing
 * patch leaves no half-applied files). Then the fixups, one commit each.
 */
export async function applySeries(opts: ApplyOptions): Promise<ApplyReport> {
  const dir = opts.worktree;
  const total = opts.total ?? opts.patches.length;
  await mkdir(path.dirname(opts.logFile), { recursive: true });
  const tmp = await mkdtemp(path.join(os.tmpdir(), "esb-apply-"));
  const log = async (cmd: string, out: { stdout: string; stderr: string; exitCode: number }) =>
    appendFile(
      opts.logFile,
      `$ ${cmd}\n${out.stdout}${out.stdout && !out.stdout.endsWith("\n") ? "\n" : ""}${out.stderr}${out.stderr && !out.stderr.endsWith("\n") ? "\n" : ""}[exit ${out.exitCode}]\n`,
    );
  const step = async (args: string[], env: Record<string, string> = {}, input?: string) => {
    // Even `git am --abort` writes a reflog entry and needs a committer.
    const r = await git(dir, args, { ...committerEnv(), ...env }, input);
    await log(`git ${args.join(" ")}`, r);
    return r;
  };
  try {
    if (await exists(await gitOk(dir, ["rev-parse", "--path-format=absolute", "--git-path", "rebase-apply"])))
      await step(["am", "--abort"]);
    if (await gitOk(dir, ["status", "--porcelain", "--untracked-files=no"])) {
      throw new BenchError(
        `${dir} has uncommitted changes; patches go onto a clean tree`,
        `discard them (git -C ${dir} reset --hard) or make a fresh worktree`,
      );
    }
    const base = await gitOk(dir, ["rev-parse", "HEAD"]);
    const series = path.join(tmp, "series.mbox");
    await writeFile(series, opts.patches.map((p) => p.raw.replace(/\n*$/, "\n\n")).join(""));
    const mails = await Promise.all(opts.patches.map((p, i) => mailParts(tmp, p, i)));
    const attempts: ApplyReport["attempts"] = [];
    const report = async (
      method: ApplyMethod,
      patches: PatchReport[],
      fixups: FixupReport[] = [],
    ): Promise<ApplyReport> => ({
      base,
      head: await gitOk(dir, ["rev-parse", "HEAD"]),
      method,
      attempts,
      patches,
      fixups,
    });
    /** Applies a patch file whose dry run passed; a failure now still leaves nothing behind. */
    const applyChecked = async (file: string, what: string) => {
      if ((await patchRun(dir, file, false, log)).exitCode === 0) return;
      await step(["reset", "-q", "--hard", "HEAD"]);
      await step(["clean", "-q", "-f", "-d"]);
      throw new BenchError(`${what} passed its dry run but failed to apply`, undefined, [opts.logFile]);
    };

    let method: ApplyMethod | undefined;
    let patchReports: PatchReport[] = [];
    for (const m of ["git-am", "git-am-3way"] as const) {
      const am = await step([
        "am",
        "--patch-format=mboxrd",
        "--committer-date-is-author-date",
        ...(m === "git-am-3way" ? ["--3way"] : []),
        series,
      ]);
      attempts.push({
        method: m,
        ok: am.exitCode === 0,
        detail: am.exitCode === 0 ? undefined : firstError(am.stdout + "\n" + am.stderr),
      });
      if (am.exitCode === 0) {
        method = m;
        patchReports = await describeAmCommits(dir, base, opts.patches, mails, total, m, tmp);
        break;
      }
      if ((await step(["am", "--abort"])).exitCode !== 0) await step(["am", "--quit"]);
      await step(["reset", "-q", "--hard", base]);
    }

    if (!method) {
      method = "patch";
      const attempt = { method, ok: false };
      attempts.push(attempt);
      for (const [i, p] of opts.patches.entries()) {
        const mail = mails[i];
        if (!mail) continue;
        const hunks = checked(mail.patch, await patchRun(dir, mail.patchFile, true, log));
        const status = statusOf(hunks);
        const entry = patchReport(p, total, method, status, hunks);
        patchReports.push(entry);
        if (status === "failed") {
          const rest = opts.patches.slice(i + 1).map((q) => patchReport(q, total, "patch", "skipped", []));
          const r = await report(method, [...patchReports, ...rest]);
          throw new ApplyError(
            `patch [${p.index}/${total}] "${p.title}" does not apply: ${failedHunks(hunks)}`,
            "the series does not fit this base tree: use the base the series was written for (base.ref in the series spec), or pass a rebased mbox with --mbox",
            [opts.logFile],
            r,
          );
        }
        await applyChecked(mail.patchFile, `patch [${p.index}/${total}]`);
        entry.commit = await commitAll(dir, mail.patch, step, mail.message, mail.author, mail.email, mail.date);
      }
      attempt.ok = true;
    }

    const fixupReports: FixupReport[] = [];
    for (const fx of opts.fixups ?? []) {
      const file = path.join(tmp, `fixup-${fixupReports.length}.patch`);
      await writeFile(file, fx.text);
      const hunks = checked(fx.text, await patchRun(dir, file, true, log));
      const status = statusOf(hunks);
      if (status === "failed") {
        const r = await report(method, patchReports, [
          ...fixupReports,
          { name: fx.name, status, files: [], added: 0, removed: 0, hunks },
        ]);
        throw new ApplyError(
          `fixup ${fx.name} does not apply after the series: ${failedHunks(hunks)}`,
          `update ${path.join("kernel/fixups", fx.name)} to the tree as the series leaves it (context lines must match)`,
          [opts.logFile],
          r,
        );
      }
      await applyChecked(file, `fixup ${fx.name}`);
      const date = await gitOk(dir, ["log", "-1", "--format=%ad", "--date=raw"]);
      const commit = await commitAll(
        dir,
        fx.text,
        step,
        `fixup: ${fx.name}\n\nApplied by erofs-share-bench from kernel/fixups/${fx.name}.\n`,
        BENCH_IDENT.name,
        BENCH_IDENT.email,
        date,
      );
      const stat = await numstat(dir);
      fixupReports.push({ name: fx.name, status, hunks, commit, ...stat });
    }
    return await report(method, patchReports, fixupReports);
  } finally {
    await removeQuietly(tmp);
  }
}

interface MailParts {
  patchFile: string;
  patch: string;
  message: string;
  author: string;
  email: string;
  date: string;
}

/** A patch's diff as a file for patch(1), and its commit as git am would make it. */
async function mailParts(tmp: string, p: SeriesPatch, i: number): Promise<MailParts> {
  const patchFile = path.join(tmp, `${i}.diff`);
  await writeFile(patchFile, p.diff);
  return {
    patchFile,
    patch: p.diff,
    message: p.commit.message,
    author: p.commit.author || BENCH_IDENT.name,
    email: p.commit.email || BENCH_IDENT.email,
    date: p.commit.date,
  };
}

async function patchRun(
  dir: string,
  file: string,
  dryRun: boolean,
  log: (cmd: string, r: { stdout: string; stderr: string; exitCode: number }) => Promise<void>,
): Promise<{ output: string; exitCode: number }> {
  const args = [...PATCH_ARGS, ...(dryRun ? ["--dry-run"] : []), "-i", file];
  const r = await runAllowFail("patch", args, { cwd: dir });
  await log(`patch ${args.join(" ")}`, r);
  return { output: `${r.stdout}\n${r.stderr}`, exitCode: r.exitCode };
}

/** Hunk results of a patch run; a failed run that names no hunk (malformed patch) still counts as failed. */
function checked(patchText: string, run: { output: string; exitCode: number }): HunkReport[] {
  const hunks = hunkResults(patchText, run.output);
  if (run.exitCode !== 0 && statusOf(hunks) !== "failed") {
    const why =
      run.output
        .split("\n")
        .find((l) => /\S/.test(l) && !/^(checking|patching) file/.test(l))
        ?.trim() ?? `patch exited ${run.exitCode}`;
    hunks.push({ file: why, hunk: 0, hunkHeader: "", result: "failed", offset: 0, fuzz: 0 });
  }
  return hunks;
}

type Step = (
  args: string[],
  env?: Record<string, string>,
  input?: string,
) => Promise<{ stdout: string; stderr: string; exitCode: number }>;

async function commitAll(
  dir: string,
  patchText: string,
  step: Step,
  message: string,
  name: string,
  email: string,
  date: string,
): Promise<string> {
  await step(["add", "-A"]);
  // Files a .gitignore matches still belong in the commit when the patch made them.
  const touched = [...patchText.matchAll(/^\+\+\+ b\/(\S+)/gm)].map((m) => m[1] ?? "");
  const present: string[] = [];
  for (const f of touched) if (f && (await exists(path.join(dir, f)))) present.push(f);
  if (present.length) await step(["add", "-f", "--", ...present]);
  const env = {
    GIT_AUTHOR_NAME: name,
    GIT_AUTHOR_EMAIL: email,
    ...(date ? { GIT_AUTHOR_DATE: date } : {}),
    ...committerEnv(date || undefined),
  };
  const c = await step(["commit", "-q", "--no-verify", "--allow-empty", "-F", "-"], env, message);
  if (c.exitCode !== 0) throw new BenchError(`git commit failed in ${dir}: ${c.stderr.trim()}`);
  return gitOk(dir, ["rev-parse", "HEAD"]);
}

async function numstat(dir: string): Promise<{ files: string[]; added: number; removed: number }> {
  const out = await gitOk(dir, ["diff", "--numstat", "HEAD~1", "HEAD"]);
  let added = 0;
  let removed = 0;
  const files: string[] = [];
  for (const line of out.split("\n").filter(Boolean)) {
    const [a, d, f] = line.split("\t");
    added += Number(a) || 0;
    removed += Number(d) || 0;
    if (f) files.push(f);
  }
  return { files, added, removed };
}

/**
 * After git am succeeded: each commit checked against its parent with
 * `git apply -v` on a scratch index, which reports offsets git am keeps quiet
 * about; a patch that only went in by 3-way merge is marked "3way".
 */
async function describeAmCommits(
  dir: string,
  base: string,
  patches: SeriesPatch[],
  mails: MailParts[],
  total: number,
  method: ApplyMethod,
  tmp: string,
): Promise<PatchReport[]> {
  const commits = (await gitOk(dir, ["rev-list", "--reverse", `${base}..HEAD`])).split("\n").filter(Boolean);
  const out: PatchReport[] = [];
  for (const [i, p] of patches.entries()) {
    const mail = mails[i];
    const parent = i === 0 ? base : (commits[i - 1] ?? base);
    const index = path.join(tmp, `index-${i}`);
    const env = { GIT_INDEX_FILE: index };
    await gitOk(dir, ["read-tree", parent], env);
    const check = await git(dir, ["apply", "--cached", "--check", "-v", mail?.patchFile ?? "/dev/null"], env);
    let hunks = hunkResults(mail?.patch ?? "", `${check.stdout}\n${check.stderr}`);
    let status: PatchReport["status"] = statusOf(hunks);
    if (check.exitCode !== 0 || status === "failed") {
      status = "3way";
      hunks = hunks.map((h) => (h.result === "failed" ? { ...h, result: "3way" } : h));
    }
    out.push({ ...patchReport(p, total, method, status, hunks), commit: commits[i] });
  }
  return out;
}

/** A patch of the series as the apply report lists it: which mail, how it went in, and how each hunk fared. */
function patchReport(
  p: SeriesPatch,
  total: number,
  method: ApplyMethod,
  status: PatchReport["status"],
  hunks: HunkReport[],
): PatchReport {
  return { index: p.index, total, subject: p.title, messageId: p.messageId, method, status, hunks };
}

function failedHunks(hunks: HunkReport[]): string {
  return hunks
    .filter((h) => h.result === "failed")
    .map((h) => (h.hunkHeader ? `${h.file} hunk #${h.hunk} ${h.hunkHeader} failed` : `${h.file} could not be patched`))
    .join("; ");
}

function firstError(text: string): string | undefined {
  const lines = text.split("\n");
  for (const re of [/^error:/, /^fatal:/, /^Patch failed/]) {
    const hit = lines.find((l) => re.test(l));
    if (hit) return hit.trim();
  }
  return undefined;
}
