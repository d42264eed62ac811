import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseOops, renderOops, symbolTableFromNm, symbolise } from "../../../src/kernel/oops.js";

// The shape of an x86-64 oops from a kernel built without KALLSYMS.
const CONSOLE = [
  "esb: mode=on rep=1 paths= out=/dev/vport0p1",
  "[    3.141592] BUG: kernel NULL pointer dereference, address: 0000000000000060",
  "#PF: supervisor read access in kernel mode",
  "Oops: Oops: 0000 [#1] SMP",
  "CPU: 0 UID: 0 PID: 89 Comm: sh Not tainted 6.18.2+ #1 NONE ",
  "RIP: 0010:0xffffffff81001046",
  "Code: 48 85 c0 74 5e",
  "Call Trace:",
  " <TASK>",
  " ? 0xffffffff81000969",
  " ? 0xffffffff81000010",
  " ? 0xffffffff82000000",
  " </TASK>",
  "CR2: 0000000000000060",
  "RIP: 0010:0xffffffff81001046",
  "Kernel panic - not syncing: Fatal exception",
].join("\n");

const NM = [
  "ffffffff81000000 T _stext",
  "ffffffff81000900 t erofs_readahead",
  "ffffffff81000a00 T read_pages",
  "ffffffff81001015 T erofs_read_begin",
  "ffffffff81001080 t erofs_read_end",
  "ffffffff81002000 D some_data",
].join("\n");

describe("guest oops", () => {
  it("finds the first oops: headline, faulting task, RIP and the call trace innermost first", () => {
    const o = parseOops(CONSOLE)!;
    expect(o.headline).toBe("BUG: kernel NULL pointer dereference, address: 0000000000000060");
    expect(o.comm).toBe("sh");
    expect(o.rip).toBe("0xffffffff81001046");
    expect(o.trace).toEqual(["0xffffffff81000969", "0xffffffff81000010", "0xffffffff82000000"]);
  });

  it("resolves addresses to function+offset/size from nm output, leaving what it cannot resolve", () => {
    const o = symbolise(parseOops(CONSOLE)!, symbolTableFromNm(NM));
    expect(o.rip).toBe("erofs_read_begin+0x31/0x6b");
    // an address inside data, or past the last symbol, is not a function: left bare
    expect(o.trace).toEqual(["erofs_readahead+0x69/0x100", "_stext+0x10/0x900", "0xffffffff82000000"]);
    expect(renderOops(o).split("\n").slice(0, 2)).toEqual([
      "BUG: kernel NULL pointer dereference, address: 0000000000000060",
      "  at erofs_read_begin+0x31/0x6b (task sh)",
    ]);
  });

  it("keeps names a KALLSYMS kernel already printed, and finds nothing in a clean console", () => {
    const named = CONSOLE.replace("RIP: 0010:0xffffffff81001046", "RIP: 0010:erofs_read_begin+0x31/0x6b");
    expect(symbolise(parseOops(named)!, symbolTableFromNm(NM)).rip).toBe("erofs_read_begin+0x31/0x6b");
    expect(parseOops("esb: mode=on\nesb: done\nreboot: Restarting system\n")).toBeNull();
  });

  it("takes a WARNING the guest survived as well", () => {
    const warn =
      "esb: measured\nWARNING: CPU: 1 PID: 70 at fs/erofs/ishare.c:120 erofs_ishare_fill_inode+0x1c/0x2b0\nRIP: 0010:0xffffffff81001020\nCall Trace:\n <TASK>\n 0xffffffff81000a10\n </TASK>\nesb: done\n";
    const o = symbolise(parseOops(warn)!, symbolTableFromNm(NM));
    expect(o.headline).toBe("WARNING: CPU: 1 PID: 70 at fs/erofs/ishare.c:120 erofs_ishare_fill_inode+0x1c/0x2b0");
    expect(o.rip).toBe("erofs_read_begin+0xb/0x6b");
    expect(o.trace).toEqual(["read_pages+0x10/0x615"]);
  });
});

// Consoles of this tool's sanitizer guest kernel (7.3.4 with kernel/sanitizer.config), cut to the reports.
const SANITIZER = path.resolve(import.meta.dirname, "../../fixtures/sanitizer");

describe("sanitizer reports from the guest", () => {
  it("reads a KASAN use-after-free: headline, access, the trace and the object's allocation and free stacks", async () => {
    // the fingerprint-freed mutant: a shared inode's fingerprint freed while looked up
    const o = parseOops(await readFile(path.join(SANITIZER, "kasan-use-after-free.console"), "utf8"))!;
    expect(o.kind).toBe("kasan");
    expect(o.headline).toBe("BUG: KASAN: slab-use-after-free in memcmp+0xf6/0x185");
    expect(o.access).toBe("Read of size 8 at addr ff1100000032ef00 by task esbcheck/85");
    expect(o.trace).toContain("erofs_ishare_iget5_eq+0xb1/0xbe");
    // "? erofs_ishare_iget5_set" is an address left on the stack, not a caller
    expect(o.guessed).toContain(o.trace.indexOf("erofs_ishare_iget5_set+0xcd/0xcd"));
    expect(o.guessed).not.toContain(o.trace.indexOf("erofs_ishare_iget5_eq+0xb1/0xbe"));
    expect(o.trace.indexOf("erofs_ishare_iget5_eq+0xb1/0xbe")).toBeLessThan(
      o.trace.indexOf("erofs_lookup+0x264/0x29c"),
    );
    expect(o.allocated?.slice(0, 6)).toContain("erofs_xattr_fill_inode_fingerprint+0x219/0x2de");
    expect(o.freed?.slice(0, 7)).toContain("erofs_ishare_fill_inode+0x35f/0x5e7");
    const text = renderOops(o);
    expect(text).toMatch(/^BUG: KASAN: slab-use-after-free in memcmp\+0xf6\/0x185\n {2}Read of size 8/);
    expect(text).toContain("  freed at:\n    <- kasan_save_stack+0x32/0x4d");
  });

  it("takes the report from the guest's work over one from the kernel's early boot", async () => {
    // umount-race on mainline: an early-boot KASAN report in one boot of 33, then the bug the check hunts
    const text = await readFile(path.join(SANITIZER, "busy-inodes-after-early-kasan.console"), "utf8");
    expect(text.indexOf("BUG: KASAN: wild-memory-access")).toBeLessThan(text.indexOf("esb: mode="));
    const o = parseOops(text)!;
    expect(o.kind).toBe("oops");
    expect(o.headline).toBe("kernel BUG at fs/super.c:759!");
    expect(o.trace).toContain("erofs_kill_sb+0x6e/0x1af");
  });
});
