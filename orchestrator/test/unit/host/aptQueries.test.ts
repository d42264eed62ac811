import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DebianArchive } from "../../../src/host/debianArchive.js";
import { tempDir } from "../../helpers/gitSeries.js";

/**
 * apt-cache look-ups are remembered per state of the package lists: a warm
 * run does not load every suite's lists again, and a refreshed list is asked
 * again. apt-cache is a script here that counts its calls.
 */
let dir: string;
let oldPath: string | undefined;

beforeEach(async () => {
  dir = await tempDir("esb-aptq-");
  await mkdir(path.join(dir, "bin"));
  await mkdir(path.join(dir, "apt", "lists"), { recursive: true });
  await writeFile(path.join(dir, "apt", "lists", "deb.debian.org_debian_dists_trixie_InRelease"), "Date: day 1\n");
  await writeFile(
    path.join(dir, "bin", "apt-cache"),
    `#!/bin/sh\necho x >> "${dir}/calls"\necho "erofs-utils |  1.8.6-1 | http://deb.debian.org/debian trixie/main amd64 Packages"\n`,
  );
  await chmod(path.join(dir, "bin", "apt-cache"), 0o755);
  oldPath = process.env.PATH;
  process.env.PATH = `${path.join(dir, "bin")}:${oldPath}`;
});
afterEach(() => {
  process.env.PATH = oldPath;
});

const calls = async () =>
  (await readFile(path.join(dir, "calls"), "utf8").catch(() => "")).split("\n").filter(Boolean).length;

describe("apt-cache look-ups", () => {
  it("are asked once while the lists stay the same, and again when they change", async () => {
    const archive = new DebianArchive(["trixie"], path.join(dir, "apt"));
    expect(await archive.versions("erofs-utils")).toEqual([{ version: "1.8.6-1", suite: "trixie" }]);
    expect(await new DebianArchive(["trixie"], path.join(dir, "apt")).versions("erofs-utils")).toEqual([
      { version: "1.8.6-1", suite: "trixie" },
    ]);
    expect(await calls()).toBe(1);
    await writeFile(path.join(dir, "apt", "lists", "deb.debian.org_debian_dists_trixie_InRelease"), "Date: day 2\n");
    await archive.versions("erofs-utils");
    expect(await calls()).toBe(2);
  });
});
