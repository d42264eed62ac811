import { describe, expect, it } from "vitest";
import { parsePgbench, parseRedisBenchmark, parseSysbench, parseWrk } from "../../../src/guest/loadtools.js";

const REDIS_CSV = `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"SET","43478.26","0.640","0.168","0.599","0.999","1.303","2.591"
"GET","50000.00","0.560","0.152","0.535","0.863","1.095","1.911"
"LPUSH (needed to benchmark LPOP)","46511.63","0.600","0.160","0.567","0.911","1.199","2.015"
`;

const REDIS_OLD = `WARNING: Could not fetch server CONFIG
"PING_INLINE","80000.00"
"SET","60000.00"
`;

const PGBENCH_16 = `pgbench (16.3 (Debian 16.3-1.pgdg120+1))
starting vacuum...end.
transaction type: <builtin: TPC-B (sort of)>
scaling factor: 10
query mode: simple
number of clients: 8
number of threads: 2
maximum number of tries: 1
duration: 30 s
number of transactions actually processed: 29615
number of failed transactions: 0 (0.000%)
latency average = 8.103 ms
latency stddev = 2.441 ms
initial connection time = 18.722 ms
tps = 987.302511 (without initial connection time)
`;

const PGBENCH_12 = `starting vacuum...end.
transaction type: <builtin: select only>
scaling factor: 1
query mode: simple
number of clients: 4
number of threads: 1
duration: 10 s
number of transactions actually processed: 123456
latency average = 0.324 ms
tps = 12301.112233 (including connections establishing)
tps = 12345.678901 (excluding connections establishing)
`;

const WRK_LATENCY = `Running 30s test @ http://10.0.2.2:8080/index.html
  4 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.23ms  456.78us  20.01ms   89.12%
    Req/Sec    13.05k     1.02k   15.80k    70.25%
  Latency Distribution
     50%    1.10ms
     75%    1.40ms
     90%    1.90ms
     99%    5.00ms
  1558262 requests in 30.01s, 1.23GB read
  Socket errors: connect 0, read 3, write 0, timeout 12
Requests/sec:  51925.36
Transfer/sec:     42.05MB
`;

const WRK_PLAIN = `Running 10s test @ http://127.0.0.1/
  2 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   850.00us  120.50us   3.10ms   75.00%
    Req/Sec     5.80k   300.12     6.40k    68.00%
  115432 requests in 10.00s, 93.60MB read
Requests/sec:  11541.20
Transfer/sec:      9.36MB
`;

const SYSBENCH_OLTP = `sysbench 1.0.20 (using system LuaJIT 2.1.0-beta3)

Running the test with following options:
Number of threads: 8
Initializing random number generator from current time


Initializing worker threads...

Threads started!

SQL statistics:
    queries performed:
        read:                            172284
        write:                           49224
        other:                           24612
        total:                           246120
    transactions:                        12306  (410.03 per sec.)
    queries:                             246120 (8200.68 per sec.)
    ignored errors:                      0      (0.00 per sec.)
    reconnects:                          0      (0.00 per sec.)

General statistics:
    total time:                          30.0107s
    total number of events:              12306

Latency (ms):
         min:                                    5.12
         avg:                                   19.50
         max:                                  110.38
         95th percentile:                       30.81
         sum:                               239931.59

Threads fairness:
    events (avg/stddev):           1538.2500/10.27
    execution time (avg/stddev):   29.9914/0.00
`;

/** sysbench oltp_read_write against MariaDB 10.11.18 over 127.0.0.1 (workloads/mysql.yaml, captured in its container). */
const SYSBENCH_MARIADB = `sysbench 1.0.20 (using system LuaJIT 2.1.0-beta3)

Running the test with following options:
Number of threads: 4
Initializing random number generator from current time


Initializing worker threads...

Threads started!

SQL statistics:
    queries performed:
        read:                            175070
        write:                           50020
        other:                           25010
        total:                           250100
    transactions:                        12505  (625.09 per sec.)
    queries:                             250100 (12501.82 per sec.)
    ignored errors:                      0      (0.00 per sec.)
    reconnects:                          0      (0.00 per sec.)

General statistics:
    total time:                          20.0036s
    total number of events:              12505

Latency (ms):
         min:                                    1.02
         avg:                                    6.39
         max:                                  186.70
         95th percentile:                       11.87
         sum:                                79955.20

Threads fairness:
    events (avg/stddev):           3126.2500/313.35
    execution time (avg/stddev):   19.9888/0.00

`;

