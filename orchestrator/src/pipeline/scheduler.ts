/**
 * Runs independent boots side by side. Jobs start in the order given (the
 * caller interleaves modes so drift spreads evenly), up to `parallel` at
 * once; an exclusive job (a runtime boot, whose throughput another guest
 * would disturb) waits until nothing else runs and has the host to itself.
 * Results are handed over one at a time as jobs finish, in whatever order
 * that is, so the run record is updated and saved by one writer.
 */
export interface Job<T> {
  /** Names the job in progress and errors. */
  id: string;
  /** Nothing else runs beside it. */
  exclusive: boolean;
  run: () => Promise<T>;
}

export interface Finished<T> {
  job: Job<T>;
  /** The job's own result, or what it threw. */
  result: { ok: true; value: T } | { ok: false; error: unknown };
  ms: number;
  done: number;
  total: number;
}

interface ScheduleOptions<T> {
  parallel: number;
  /** Called once per finished job, never twice at once; a throw stops the schedule (after the running jobs end) and is rethrown. */
  onFinished: (f: Finished<T>) => Promise<void>;
  /** Called when a job starts, with how many run now. */
  onStart?: (job: Job<T>, running: number) => void;
}

export async function schedule<T>(jobs: Job<T>[], opts: ScheduleOptions<T>): Promise<void> {
  const parallel = Math.max(1, Math.floor(opts.parallel));
  const queue = [...jobs];
  const running = new Set<Promise<void>>();
  let exclusiveRunning = false;
  let done = 0;
  let failure: { error: unknown } | undefined;
  let reporting: Promise<void> = Promise.resolve();

  const start = (job: Job<T>) => {
    const t0 = Date.now();
    if (job.exclusive) exclusiveRunning = true;
    opts.onStart?.(job, running.size + 1);
    const p: Promise<void> = job
      .run()
      .then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      )
      .then((result) => {
        if (job.exclusive) exclusiveRunning = false;
        // one report at a time, in the order jobs finish
        reporting = reporting.then(async () => {
          if (failure) return;
          done++;
          try {
            await opts.onFinished({ job, result, ms: Date.now() - t0, done, total: jobs.length });
          } catch (error) {
            failure = { error };
          }
        });
        return reporting;
      })
      .finally(() => running.delete(p));
    running.add(p);
  };

  while (queue.length && !failure) {
    const next = queue[0]!;
    const fits = next.exclusive ? running.size === 0 : !exclusiveRunning && running.size < parallel;
    if (fits) {
      start(queue.shift()!);
      continue;
    }
    await Promise.race(running);
  }
  await Promise.all(running);
  await reporting;
  if (failure) throw failure.error;
}

/**
 * How many guests may run at once here, and why: each TCG guest keeps about
 * one host core busy (a KVM guest, one per vCPU), and each needs its memory.
 */
export function defaultParallel(
  host: { cpus: number; freeMiB: number },
  guest: { accel: "kvm" | "tcg"; cpus: number; memoryMiB: number },
): { parallel: number; why: string } {
  const perGuestCores = guest.accel === "kvm" ? guest.cpus : 1;
  const byCpu = Math.max(1, Math.floor(host.cpus / perGuestCores));
  // leave a quarter of the free memory to the host (page cache of the images, the tool, the compilers)
  const byMemory = Math.max(1, Math.floor((host.freeMiB * 0.75) / guest.memoryMiB));
  const parallel = Math.min(byCpu, byMemory);
  const why =
    `${host.cpus} host core(s), a ${guest.accel.toUpperCase()} guest keeps ${perGuestCores} busy: ${byCpu}; ` +
    `${Math.round(host.freeMiB)} MiB free, ${guest.memoryMiB} MiB per guest: ${byMemory}`;
  return { parallel, why };
}

/**
 * Whether runtime boots share the host with other guests. Under TCG their
 * throughput is the speed of QEMU's translation whatever runs beside them,
 * and a neighbour moves their memory figures by less than the settle band
 * (docs/speed.md), so they run side by side; under KVM throughput measures
 * the kernel, and a neighbour would disturb it, so each boot runs alone.
 * An explicit --runtime-shared or --no-runtime-shared wins.
 */
export function runtimeSideBySide(accel: "kvm" | "tcg", asked: boolean | undefined): { shared: boolean; why: string } {
  if (asked !== undefined) return { shared: asked, why: asked ? "--runtime-shared" : "--no-runtime-shared" };
  return accel === "tcg"
    ? { shared: true, why: "TCG: throughput is emulation noise, memory stays within its band beside a neighbour" }
    : { shared: false, why: "KVM: throughput is measured, so each boot has the host alone" };
}
