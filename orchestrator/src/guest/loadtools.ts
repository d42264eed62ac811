import { BenchError } from "../util/errors.js";
import { indent } from "../util/exec.js";

/** What one run of a load generator achieved. */
interface LoadResult {
  tool: string;
  throughput: number;
  throughputUnit: string;
  latencyMs?: { avg?: number; p50?: number; p99?: number };
  /** Further figures the tool printed, by name. */
  raw?: Record<string, number>;
}

function unreadable(tool: string, what: string, text: string): BenchError {
  const head = text
    .replace(/\r/g, "")
    .split("\n")
    .filter((l) => l.trim())
    .slice(0, 12)
    .join("\n");
  return new BenchError(
    `could not find ${what} in the ${tool} output; it begins:\n${head ? indent(head) : "    (empty output)"}`,
    `check that ${tool} ran to the end against a reachable server (its full output is in the workload log)`,
  );
}

function num(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s.trim());
  return Number.isFinite(n) ? n : undefined;
}

const mean = (xs: number[]): number | undefined => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);

function withoutUndefined<T extends object>(o: T): T | undefined {
  const kept = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  return Object.keys(kept).length ? kept : undefined;
}

/** One CSV record with double-quoted fields ("" inside a field is a quote). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    let field = "";
    if (line[i] === '"') {
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') (field += '"'), (i += 2);
        else if (line[i] === '"') break;
        else field += line[i++];
      }
      i++;
      while (i < line.length && line[i] !== ",") i++;
    } else {
      const comma = line.indexOf(",", i);
      field = line.slice(i, comma < 0 ? line.length : comma);
      i = comma < 0 ? line.length : comma;
    }
    out.push(field);
    i++;
  }
  return out;
}

/** `redis-benchmark --csv`: the 8-column form of redis 7 and later, or the older test,rps form. */
export function parseRedisBenchmark(text: string): LoadResult {
  let columns = ["test", "rps"];
  const rps: number[] = [];
  const lat: Record<"avg" | "p50" | "p99", number[]> = { avg: [], p50: [], p99: [] };
  const raw: Record<string, number> = {};
  for (const line of text.replace(/\r/g, "").split("\n")) {
    if (!line.trim().startsWith('"')) continue;
    const f = csvFields(line.trim());
    if (f[0] === "test") {
      columns = f;
      continue;
    }
    const row = new Map(columns.map((c, i) => [c, num(f[i])]));
    const r = num(f[1]);
    if (f.length < 2 || r === undefined || !f[0]) continue;
    rps.push(r);
    raw[f[0]] = r;
    for (const [key, col] of [
      ["avg", "avg_latency_ms"],
      ["p50", "p50_latency_ms"],
      ["p99", "p99_latency_ms"],
    ] as const) {
      const v = row.get(col);
      if (v !== undefined) lat[key].push(v);
    }
  }
  const throughput = mean(rps);
  if (throughput === undefined) throw unreadable("redis-benchmark", "CSV lines of requests per second", text);
  return {
    tool: "redis-benchmark",
    throughput,
    throughputUnit: "requests/s",
    latencyMs: withoutUndefined({ avg: mean(lat.avg), p50: mean(lat.p50), p99: mean(lat.p99) }),
    raw,
  };
}

/** The summary pgbench prints at the end of a run. */
export function parsePgbench(text: string): LoadResult {
  const pick = (re: RegExp) => num(re.exec(text)?.[1]);
  // the figure without connection set-up: "without initial connection time" (pg 14+) or "excluding connections establishing"
  const tps =
    pick(/^tps = ([\d.]+) \((?:without initial connection time|excluding connections establishing)\)/m) ??
    pick(/^tps = ([\d.]+)/m);
  if (tps === undefined) throw unreadable("pgbench", `a "tps = ..." line`, text);
  const raw = withoutUndefined({
    transactions: pick(/^number of transactions actually processed: (\d+)/m),
    failedTransactions: pick(/^number of failed transactions: (\d+)/m),
    clients: pick(/^number of clients: (\d+)/m),
    threads: pick(/^number of threads: (\d+)/m),
    latencyStddevMs: pick(/^latency stddev = ([\d.]+) ms/m),
    initialConnectionMs: pick(/^initial connection time = ([\d.]+) ms/m),
  });
  const avg = pick(/^latency average = ([\d.]+) ms/m);
  return {
    tool: "pgbench",
    throughput: tps,
    throughputUnit: "transactions/s",
    ...(avg !== undefined ? { latencyMs: { avg } } : {}),
    ...(raw ? { raw: raw as Record<string, number> } : {}),
  };
}

