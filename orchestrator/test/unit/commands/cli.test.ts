import { describe, expect, it } from "vitest";
import { jobInput } from "../../../src/commands/jobOptions.js";
import { program } from "../../../src/commands/program.js";
import { JOB_DEFAULTS, resolveJob } from "../../../src/record/jobSpec.js";

/**
 * The command line: verbs, each with only its own options, and a job spec
 * made of what was named on it. Parsed in-process; the actions never run.
 */
const verbNamed = (args: string[], name: string) => program(args).verbs.find((v) => v.name() === name)!;
const optionsOf = (name: string) =>
  verbNamed([], name)
    .options.map((o) => o.long)
    .sort();

describe("the command line", () => {
  it("lists every verb in its help, run first as the one taken when none is named", () => {
    const { program: top, verbs } = program([]);
    expect(verbs.map((v) => v.name())).toEqual([
      "run",
      "report",
      "compare",
      "merge",
      "nightly",
      "judge",
      "jobs",
      "export",
      "validate",
      "recall",
      "repro",
      "per-patch",
      "bisect",
      "kcidb",
      "measure-parallel",
      "speed",
      "lock",
    ]);
    let help = "";
    top.configureOutput({ writeOut: (t) => (help += t) }).outputHelp();
    for (const v of verbs) expect(help).toContain(`  ${v.name()} `);
    expect(help).toMatch(/Without a verb it runs/);
  });

  it("gives each verb only the options that apply to it", () => {
    const job = [
      "--series",
      "--profile",
      "--kernel-deb",
      "--kernel-src",
      "--base-ref",
      "--kernel-src-exclude",
      "--mbox",
      "--no-fixups",
      "--prefix",
      "--commit",
      "--mutant",
      "--mutants-dir",
      "--patch",
      "--jobs",
    ];
    const measured = [
      "--workload",
      "--images",
      "--lock",
      "--debs",
      "--phases",
      "--modes",
      "--paths",
      "--reps",
      "--fixed-reps",
      "--quick",
      "--digest",
      "--checks",
      "--check-reps",
      "--check-reruns",
      "--check-kernel",
    ];
    const guests = ["--accel", "--tcg-thread", "--parallel", "--runtime-shared", "--no-runtime-shared"];
    const sorted = (xs: string[]) => [...xs].sort();
    expect(optionsOf("run")).toEqual(
      sorted([
        ...job,
        "--build-only",
        ...measured,
        ...guests,
        "--shard",
        "--artifacts",
        "--out",
        "--matrix",
        "--job",
        "--json",
      ]),
    );
    expect(optionsOf("nightly")).toEqual(
      sorted([
        ...job,
        ...measured,
        ...guests,
        "--history",
        "--matrix",
        "--job",
        "--threshold",
        "--auto-bisect",
        "--json",
      ]),
    );
    expect(optionsOf("export")).toEqual(
      sorted([
        ...job,
        "--workload",
        "--images",
        "--lock",
        "--debs",
        "--phases",
        "--out",
        "--matrix",
        "--job",
        "--json",
      ]),
    );
    expect(optionsOf("lock")).toEqual(sorted(["--lock", "--series", "--json"]));
    expect(optionsOf("report")).toEqual(["--json"]);
    expect(optionsOf("compare")).toEqual(sorted(["--html", "--threshold", "--json"]));
    expect(optionsOf("merge")).toEqual(sorted(["--out", "--json"]));
    expect(optionsOf("judge")).toEqual(sorted(["--history", "--threshold", "--json"]));
    expect(optionsOf("jobs")).toEqual(sorted(["--matrix", "--job", "--json"]));
    expect(optionsOf("kcidb")).toEqual(sorted(["--from", "--url", "--json"]));
    expect(optionsOf("bisect")).toEqual(
      sorted([
        "--row",
        "--cap",
        "--kernel-src",
        "--profile",
        "--kernel-src-exclude",
        "--jobs",
        "--digest",
        "--accel",
        "--tcg-thread",
        "--parallel",
        "--out",
        "--json",
      ]),
    );
    expect(optionsOf("validate")).toContain("--mutants");
    expect(optionsOf("validate")).toContain("--docs");
    expect(optionsOf("validate")).not.toContain("--reps");
  });

  it("refuses an option the verb does not take, naming the verb and the verbs that take it", async () => {
    const args = ["compare", "a,b", "--reps", "5"];
    await expect(program(args).program.parseAsync(["node", "cli", ...args])).rejects.toMatchObject({
      name: "BenchError",
      message: "compare takes no option --reps; run, nightly, measure-parallel take it",
    });
    await expect(
      program(["--merge", "a,b"]).program.parseAsync(["node", "cli", "--merge", "a,b"]),
    ).rejects.toMatchObject({ message: "--merge is the verb merge now" });
  });

  it("puts only the options named into the job, and the spec's defaults under them", () => {
    const args = [
      "--reps",
      "1",
      "--no-fixups",
      "--workload",
      "synthetic,redis",
      "--kernel-deb",
      "linux-source-7.3=7.3.4-1",
    ];
    const run = verbNamed(args, "run");
    run.parseOptions(args);
    const input = jobInput(run, args);
    expect(input).toEqual({
      reps: 1,
      fixups: false,
      workloads: ["synthetic", "redis"],
      kernelDeb: "linux-source-7.3=7.3.4-1",
      command: args,
    });
    const spec = resolveJob(input, "the command line");
    expect(spec).toEqual({
      ...JOB_DEFAULTS,
      reps: 1,
      fixups: false,
      workloads: ["synthetic", "redis"],
      kernelDeb: { package: "linux-source-7.3", version: "7.3.4-1" },
      command: args,
    });
  });

  it("leaves where runtime boots run to the accelerator unless --runtime-shared or --no-runtime-shared says", () => {
    const inputOf = (args: string[]) => {
      const run = verbNamed(args, "run");
      run.parseOptions(args);
      return jobInput(run, args);
    };
    expect(resolveJob(inputOf([]), "the command line").runtimeShared).toBeUndefined();
    expect(inputOf(["--runtime-shared"]).runtimeShared).toBe(true);
    expect(inputOf(["--no-runtime-shared"]).runtimeShared).toBe(false);
  });
});
