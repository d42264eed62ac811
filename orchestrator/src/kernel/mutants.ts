import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { BenchError } from "../util/errors.js";
import { sha256 } from "../util/fsx.js";
import { kernelDir } from "../util/paths.js";
import { strictObject } from "../util/schema.js";
import { parseYamlWith } from "../util/yamlFile.js";

/**
 * Kernel mutants (kernel/mutants/mutants.yaml): small diffs that break one
 * guarantee of mainline's page cache sharing each, with what must catch
 * them. The known-answer run builds each on the mainline build and expects
 * exactly its signals.
 */

/** The read-all phase's verdicts a mutant can be caught by, beside the correctness results' names. */
export const READALL_SIGNALS = ["readall-corruption", "readall-leak", "readall-boot"] as const;

/** "NAME" (must fail or oops) or "NAME=finding" (must become a finding where mainline passes). */
const SignalSchema = z
  .string()
  .regex(/^[a-z][a-z-]*(=finding)?$/, "a check or read-all signal name, optionally =finding");

const MutantSchema = strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  patch: z.string(),
  breaks: z.string(),
  caughtBy: z.array(SignalSchema).min(1),
  mayAlsoFail: z.array(SignalSchema).default([]),
  /**
   * What a failure of `caughtBy` must say to count as caught (a regular
   * expression over its reason: "KASAN: slab-use-after-free in erofs_", "LEAK:
   * kmemleak"); a failure that does not say it is "failed otherwise".
   */
  evidence: z
    .string()
    .refine((s) => {
      try {
        new RegExp(s);
        return true;
      } catch {
        return false;
      }
    }, "a regular expression")
    .optional(),
});
type Mutant = z.infer<typeof MutantSchema>;

const MutantSetSchema = strictObject({
  base: z.string(),
  mutants: z.array(MutantSchema),
  notBrokenAlone: z.record(z.string(), z.string()).default({}),
  /** Signals the base itself fails, and why: reported as known, not as a defect of the tool. */
  knownOnBase: z.record(z.string(), z.string()).default({}),
});
type MutantSet = z.infer<typeof MutantSetSchema>;

export function mutantsDir(): string {
  return path.join(kernelDir, "mutants");
}

/** The mutant set, every name checked against the signals that exist. */
export async function loadMutants(checkNames: readonly string[], dir = mutantsDir()): Promise<MutantSet> {
  const file = path.join(dir, "mutants.yaml");
  const text = await readFile(file, "utf8").catch(() => {
    throw new BenchError(`${file} cannot be read`, "the mutant set lives in kernel/mutants/ of the checkout");
  });
  const set = parseYamlWith(MutantSetSchema, text, file, "mutant set", "see the comment at the top of the file");
  const known = new Set<string>([...READALL_SIGNALS, ...checkNames]);
  const names = new Set<string>();
  for (const m of set.mutants) {
    if (names.has(m.name)) throw new BenchError(`${file}: mutant ${m.name} is listed twice`);
    names.add(m.name);
    for (const s of [...m.caughtBy, ...m.mayAlsoFail, ...Object.keys(set.knownOnBase)]) {
      const name = s.replace(/=finding$/, "");
      if (!known.has(name))
        throw new BenchError(
          `${file}: mutant ${m.name} names "${name}", which is no check result or read-all signal`,
          `use one of: ${[...known].join(", ")}`,
        );
    }
  }
  return set;
}

/** A mutant and the folder its mutants.yaml and patch are in; `outside` when a user's folder, not the tool's. */
export type PlacedMutant = Mutant & { dir: string; outside: boolean };

/**
 * The tool's mutants and, when given, a reviewer's own folder of them (its
 * own mutants.yaml, for the same base): a suspicion about a series written
 * as a patch, run like the tool's without editing its tree. A name may be
 * used once across both.
 */
export async function loadAllMutants(
  checkNames: readonly string[],
  outsideDir?: string,
): Promise<MutantSet & { placed: PlacedMutant[] }> {
  const own = await loadMutants(checkNames);
  const placed: PlacedMutant[] = own.mutants.map((m) => ({ ...m, dir: mutantsDir(), outside: false }));
  if (!outsideDir) return { ...own, placed };
  const dir = path.resolve(outsideDir);
  const theirs = await loadMutants(checkNames, dir);
  if (theirs.base !== own.base)
    throw new BenchError(
      `${path.join(dir, "mutants.yaml")} patches series ${theirs.base}, and the tool's mutants patch ${own.base}`,
      `write the mutants against ${own.base} (base: ${own.base})`,
    );
  for (const m of theirs.mutants) {
    if (own.mutants.some((x) => x.name === m.name))
      throw new BenchError(
        `mutant ${m.name} of ${dir} has the name of one of the tool's own (kernel/mutants/)`,
        "rename yours",
      );
    placed.push({ ...m, dir, outside: true });
  }
  return { ...own, mutants: [...own.mutants, ...theirs.mutants], placed };
}

/** One mutant by name with its patch text, from the tool's mutants or a reviewer's folder of them. */
export async function loadMutant(
  name: string,
  checkNames: readonly string[],
  outsideDir?: string,
): Promise<{ mutant: Mutant; patch: string; patchSha256: string; file: string; outside: boolean }> {
  const set = await loadAllMutants(checkNames, outsideDir);
  const mutant = set.placed.find((m) => m.name === name);
  if (!mutant)
    throw new BenchError(
      `no kernel mutant named ${name}`,
      `choose from: ${set.placed.map((m) => m.name).join(", ")} (kernel/mutants/mutants.yaml${outsideDir ? ` and ${outsideDir}/mutants.yaml` : ""})`,
    );
  const dir = mutant.dir;
  const file = path.join(dir, mutant.patch);
  const patch = await readFile(file, "utf8").catch(() => {
    throw new BenchError(
      `mutant ${name}: ${file} cannot be read`,
      `add the patch or fix "patch:" in ${path.join(dir, "mutants.yaml")}`,
    );
  });
  return { mutant, patch, patchSha256: sha256(patch), file, outside: mutant.outside };
}

/** The files a unified diff changes (its +++ lines, a/ b/ prefixes dropped). */
export function patchedFiles(patch: string, what = "the mutant's patch"): string[] {
  const files = [...patch.matchAll(/^\+\+\+ (\S+)/gm)].map((m) => m[1]!.replace(/^b\//, ""));
  if (!files.length) throw new BenchError(`${what} changes no file (no +++ line)`);
  return [...new Set(files)];
}

/**
 * A user's own patch (--patch): a unified diff of the tree, read and checked
 * before anything is built. It is built like a mutant, on the series' kernel,
 * and named "patch-<file name>" in the kernel's release.
 */
export async function loadUserPatch(
  file: string,
): Promise<{ name: string; patch: string; patchSha256: string; file: string; files: string[] }> {
  const abs = path.resolve(file);
  const patch = await readFile(abs, "utf8").catch(() => {
    throw new BenchError(
      `--patch ${file} cannot be read`,
      "give the path of a unified diff (git diff, git format-patch)",
    );
  });
  const files = patchedFiles(patch, `--patch ${file}`);
  const name = path
    .basename(abs)
    .replace(/\.(patch|diff)$/, "")
    .replace(/[^A-Za-z0-9.-]+/g, "-")
    .slice(0, 40);
  return { name, patch, patchSha256: sha256(patch), file: abs, files };
}
