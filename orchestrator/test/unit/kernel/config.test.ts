import { describe, expect, it } from "vitest";
import { mergeFragments, parseConfig, renderFragment, verifyConfig } from "../../../src/kernel/config.js";

describe("kernel config fragments", () => {
  it("parses values, 'is not set' lines and skips comments", () => {
    const c = parseConfig('# comment\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_NR_CPUS=8\nCONFIG_S="x y"\n');
    expect([...c]).toEqual([
      ["CONFIG_A", "y"],
      ["CONFIG_B", "n"],
      ["CONFIG_NR_CPUS", "8"],
      ["CONFIG_S", '"x y"'],
    ]);
  });

  it("rejects a line that is not a config assignment, naming it", () => {
    expect(() => parseConfig("EROFS=y\n")).toThrow(/EROFS=y/);
  });

  it("lets later fragments win and renders n as 'is not set'", () => {
    const merged = mergeFragments(
      parseConfig("CONFIG_A=y\nCONFIG_B=y\n"),
      parseConfig("# CONFIG_B is not set\nCONFIG_C=m\n"),
    );
    expect(renderFragment(merged)).toBe("CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=m\n");
  });

  it("reports every requested symbol kconfig dropped, with what it got", () => {
    const requested = parseConfig(
      "CONFIG_EROFS_FS=y\nCONFIG_EROFS_FS_PAGE_CACHE_SHARE=y\nCONFIG_NR_CPUS=8\n# CONFIG_DEBUG is not set\n",
    );
    const actual = parseConfig("# CONFIG_EROFS_FS is not set\nCONFIG_NR_CPUS=8\n");
    expect(verifyConfig(requested, actual)).toEqual([
      { symbol: "CONFIG_EROFS_FS", wanted: "y", got: "n" },
      { symbol: "CONFIG_EROFS_FS_PAGE_CACHE_SHARE", wanted: "y", got: "not set" },
    ]);
  });
});
