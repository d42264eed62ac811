import { Command, InvalidArgumentError, type OptionValues } from "commander";
import { DEFAULT_THRESHOLDS, type Thresholds } from "../analysis/compareRuns.js";
import { BenchError } from "../util/errors.js";

/** Mode flags of the command line before it had verbs, and the verb each became. */
const RETIRED_FLAGS: Record<string, string> = {
  "--report": "report",
  "--compare": "compare",
  "--merge": "merge",
  "--nightly": "nightly",
  "--judge": "judge",
  "--list-jobs": "jobs",
  "--measure-parallel": "measure-parallel",
  "--export": "export",
  "--validate": "validate",
  "--per-patch": "per-patch",
  "--bisect": "bisect",
  "--kcidb": "kcidb",
};

/**
 * A verb of the command line: what it does, its own options, and the exit
 * status its action returns. An option it does not take is refused, naming
 * the verb and the verbs that do take it.
 */
export class Verb extends Command {
  /** What the action returned, once it ran. */
  status?: number;

  /** The action, given the verb's arguments and options; its exit status is kept for the process to exit with. */
  runs<O extends OptionValues>(fn: (args: unknown[], opts: O) => Promise<number>): this {
    return this.action(async () => {
      this.status = await fn(this.processedArgs, this.opts<O>());
    });
  }

  // commander calls this for an option it does not know
  unknownOption(flag: string): never {
    const name = flag.split("=")[0]!;
    const verbs = (this.parent?.commands ?? [])
      .filter((c) => c.options.some((o) => o.long === name))
      .map((c) => c.name());
    const retired = RETIRED_FLAGS[name];
    if (retired && !verbs.length)
      throw new BenchError(`${name} is the verb ${retired} now`, `npm run bench -- ${retired} --help`);
    const takers = verbs.length ? `; ${verbs.join(", ")} ${verbs.length === 1 ? "takes" : "take"} it` : "";
    throw new BenchError(
      `${this.name()} takes no option ${name}${takers}`,
      `npm run bench -- ${this.name()} --help lists what ${this.name()} takes`,
    );
  }
}

export function commaList(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A comma-separated list of names from `allowed`. */
export function listOf<T extends string>(allowed: readonly T[], what: string) {
  return (value: string): T[] => {
    const items = commaList(value);
    for (const i of items) {
      if (!allowed.includes(i as T))
        throw new InvalidArgumentError(`unknown ${what} "${i}" (choose from ${allowed.join(", ")})`);
    }
    return items as T[];
  };
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${value}" is not a positive whole number`);
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a whole number of 0 or more`);
  return n;
}

/** Folders given as one comma-separated argument or as several. */
export function folders(args: string[]): string[] {
  return args.flatMap(commaList);
}

function parseThresholds(value: string): Thresholds {
  const t = { ...DEFAULT_THRESHOLDS };
  const names: Record<string, keyof Thresholds> = {
    efficiency: "efficiencyPoints",
    runtime: "runtimePoints",
    off: "offChangePct",
  };
  for (const item of commaList(value)) {
    const [name, v] = item.split("=");
    const key = name ? names[name] : undefined;
    const n = Number(v);
    if (!key || v === undefined || !Number.isFinite(n) || n < 0) {
      throw new InvalidArgumentError(`"${item}" is not name=number with name one of ${Object.keys(names).join(", ")}`);
    }
    t[key] = n;
  }
  return t;
}

/** --threshold, for the verbs that judge. */
export function addThresholdOption(v: Verb): Verb {
  return v.option(
    "--threshold <name=points,...>",
    `what counts as a regression: efficiency (read-all, points, default ${DEFAULT_THRESHOLDS.efficiencyPoints}), ` +
      `runtime (points, default ${DEFAULT_THRESHOLDS.runtimePoints}), off (off-mode change in %, default ${DEFAULT_THRESHOLDS.offChangePct})`,
    parseThresholds,
  );
}

export function addJsonOption(v: Verb): Verb {
  return v.option("--json", "print a JSON summary on stdout (progress stays on stderr)");
}
