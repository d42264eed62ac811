/**
 * Workload names come from workloads/*.yaml: the --workload help lists
 * whatever is there, and the cover letter's row order only sorts them.
 */
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { addJobOptions } from "../../../src/commands/jobOptions.js";
import { Verb } from "../../../src/commands/verb.js";
import { listWorkloads, listWorkloadsSync } from "../../../src/images/workloads.js";
import { COVER_LETTER_ORDER, inCoverLetterOrder } from "../../../src/report/coverLetter.js";

const SHIPPED = path.resolve(import.meta.dirname, "..", "..", "..", "..", "workloads");

// the shipped workloads' names, one the repository does not have, and files that are no workloads
vi.mock("../../../src/util/paths.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../../src/util/paths.js")>();
  const dir = mkdtempSync(path.join(os.tmpdir(), "workload-names-"));
  for (const f of [...readdirSync(real.workloadsDir), "brand-new.yaml", "notes.txt"])
    writeFileSync(path.join(dir, f), "");
  return { ...real, workloadsDir: dir };
});

describe("workload names", () => {
  it("--workload's help lists every workload file, and no other file", async () => {
    const help = addJobOptions(new Verb("run"), ["workloads"]).options.find(
      (o) => o.long === "--workload",
    )!.description;
    const names = await listWorkloads();
    expect(names).toContain("brand-new");
    expect(listWorkloadsSync()).toEqual(names);
    expect(help).toContain(`workloads/: ${names.join(", ")} (default:`);
    expect(help).not.toMatch(/notes|lock|README/);
  });

  it("the cover letter's order names shipped workloads only, and puts the others after them in run order", async () => {
    expect(await listWorkloads(SHIPPED)).toEqual(expect.arrayContaining(COVER_LETTER_ORDER));
    const rows = ["zeta", "synthetic", "alpha", "redis", "nginx"].map((workload) => ({ workload }));
    expect(inCoverLetterOrder(rows).map((r) => r.workload)).toEqual(["redis", "nginx", "synthetic", "zeta", "alpha"]);
  });
});
