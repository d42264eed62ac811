import { mkdir, mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { applyDiff, buildVariant, compiledObjects, linkedCopy } from "../../../src/kernel/incremental.js";

/**
 * A stand-in for kbuild: make with O=, a recipe that records the absolute
 * source path it compiled from (as kbuild's .cmd files do), "  CC  x.o"
 * lines, and an arch/x86/boot/bzImage made from the objects.
 */
const MAKEFILE = `SRC := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
O ?= out
OBJS := $(O)/a.o $(O)/b.o
$(O)/arch/x86/boot/bzImage: $(OBJS)
\t@mkdir -p $(dir $@)
\t@cat $(OBJS) > $@
# as kbuild's if_changed: rebuilt when the source is newer or the recorded command (with its absolute path) differs
$(O)/%.o: $(SRC)/%.c FORCE
\t@mkdir -p $(O)
\t@if [ "$<" -nt "$@" ] || ! grep -qx "cc $<" $(O)/.$*.cmd 2>/dev/null; then echo "  CC      $*.o"; cat $< > $@; echo "cc $<" > $(O)/.$*.cmd; fi
bzImage: $(O)/arch/x86/boot/bzImage
# kbuild keeps its configuration in the output directory; this one has nothing to settle
olddefconfig:
\t@test -f $(O)/.config
.PHONY: bzImage olddefconfig FORCE
`;

async function baseBuild(): Promise<{ dir: string; tree: string; out: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "esb-incr-"));
  const tree = path.join(dir, "tree");
  await mkdir(tree);
  await writeFile(path.join(tree, "Makefile"), MAKEFILE);
  await writeFile(path.join(tree, "a.c"), "int a;\n");
  await writeFile(path.join(tree, "b.c"), "int b;\n");
  const out = path.join(dir, "base-out");
  await mkdir(out);
  await writeFile(path.join(out, ".config"), "CONFIG_EROFS_FS=y\n");
  await execa("make", [`O=${out}`, "bzImage"], { cwd: tree });
  return { dir, tree, out };
}

const diffA = "--- a/a.c\n+++ b/a.c\n@@ -1 +1 @@\n-int a;\n+int a = 1; /* mutant */\n";

describe("building a variant of a built tree", () => {
  it("copies the tree by hard links but gives the changed files their own inodes, so the base is never written", async () => {
    const { dir, tree } = await baseBuild();
    const copy = path.join(dir, "variant");
    await linkedCopy(tree, copy, ["a.c"]);
    expect((await stat(path.join(copy, "b.c"))).ino).toBe((await stat(path.join(tree, "b.c"))).ino);
    expect((await stat(path.join(copy, "a.c"))).ino).not.toBe((await stat(path.join(tree, "a.c"))).ino);
    await applyDiff(copy, diffA, "mutant test");
    expect(await readFile(path.join(copy, "a.c"), "utf8")).toBe("int a = 1; /* mutant */\n");
    expect(await readFile(path.join(tree, "a.c"), "utf8")).toBe("int a;\n");
  });

  it("refuses a patch that does not fit, changing nothing", async () => {
    const { dir, tree } = await baseBuild();
    const copy = path.join(dir, "variant");
    await linkedCopy(tree, copy, ["a.c"]);
    const twoHunks = `${diffA}--- a/b.c\n+++ b/b.c\n@@ -1 +1 @@\n-int nope;\n+int b = 2;\n`;
    await expect(applyDiff(copy, twoHunks, "mutant broken")).rejects.toThrow(
      /mutant broken does not apply to .*variant/,
    );
    expect(await readFile(path.join(copy, "a.c"), "utf8")).toBe("int a;\n");
  });

  it("recompiles only what the variant changed, at the base's paths, leaving the base build as it was", async () => {
    const { dir, tree, out: baseOut } = await baseBuild();
    const variant = path.join(dir, "variant");
    await linkedCopy(tree, variant, ["a.c"]);
    await applyDiff(variant, diffA, "mutant test");
    const before = await readFile(path.join(baseOut, "arch/x86/boot/bzImage"), "utf8");
    const out = path.join(dir, "variant-out");
    const built = await buildVariant({
      baseTree: tree,
      baseOut,
      variant,
      out,
      jobs: 1,
      localVersion: "-test",
      logFile: path.join(dir, "build.log"),
    });
    expect(await readFile(path.join(out, "arch/x86/boot/bzImage"), "utf8")).toBe("int a = 1; /* mutant */\nint b;\n");
    expect(await readFile(path.join(baseOut, "arch/x86/boot/bzImage"), "utf8")).toBe(before);
    expect(await readFile(path.join(tree, "a.c"), "utf8")).toBe("int a;\n");
    if (process.getuid?.() === 0) {
      // root may make a private mount namespace: only a.o, since every recorded path is the base's
      expect(built).toEqual({ incremental: true, compiled: ["a.o"] });
    } else {
      // elsewhere the variant is built whole from its own copy, and says why
      expect(built.incremental).toBe(false);
      expect(built.why).toMatch(/no private mount namespace/);
      expect(built.compiled.sort()).toEqual(["a.o", "b.o"]);
    }
  });

  it("reads the objects a build compiled, relative to its output directory", () => {
    const log =
      "  CC      /o/tools/objtool/check.o\n  CC      fs/erofs/ishare.o\n  LD      vmlinux.o\n  AR      fs/built-in.a\n";
    expect(compiledObjects(log, "/o")).toEqual(["tools/objtool/check.o", "fs/erofs/ishare.o"]);
  });
});
