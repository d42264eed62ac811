import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { kernelVersionOf } from "../../../src/kernel/source.js";

async function treeWith(makefile: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "esb-kver-"));
  await writeFile(path.join(dir, "Makefile"), makefile);
  return dir;
}

describe("kernel version from the top Makefile", () => {
  it("reads an empty EXTRAVERSION as empty, not as the next line's NAME", async () => {
    expect(
      await kernelVersionOf(
        await treeWith("VERSION = 7\nPATCHLEVEL = 3\nSUBLEVEL = 4\nEXTRAVERSION =\nNAME = Baby Opossum Posse\n"),
      ),
    ).toBe("7.3.4");
  });

  it("keeps an -rc EXTRAVERSION", async () => {
    expect(
      await kernelVersionOf(
        await treeWith("VERSION = 6\nPATCHLEVEL = 19\nSUBLEVEL = 0\nEXTRAVERSION = -rc3\nNAME = x\n"),
      ),
    ).toBe("6.19.0-rc3");
  });
});
