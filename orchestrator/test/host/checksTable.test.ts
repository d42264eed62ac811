import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { CHECKS, CHECK_NAMES } from "../../src/guest/checks.js";
import { buildAgent, ROOTFS } from "../helpers/agents.js";
import { needHost } from "../helpers/host.js";

/** esbcheck compiled from checks.def on this host: it reads the table as the host does. */
describe("checks.def, as esbcheck was compiled with it", () => {
  let esbcheck = "";
  beforeAll(async () => {
    await needHost("vm");
    const dir = await mkdtemp(path.join(os.tmpdir(), "esb-table-"));
    esbcheck = await buildAgent("esbcheck", dir);
  }, 600_000);

  it("is read by the host as esbcheck was compiled with it: the names in order, and every field", async () => {
    expect((await execa(esbcheck, ["list"])).stdout.split("\n")).toEqual(CHECK_NAMES);
    const table = (await execa(esbcheck, ["table"])).stdout
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(
      table.map(({ argument: _, neighbours, ...row }) => ({
        ...row,
        needs: row.needs === "none" ? null : row.needs,
        alone: neighbours === "alone",
      })),
    ).toEqual(
      CHECKS.map((c) => ({
        name: c.name,
        needs: c.needs,
        typicalSeconds: c.typicalSeconds,
        timeoutSeconds: c.timeoutSeconds,
        alone: c.alone,
        proves: c.proves,
        results: c.results,
      })),
    );
    expect(CHECKS.filter((c) => c.alone).map((c) => c.name)).toEqual(["mount-cycles", "umount-race"]);
    expect(table.filter((r) => r.argument !== 0).map((r) => r.name)).toEqual(["corrupt-same-domain"]);
  });

  it("gives the guest's shell its default list: all checks, in the table's order", async () => {
    const script = readFileSync(path.join(ROOTFS, "esb-correctness.sh"), "utf8").split("\n");
    const from = script.findIndex((l) => l.startsWith("CHECKS=$(arg esb.check)"));
    const to = script.findIndex((l, i) => i > from && l.includes("esbcheck list"));
    expect(from).toBeGreaterThanOrEqual(0);
    expect(to).toBeGreaterThan(from);
    const lines = script.slice(from, to + 1).join("\n");
    const r = await execa("busybox", ["sh", "-c", `arg() { :; }\n${lines}\necho "$CHECKS"`], {
      env: { PATH: `${path.dirname(esbcheck)}:${process.env.PATH}` },
    });
    expect(r.stdout).toBe(CHECK_NAMES.join(","));
  });

  it("starts each check under its row's name and proves line, and runs an unknown name as not applicable", async () => {
    // sharing off (no ESB_SHARE) and no reference list: each check begins, then cannot judge
    for (const c of CHECKS) {
      const r = await execa(esbcheck, [c.name], { reject: false, env: { ESB_SHARE: "" }, cwd: os.tmpdir() });
      const begin = JSON.parse(r.stdout.split("\n")[0]!) as Record<string, unknown>;
      expect(begin).toMatchObject({ t: "check-begin", name: c.name, proves: c.proves });
      const results = r.stdout
        .split("\n")
        .slice(1)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.t === "check");
      expect(results.map((l) => [l.name, l.proves])).toEqual(c.results.map((x) => [x.name, x.proves]));
    }
    const r = await execa(esbcheck, ["no-such-check"], { reject: false });
    expect(
      r.stdout
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .at(-1),
    ).toMatchObject({ name: "no-such-check", result: "na" });
  });
});
