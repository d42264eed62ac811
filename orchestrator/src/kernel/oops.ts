import { runAllowFail } from "../util/exec.js";

/**
 * A guest oops, readable: the guest kernel is built without KALLSYMS (the
 * minimal config), so its console shows bare addresses. They are resolved
 * against the build's vmlinux symbol table, as function+offset/size.
 */

export interface Oops {
  /** "BUG: kernel NULL pointer dereference, address: 0000000000000060", ... */
  headline: string;
  /** What reported it: a sanitizer (KASAN, lockdep, UBSAN) or the kernel's own oops/warning. */
  kind: "kasan" | "lockdep" | "ubsan" | "oops";
  /** KASAN's access line: "Read of size 8 at addr ffff888004a1c0a8 by task esbcheck/81". */
  access?: string;
  /** KASAN's allocation and free stacks of the object, innermost first. */
  allocated?: string[];
  freed?: string[];
  /** Where it happened and the call trace, innermost first, symbolised when possible. */
  rip?: string;
  trace: string[];
  /** Indexes of `trace` the kernel marked "?": addresses found on the stack, not a call it is sure of. */
  guessed?: number[];
  comm?: string;
}

const HEADLINE =
  /^(BUG:.*|kernel BUG at .*|general protection fault.*|Oops:.*|WARNING:.*|UBSAN:.*|Unable to handle .*|Kernel panic - not syncing:.*)$/;

function kindOf(headline: string): Oops["kind"] {
  if (/^BUG: KASAN:/.test(headline)) return "kasan";
  if (/^UBSAN:/.test(headline)) return "ubsan";
  if (
    /^WARNING: (possible (circular|recursive) locking|inconsistent lock state|suspicious RCU usage|bad unlock balance)/.test(
      headline,
    )
  )
    return "lockdep";
  return "oops";
}

/** The frames of a KASAN stack ("Allocated by task 77:" ... blank line), innermost first. */
function stackAfter(lines: string[], title: RegExp): string[] | undefined {
  const at = lines.findIndex((l) => title.test(l));
  if (at < 0) return undefined;
  const out: string[] = [];
  for (const l of lines.slice(at + 1)) {
    const frame = /^\s*(\S+\+0x[0-9a-f]+\/0x[0-9a-f]+|[0-9a-f]{16})$/.exec(l.trim());
    if (!frame) break;
    out.push(frame[1]!);
  }
  return out;
}

