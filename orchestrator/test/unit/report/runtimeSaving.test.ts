import { describe, expect, it } from "vitest";
import { diskReads, ioBetween } from "../../../src/guest/protocol.js";
import { renderRuntimeSaving } from "../../../src/report/runtimeSaving.js";
import { runRecord, runtimeCell, stat } from "../../helpers/runRecord.js";

const DISKSTATS = (reads: number, sectors: number) =>
  `   7       0 loop0 9 0 9 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n 254       0 vda ${reads} 0 ${sectors} 10 0 0 0 0 0 0 0 0 0 0 0 0 0\n 254      16 vdb ${reads} 0 ${sectors} 10 0 0 0 0 0 0 0 0 0 0 0 0 0\n`;

describe("where a runtime saving comes from", () => {
  it("reads faults, pages read in and the image disks' reads between two samples", () => {
    expect(diskReads(DISKSTATS(10, 2048))).toEqual({ ios: 20, kib: 2048 });
    const io = ioBetween(
      { vmstat: "pgmajfault 5\npgpgin 100\n", diskstats: DISKSTATS(10, 2048) },
      { vmstat: "pgmajfault 45\npgpgin 4196\n", diskstats: DISKSTATS(110, 10240) },
    );
    expect(io).toEqual({ majorFaults: 40, pgpginKiB: 4096, diskReads: 200, diskReadKiB: 8192 });
  });

  it("splits on vs off into sharing across images and the sharing code path, with the evidence", () => {
    const io = (majorFaults: number, diskReads: number, mib: number) => ({
      majorFaults: stat(majorFaults),
      diskReads: stat(diskReads),
      diskReadMiB: stat(mib),
    });
    const r = runRecord({
      runtimeCells: [
        runtimeCell("redis", "off", 52.7, { io: io(300, 900, 60) }),
        runtimeCell("redis", "split", 41.7, { io: io(700, 2500, 48) }),
        runtimeCell("redis", "on", 34.4, { io: io(650, 2300, 40) }),
      ],
    });
    const text = renderRuntimeSaving(r).join("\n");
    expect(text).toContain(
      "| redis | 52.7 | 41.7 | 34.4 | 7.3 (40%) | 11.0 (60%) | 300 / 700 / 650 | 900 / 2500 / 2300 | 60.0 / 48.0 / 40.0 |",
    );
    expect(text).toContain(
      "split made 400 more major faults and 1600 more disk read requests, reading 12.0 MiB less from disk: less is read ahead",
    );
  });
});
