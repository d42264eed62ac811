import path from "node:path";
import { loadRunRecord } from "../record/runRecord.js";
import { makeReproBundle } from "../tasks/repro.js";
import { EXIT } from "../util/exitStatus.js";
import { Progress } from "../util/progress.js";
import { addJsonOption, nonNegativeInt, positiveInt, Verb } from "./verb.js";

interface ReproFlags {
  finding?: string;
  out?: string;
  testRuns: number;
  runs?: number;
  kernelTree?: string;
  json?: boolean;
}

/**
 * `repro RUN [--finding ID]`: one finding of a run as a bundle a maintainer
 * runs with QEMU and gcc alone, tested here once. Exit 0 when the bundle's
 * test reproduced it, 7 when it did not, 1 when it could not tell.
 */
export async function reproCommand(runArg: string, o: ReproFlags): Promise<number> {
  const runDir = path.resolve(runArg);
  const run = await loadRunRecord(runDir);
  const progress = new Progress(false);
  const { dir, record } = await makeReproBundle({
    runDir,
    run,
    finding: o.finding,
    out: o.out,
    testRuns: o.testRuns,
    bundleRuns: o.runs,
    kernelTree: o.kernelTree,
    progress,
  });
  const t = record.test;
  const said = t
    ? `${record.finding}: the bundle reproduced it in ${t.reproduced} of ${t.runs} run(s)${t.noVerdict ? `, no verdict in ${t.noVerdict}` : ""}`
    : `${record.finding}: bundle written, not tested (--test-runs 0)`;
  if (o.json) process.stdout.write(JSON.stringify({ dir, ...record }, null, 2) + "\n");
  else
    process.stdout.write(
      `${said}\n  bundle: ${dir}\n  run it: ${path.join(dir, "run.sh")}\n  mail:   ${path.join(dir, "mail.txt")}\n`,
    );
  if (!t) return EXIT.ok;
  if (t.reproduced) return EXIT.ok;
  if (t.noVerdict) return EXIT.error;
  return EXIT.notReproduced;
}

export function reproVerb(): Verb {
  const v = new Verb("repro")
    .summary("one finding of a run as a reproducer a maintainer runs with QEMU and gcc alone, and its report mail")
    .description(
      "Write a folder with the finding's scenario as one C program (booted as /init), run.sh (plain QEMU, N runs, exit 1 when reproduced), the kernel's bzImage, vmlinux and .config, the images, a README with the decoded trace and mail.txt; then run the bundle here to test it. Findings: the checks umount-race and fadvise, and a read-all boot that read data back wrong. Exit 0 when the test reproduced it, 7 when it did not.",
    )
    .argument("<run-dir>", "the run folder with the finding")
    .option(
      "--finding <id>",
      "which finding, when the run has more than one (a check's result name, or read-all:MODE/PATH)",
    )
    .option("--out <dir>", "the bundle's folder (default: RUN/repro-<finding>)")
    .option("--test-runs <n>", "runs of the bundle here before it is called done (0: none)", nonNegativeInt, 1)
    .option("--runs <n>", "run.sh's default number of runs (default: 20 for a race, 3 otherwise)", positiveInt)
    .option(
      "--kernel-tree <dir>",
      "the source tree the kernel was built from, to name the files and lines of the trace's functions (found by itself for Debian's source)",
    ) as Verb;
  addJsonOption(v);
  return v.runs(async ([dir], o: ReproFlags) => reproCommand(dir as string, o));
}
