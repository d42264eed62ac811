import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import lockfile from "proper-lockfile";
import { writeJsonAtomic } from "./fsx.js";

/** Who holds a lock, for the message another run prints while it waits. */
interface Owner {
  pid: number;
  what: string;
  since: string;
}

/** A lock whose holder stopped refreshing it for this long is taken over (its holder died). */
const STALE_MS = 30_000;
const POLL_MS = 1_000;

/**
 * Runs `fn` holding an inter-process lock on `target` (a path that need not
 * exist; the lock is `<target>.lock`). Two runs sharing one cache take
 * turns on each entry: the second waits, saying for what and for whom, then
 * sees what the first one made. A holder that dies leaves a lock that goes
 * stale and is taken over.
 */
export async function withLock<T>(
  target: string,
  what: string,
  fn: () => Promise<T>,
  say?: (msg: string) => void,
): Promise<T> {
  await mkdir(path.dirname(target), { recursive: true });
  const ownerFile = `${target}.owner.json`;
  let waitedSince: number | undefined;
  let release: () => Promise<void>;
  for (;;) {
    try {
      release = await lockfile.lock(target, {
        realpath: false,
        stale: STALE_MS,
        retries: 0,
        // a lock taken over from a live holder means two runs built one entry at once: say so, never crash
        onCompromised: (e) => say?.(`warning: lock on ${target} was taken over: ${e.message}`),
      });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ELOCKED") throw e;
      if (waitedSince === undefined) {
        waitedSince = Date.now();
        const owner = await readFile(ownerFile, "utf8")
          .then((t) => JSON.parse(t) as Owner)
          .catch(() => undefined);
        say?.(
          `waiting for another run (${owner ? `pid ${owner.pid}, since ${owner.since}, ${owner.what}` : "starting"}) to finish ${what}`,
        );
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
  if (waitedSince !== undefined)
    say?.(`${what}: the other run is done after ${Math.round((Date.now() - waitedSince) / 1000)}s`);
  try {
    await writeJsonAtomic(ownerFile, { pid: process.pid, what, since: new Date().toISOString() } satisfies Owner);
    return await fn();
  } finally {
    await rm(ownerFile, { force: true });
    await release();
  }
}
