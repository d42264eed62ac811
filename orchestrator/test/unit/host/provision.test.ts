import { describe, expect, it } from "vitest";
import { DebianArchive, parseMadison } from "../../../src/host/debianArchive.js";
import { compareDebianVersions, sortVersionsDesc } from "../../../src/host/debianVersion.js";

describe("Debian versions and the tool's apt view", () => {
  it("orders versions the way dpkg does", () => {
    expect(compareDebianVersions("7.3.4-1~bpo13+1", "7.3.4-1")).toBeLessThan(0);
    expect(compareDebianVersions("7.2.13-1", "7.2.9-1")).toBeGreaterThan(0);
    expect(compareDebianVersions("1:1.0", "9.9")).toBeGreaterThan(0);
    expect(compareDebianVersions("1.9.4-1", "1.9")).toBeGreaterThan(0);
    expect(compareDebianVersions("8.0.2-3+deb13u3", "8.0.2-3+deb13u2")).toBeGreaterThan(0);
    expect(sortVersionsDesc([{ version: "1.8.6-1" }, { version: "1.9.4-1" }]).map((v) => v.version)).toEqual([
      "1.9.4-1",
      "1.8.6-1",
    ]);
  });

  it("parses apt-cache madison into suite and kind", () => {
    const rows = parseMadison(
      "linux-source-7.2 |   7.2.13-1 | http://deb.debian.org/debian sid/main amd64 Packages\n" +
        "erofs-utils |    1.9.4-1 | http://deb.debian.org/debian forky/main Sources\n",
    );
    expect(rows).toEqual([
      { pkg: "linux-source-7.2", version: "7.2.13-1", suite: "sid", kind: "Packages" },
      { pkg: "erofs-utils", version: "1.9.4-1", suite: "forky", kind: "Sources" },
    ]);
  });

  it("keeps its own sources list with deb and deb-src per suite, security from its own archive", () => {
    const list = new DebianArchive(["trixie", "trixie-security"], "/tmp/x").sourcesList();
    expect(list).toContain(
      "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main",
    );
    expect(list).toContain(
      "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security trixie-security main",
    );
    expect(new DebianArchive(["sid"], "/tmp/x").options()).toContain("Dir::State::Lists=/tmp/x/lists");
  });
});
