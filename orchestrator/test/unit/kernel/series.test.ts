import { describe, expect, it } from "vitest";
import { runBench } from "../../../src/pipeline/run.js";
import { listSeries, loadSeries, parseSeriesSpec, shareOptions } from "../../../src/kernel/series.js";
import { resolveJob } from "../../../src/record/jobSpec.js";
import { Progress } from "../../../src/util/progress.js";

const base = { workloads: ["synthetic"], reps: 1, modes: ["off" as const], paths: ["read" as const] };

describe("series specs", () => {
  it("ships mainline, v8, rfc-v7 and rfc-2023, all valid", async () => {
    expect(await listSeries()).toEqual(expect.arrayContaining(["mainline", "v8", "rfc-v7", "rfc-2023"]));
    for (const n of await listSeries()) expect((await loadSeries(n)).name).toBe(n);
  });

  it("fills the domain into the share-on mount options", async () => {
    expect(shareOptions(await loadSeries("mainline"), "d1")).toBe("inode_share,domain_id=d1");
    expect(shareOptions(await loadSeries("v8"), "d1")).toBe("domain_id=d1");
  });

  it("names the unknown series and lists the known ones", async () => {
    await expect(loadSeries("v99")).rejects.toMatchObject({
      message: 'unknown series "v99"',
      hint: expect.stringContaining("mainline"),
    });
  });

  it("points at the bad field of a spec", () => {
    expect(() => parseSeriesSpec("name: x\ntitle: t\nbase: {kind: git}\n", "x.yaml")).toThrow(
      /x\.yaml: invalid series spec: base/,
    );
  });

  it("refuses a key it does not know (a typo), naming the keys it knows", async () => {
    const text = (await import("node:fs/promises")).readFile(
      new URL("../../../../kernel/series/v8.yaml", import.meta.url),
      "utf8",
    );
    const typo = (await text).replace("fixups:", "fixup:");
    expect(() => parseSeriesSpec(typo, "v8.yaml")).toThrow(
      /v8\.yaml: invalid series spec: \(top\): unknown key "fixup" \(known keys: name, title, .*fixups/,
    );
    const nested = (await text).replace("xattrName:", "xatrName:");
    expect(() => parseSeriesSpec(nested, "v8.yaml")).toThrow(
      /imageProfile: unknown key "xatrName" \(known keys: format, xattrName, mkfsArgs\)/,
    );
  });

  it("refuses rfc-2023 with the spec's reason before doing any work", async () => {
    const spec = await loadSeries("rfc-2023");
    expect(spec.notRunnable).toBeTruthy();
    await expect(runBench(resolveJob({ ...base, series: "rfc-2023" }, "test"), new Progress(true))).rejects.toThrow(
      `series rfc-2023 cannot be run: ${spec.notRunnable}`,
    );
  });

  it("asks for a kernel tree when a git-based series gets none", async () => {
    await expect(runBench(resolveJob({ ...base, series: "v8" }, "test"), new Progress(true))).rejects.toMatchObject({
      message: expect.stringContaining("applies to v6.19"),
      hint: expect.stringContaining("--kernel-src"),
    });
  });
});
