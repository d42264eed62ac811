import { readdir } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { BenchError } from "./errors.js";

/** Parses YAML and validates it; errors name the file and every bad field. */
export function parseYamlWith<T>(schema: z.ZodType<T>, text: string, source: string, what: string, hint?: string): T {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new BenchError(`${source}: not valid YAML: ${(e as Error).message}`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`).join("; ");
    throw new BenchError(`${source}: invalid ${what}: ${issues}`, hint);
  }
  return r.data;
}

/** Names of the *.yaml files of a directory, without the extension. */
export async function yamlNames(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => f.replace(/\.yaml$/, ""))
    .sort();
}
