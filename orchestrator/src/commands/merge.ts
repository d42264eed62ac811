import { failedCells } from "../analysis/failures.js";
import { mergeShardFolders } from "../tasks/merge.js";
import { EXIT } from "../util/exitStatus.js";
import { printRun, runSummary } from "./output.js";
import { addJsonOption, folders, Verb } from "./verb.js";

/** The shards of one job joined into one run folder; exit 1 when a shard did not complete, 4 on failed boots. */
async function mergeCommand(dirs: string[], out: string | undefined, json: boolean): Promise<number> {
  const { dir, record } = await mergeShardFolders(dirs, out);
  if (json) process.stdout.write(JSON.stringify(runSummary(dir, record), null, 2) + "\n");
  else printRun(dir, record);
  if (record.status !== "complete") return EXIT.error;
  return failedCells(record).length ? EXIT.failedBoots : EXIT.ok;
}

/** `merge DIR,DIR,...`: one job's shards joined into one run. */
export function mergeVerb(): Verb {
  const v = new Verb("merge")
    .summary("join the run folders of one job's shards into one run")
    .description(
      "Join the run folders of one job's `run --shard K/N` runs into one run folder, as if one machine had measured it all.",
    )
    .argument("<shards...>", "the shards' run folders: DIR,DIR,... or DIR DIR ...")
    .option("--out <dir>", "the merged run folder (default results/<run-id>)") as Verb;
  addJsonOption(v);
  return v.runs(async ([shards], o: { out?: string; json?: boolean }) =>
    mergeCommand(folders(shards as string[]), o.out, Boolean(o.json)),
  );
}
