import type { RunRecord } from "../record/runRecord.js";

const f1 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? "n/a" : v.toFixed(1));
const f0 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? "n/a" : v.toFixed(0));

/**
 * Where a runtime saving comes from. on vs off mixes two things: pages
 * shared across the images (on vs split, both with the sharing code path)
 * and whatever the sharing code path itself changes (split vs off: images
 * in different domains share nothing, yet may cache less, e.g. by reading
 * less ahead). Faults and disk reads per mode are the evidence; a mode that
 * saves pages by reading less ahead pays in more faults and I/O requests.
 */
export function renderRuntimeSaving(run: RunRecord): string[] {
  const workloads = [...new Set(run.runtimeCells.map((c) => c.workload))];
  const rows: string[] = [];
  const notes: string[] = [];
  for (const w of workloads) {
    const get = (mode: string) => run.runtimeCells.find((c) => c.workload === w && c.mode === mode);
    const [off, on, split] = [get("off"), get("on"), get("split")];
    if (!off?.memory.n || !on?.memory.n || !split?.memory.n) continue;
    const [mo, ms, mn] = [off.memory.median, split.memory.median, on.memory.median];
    const sharing = ms - mn;
    const codePath = mo - ms;
    rows.push(
      `| ${w} | ${f1(mo)} | ${f1(ms)} | ${f1(mn)} | ${f1(sharing)} (${f0((sharing / (mo - mn)) * 100)}%) | ${f1(codePath)} (${f0((codePath / (mo - mn)) * 100)}%) | ` +
        `${[off, split, on].map((c) => f0(c.io?.majorFaults.median)).join(" / ")} | ${[off, split, on].map((c) => f0(c.io?.diskReads.median)).join(" / ")} | ${[off, split, on].map((c) => f1(c.io?.diskReadMiB.median)).join(" / ")} |`,
    );
    const [fo, fs] = [off.io?.majorFaults.median, split.io?.majorFaults.median];
    const [ro, rs] = [off.io?.diskReads.median, split.io?.diskReads.median];
    if (codePath > 0.5 && fo !== undefined && fs !== undefined && ro !== undefined && rs !== undefined) {
      const reads = split.io!.diskReadMiB.median - off.io!.diskReadMiB.median;
      notes.push(
        `- ${w}: with sharing on but nothing shared across domains, the containers use ${f1(codePath)} MiB less than off; ` +
          `split made ${f0(fs - fo)} more major faults and ${f0(rs - ro)} more disk read requests, reading ${f1(Math.abs(reads))} MiB ${reads < 0 ? "less" : "more"} from disk` +
          `${rs > ro && reads < 0 ? ": less is read ahead, paid for in more, smaller I/O requests" : ""}.`,
      );
    }
  }
  if (!rows.length) return [];
  return [
    "## Where a runtime saving comes from",
    "",
    'Containers\' memory (MiB, medians). "Shared across images" is split minus on (both run the sharing code path, only on shares across the images); "code path" is off minus split (what the sharing code path saves without sharing anything across domains). Major faults, disk read requests and MiB read from the image disks are per boot, off / split / on.',
    "",
    "| workload | off | split | on | shared across images | code path | major faults | disk reads | disk MiB read |",
    "|---|---:|---:|---:|---:|---:|---|---|---|",
    ...rows,
    "",
    ...notes,
    ...(notes.length ? [""] : []),
  ];
}
