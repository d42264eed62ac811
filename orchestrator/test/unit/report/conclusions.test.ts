import { describe, expect, it } from "vitest";
import type { BootMeasurement } from "../../../src/guest/readAll.js";
import { conclusions } from "../../../src/pipeline/conclusions.js";
import { renderCoverLetter } from "../../../src/report/coverLetter.js";
import { runRecord } from "../../helpers/runRecord.js";

const boot = (name: string, over: Partial<BootMeasurement> = {}) =>
  ({
    workload: "synthetic",
    mode: "off",
    path: "sendfile",
    rep: 1,
    accel: "tcg",
    release: "7.0.0",
    bootDir: `/r/boots/${name}`,
    wallMs: 9_000,
    baselineKiB: 0,
    afterAKiB: 24_000,
    afterBKiB: 48_000,
    stable: true,
    reclaim: null,
    verifiedFiles: 118,
    hashedFiles: 118,
    digest: "xxh64",
    shareBannerSeen: false,
    readMs: { A: 1, B: 1 },
    ...over,
  }) as BootMeasurement;

describe("what a finished job says about its boots", () => {
  it("names every boot that stalled before init and the line the kernel stopped at", () => {
    const stalled = { wallMs: 90_000, lastLine: "acpi PNP0A03:00: fail to add MMCONFIG information" };
    const out = conclusions(
      runRecord({
        boots: [boot("synthetic-off-read-r1"), boot("synthetic-off-sendfile-r1", { earlyHangs: [stalled] })],
      }),
    );
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(
      /^1 boot\(s\) stalled or died before init and were started again \(synthetic-off-sendfile-r1\); first stopped at: acpi PNP0A03:00: fail to add MMCONFIG information\./,
    );
  });

  it("says nothing of stalls when no boot stalled", () => {
    expect(conclusions(runRecord({ boots: [boot("synthetic-off-read-r1")] }))).toEqual([]);
  });

  it("says when a Debian pair holds one version on both sides, in the warnings and under the cover letter's tables", () => {
    const side = (suites: string[], v: string) => ({
      tar: "rootfs.tar",
      tarSha256: "5".repeat(64),
      tarBytes: 1,
      suites,
      installed: { "redis-server": `5:${v}` },
      packages: { "redis-server": `5:${v}` },
      label: v,
      mmdebstrap: "1.5.7",
      seconds: 1,
    });
    const withSides = (a: string, b: string) => {
      const base = runRecord();
      return runRecord({
        workloads: [
          {
            ...base.workloads[0]!,
            versions: `${a} & ${b}`,
            rootfs: { a: side(["trixie"], a), b: side(["trixie", "trixie-security"], b) },
          },
        ],
      });
    };
    const same = withSides("8.0.2-3+deb13u3", "8.0.2-3+deb13u3");
    const warning =
      "redis: A (trixie) and B (trixie + trixie-security) hold the same version 8.0.2-3+deb13u3, so its figures compare one version with itself, not an update";
    expect(conclusions(same)).toEqual([expect.stringContaining(warning)]);
    expect(renderCoverLetter(same)).toContain(
      `Pairs that are not an update (their reduction is the most sharing can give):\n  ${warning}`,
    );
    const update = withSides("8.0.2-3+deb13u2", "8.0.2-3+deb13u3");
    expect(conclusions(update)).toEqual([]);
    expect(renderCoverLetter(update)).not.toContain("not an update");
  });
});
