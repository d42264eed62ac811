import { killRunningGuests } from "../guest/qemu.js";
import { stopAllChildren } from "../util/exec.js";
import type { RunFolder } from "./runFolder.js";
import { endRunEarly } from "./run.js";
import { EXIT } from "../util/exitStatus.js";

/**
 * Ctrl-C and SIGTERM: the guests are killed, the run is marked interrupted
 * with what it measured kept, and the process exits 130.
 */
let interrupting = false;

/**
 * Whether an interrupt is being handled: then whatever failed because its
 * guest or command was stopped is the interrupt's doing, and the handler
 * ends the process, not the error path.
 */
export function interrupted(): boolean {
  return interrupting;
}

export function exitOnInterrupt(current: () => RunFolder | undefined): void {
  const interrupt = async (signal: string) => {
    if (interrupting) return;
    interrupting = true;
    killRunningGuests();
    await stopAllChildren();
    const folder = current();
    if (folder && folder.record.status === "running") {
      await endRunEarly(folder, "interrupted", `interrupted by ${signal}`);
      process.stderr.write(`\ninterrupted: what was measured is in ${folder.dir}\n`);
    }
    process.exit(EXIT.interrupted);
  };
  process.on("SIGINT", () => void interrupt("SIGINT"));
  process.on("SIGTERM", () => void interrupt("SIGTERM"));
}
