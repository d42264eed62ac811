import type { TimeStage } from "../util/stageClock.js";
import type { RunFolder } from "./runFolder.js";

/** Times each stage into the run record's stageTimes, saving the record after each. */
export function stageTimer(folder: RunFolder): TimeStage {
  return async (stage, fn) => {
    const t0 = Date.now();
    const out = await fn();
    const startedS = (t0 - Date.parse(folder.record.startedAt)) / 1000;
    folder.record.stageTimes.push({
      stage,
      seconds: (Date.now() - t0) / 1000,
      reused: Boolean(out.reused),
      ...(Number.isFinite(startedS) ? { startedS } : {}),
    });
    await folder.save();
    return out;
  };
}