/** The first oops in a console log, addresses unresolved. */
export function parseOops(consoleText: string): Oops | null {
  const lines = consoleText.split("\n").map((l) => l.replace(/^\[\s*\d+\.\d+\]\s*/, "").trimEnd());
  // a report while the guest ran its work (after /init began) before one from the kernel's own early boot
  const init = lines.findIndex((l) => /^esb: mode=/.test(l));
  const after = init < 0 ? -1 : lines.findIndex((l, i) => i > init && HEADLINE.test(l));
  const start = after >= 0 ? after : lines.findIndex((l) => HEADLINE.test(l));
  if (start < 0) return null;
  const oops: Oops = { headline: lines[start]!, kind: kindOf(lines[start]!), trace: [] };
  let inTrace = false;
  const rest = lines.slice(start + 1);
  if (oops.kind === "kasan") {
    // the report ends at its closing rule; its stacks name the object's allocation and free
    const end = rest.findIndex((l) => /^={20,}$/.test(l));
    const report = end < 0 ? rest : rest.slice(0, end);
    oops.access = report.find((l) => /^(Read|Write) of size \d+ at addr /.test(l));
    oops.allocated = stackAfter(report, /^Allocated by task \d+/);
    oops.freed = stackAfter(report, /^Freed by task \d+/);
  }
  for (const l of rest) {
    const rip = /^RIP: [0-9a-f]{4}:(\S+)/.exec(l);
    if (rip && !oops.rip) oops.rip = rip[1];
    const comm = /\bComm: (\S+)/.exec(l);
    if (comm && !oops.comm) oops.comm = comm[1];
    if (/^Call Trace:/.test(l)) {
      inTrace = true;
      continue;
    }
    if (inTrace) {
      if (/<\/TASK>|^---\[ end trace/.test(l)) break;
      const frame = /^\s*(\?\s*)?(\S+)$/.exec(l.trim());
      if (frame && frame[2] !== "<TASK>") {
        if (frame[1]) oops.guessed = [...(oops.guessed ?? []), oops.trace.length];
        oops.trace.push(frame[2]!);
      }
    }
  }
  return oops;
}

interface SymbolTable {
  lookup(addr: bigint): string | null;
}

// a vmlinux lives in a content-addressed build directory, so its table never goes stale
const loaded = new Map<string, Promise<SymbolTable | null>>();

/** Text symbols of a vmlinux (nm -n, read once per file), or null when nm or the file is missing. */
export function loadSymbols(vmlinux: string): Promise<SymbolTable | null> {
  let table = loaded.get(vmlinux);
  if (!table) {
    table = runAllowFail("nm", ["-n", "--defined-only", vmlinux], { timeoutMs: 60_000 }).then((r) =>
      r.exitCode === 0 ? symbolTableFromNm(r.stdout) : null,
    );
    loaded.set(vmlinux, table);
  }
  return table;
}

export function symbolTableFromNm(nmOutput: string): SymbolTable {
  // every symbol bounds the one before it; only text symbols name a frame
  const syms: Array<{ addr: bigint; name: string; text: boolean }> = [];
  for (const line of nmOutput.split("\n")) {
    const m = /^([0-9a-f]+) ([a-zA-Z]) (\S+)$/.exec(line.trim());
    if (m) syms.push({ addr: BigInt(`0x${m[1]}`), name: m[3]!, text: /[tTwW]/.test(m[2]!) });
  }
  syms.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
  return {
    lookup(addr: bigint): string | null {
      let lo = 0;
      let hi = syms.length - 1;
      let at = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (syms[mid]!.addr <= addr) {
          at = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      const s = syms[at];
      if (!s?.text) return null;
      // `at` is the last symbol at or below addr, so the next one starts above it
      const next = syms[at + 1];
      if (!next) return null;
      return `${s.name}+0x${(addr - s.addr).toString(16)}/0x${(next.addr - s.addr).toString(16)}`;
    },
  };
}

/** Replaces bare kernel addresses with symbol+offset; frames that already carry names stay as they are. */
export function symbolise(oops: Oops, table: SymbolTable | null): Oops {
  const one = (frame: string) => {
    if (!table || !/^(0x)?[0-9a-f]{16}$/.test(frame)) return frame;
    return table.lookup(BigInt(frame.startsWith("0x") ? frame : `0x${frame}`)) ?? frame;
  };
  return {
    ...oops,
    rip: oops.rip ? one(oops.rip) : undefined,
    trace: oops.trace.map(one),
    ...(oops.allocated ? { allocated: oops.allocated.map(one) } : {}),
    ...(oops.freed ? { freed: oops.freed.map(one) } : {}),
  };
}

export function renderOops(o: Oops): string {
  return [
    o.headline,
    o.access ? `  ${o.access}` : "",
    o.rip ? `  at ${o.rip}${o.comm ? ` (task ${o.comm})` : ""}` : "",
    // "?" as the kernel prints it: an address found on the stack, not a call the unwinder is sure of
    ...o.trace.map((f, i) => `  <- ${o.guessed?.includes(i) ? "? " : ""}${f}`),
    ...(o.allocated?.length ? ["  allocated at:", ...o.allocated.map((f) => `    <- ${f}`)] : []),
    ...(o.freed?.length ? ["  freed at:", ...o.freed.map((f) => `    <- ${f}`)] : []),
  ]
    .filter(Boolean)
    .join("\n");
}
