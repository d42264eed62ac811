import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadMatrix, matrixJobSpec } from "../../../src/record/matrix.js";
import { tempDir } from "../../helpers/gitSeries.js";

let dir: string;
beforeAll(async () => {
  dir = await tempDir("esb-matrix-");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function matrix(text: string): Promise<string> {
  const file = path.join(dir, `m${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, text);
  return file;
}

describe("the nightly matrix", () => {
  it("ships a matrix with mainline, and v8 where a v6.19 tree is named", async () => {
    const shipped = path.resolve(import.meta.dirname, "../../../../nightly.yaml");
    expect((await loadMatrix(shipped, {})).map((p) => [p.job.name, p.skipped ?? "runs"])).toEqual([
      ["mainline", "runs"],
      ["v8", "ESB_LINUX_V6_19 not set (a Linux v6.19 tree)"],
      ["known-answer", "runs"],
    ]);
    const [, v8] = await loadMatrix(shipped, { ESB_LINUX_V6_19: "/src/linux" });
    expect(v8!.skipped).toBeUndefined();
    expect(v8!.job).toMatchObject({ kernelSrc: "/src/linux", kernelSrcExclude: [] });
    expect([v8!.job.mbox, v8!.job.baseRef]).toEqual([undefined, undefined]);
  });

  it("fills variables and defaults, turns a job into a run's spec, and refuses typos and twice-named jobs", async () => {
    const m = await matrix(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the matrix's ${NAME} syntax under test
      "jobs:\n  - name: dev\n    series: v8\n    profile: v8\n    kernelSrc: ${TREE}/linux\n    baseRef: ${BRANCH:-main}\n    reps: 2\n    workloads: [synthetic]\n    mbox: v8.mbox\n",
    );
    const [dev] = await loadMatrix(m, { TREE: "/home/me" });
    const spec = matrixJobSpec(dev!.job, m, {});
    expect(spec).toMatchObject({
      series: "v8",
      profile: "v8",
      kernelSrc: "/home/me/linux",
      baseRef: "main",
      reps: 2,
      workloads: ["synthetic"],
      phases: ["readall", "runtime", "correctness"],
      digest: "xxh64",
    });
    expect(spec.mbox).toBe(path.join(dir, "v8.mbox"));
    await expect(loadMatrix(await matrix("jobs:\n  - name: a\n    series: v8\n    rep: 2\n"))).rejects.toThrow(
      /unknown key "rep" \(known keys: name, kind, mutants, series, profile/,
    );
    await expect(
      loadMatrix(await matrix("jobs:\n  - name: a\n    series: v8\n  - name: a\n    series: mainline\n")),
    ).rejects.toThrow("job a is listed twice");
  });

  it("lets the command line change what a job measures, never which kernel it builds", async () => {
    const [job] = await loadMatrix(
      await matrix("jobs:\n  - name: a\n    series: mainline\n    reps: 5\n    workloads: [redis]\n"),
      {},
    );
    expect(matrixJobSpec(job!.job, "m.yaml", { reps: 1, quick: true, digest: "sha256" })).toMatchObject({
      series: "mainline",
      reps: 1,
      quick: true,
      digest: "sha256",
      workloads: ["redis"],
    });
    expect(() => matrixJobSpec(job!.job, "m.yaml", { series: "v8" })).toThrow(
      "job a of m.yaml names its own kernel tree; series cannot be given for it",
    );
  });
});
