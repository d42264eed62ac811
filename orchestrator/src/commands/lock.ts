import path from "node:path";
import { DebianArchive } from "../host/debianArchive.js";
import {
  DEFAULT_LOCK,
  describeChange,
  loadLock,
  lockMoves,
  writeLock,
  type Lock,
  type LockMove,
} from "../images/lockFile.js";
import { buildLockedImages } from "../images/lockImages.js";
import { loadSeries } from "../kernel/series.js";
import { updateLock } from "../images/lockResolve.js";
import { listWorkloads, loadWorkload, type DebianWorkload } from "../images/workloads.js";
import { BenchError } from "../util/errors.js";
import { EXIT } from "../util/exitStatus.js";
import { exists } from "../util/fsx.js";
import { Progress } from "../util/progress.js";
import { addJsonOption, Verb } from "./verb.js";

/** "redis B: redis-server 7.0.15-1~deb12u7 -> 7.0.15-1~deb12u10, libssl3 ... (11 packages)". */
export function renderMoves(moves: LockMove[], before: Lock | undefined, after: Lock): string {
  const lines: string[] = [];
  const t0 = before?.tools;
  const t1 = after.tools;
  if (t0 && t0.erofsUtils.version !== t1.erofsUtils.version)
    lines.push(`erofs-utils: ${t0.erofsUtils.version} -> ${t1.erofsUtils.version} (every image changes)`);
  const k0 = t0?.kernelSource && `${t0.kernelSource.package} ${t0.kernelSource.version}`;
  const k1 = t1.kernelSource && `${t1.kernelSource.package} ${t1.kernelSource.version}`;
  if (t0 && k0 !== k1) lines.push(`kernel source (recorded, not pinned): ${k0 ?? "none"} -> ${k1 ?? "none"}`);
  for (const m of moves) {
    const what = [...m.changes.map(describeChange), ...(m.pipChanged ? ["pip pins"] : [])];
    const isNew = !before?.workloads[m.workload];
    lines.push(
      `${m.workload} ${m.side.toUpperCase()}: ${isNew ? `locked (${after.workloads[m.workload]![m.side].packages.length} packages)` : `${what.length} change(s)`}`,
    );
    if (!isNew) for (const w of what) lines.push(`  ${w}`);
  }
  return lines.length ? lines.join("\n") + "\n" : "nothing moved: the archive holds what the lock says\n";
}

async function debianWorkloads(names: string[]): Promise<DebianWorkload[]> {
  const out: DebianWorkload[] = [];
  for (const n of names) {
    const w = await loadWorkload(n);
    if (w.kind !== "debian")
      throw new BenchError(
        `workload ${n} is ${w.kind}: it has no packages to lock`,
        "name Debian workloads (redis, postgres, nginx, mysql, tomcat, tensorflow)",
      );
    out.push(w);
  }
  return out;
}

async function lockUpdate(names: string[], file: string, json: boolean): Promise<number> {
  const before = (await exists(file)) ? (await loadLock(file)).lock : undefined;
  const all = (await Promise.all((await listWorkloads()).map((n) => loadWorkload(n))))
    .filter((w) => w.kind === "debian")
    .map((w) => w.name);
  const chosen = names.length ? names : before && file !== DEFAULT_LOCK ? Object.keys(before.workloads) : all;
  const workloads = await debianWorkloads(chosen);
  const after = await updateLock({
    archive: new DebianArchive(),
    before,
    workloads,
    tools: names.length === 0,
    progress: new Progress(),
  });
  const moves = lockMoves(before, after, chosen);
  await writeLock(file, after);
  if (json) process.stdout.write(JSON.stringify({ lock: file, moves, tools: after.tools }) + "\n");
  else process.stdout.write(`\n${file}:\n${renderMoves(moves, before, after)}`);
  return EXIT.ok;
}