/** sysbench oltp_read_write against PostgreSQL 17.11 over 127.0.0.1 (workloads/postgres.yaml, captured in its container). */
const SYSBENCH_PGSQL = `sysbench 1.0.20 (using system LuaJIT 2.1.1700206165)

Running the test with following options:
Number of threads: 4
Initializing random number generator from current time


Initializing worker threads...

Threads started!

SQL statistics:
    queries performed:
        read:                            197834
        write:                           56481
        other:                           28279
        total:                           282594
    transactions:                        14118  (705.30 per sec.)
    queries:                             282594 (14117.64 per sec.)
    ignored errors:                      13     (0.65 per sec.)
    reconnects:                          0      (0.00 per sec.)

General statistics:
    total time:                          20.0155s
    total number of events:              14118

Latency (ms):
         min:                                    0.70
         avg:                                    5.66
         max:                                   46.12
         95th percentile:                       11.65
         sum:                                79962.87

Threads fairness:
    events (avg/stddev):           3529.5000/238.65
    execution time (avg/stddev):   19.9907/0.01

`;

describe("redis-benchmark", () => {
  it("averages rps and latencies over the tests of the redis 7 CSV", () => {
    const r = parseRedisBenchmark(REDIS_CSV);
    expect(r.tool).toBe("redis-benchmark");
    expect(r.throughputUnit).toBe("requests/s");
    expect(r.throughput).toBeCloseTo((43478.26 + 50000 + 46511.63) / 3, 6);
    expect(r.latencyMs?.avg).toBeCloseTo((0.64 + 0.56 + 0.6) / 3, 9);
    expect(r.latencyMs?.p50).toBeCloseTo((0.599 + 0.535 + 0.567) / 3, 9);
    expect(r.latencyMs?.p99).toBeCloseTo((1.303 + 1.095 + 1.199) / 3, 9);
    expect(r.raw).toEqual({ SET: 43478.26, GET: 50000, "LPUSH (needed to benchmark LPOP)": 46511.63 });
  });

  it("reads the older two-column CSV", () => {
    const r = parseRedisBenchmark(REDIS_OLD);
    expect(r.throughput).toBe(70000);
    expect(r.latencyMs).toBeUndefined();
    expect(r.raw).toEqual({ PING_INLINE: 80000, SET: 60000 });
  });

  it("quotes the output when there is no CSV", () => {
    expect(() => parseRedisBenchmark("Could not connect to Redis at 10.0.2.2:6379: Connection refused\n")).toThrow(
      /could not find CSV lines .* redis-benchmark output; it begins:\n\s+Could not connect to Redis at 10\.0\.2\.2:6379: Connection refused/,
    );
  });
});

describe("pgbench", () => {
  it("reads the pg 14+ summary", () => {
    expect(parsePgbench(PGBENCH_16)).toEqual({
      tool: "pgbench",
      throughput: 987.302511,
      throughputUnit: "transactions/s",
      latencyMs: { avg: 8.103 },
      raw: {
        transactions: 29615,
        failedTransactions: 0,
        clients: 8,
        threads: 2,
        latencyStddevMs: 2.441,
        initialConnectionMs: 18.722,
      },
    });
  });

  it("takes the figure excluding connection set-up from older versions", () => {
    const r = parsePgbench(PGBENCH_12);
    expect(r.throughput).toBe(12345.678901);
    expect(r.latencyMs).toEqual({ avg: 0.324 });
    expect(r.raw).toEqual({ transactions: 123456, clients: 4, threads: 1 });
  });

  it("quotes the output when there is no tps line", () => {
    const out =
      'pgbench: error: connection to server at "10.0.2.2", port 5432 failed: Connection refused\npgbench: fatal: could not create connection for initialization\n';
    expect(() => parsePgbench(out)).toThrow(/could not find a "tps = \.\.\." line in the pgbench output/);
    expect(() => parsePgbench(out)).toThrow(/pgbench: fatal: could not create connection/);
  });
});

