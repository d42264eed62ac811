import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { containerScript } from "../src/guest/jobScript.js";
import { shQuote } from "../src/util/shell.js";
import { DEFAULT_SUITES } from "../src/host/debianArchive.js";
import { parseDpkgStatus, versionLabel } from "../src/images/rootfs.js";
import { expandParams, listWorkloads, loadWorkload, parseWorkload } from "../src/images/workloads.js";

describe("workload definitions", () => {
  it("every shipped workload validates, and the real ones have a runtime", async () => {
    const names = await listWorkloads();
    expect(names).toEqual(expect.arrayContaining(["synthetic", "redis", "postgres", "nginx", "mysql", "tomcat"]));
    for (const n of names) {
      const w = await loadWorkload(n);
      if (w.kind === "debian") {
        expect(w.runtime?.load.length).toBeGreaterThan(0);
        expect(w.rootfs.include).toContain(w.rootfs.versionPackage);
        // the tool keeps package lists for every suite a workload names
        for (const s of [...w.rootfs.a.suites, ...w.rootfs.b.suites]) expect(DEFAULT_SUITES).toContain(s);
      }
    }
  });

  it("names the field that is wrong", () => {
    expect(() => parseWorkload("name: x\nkind: debian\nimage: x\nrootfs: { include: [] }\n", "x.yaml")).toThrow(/x\.yaml: invalid workload: rootfs/);
    expect(() => parseWorkload("name: x\nkind: synthetic\nimage: x\nimages: y\n", "x.yaml")).toThrow(/unknown key "images" \(known keys: name, kind, image, description\)/);
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

  it("runs setup, start, ready and load, and writes status ok (run with /bin/sh in a scratch root)", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "esb-job-"));
    // the script writes to /esb; point it at the scratch dir instead
    const script = containerScript("t", rt, true).replaceAll("/esb", path.join(dir, "esb")).replace(/exec sleep 2147483647/g, "exit 0");
    writeFileSync(path.join(dir, "job.sh"), script);
    execFileSync("/bin/sh", [path.join(dir, "job.sh")]);
    const read = (f: string) => execFileSync("cat", [path.join(dir, "esb", f)]).toString();
    expect(read("status")).toBe("ok\n");
    expect(read("load-step-one.out")).toBe("load 1\n");
  });

  it("records the failing step in status", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "esb-job-"));
    const script = containerScript("t", { ...rt, ready: "false" }, false).replaceAll("/esb", path.join(dir, "esb")).replace(/exec sleep 2147483647/g, "exit 0");
    writeFileSync(path.join(dir, "job.sh"), script);
    execFileSync("/bin/sh", [path.join(dir, "job.sh")]);
    expect(execFileSync("cat", [path.join(dir, "esb", "status")]).toString()).toMatch(/^failed: ready \(no answer in 2s\)/);
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
});
