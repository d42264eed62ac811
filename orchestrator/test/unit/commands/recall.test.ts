import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { recallCommand } from "../../../src/commands/recall.js";
import type { RunRecord } from "../../../src/record/runRecord.js";
import { correctnessResult, runRecord } from "../../helpers/runRecord.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "esb-recall-"));
});
afterEach(() => vi.restoreAllMocks());

async function runDir(name: string, over: Partial<RunRecord>): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "run.json"), JSON.stringify(runRecord(over)));
  return dir;
}

const V8_SERIES = {
  name: "v8",
  title: "v8",
  specSha256: "cd".repeat(32),
  shareMountOptions: "domain_id={domain}",
};

describe("recall", () => {
  it("judges v8's later upstream changes on the two runs, writes the docs page and exits 0 when each seen one is told apart", async () => {
    const v8 = await runDir("v8", {
      series: V8_SERIES,
      correctness: ["domain-id", "map-identity", "mapping-outlives-images", "fadvise", "trust-cross-domain"]
        .map((n) => correctnessResult(n, "fail", `${n} broke`, { series: "v8" }))
        .concat([correctnessResult("corrupt-same-domain", "finding", "a lie reached B", { series: "v8" })]),
    });
    const ml = await runDir("ml", {
      correctness: [
        "domain-id",
        "map-identity",
        "mapping-outlives-images",
        "fadvise",
        "trust-cross-domain",
        "corrupt-same-domain",
      ].map((n) => correctnessResult(n, "pass")),
    });
    const printed: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((c) => (printed.push(String(c)), true));
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const docs = path.join(root, "recall.md");
    expect(await recallCommand([v8, ml], false, docs)).toBe(0);
    const page = await readFile(docs, "utf8");
    expect(printed.join("")).toBe(page);
    expect(page).toMatch(/\*\*6 of 11 changes recalled; 5 seen by no check yet\.\*\*/);
    expect(page).toContain("| `domain-id` | FAIL | PASS | recalled |");
    expect(page).toContain("## Changes no check sees yet, and why");
  });

  it("exits 5 when a check that sees a change passes on the series too", async () => {
    const v8 = await runDir("v8-blind", {
      series: V8_SERIES,
      correctness: [correctnessResult("domain-id", "pass", "ok", { series: "v8" })],
    });
    const ml = await runDir("ml-2", { correctness: [correctnessResult("domain-id", "pass")] });
    vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    expect(await recallCommand([v8, ml], true)).toBe(5);
  });

  it("refuses a second run that is not mainline, and a mutant's run, before reading anything else", async () => {
    const v8 = await runDir("v8-3", { series: V8_SERIES });
    await expect(recallCommand([v8, v8], false)).rejects.toThrow(/measured v8, not mainline/);
    const mutant = await runDir("mutant", {
      kernel: {
        ...runRecord().kernel!,
        mutant: {
          mutant: "domain-shown",
          kind: "mutant",
          breaks: "b",
          patchSha256: "p",
          files: [],
          compiled: [],
          baseBuildKey: "k",
          incremental: true,
          bzImage: "/b",
          kernelRelease: "7.3.4-mutant-domain-shown",
          buildSeconds: 1,
          log: "l",
        },
      },
    });
    await expect(recallCommand([v8, mutant], false)).rejects.toThrow(
      /measured the mutant domain-shown, not the kernel as it is/,
    );
    await expect(recallCommand([v8], false)).rejects.toThrow(/recall takes two run folders/);
  });
});
