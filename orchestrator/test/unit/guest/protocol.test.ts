import { describe, expect, it } from "vitest";
import { parseCheckStream } from "../../../src/guest/correctnessProtocol.js";
import { jsonLines, pageCacheKiB, parseGuestOutput, parseMeminfo } from "../../../src/guest/protocol.js";

const MEMINFO = `MemTotal:        1019776 kB
MemFree:          985952 kB
Buffers:              16 kB
Cached:            31234 kB
SwapCached:            0 kB
Shmem:             13632 kB
HugePages_Total:       0
`;

describe("guest samples", () => {
  it("parses /proc/meminfo and takes page cache as Cached - Shmem", () => {
    const m = parseMeminfo(MEMINFO);
    expect(m.get("Cached")).toBe(31234);
    expect(m.get("SwapCached")).toBe(0);
    expect(m.get("HugePages_Total")).toBe(0);
    expect(pageCacheKiB(m)).toBe(31234 - 13632);
  });

  it("refuses a meminfo without Shmem", () => {
    expect(() => pageCacheKiB(parseMeminfo("Cached: 5 kB\n"))).toThrow(/Shmem/);
  });

  it("reads the channel: samples, files, the final dmesg as completion", () => {
    const text = [
      JSON.stringify({ t: "hello", release: "7.2.13", mode: "on", rep: 1 }),
      JSON.stringify({
        t: "sample",
        point: "baseline",
        path: "read",
        tries: 2,
        stable: true,
        meminfo: MEMINFO,
        readings: [5, 5],
        vmstat: "pgpgin 1\n",
      }),
      JSON.stringify({ t: "file", image: "A", path: "x", size: 3, bytes: 3, sha256: "ab" }),
      JSON.stringify({ t: "dmesg", text: "erofs: hello" }),
      "",
    ].join("\n");
    const r = parseGuestOutput(text, "samples.jsonl");
    expect(r.hello?.release).toBe("7.2.13");
    expect(r.samples[0]?.pageCacheKiB).toBe(17602);
    expect(r.files).toHaveLength(1);
    expect(r.complete).toBe(true);
  });

  it("treats a torn last line as an unfinished guest, and a bad line elsewhere as an error", () => {
    const torn = JSON.stringify({ t: "hello", release: "x", mode: "on", rep: 1 }) + '\n{"t":"sam';
    expect(parseGuestOutput(torn, "s").complete).toBe(false);
    const bad = 'garbage\n{"t":"dmesg","text":""}\n{"t":"dmesg","text":""}\n';
    expect(() => parseGuestOutput(bad, "s.jsonl")).toThrow(/s\.jsonl:1/);
  });

  it("rejects a record of an unknown shape", () => {
    expect(() => parseGuestOutput('{"t":"sample","point":1}\n{"t":"dmesg","text":""}\n\n', "s")).toThrow(
      /unexpected guest record/,
    );
  });
});

describe("the channel's lines", () => {
  const hello = JSON.stringify({ t: "hello", release: "x", mode: "on", rep: 1 });
  const dmesg = JSON.stringify({ t: "dmesg", text: "" });

  it("gives each JSON line with where it was, skipping blank lines; a torn last line ends them", () => {
    expect([...jsonLines(`${hello}\n\n  \n${dmesg}\n`, "s")]).toEqual([
      { value: JSON.parse(hello), at: "s:1" },
      { value: JSON.parse(dmesg), at: "s:4" },
    ]);
    // torn with or without the newline the guest never wrote
    for (const torn of [`${hello}\n{"t":"sam`, `${hello}\n{"t":"sam\n`])
      expect([...jsonLines(torn, "s")].map((l) => l.at)).toEqual(["s:1"]);
    expect(() => [...jsonLines(`${hello}\ngarbage\n${dmesg}\n`, "s")]).toThrow("s:2: not JSON: garbage");
  });

  // both parsers of a boot's channel read through jsonLines: a guest that died mid-write reads the same in either
  for (const [name, parse] of [
    ["read-all", parseGuestOutput],
    ["correctness", parseCheckStream],
  ] as const) {
    it(`${name}: a torn last line is an unfinished guest, a line not JSON before it an error naming it`, () => {
      expect(parse(`${hello}\n{"t":"sam`, "s").complete).toBe(false);
      expect(parse(`${hello}\n${dmesg}\n`, "s").complete).toBe(true);
      expect(() => parse(`${hello}\ngarbage\n${dmesg}\n`, "s.jsonl")).toThrow(/^s\.jsonl:2: not JSON/);
      expect(() => parse(`${hello}\n{"t":"nope"}\n${dmesg}\n`, "s.jsonl")).toThrow(
        /^s\.jsonl:2: unexpected guest record/,
      );
    });
  }
});
