import { describe, expect, it } from "vitest";
import { JOB_DEFAULTS, PlanSchema, planOf, resolveJob } from "../../../src/record/jobSpec.js";

/** The job spec: one schema with every default, which the command line, nightly.yaml and run.json's plan share. */
describe("the job spec", () => {
  it("has the defaults of the default job", () => {
    expect(JOB_DEFAULTS).toMatchObject({
      series: "mainline",
      workloads: ["synthetic", "redis", "postgres", "nginx"],
      phases: ["readall", "runtime", "correctness"],
      modes: ["off", "on", "split"],
      paths: ["read", "mmap", "sendfile"],
      reps: 3,
      fixedReps: false,
      quick: false,
      digest: "xxh64",
      checkReps: 1,
      checkReruns: 3,
      tcgThread: "single",
      fixups: true,
      kernelSrcExclude: [],
    });
    expect(JOB_DEFAULTS.accel).toBeUndefined();
    expect(JOB_DEFAULTS.parallel).toBeUndefined();
  });

  it("takes a Debian package as pkg=version, and refuses what it does not know, naming where it came from", () => {
    expect(resolveJob({ kernelDeb: "linux-source-7.3=7.3.4-1" }, "x").kernelDeb).toEqual({
      package: "linux-source-7.3",
      version: "7.3.4-1",
    });
    expect(() => resolveJob({ checks: ["nope"] }, "job a of m.yaml")).toThrow(
      /^job a of m\.yaml: checks\.0: unknown check "nope"/,
    );
    expect(() => resolveJob({ reps: 0 }, "the command line")).toThrow(/^the command line: reps:/);
    expect(() => resolveJob({ rep: 2 } as never, "the command line")).toThrow(/rep/);
  });

  it('records what was measured as run.json\'s plan, your own pair as "images"', () => {
    const job = resolveJob({ workloads: ["synthetic"], reps: 1, checks: ["fadvise"] }, "x");
    expect(planOf(job)).toEqual({
      workloads: ["synthetic"],
      modes: ["off", "on", "split"],
      paths: ["read", "mmap", "sendfile"],
      reps: 1,
      fixedReps: false,
      phases: ["readall", "runtime", "correctness"],
      quick: false,
      digest: "xxh64",
      checks: ["fadvise"],
      checkReps: 1,
      checkReruns: 3,
    });
    expect(planOf(resolveJob({ images: ["a", "b"] }, "x")).workloads).toEqual(["images"]);
  });

  it("reads the plan of a run made before checks were booted again", () => {
    const old = {
      workloads: ["redis"],
      modes: ["off", "on"],
      paths: ["read"],
      reps: 3,
      phases: ["readall"],
      quick: false,
      digest: "xxh64",
    };
    expect(PlanSchema.parse(old)).toEqual(old);
  });
});
