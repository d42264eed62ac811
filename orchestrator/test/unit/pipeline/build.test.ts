import { describe, expect, it } from "vitest";
import { kernelFragment } from "../../../src/kernel/prepare.js";
import { loadSeries } from "../../../src/kernel/series.js";
import { firstCompilerError } from "../../../src/kernel/build.js";
import { pairPlan } from "../../../src/pipeline/buildArtefacts.js";
import { resolveJob } from "../../../src/record/jobSpec.js";

describe("compile error parsing", () => {
  it("finds the first error with file:line:col and relative path, skipping warnings", () => {
    const log = [
      "  CC      fs/erofs/super.o",
      "fs/erofs/zdata.c:12:5: warning: unused variable 'x' [-Wunused-variable]",
      "/src/linux/fs/erofs/ishare.c:77:20: error: invalid operands to binary & (have 'struct inode_state_flags' and 'int')",
      "fs/erofs/ishare.c:90:1: error: second one",
      "make[4]: *** [scripts/Makefile.build:287: fs/erofs/ishare.o] Error 1",
    ].join("\n");
    expect(firstCompilerError(log, "/src/linux")).toEqual({
      file: "fs/erofs/ishare.c",
      line: 77,
      column: 20,
      message: "invalid operands to binary & (have 'struct inode_state_flags' and 'int')",
    });
  });

  it("strips ../ of out-of-tree builds and reads fatal errors", () => {
    const e = firstCompilerError("../fs/erofs/internal.h:9:10: fatal error: foo.h: No such file or directory\n");
    expect(e).toMatchObject({ file: "fs/erofs/internal.h", line: 9, message: "foo.h: No such file or directory" });
  });

  it("falls back to the linker's undefined reference", () => {
    const e = firstCompilerError(
      "ld: fs/erofs/ishare.o: in function `erofs_ishare_fill_inode':\nld: fs/erofs/ishare.o:(.text+0x1a): undefined reference to `foo'\n",
    );
    expect(e?.file).toBe("fs/erofs/ishare.o");
    expect(e?.message).toMatch(/undefined reference to `foo'/);
  });

  it("returns null for a clean log", () => {
    expect(firstCompilerError("  CC      init/main.o\n  LD      vmlinux\n")).toBeNull();
  });
});

describe("which pairs a run builds", () => {
  it("builds the synthetic pair for the checks when the run measures only other workloads, and keeps it out of the tables", () => {
    expect(pairPlan(resolveJob({ workloads: ["mysql", "tomcat"] }, "test"))).toEqual({
      measured: ["mysql", "tomcat"],
      checks: "extra",
    });
    expect(pairPlan(resolveJob({ workloads: ["redis", "synthetic"] }, "test"))).toEqual({
      measured: ["redis", "synthetic"],
      checks: "measured",
    });
  });

  it("checks the user's pair as given, and builds only the checks' pair for a run of the checks alone", () => {
    expect(pairPlan(resolveJob({ workloads: ["synthetic"], images: ["a", "b"] }, "test"))).toEqual({
      measured: ["synthetic"],
      checks: "images",
    });
    expect(pairPlan(resolveJob({ workloads: ["postgres", "redis"], phases: ["correctness"] }, "test"))).toEqual({
      measured: ["synthetic"],
      checks: "measured",
    });
  });

  it("builds nothing for the checks when they do not run", () => {
    expect(pairPlan(resolveJob({ workloads: ["mysql"], phases: ["readall", "runtime"] }, "test"))).toEqual({
      measured: ["mysql"],
      checks: "none",
    });
  });
});

describe("the checks' sanitizer kernel", () => {
  it("is the plain fragment with KASAN, kmemleak scanned on demand and lockdep on top, the series' symbol kept", async () => {
    const spec = await loadSeries("mainline");
    const plain = await kernelFragment(spec);
    const sanitizer = await kernelFragment(spec, { sanitizer: true });
    for (const [k, v] of plain) if (!["CONFIG_SLUB_TINY"].includes(k)) expect(sanitizer.get(k), k).toBe(v);
    expect(plain.has("CONFIG_KASAN")).toBe(false);
    expect(
      ["CONFIG_KASAN", "CONFIG_KASAN_INLINE", "CONFIG_DEBUG_KMEMLEAK", "CONFIG_PROVE_LOCKING"].map((k) =>
        sanitizer.get(k),
      ),
    ).toEqual(["y", "y", "y", "y"]);
    expect(sanitizer.get("CONFIG_DEBUG_KMEMLEAK_AUTO_SCAN")).toBe("n");
    expect(sanitizer.get("CONFIG_EROFS_FS_PAGE_CACHE_SHARE")).toBe("y");
  });
});
