import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { containerScript } from "../../../src/guest/jobScript.js";
import { shQuote } from "../../../src/util/shell.js";
import { DEFAULT_SUITES } from "../../../src/host/debianArchive.js";
import { parseDistInfo, pipRecord } from "../../../src/images/pip.js";
import { parseDpkgStatus, versionLabel } from "../../../src/images/rootfs.js";
import {
  expandParams,
  listWorkloads,
  loadWorkload,
  parseWorkload,
  pipName,
  pipPins,
  PipRequirementSchema,
  versionFromPip,
} from "../../../src/images/workloads.js";

describe("workload definitions", () => {
  it("every shipped workload validates, and the real ones have a runtime", async () => {
    const names = await listWorkloads();
    expect(names).toEqual(
      expect.arrayContaining(["synthetic", "redis", "postgres", "nginx", "mysql", "tomcat", "tensorflow"]),
    );
    for (const n of names) {
      const w = await loadWorkload(n);
      if (w.kind === "debian") {
        expect(w.runtime?.load.length).toBeGreaterThan(0);
        expect(w.rootfs.include.includes(w.rootfs.versionPackage) || versionFromPip(w.rootfs)).toBe(true);
        // the tool keeps package lists for every suite a workload names
        for (const s of [...w.rootfs.a.suites, ...w.rootfs.b.suites]) expect(DEFAULT_SUITES).toContain(s);
      }
    }
  });

  it("the tensorflow sides pin the same packages and differ only in versionPackage", async () => {
    const w = await loadWorkload("tensorflow");
    if (w.kind !== "debian") throw new Error("tensorflow is a debian workload");
    const [a, b] = [pipPins(w.rootfs.a.pip ?? []), pipPins(w.rootfs.b.pip ?? [])];
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    const differing = [...a.keys()].filter((k) => a.get(k) !== b.get(k));
    expect(differing).toEqual([w.rootfs.versionPackage]);
  });

  it("names the field that is wrong", () => {
    expect(() => parseWorkload("name: x\nkind: debian\nimage: x\nrootfs: { include: [] }\n", "x.yaml")).toThrow(
      /x\.yaml: invalid workload: rootfs/,
    );
    expect(() => parseWorkload("name: x\nkind: synthetic\nimage: x\nimages: y\n", "x.yaml")).toThrow(
      /unknown key "images" \(known keys: name, kind, image, description\)/,
    );
  });

  const PIN = "numpy==2.4.1 --hash=sha256:538bf4ec353709c765ff75ae616c34d3c3dca1a68312727e8f2676ea644f8509";
  const pipWorkload = (pip: string) =>
    `name: x\nkind: debian\nimage: x\nrootfs:\n  include: [python3, python3-venv]\n  versionPackage: numpy\n` +
    `  a: { suites: [bookworm], pip: ["${pip}"] }\n  b: { suites: [bookworm], pip: ["${pip}"] }\n`;

  it("takes pinned, hashed pip requirements and refuses any other form", () => {
    expect(PipRequirementSchema.parse(PIN)).toBe(PIN);
    expect(PipRequirementSchema.safeParse(`${PIN} --hash=sha256:${"0".repeat(64)}`).success).toBe(true);
    for (const bad of [
      "numpy==2.4.1",
      "numpy>=2.4 --hash=sha256:538bf4ec353709c765ff75ae616c34d3c3dca1a68312727e8f2676ea644f8509",
      "numpy==2.4.1 --hash=sha256:538bf4ec",
      "numpy==2.4.1 --hash=md5:538bf4ec353709c765ff75ae616c34d3",
      "numpy==2.4.1 --hash=sha256:538bf4ec353709c765ff75ae616c34d3c3dca1a68312727e8f2676ea644f8509 --index-url http://x",
    ]) {
      expect(PipRequirementSchema.safeParse(bad).success, bad).toBe(false);
    }
    const w = parseWorkload(pipWorkload(PIN), "x.yaml");
    expect(w.kind === "debian" && w.rootfs.venv).toBe("/opt/venv");
    expect(() => parseWorkload(pipWorkload("numpy==2.4.1"), "x.yaml")).toThrow(
      /x\.yaml: invalid workload: rootfs\.a\.pip/,
    );
    expect(() =>
      parseWorkload(
        pipWorkload(PIN).replace("b: { suites: [bookworm],", "b: { suites: [bookworm], pips: [], "),
        "x.yaml",
      ),
    ).toThrow(/unknown key "pips"/);
  });

  it("wants python3-venv for pip packages, and a versionPackage that is installed on both sides", () => {
    expect(() => parseWorkload(pipWorkload(PIN).replace("python3, python3-venv", "python3"), "x.yaml")).toThrow(
      /python3-venv/,
    );
    expect(() =>
      parseWorkload(pipWorkload(PIN).replace("versionPackage: numpy", "versionPackage: scipy"), "x.yaml"),
    ).toThrow(/"scipy" is neither in include nor a pip package of both sides/);
  });

  it("normalises pip names the way pip does", () => {
    expect(pipName("Tensorflow_CPU")).toBe("tensorflow-cpu");
    expect(pipName("zope.interface")).toBe("zope-interface");
    expect(pipPins([PIN, "Google_Pasta==0.2.0 --hash=sha256:" + "a".repeat(64)])).toEqual(
      new Map([
        ["numpy", "2.4.1"],
        ["google-pasta", "0.2.0"],
      ]),
    );
  });

  it("expands {params} and refuses an unknown one", () => {
    expect(expandParams("redis-benchmark -n {requests}", { requests: 5 }, "w")).toBe("redis-benchmark -n 5");
    expect(() => expandParams("-c {clients}", {}, "w.yaml")).toThrow(/\{clients\}/);
  });
});