describe("wrk", () => {
  it("reads requests/sec, the average and the --latency distribution in ms", () => {
    const r = parseWrk(WRK_LATENCY);
    expect(r.throughput).toBe(51925.36);
    expect(r.throughputUnit).toBe("requests/s");
    expect(r.latencyMs).toEqual({ avg: 1.23, p50: 1.1, p99: 5 });
    expect(r.raw).toMatchObject({
      requests: 1558262,
      durationMs: 30010,
      p75LatencyMs: 1.4,
      p90LatencyMs: 1.9,
      socketErrorsRead: 3,
      socketErrorsTimeout: 12,
    });
  });

  it("converts microseconds and works without the distribution", () => {
    const r = parseWrk(WRK_PLAIN);
    expect(r.throughput).toBe(11541.2);
    expect(r.latencyMs?.avg).toBeCloseTo(0.85, 9);
    expect(r.latencyMs?.p50).toBeUndefined();
    expect(r.raw?.requests).toBe(115432);
  });

  it("converts seconds", () => {
    const r = parseWrk(
      WRK_LATENCY.replace("Latency     1.23ms", "Latency     1.50s ").replace("99%    5.00ms", "99%    2.00s"),
    );
    expect(r.latencyMs).toEqual({ avg: 1500, p50: 1.1, p99: 2000 });
  });

  it("quotes the output when there is no Requests/sec line", () => {
    expect(() => parseWrk("unable to connect to 10.0.2.2:8080 Connection refused\n")).toThrow(
      /wrk output; it begins:\n\s+unable to connect/,
    );
  });
});

describe("sysbench", () => {
  it("reads transactions per second and the latency block of an OLTP run", () => {
    expect(parseSysbench(SYSBENCH_OLTP)).toEqual({
      tool: "sysbench",
      throughput: 410.03,
      throughputUnit: "transactions/s",
      latencyMs: { avg: 19.5 },
      raw: {
        transactions: 12306,
        queriesPerSec: 8200.68,
        errorsPerSec: 0,
        events: 12306,
        minLatencyMs: 5.12,
        maxLatencyMs: 110.38,
        p95LatencyMs: 30.81,
      },
    });
  });

  it("reads a captured run against MariaDB", () => {
    expect(parseSysbench(SYSBENCH_MARIADB)).toEqual({
      tool: "sysbench",
      throughput: 625.09,
      throughputUnit: "transactions/s",
      latencyMs: { avg: 6.39 },
      raw: {
        transactions: 12505,
        queriesPerSec: 12501.82,
        errorsPerSec: 0,
        events: 12505,
        minLatencyMs: 1.02,
        maxLatencyMs: 186.7,
        p95LatencyMs: 11.87,
      },
    });
  });

  it("reads a captured run against PostgreSQL, whose ignored errors (deadlocks) it keeps", () => {
    expect(parseSysbench(SYSBENCH_PGSQL)).toEqual({
      tool: "sysbench",
      throughput: 705.3,
      throughputUnit: "transactions/s",
      latencyMs: { avg: 5.66 },
      raw: {
        transactions: 14118,
        queriesPerSec: 14117.64,
        errorsPerSec: 0.65,
        events: 14118,
        minLatencyMs: 0.7,
        maxLatencyMs: 46.12,
        p95LatencyMs: 11.65,
      },
    });
  });

  it("takes a 99th percentile as p99", () => {
    const r = parseSysbench(SYSBENCH_OLTP.replace("95th percentile:", "99th percentile:"));
    expect(r.latencyMs).toEqual({ avg: 19.5, p99: 30.81 });
  });

  it("quotes the output when there is no transactions line", () => {
    const out =
      "sysbench 1.0.20 (using system LuaJIT 2.1.0-beta3)\n\nFATAL: unable to connect to MySQL server on host '10.0.2.2', port 3306\n";
    expect(() => parseSysbench(out)).toThrow(
      /sysbench output; it begins:\n\s+sysbench 1\.0\.20.*\n\s+FATAL: unable to connect/,
    );
  });
});
