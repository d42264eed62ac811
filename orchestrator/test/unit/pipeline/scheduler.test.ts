import { describe, expect, it } from "vitest";
import {
  defaultParallel,
  runtimeSideBySide,
  schedule,
  type Finished,
  type Job,
} from "../../../src/pipeline/scheduler.js";

/** A job that takes `ms`, records when it started and ended and how many jobs ran with it. */
function clock() {
  let running = 0;
  let peak = 0;
  const log: string[] = [];
  const overlaps = new Map<string, number>();
  const job = (id: string, ms: number, opts: { exclusive?: boolean; fail?: boolean } = {}): Job<string> => ({
    id,
    exclusive: Boolean(opts.exclusive),
    run: async () => {
      running++;
      peak = Math.max(peak, running);
      overlaps.set(id, Math.max(overlaps.get(id) ?? 0, running));
      log.push(`start ${id}`);
      await new Promise((r) => setTimeout(r, ms));
      running--;
      log.push(`end ${id}`);
      if (opts.fail) throw new Error(`${id} crashed`);
      return id;
    },
  });
  return { job, log, peak: () => peak, overlaps };
}

async function collect(
  jobs: Job<string>[],
  parallel: number,
  onFinished?: (f: Finished<string>) => Promise<void>,
): Promise<Finished<string>[]> {
  const out: Finished<string>[] = [];
  await schedule(jobs, {
    parallel,
    onFinished: async (f) => {
      out.push(f);
      await onFinished?.(f);
    },
  });
  return out;
}

describe("boot scheduler", () => {
  it("starts jobs in the order given, never more than N at once", async () => {
    const c = clock();
    await collect([c.job("a", 30), c.job("b", 30), c.job("c", 30), c.job("d", 30)], 2);
    expect(c.log.filter((l) => l.startsWith("start"))).toEqual(["start a", "start b", "start c", "start d"]);
    expect(c.peak()).toBe(2);
  });

  it("hands results over as jobs finish, out of order, one at a time, counting done/total", async () => {
    const c = clock();
    let inside = 0;
    const got = await collect([c.job("slow", 80), c.job("fast", 10), c.job("mid", 30)], 3, async () => {
      inside++;
      expect(inside).toBe(1);
      await new Promise((r) => setTimeout(r, 5));
      inside--;
    });
    expect(got.map((f) => f.job.id)).toEqual(["fast", "mid", "slow"]);
    expect(got.map((f) => `${f.done}/${f.total}`)).toEqual(["1/3", "2/3", "3/3"]);
    expect(got[2]!.ms).toBeGreaterThanOrEqual(70);
  });

  it("passes a failed job on as a result and goes on with the others", async () => {
    const c = clock();
    const got = await collect([c.job("a", 10), c.job("boom", 10, { fail: true }), c.job("c", 10)], 2);
    const boom = got.find((f) => f.job.id === "boom")!;
    expect(boom.result.ok).toBe(false);
    expect(
      got
        .filter((f) => f.result.ok)
        .map((f) => f.job.id)
        .sort(),
    ).toEqual(["a", "c"]);
  });

  it("stops starting jobs when a result cannot be taken (an interrupt, a host error), lets the running ones end, and throws", async () => {
    const c = clock();
    const jobs = [c.job("a", 10), c.job("b", 40), c.job("c", 10), c.job("d", 10)];
    await expect(
      collect(jobs, 2, async (f) => {
        if (f.job.id === "a") throw new Error("host problem");
      }),
    ).rejects.toThrow("host problem");
    expect(c.log).toContain("end b");
    expect(c.log).not.toContain("start d");
  });

  it("runs with N larger than the plan, and with an empty plan", async () => {
    const c = clock();
    const got = await collect([c.job("a", 10), c.job("b", 10)], 16);
    expect(got).toHaveLength(2);
    expect(c.peak()).toBe(2);
    expect(await collect([], 4)).toEqual([]);
  });

  it("gives an exclusive job the host to itself", async () => {
    const c = clock();
    await collect(
      [c.job("r1", 20), c.job("r2", 20), c.job("x", 20, { exclusive: true }), c.job("r3", 20), c.job("r4", 20)],
      2,
    );
    expect(c.overlaps.get("x")).toBe(1);
    expect(c.log.indexOf("start x")).toBeGreaterThan(Math.max(c.log.indexOf("end r1"), c.log.indexOf("end r2")));
    expect(c.log.indexOf("start r3")).toBeGreaterThan(c.log.indexOf("end x"));
  });

  it("chooses as many guests as cores and memory allow, and says why", () => {
    expect(defaultParallel({ cpus: 2, freeMiB: 20_000 }, { accel: "tcg", cpus: 2, memoryMiB: 1024 })).toMatchObject({
      parallel: 2,
    });
    expect(defaultParallel({ cpus: 16, freeMiB: 20_000 }, { accel: "kvm", cpus: 2, memoryMiB: 1024 }).parallel).toBe(8);
    const tight = defaultParallel({ cpus: 16, freeMiB: 4000 }, { accel: "tcg", cpus: 2, memoryMiB: 2048 });
    expect(tight.parallel).toBe(1);
    expect(tight.why).toContain("2048 MiB per guest");
  });
});

describe("progress of a phase", () => {
  it("estimates the time left from the boots already finished", async () => {
    const { progressOf } = await import("../../../src/pipeline/phases.js");
    expect(progressOf(0, 36, 0)).toBe("0/36 done");
    expect(progressOf(9, 36, 90_000)).toBe("9/36 done, ~4m30s left");
    expect(progressOf(36, 36, 360_000)).toBe("36/36 done");
  });

  it("runs runtime boots side by side under TCG and alone under KVM unless told, and says why", () => {
    expect(runtimeSideBySide("tcg", undefined)).toMatchObject({ shared: true, why: expect.stringContaining("TCG") });
    expect(runtimeSideBySide("kvm", undefined)).toMatchObject({ shared: false, why: expect.stringContaining("KVM") });
    expect(runtimeSideBySide("tcg", false)).toEqual({ shared: false, why: "--no-runtime-shared" });
    expect(runtimeSideBySide("kvm", true)).toEqual({ shared: true, why: "--runtime-shared" });
  });
});
