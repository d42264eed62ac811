import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { workloadsDir } from "../paths.js";
import { BenchError } from "../util/errors.js";

export const WorkloadSpecSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  kind: z.enum(["synthetic"]),
  /** First column of the cover-letter table. */
  image: z.string(),
  description: z.string().optional(),
});
export type WorkloadSpec = z.infer<typeof WorkloadSpecSchema>;

export async function listWorkloads(dir = workloadsDir): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith(".yaml")).map((f) => f.replace(/\.yaml$/, "")).sort();
}

export async function loadWorkload(name: string, dir = workloadsDir): Promise<WorkloadSpec> {
  const file = path.join(dir, `${name}.yaml`);
  const text = await readFile(file, "utf8").catch(async () => {
    throw new BenchError(`unknown workload "${name}"`, `use one of: ${(await listWorkloads(dir)).join(", ")}`);
  });
  const r = WorkloadSpecSchema.safeParse(parseYaml(text));
  if (!r.success) {
    throw new BenchError(`${file}: invalid workload: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  if (r.data.name !== name) throw new BenchError(`${file}: name is "${r.data.name}", expected "${name}"`);
  return r.data;
}