describe("container job script", () => {
  const rt = {
    setup: "echo set > /esb/x",
    start: "echo 'started' > /esb/started",
    ready: "test -f /esb/started",
    readyTimeoutS: 2,
    logs: ["/nonexistent/server.log"],
    load: [{ name: "step one", cmd: "echo load {n}", parser: "none" as const }],
    params: { n: 3 },
    quick: { n: 1 },
  };

  it("quotes for /bin/sh", () => {
    expect(shQuote("it's")).toBe(`'it'\\''s'`);
  });

  /** A scratch dir whose path holds no "/esb": the script's own /esb is rewritten into it. */
  const scratch = () => mkdtempSync(path.join(os.tmpdir(), "job-"));

  /** Runs the container script with /bin/sh in `dir`, and reads what it left in its /esb. */
  function runJob(spec: typeof rt, quick: boolean, dir = scratch()): (file: string) => string {
    const script = containerScript("t", spec, quick)
      .replaceAll("/esb", path.join(dir, "esb"))
      .replace(/exec sleep 2147483647/g, "exit 0");
    writeFileSync(path.join(dir, "job.sh"), script);
    execFileSync("/bin/sh", [path.join(dir, "job.sh")]);
    return (f) => execFileSync("cat", [path.join(dir, "esb", f)]).toString();
  }

  it("runs setup, start, ready and load, and writes status ok (run with /bin/sh in a scratch root)", () => {
    const read = runJob(rt, true);
    expect(read("status")).toBe("ok\n");
    expect(read("load-step-one.out")).toBe("load 1\n");
    // what the guest's runtime driver copies out if the script hangs before its fail()
    expect(read("server-logs")).toBe("/nonexistent/server.log\n");
    // each step's end on the boot clock, in the order they ran
    const timeline = read("timeline.out")
      .trim()
      .split("\n")
      .map((l) => l.split(" "));
    expect(timeline.map(([label]) => label)).toEqual([
      "begin",
      "setup",
      "start",
      "ready",
      "load:step-one",
      "check:step-one",
    ]);
    const ups = timeline.map(([, up]) => Number(up));
    expect(ups.every((u, i) => Number.isFinite(u) && u >= (ups[i - 1] ?? 0))).toBe(true);
  });

  it("gives up on the ready command by the clock, however slow each try is", () => {
    // each try takes 1 s: counting tries (readyTimeoutS * 2 of them) would run it 5 times
    const read = runJob({ ...rt, ready: "echo try >> /esb/tries; sleep 1; false" }, false);
    expect(read("status")).toMatch(/^failed: ready \(no answer in 2s\)/);
    const tries = read("tries").split("\n").filter(Boolean).length;
    expect(tries).toBeLessThanOrEqual(3);
  });

  it("fails the container when its server no longer answers after a load step", () => {
    const dir = scratch();
    // the load step stops the server, as a crash under load would
    const dying = {
      ...rt,
      load: [{ name: "crash", cmd: "rm /esb/started", parser: "none" as const }],
      logs: [path.join(dir, "server.log")],
    };
    writeFileSync(path.join(dir, "server.log"), "server died\n");
    const read = runJob(dying, false, dir);
    expect(read("status")).toBe("failed: server no longer answers after load step crash\n");
    expect(read("server-server.log.log")).toBe("server died\n");
  });

  it("records the failing step in status", () => {
    const dir = scratch();
    const read = runJob({ ...rt, ready: "false" }, false, dir);
    expect(read("status")).toMatch(/^failed: ready \(no answer in 2s\)/);
    // the ready command's own output is kept for the report
    expect(execFileSync("ls", [path.join(dir, "esb")]).toString()).toContain("ready.log");
  });
});

