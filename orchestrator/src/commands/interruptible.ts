import { exitOnInterrupt, interrupted } from "../pipeline/interrupt.js";
import type { RunFolder } from "../pipeline/runFolder.js";
import { describeError } from "../util/errors.js";
import { EXIT } from "../util/exitStatus.js";

/**
 * A verb's long work that writes run folders one after another: Ctrl-C or
 * SIGTERM marks the folder it is writing interrupted and exits 130; an error
 * is printed and exits 1; otherwise `done` prints the result and gives the
 * exit status.
 */
export async function interruptible<T>(
  work: (writing: (folder: RunFolder) => void) => Promise<T>,
  done: (result: T) => number,
): Promise<number> {
  let folder: RunFolder | undefined;
  exitOnInterrupt(() => folder);
  let result: T;
  try {
    result = await work((f) => (folder = f));
  } catch (e) {
    // the interrupt handler ends the run and the process
    if (interrupted()) return new Promise<number>(() => undefined);
    process.stderr.write(describeError(e) + "\n");
    return EXIT.error;
  }
  return done(result);
}
