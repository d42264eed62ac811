import path from "node:path";
import { differenceFrom, speedOf } from "../record/runSpeed.js";
import { loadRunRecord } from "../record/runRecord.js";
import { renderSpeed } from "../report/speedTable.js";
import { EXIT } from "../util/exitStatus.js";
import { addJsonOption, folders, Verb } from "./verb.js";

/** The speed of finished runs, phase by phase, and with a reference run how far their figures moved. */
export async function speedCommand(dirs: string[], referenceDir: string | undefined, json: boolean): Promise<number> {
  const reference = referenceDir
    ? { dir: path.resolve(referenceDir), run: await loadRunRecord(path.resolve(referenceDir)) }
    : undefined;
  const rows = [];
  for (const d of dirs.map((x) => path.resolve(x))) {
    const run = await loadRunRecord(d);
    const speed = speedOf(d, run);
    rows.push(reference ? { ...speed, reference: differenceFrom(reference.dir, reference.run, run) } : speed);
  }
  process.stdout.write(json ? JSON.stringify(rows, null, 2) + "\n" : renderSpeed(rows));
  return EXIT.ok;
}

/** `speed DIR...`: where finished runs spent their time. */
export function speedVerb(): Verb {
  const v = new Verb("speed")
    .summary(
      "where finished runs spent their time, phase by phase, and how far their figures moved from a reference run",
    )
    .description(
      "Print each run's phases: wall time, boots, the sum of the boots' own wall times, their ratio (below 1 when guests overlapped) and the median boot to /init. " +
        "With --reference, every cover-letter figure against the reference run's, each against the band its own boots settle within, and any verdict that differs. Reads run.json only.",
    )
    .argument("<runs...>", "run folders: A,B or A B")
    .option("--reference <run-dir>", "an earlier run of the same job to compare every figure with") as Verb;
  addJsonOption(v);
  return v.runs(async ([runs], o: { reference?: string; json?: boolean }) =>
    speedCommand(folders(runs as string[]), o.reference, Boolean(o.json)),
  );
}
