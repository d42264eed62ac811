import { expandParams, type RuntimeSpec } from "../images/workloads.js";
import { shQuote } from "../util/shell.js";

/** File-name-safe version of a step name ("wrk 64k" → "wrk-64k"). */
export function stepFile(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

/**
 * The first process of each container: setup, start, wait until ready, run
 * the load steps (each followed by the ready command once more: the server
 * must still answer), write /esb/status, then stay alive (the container's pid
 * namespace ends with it) so both servers run side by side.
 */
export function containerScript(workload: string, rt: RuntimeSpec, quick: boolean): string {
  const params = { ...rt.params, ...(quick ? rt.quick : {}) };
  const src = `workloads/${workload}.yaml`;
  const ready = `sh -c ${shQuote(expandParams(rt.ready, params, src))}`;
  const lines = [
    "#!/bin/sh",
    `# ${workload}: generated from ${src}`,
    "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8",
    "mkdir -p /esb",
    // where the boot's time goes: each step's end on the guest's boot clock (/proc/uptime, as esbprobe's up)
    `mark() { read up _ < /proc/uptime; echo "$1 $up" >> /esb/timeline.out; }`,
    "mark begin",
    // on failure the server's own logs are copied next to ours, so the report can show them
    `fail() { for f in ${rt.logs.map(shQuote).join(" ")}; do [ -f "$f" ] && tail -c 16384 "$f" > "/esb/server-$(basename "$f").log"; done; ` +
      `echo "failed: $1" > /esb/status.tmp; mv /esb/status.tmp /esb/status; exec sleep 2147483647; }`,
  ];
  // the host side copies these itself when this script never reaches fail (a step that hangs)
  lines.push(`printf '%s\\n' ${rt.logs.map(shQuote).join(" ")} > /esb/server-logs`);
  if (rt.setup)
    lines.push(
      `sh -c ${shQuote(expandParams(rt.setup, params, src))} > /esb/setup.log 2>&1 || fail setup`,
      "mark setup",
    );
  lines.push(
    `sh -c ${shQuote(expandParams(rt.start, params, src))} > /esb/start.log 2>&1 || fail start`,
    "mark start",
    // a deadline on the clock, not a count of tries: under emulation one try
    // of the ready command (a curl, a client start) can take seconds itself
    `ready_by=$(($(date +%s) + ${rt.readyTimeoutS}))`,
    `until ${ready} >/dev/null 2>&1; do`,
    `  [ "$(date +%s)" -ge "$ready_by" ] && { ${ready} > /esb/ready.log 2>&1; fail "ready (no answer in ${rt.readyTimeoutS}s)"; }`,
    "  sleep 0.5",
    "done",
    "mark ready",
  );
  for (const step of rt.load) {
    const f = stepFile(step.name);
    lines.push(
      `sh -c ${shQuote(expandParams(step.cmd, params, src))} > /esb/load-${f}.out 2>&1 || fail ${shQuote(`load step ${step.name}`)}`,
      `mark load:${f}`,
      // a server that died under load would leave a container's memory figure without it
      `${ready} > /esb/after-${f}.log 2>&1 || fail ${shQuote(`server no longer answers after load step ${step.name}`)}`,
      `mark check:${f}`,
    );
  }
  lines.push("echo ok > /esb/status.tmp; mv /esb/status.tmp /esb/status", "exec sleep 2147483647", "");
  return lines.join("\n");
}
