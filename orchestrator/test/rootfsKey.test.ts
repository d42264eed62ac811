import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DebianArchive, parseSimulatedInstall } from "../src/host/debianArchive.js";
import { resolvePackageSet, rootfsInputs } from "../src/images/rootfs.js";
import { hashOf } from "../src/util/fsx.js";
import { tempDir } from "./helpers/gitSeries.js";

const APT_OUTPUT = `NOTE: This is only a simulation!
Inst gcc-14-base (14.2.0-19 Debian:13.7/stable [amd64])
Inst libc6 (2.41-12+deb13u4 Debian:13.7/stable [amd64]) []
Inst libssl3t64 [3.5.1-1] (3.5.1-1+deb13u1 Debian-Security:13/stable-security [amd64])
Conf libc6 (2.41-12+deb13u4 Debian:13.7/stable [amd64])
Inst redis-server (5:8.0.2-3+deb13u3 Debian-Security:13/stable-security [amd64])
`;

const recipe = { variant: "minbase" as const, include: ["redis-server"], versionPackage: "redis-server", customize: [], venv: "/opt/venv", a: { suites: ["trixie"] }, b: { suites: ["trixie", "trixie-security"] } };

describe("a rootfs follows its whole package set", () => {
  it("reads apt's simulated install", () => {
    expect(parseSimulatedInstall(APT_OUTPUT)).toEqual(new Map([
      ["gcc-14-base", "14.2.0-19"], ["libc6", "2.41-12+deb13u4"], ["libssl3t64", "3.5.1-1+deb13u1"], ["redis-server", "5:8.0.2-3+deb13u3"],
    ]));
  });

  it("makes a new image when a package the recipe does not name is updated (libc), and only then", () => {
    const today = Object.fromEntries(parseSimulatedInstall(APT_OUTPUT));
    const same = hashOf(rootfsInputs(recipe, ["trixie"], { ...today }));
    expect(hashOf(rootfsInputs(recipe, ["trixie"], today))).toBe(same);
    expect(hashOf(rootfsInputs(recipe, ["trixie"], { ...today, libc6: "2.41-12+deb13u5" }))).not.toBe(same);
  });

  it("keys a side with pip packages on its pins, the venv and the install hook; a side without keeps its key", () => {
    const pkgs = Object.fromEntries(parseSimulatedInstall(APT_OUTPUT));
    expect(rootfsInputs(recipe, ["trixie"], pkgs)).toEqual({ variant: "minbase", include: ["redis-server"], customize: [], suites: ["trixie"], packages: pkgs, v: 2 });
    const pip = { requirements: [`numpy==2.4.0 --hash=sha256:${"a".repeat(64)}`], venv: "/opt/venv", hook: "h1" };
    const key = hashOf(rootfsInputs(recipe, ["trixie"], pkgs, pip));
    expect(key).not.toBe(hashOf(rootfsInputs(recipe, ["trixie"], pkgs)));
    expect(hashOf(rootfsInputs(recipe, ["trixie"], pkgs, { ...pip, requirements: [`numpy==2.4.1 --hash=sha256:${"b".repeat(64)}`] }))).not.toBe(key);
    expect(hashOf(rootfsInputs(recipe, ["trixie"], pkgs, { ...pip, venv: "/srv/venv" }))).not.toBe(key);
    expect(hashOf(rootfsInputs(recipe, ["trixie"], pkgs, { ...pip, hook: "h2" }))).not.toBe(key);
  });

  describe("resolution", () => {
    let dir: string;
    beforeAll(async () => {
      dir = await tempDir("esb-apt-");
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("asks apt once per state of the package lists, and names a package no suite has", async () => {
      let asked = 0;
      let lists = "l1";
      const archive = Object.assign(new DebianArchive(["trixie"], dir), {
        listsDigest: async () => lists,
        simulateInstall: async () => {
          asked++;
          return parseSimulatedInstall(APT_OUTPUT);
        },
      });
      const first = await resolvePackageSet(archive, recipe, ["trixie"]);
      expect(first.libc6).toBe("2.41-12+deb13u4");
      await resolvePackageSet(archive, recipe, ["trixie"]);
      expect(asked).toBe(1);
      lists = "l2";
      await resolvePackageSet(archive, recipe, ["trixie"]);
      expect(asked).toBe(2);
      await expect(resolvePackageSet(archive, { ...recipe, include: ["nope"] }, ["trixie"])).rejects.toThrow("package nope is in none of the suites trixie");
    });

    it("refuses a suite the tool keeps no package lists for, before asking apt", async () => {
      const archive = new DebianArchive(["trixie"], dir);
      await expect(archive.simulateInstall(["trixie", "bookworm"], ["redis-server"])).rejects.toThrow(/suite bookworm is not one the tool follows/);
    });
  });
});
