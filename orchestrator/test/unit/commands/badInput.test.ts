import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../../src/cli.js";
import { buildSeriesRepo, git, tempDir } from "../../helpers/gitSeries.js";

/**
 * Bad input, through the real command line: a clear message naming the
 * input and the fix, exit status 1, no stack trace, and nothing provisioned,
 * downloaded or built first. An option a verb does not take is refused,
 * naming the verb.
 */
let root: string;
let repo: string;
let cache: string;
let notGit: string;

beforeAll(async () => {
  root = await tempDir("esb-bad-");
  ({ repo } = await buildSeriesRepo(root));
  await git(repo, "tag", "v6.19");
  cache = path.join(root, "cache");
  notGit = path.join(root, "plain");
  await mkdir(notGit);
  await writeFile(
    path.join(root, "spec.yaml"),
    "name: spec\ntitle: t\nbase: { kind: debian }\nsymbols: {}\nshareMountOptions: x\nimageProfile: { format: xattr-inode-digest }\nfixup: [a]\n",
  );
  await writeFile(path.join(root, "empty.mbox"), "Subject: nothing\n\nno patches here\n");
  await writeFile(path.join(root, "run.json"), "{ not json");
}, 60_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const cases: Array<[string, () => string[], RegExp]> = [
  [
    "a docker archive that does not exist",
    () => ["--images", "docker-archive:/missing.tar,docker-archive:/missing2.tar"],
    /error: --images docker-archive:\/missing\.tar: \/missing\.tar does not exist/,
  ],
  ["one image instead of two", () => ["--images", "/tmp"], /error: --images takes exactly two inputs/],
  [
    "a report folder that does not exist",
    () => ["report", "/missing"],
    /error: cannot read \/missing\/run\.json: no such file/,
  ],
  ["a report folder whose run.json is damaged", () => ["report", root], /is not JSON/],
  ["a compare with one folder", () => ["compare", "/tmp"], /error: compare takes two run folders/],
  [
    "an option of another verb",
    () => ["compare", "/a,/b", "--reps", "5"],
    /error: compare takes no option --reps; run, nightly, measure-parallel take it\n {2}fix: npm run bench -- compare --help/,
  ],
  ["an option no verb takes", () => ["--series", "v8", "--rep", "2"], /error: run takes no option --rep\n/],
  ["a mode flag from before verbs", () => ["--compare", "/a,/b"], /error: --compare is the verb compare now/],
  [
    "an HTML page without a comparison",
    () => ["--html", "/tmp/page.html"],
    /error: run takes no option --html; compare takes it/,
  ],
  [
    "an unknown verb",
    () => ["compair", "/a,/b"],
    /error: unknown verb "compair"\n {2}fix: use one of: run, report, compare/,
  ],
  [
    "a matrix job moved to another tree",
    () => ["--matrix", "nightly.yaml", "--job", "mainline", "--series", "v8"],
    /error: job mainline of nightly\.yaml names its own kernel tree; series cannot be given for it/,
  ],
  [
    "a night without its history",
    () => ["nightly", "--matrix", "nightly.yaml"],
    /error: required option '--history <dir>' not specified/,
  ],
  ["an unknown series", () => ["--series", "v99"], /error: unknown series "v99"\n {2}fix: use one of: .*mainline/],
  [
    "a series spec with a typo",
    () => ["--series", path.join(root, "spec.yaml")],
    /unknown key "fixup" \(known keys: .*fixups/,
  ],
  ["an unknown workload", () => ["--workload", "redis,nope"], /error: unknown workload "nope"/],
  ["a git series without a tree", () => ["--series", "v8"], /applies to v6\.19 .*no kernel tree was given/],
  [
    "a kernel tree that does not exist",
    () => ["--series", "v8", "--kernel-src", "/missing/linux"],
    /error: --kernel-src \/missing\/linux does not exist/,
  ],
  ["a kernel tree that is not a clone", () => ["--series", "v8", "--kernel-src", notGit], /is not a git repository/],
  [
    "a base ref the clone lacks",
    () => ["--series", "v8", "--kernel-src", repo, "--base-ref", "v6.99"],
    /error: ref "v6\.99" not found in /,
  ],
  [
    "an mbox that cannot be read",
    () => ["--series", "v8", "--kernel-src", repo, "--mbox", "/missing.mbox"],
    /error: cannot read --mbox \/missing\.mbox/,
  ],
  [
    "an mbox without the series",
    () => ["--series", "v8", "--kernel-src", repo, "--mbox", path.join(root, "empty.mbox")],
    /empty\.mbox: no patches of version v8/,
  ],
  [
    "a kernel tree for a Debian-based series",
    () => ["--kernel-src", repo],
    /--kernel-src does not apply to series mainline/,
  ],
  ["a bad repetition count", () => ["--reps", "0"], /"0" is not a positive whole number/],
  [
    "a patch that does not exist",
    () => ["--patch", "/missing/fix.patch"],
    /error: --patch \/missing\/fix\.patch cannot be read\n {2}fix: give the path of a unified diff/,
  ],
  [
    "a patch that changes no file",
    () => ["--patch", path.join(root, "empty.mbox")],
    /error: --patch .*empty\.mbox changes no file \(no \+\+\+ line\)/,
  ],
  [
    "a patch and a mutant together",
    () => ["--patch", path.join(root, "empty.mbox"), "--mutant", "fadvise-noop"],
    /error: --mutant and --patch each choose the kernel to measure: give one/,
  ],
  [
    "an unknown correctness check",
    () => ["--checks", "fadvise,nope"],
    /unknown check "nope" \(choose from private-write,/,
  ],
  [
    "checks without the correctness phase",
    () => ["--phases", "readall", "--checks", "fadvise"],
    /--checks fadvise chooses correctness checks, and --phases readall leaves the correctness phase out/,
  ],
  [
    "a TCG thread mode under KVM",
    () => ["--accel", "kvm", "--tcg-thread", "multi"],
    /--tcg-thread multi is for TCG, and --accel kvm runs the guests under KVM\n {2}fix: drop --tcg-thread/,
  ],
];

/** The command line in this process, as cli.ts runs it: its status, and everything it wrote. */
async function inProcess(args: string[]): Promise<{ exitCode: number; out: string }> {
  const written: string[] = [];
  const keep = (chunk: unknown) => (written.push(String(chunk)), true);
  const out = vi.spyOn(process.stdout, "write").mockImplementation(keep);
  const err = vi.spyOn(process.stderr, "write").mockImplementation(keep);
  const saved = { cache: process.env.ESB_CACHE, cwd: process.cwd() };
  process.env.ESB_CACHE = cache;
  process.chdir(ROOT);
  try {
    const exitCode = await main(["node", "cli.ts", ...args]);
    return { exitCode, out: written.join("") };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.chdir(saved.cwd);
    if (saved.cache === undefined) delete process.env.ESB_CACHE;
    else process.env.ESB_CACHE = saved.cache;
  }
}

const ROOT = path.resolve(import.meta.dirname, "..", "..", "..", "..");

function expectRefused(r: { exitCode: number; out: string }, message: RegExp): void {
  expect(r.out).toMatch(message);
  expect(r.exitCode).toBe(1);
  expect(r.out).not.toMatch(/^\s+at /m);
  expect(r.out).not.toMatch(/provision:|apt:|mmdebstrap|make -j/);
}

describe("bad input on the command line", () => {
  it.each(cases)("%s", async (_what, args, message) => {
    expectRefused(await inProcess(args()), message);
  });

  // the process itself: what a user's shell sees, status and all, for an error of ours and one of commander's
  it.each([cases[4]!, cases[11]!])(
    "%s, through a real process",
    async (_what, args, message) => {
      const r = await execa("node", ["--import", "tsx", "orchestrator/src/cli.ts", ...args()], {
        reject: false,
        env: { ...process.env, ESB_CACHE: cache, ESB_DEBUG: "" },
        cwd: ROOT,
      });
      expectRefused({ exitCode: r.exitCode ?? -1, out: `${r.stdout}\n${r.stderr}` }, message);
    },
    60_000,
  );
});
