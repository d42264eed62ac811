import { writeKcidb } from "../tasks/kcidb.js";
import type { KcidbData } from "../report/kcidb/kcidbSchema.js";
import { EXIT } from "../util/exitStatus.js";
import { addJsonOption, commaList, Verb } from "./verb.js";

/** Counts by status, for the line the command ends with. */
function summaryOf(data: KcidbData): string {
  const by = new Map<string, number>();
  for (const t of data.tests ?? []) by.set(t.status ?? "no status", (by.get(t.status ?? "no status") ?? 0) + 1);
  const statuses = [...by].map(([s, n]) => `${n} ${s}`).join(", ");
  return `${data.checkouts?.length ?? 0} checkout(s), ${data.builds?.length ?? 0} build(s), ${data.tests?.length ?? 0} test(s)${statuses ? ` (${statuses})` : ""}`;
}

/** Runs or nights as one KCIDB submission in `file`; prints what it holds. */
export async function kcidbCommand(
  sources: string[],
  file: string,
  opts: { baseUrl?: string; json?: boolean } = {},
): Promise<number> {
  const { file: out, data } = await writeKcidb(sources, file, opts.baseUrl);
  process.stdout.write(
    opts.json
      ? JSON.stringify({
          file: out,
          checkouts: data.checkouts?.length ?? 0,
          builds: data.builds?.length ?? 0,
          tests: data.tests?.length ?? 0,
        }) + "\n"
      : `kcidb: ${summaryOf(data)} -> ${out}\n`,
  );
  return EXIT.ok;
}

/** `kcidb FILE --from RUN,...`: runs as one KCIDB submission. */
export function kcidbVerb(): Verb {
  const v = new Verb("kcidb")
    .summary("write runs or nights as one KernelCI KCIDB submission")
    .description(
      "Write the runs --from names as one KernelCI KCIDB submission (schema v5.3) to <file> for kcidb-submit; nothing is written into the run folders.",
    )
    .argument("<file>", "the submission to write")
    .requiredOption(
      "--from <sources>",
      "comma-separated run folders (a merged shard set is one) or nights' summaries (results/nightly/nights/<night>.json)",
      commaList,
    )
    .option(
      "--url <url>",
      "the URL under which the run folders are published (<url>/<run folder>/), so that logs are named by URL too",
    ) as Verb;
  addJsonOption(v);
  return v.runs(async ([file], o: { from: string[]; url?: string; json?: boolean }) =>
    kcidbCommand(o.from, file as string, { baseUrl: o.url, json: Boolean(o.json) }),
  );
}