/** One line per workload: when it was locked, its sides' package counts, and how many packages A and B differ in. */
async function lockShow(file: string, json: boolean): Promise<number> {
  const { lock, sha256 } = await loadLock(file);
  if (json) {
    process.stdout.write(
      JSON.stringify({
        lock: file,
        sha256,
        lockedAt: lock.lockedAt,
        tools: lock.tools,
        workloads: Object.keys(lock.workloads),
      }) + "\n",
    );
    return EXIT.ok;
  }
  const lines = [
    `${file} (sha256 ${sha256.slice(0, 12)}, locked ${lock.lockedAt}): erofs-utils ${lock.tools.erofsUtils.version}`,
  ];
  for (const [name, w] of Object.entries(lock.workloads)) {
    const moved = lockMoves({ ...lock, workloads: { [name]: { ...w, b: w.a } } }, lock, [name]).find(
      (m) => m.side === "b",
    );
    lines.push(
      `${name}: A ${w.a.packages.length} packages (${w.a.suites.join(" + ")}), B ${w.b.packages.length} (${w.b.suites.join(" + ")}), ${moved?.changes.length ?? 0} differ; locked ${w.lockedAt}`,
    );
  }
  process.stdout.write(lines.join("\n") + "\n");
  return EXIT.ok;
}

/** The images of a lock and their content hashes: what a reviewer holds against a cover letter's run.json before measuring anything. */
async function lockBuild(names: string[], file: string, series: string, json: boolean): Promise<number> {
  const loaded = await loadLock(file, file === DEFAULT_LOCK ? undefined : `--lock ${file}`);
  const workloads = await debianWorkloads(names.length ? names : Object.keys(loaded.lock.workloads));
  const built = await buildLockedImages({
    lock: loaded,
    workloads,
    series: await loadSeries(series),
    progress: new Progress(),
  });
  if (json) process.stdout.write(JSON.stringify(built, null, 2) + "\n");
  else {
    process.stdout.write(
      `\n${built.lock} (sha256 ${built.lockSha256.slice(0, 12)}), image profile of ${built.series}, mkfs.erofs ${built.mkfs}:\n`,
    );
    for (const r of built.images)
      process.stdout.write(
        `${r.workload} ${r.side} ${r.version}: rootfs ${r.rootfsSha256?.slice(0, 16)}, image ${r.imageSha256}\n`,
      );
  }
  return EXIT.ok;
}

/** `lock update [workload...]`, `lock show`, `lock build [workload...]`. */
export function lockVerb(): Verb {
  const v = new Verb("lock")
    .summary("move the images' pinned packages forward on purpose (update), or list what the lock holds (show)")
    .description(
      "A lock pins every package of both sides of each Debian workload (version, architecture, .deb SHA256), the pip pins, and the erofs-utils that writes the images; " +
        "runs build their images from it and nothing else.\n\n" +
        "  lock update [workload...]  re-resolve these workloads (every Debian workload, and erofs-utils, when none is named) against the archive as it stands, write the lock, and print what moved, package by package\n" +
        "  lock show                  what the lock holds\n" +
        "  lock build [workload...]   build the lock's images here (or find them in the cache) and print their content hashes, to hold against a run's run.json",
    )
    .argument("<action>", "update, show or build")
    .argument("[workloads...]", "workloads to re-resolve (update) or build (build)")
    .option("--lock <file>", "the lock to use (default: workloads/lock.json)")
    .option("--series <name>", "build: whose image profile (default: mainline)", "mainline") as Verb;
  addJsonOption(v);
  return v.runs(async (args, o: { lock?: string; series: string; json?: boolean }) => {
    const [action, names] = args as [string, string[]];
    const file = o.lock ? path.resolve(o.lock) : DEFAULT_LOCK;
    if (action === "update") return lockUpdate(names, file, Boolean(o.json));
    if (action === "build") return lockBuild(names, file, o.series, Boolean(o.json));
    if (action === "show") {
      if (names.length)
        throw new BenchError(
          `lock show takes no workloads (got ${names.join(" ")})`,
          "npm run bench -- lock show [--lock FILE]",
        );
      return lockShow(file, Boolean(o.json));
    }
    throw new BenchError(
      `lock ${action}: unknown action`,
      "npm run bench -- lock update [workload...] | lock show | lock build [workload...]",
    );
  });
}
