import { describe, expect, it } from "vitest";
import {
  COMPAT_ISHARE_XATTRS,
  COMPAT_SB_CHKSUM,
  EROFS_MAGIC,
  ISHARE_BYTE,
  SB_OFFSET,
  crc32c,
  parseSuperblock,
  superblockChecksum,
} from "../../../src/images/superblock.js";

describe("superblock", () => {
  it("computes crc32c like the kernel (seed ~0, no final inversion)", () => {
    // the standard check value of CRC-32C for "123456789" is 0xe3069283 after the final inversion
    expect(crc32c(0xffffffff, new TextEncoder().encode("123456789"))).toBe(~0xe3069283 >>> 0);
  });

  it("checksums the block from 1024 with the checksum field zeroed", () => {
    const block = new Uint8Array(4096);
    const dv = new DataView(block.buffer);
    dv.setUint32(SB_OFFSET, EROFS_MAGIC, true);
    dv.setUint32(SB_OFFSET + 8, COMPAT_SB_CHKSUM | COMPAT_ISHARE_XATTRS, true);
    block[SB_OFFSET + 12] = 12;
    block[SB_OFFSET + ISHARE_BYTE] = 3;
    const before = superblockChecksum(block);
    dv.setUint32(SB_OFFSET + 4, 0xdeadbeef, true);
    expect(superblockChecksum(block)).toBe(before);
    block[SB_OFFSET + ISHARE_BYTE] = 0x83;
    expect(superblockChecksum(block)).not.toBe(before);
    expect(parseSuperblock(block).ishareByte).toBe(0x83);
  });
});