const TIME_UNITS_MS: Record<string, number> = { us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };

function wrkMs(value: string | undefined, unit: string | undefined): number | undefined {
  const v = num(value);
  const scale = TIME_UNITS_MS[unit ?? ""];
  return v === undefined || scale === undefined ? undefined : v * scale;
}

/** wrk's report, with or without the --latency distribution. */
export function parseWrk(text: string): LoadResult {
  const rps = num(/^Requests\/sec:\s+([\d.]+)/m.exec(text)?.[1]);
  if (rps === undefined) throw unreadable("wrk", `a "Requests/sec:" line`, text);
  const avg = /^\s*Latency\s+([\d.]+)(us|ms|s|m|h)\s/m.exec(text);
  const dist = (pct: string) => {
    const m = new RegExp(`^\\s*${pct}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, "m").exec(text);
    return wrkMs(m?.[1], m?.[2]);
  };
  const total = /^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)/m.exec(text);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const raw = withoutUndefined({
    requests: num(total?.[1]),
    durationMs: wrkMs(total?.[2], total?.[3]),
    p75LatencyMs: dist("75"),
    p90LatencyMs: dist("90"),
    non2xx3xx: num(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1]),
    socketErrorsConnect: num(errors?.[1]),
    socketErrorsRead: num(errors?.[2]),
    socketErrorsWrite: num(errors?.[3]),
    socketErrorsTimeout: num(errors?.[4]),
  });
  return {
    tool: "wrk",
    throughput: rps,
    throughputUnit: "requests/s",
    latencyMs: withoutUndefined({ avg: wrkMs(avg?.[1], avg?.[2]), p50: dist("50"), p99: dist("99") }),
    ...(raw ? { raw: raw as Record<string, number> } : {}),
  };
}

/** sysbench's report: the OLTP tests (transactions per second), else events per second (cpu, memory, fileio). */
export function parseSysbench(text: string): LoadResult {
  const pick = (re: RegExp) => num(re.exec(text)?.[1]);
  const tps = pick(/^\s*transactions:\s+\d+\s+\(([\d.]+) per sec\.\)/m);
  const eps = pick(/^\s*events per second:\s+([\d.]+)/m);
  const throughput = tps ?? eps;
  if (throughput === undefined) throw unreadable("sysbench", `a "transactions: N (X per sec.)" line`, text);
  const latencyBlock = /^Latency \(ms\):\n((?:[ \t]+.*\n?)*)/m.exec(text.replace(/\r/g, ""))?.[1] ?? "";
  const lat = (re: RegExp) => num(re.exec(latencyBlock)?.[1]);
  const pct = /^\s*(\d+)th percentile:\s+([\d.]+)/m.exec(latencyBlock);
  const raw = withoutUndefined({
    transactions: pick(/^\s*transactions:\s+(\d+)/m),
    queriesPerSec: pick(/^\s*queries:\s+\d+\s+\(([\d.]+) per sec\.\)/m),
    errorsPerSec: pick(/^\s*ignored errors:\s+\d+\s+\(([\d.]+) per sec\.\)/m),
    events: pick(/^\s*total number of events:\s+(\d+)/m),
    minLatencyMs: lat(/^\s*min:\s+([\d.]+)/m),
    maxLatencyMs: lat(/^\s*max:\s+([\d.]+)/m),
    ...(pct ? { [`p${pct[1]}LatencyMs`]: num(pct[2]) } : {}),
  });
  return {
    tool: "sysbench",
    throughput,
    throughputUnit: tps !== undefined ? "transactions/s" : "events/s",
    latencyMs: withoutUndefined({ avg: lat(/^\s*avg:\s+([\d.]+)/m), p99: pct?.[1] === "99" ? num(pct[2]) : undefined }),
    ...(raw ? { raw: raw as Record<string, number> } : {}),
  };
}