describe("Debian rootfs labels", () => {
  it("reads installed versions from dpkg status and drops the epoch", () => {
    const status = [
      "Package: redis-server\nStatus: install ok installed\nVersion: 5:8.0.2-3+deb13u3",
      "Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0",
    ].join("\n\n");
    const m = parseDpkgStatus(status);
    expect(m.get("redis-server")).toBe("5:8.0.2-3+deb13u3");
    expect(m.has("gone")).toBe(false);
    expect(versionLabel(m.get("redis-server")!)).toBe("8.0.2-3+deb13u3");
  });

  it("reads pip packages from the dist-info directories of the venv (lines of a tar -tf of a rootfs)", () => {
    const listing = [
      "./opt/venv/lib/python3.11/site-packages/",
      "./opt/venv/lib/python3.11/site-packages/numpy-2.4.1.dist-info/",
      "./opt/venv/lib/python3.11/site-packages/numpy-2.4.1.dist-info/METADATA",
      "./opt/venv/lib/python3.11/site-packages/tensorflow_cpu-2.21.0.dist-info/",
      "./opt/venv/lib/python3.11/site-packages/google_pasta-0.2.0.dist-info/",
      "./opt/venv/lib/python3.11/site-packages/tensorflow/python/framework/ops.py",
      "./usr/lib/python3/dist-packages/pip-23.0.1.dist-info/",
      "./opt/other/lib/python3.11/site-packages/six-1.17.0.dist-info/",
    ];
    expect(parseDistInfo(listing, "/opt/venv")).toEqual(
      new Map([
        ["numpy", "2.4.1"],
        ["tensorflow-cpu", "2.21.0"],
        ["google-pasta", "0.2.0"],
      ]),
    );
  });

  it("records the venv's packages and refuses a rootfs that lacks a pin at its version", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "esb-pip-"));
    execFileSync("mkdir", ["-p", path.join(dir, "root/opt/venv/lib/python3.11/site-packages/numpy-2.4.0.dist-info")]);
    execFileSync("tar", ["-cf", path.join(dir, "rootfs.tar"), "-C", path.join(dir, "root"), "."]);
    const pin = (v: string) => ({
      requirements: [`numpy==${v} --hash=sha256:${"a".repeat(64)}`],
      venv: "/opt/venv",
      hook: "h",
    });
    expect((await pipRecord(path.join(dir, "rootfs.tar"), pin("2.4.0"), "x A")).installed).toEqual({ numpy: "2.4.0" });
    await expect(pipRecord(path.join(dir, "rootfs.tar"), pin("2.4.1"), "x A")).rejects.toThrow(
      "x A: pip package numpy==2.4.1 is not in /opt/venv (found 2.4.0)",
    );
  });
});
