import { readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { strictObject } from "../util/schema.js";
import { workloadsDir } from "../util/paths.js";
import { BenchError } from "../util/errors.js";
import { parseYamlWith, yamlNames } from "../util/yamlFile.js";

/**
 * One pinned, hashed pip requirement: `name==version --hash=sha256:<hex>`
 * (one --hash per acceptable file). Nothing else is accepted, so a rootfs
 * with pip packages is as reproducible as its Debian part.
 */
export const PipRequirementSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?==[A-Za-z0-9.+!_-]+(?: --hash=sha256:[0-9a-f]{64})+$/,
    "expected `name==version --hash=sha256:<64 hex digits>`",
  );

/** pip's normal form of a distribution name (PEP 503): "Tensorflow_CPU" → "tensorflow-cpu". */
export function pipName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

/** name → version of pinned requirements. */
export function pipPins(reqs: string[]): Map<string, string> {
  return new Map(
    reqs.map((r) => {
      const [name, rest] = r.split("==") as [string, string];
      return [pipName(name), rest.split(" ")[0]!];
    }),
  );
}

/** One side of a Debian-built pair: the suites apt sees when the rootfs is made, and pip packages on top. */
const DebianSideSchema = strictObject({
  suites: z.array(z.string()).min(1),
  /**
   * pip packages installed at build time into rootfs.venv: every package
   * pinned and hashed, dependencies included (installed with --no-deps).
   */
  pip: z.array(PipRequirementSchema).min(1).optional(),
});

const DebianRootfsSchema = strictObject({
  variant: z.enum(["minbase", "essential", "apt", "required"]).default("minbase"),
  include: z.array(z.string()).min(1),
  /** The package whose installed version labels the image in the tables: a Debian package of include, or a pip package of both sides. */
  versionPackage: z.string(),
  /** Shell run by mmdebstrap with the rootfs path as $1 (static content, config tweaks). */
  customize: z.array(z.string()).default([]),
  /** The virtual environment (made with the rootfs' python3 -m venv) that a side's pip packages go into. */
  venv: z
    .string()
    .regex(/^\/[A-Za-z0-9._/-]+$/)
    .default("/opt/venv"),
  a: DebianSideSchema,
  b: DebianSideSchema,
}).superRefine((r, ctx) => {
  if ((r.a.pip || r.b.pip) && !r.include.includes("python3-venv")) {
    ctx.addIssue({
      code: "custom",
      path: ["include"],
      message: "pip packages need python3-venv in include (the venv is made inside the rootfs)",
    });
  }
  if (!r.include.includes(r.versionPackage) && !versionFromPip(r)) {
    ctx.addIssue({
      code: "custom",
      path: ["versionPackage"],
      message: `"${r.versionPackage}" is neither in include nor a pip package of both sides`,
    });
  }
});

/** True when versionPackage is a pip package pinned on both sides (the label then comes from pip). */
export function versionFromPip(r: { versionPackage: string; a: { pip?: string[] }; b: { pip?: string[] } }): boolean {
  return [r.a.pip, r.b.pip].every((p) => p !== undefined && pipPins(p).has(pipName(r.versionPackage)));
}

const LoadStepSchema = strictObject({
  name: z.string(),
  /** Shell run inside the container; {param} is replaced from params. */
  cmd: z.string(),
  parser: z.enum(["redis-benchmark", "pgbench", "wrk", "sysbench", "none"]),
});
export type LoadStep = z.infer<typeof LoadStepSchema>;

export const RuntimeSchema = strictObject({
  /** Shell run once inside the container before the server starts. */
  setup: z.string().default(""),
  /** Starts the server in the background (it must keep running). */
  start: z.string(),
  /** Succeeds once the server answers; retried for up to readyTimeoutS. */
  ready: z.string(),
  readyTimeoutS: z.number().int().positive().default(120),
  /** Server log files shown (their tail) when the cell fails. */
  logs: z.array(z.string()).default([]),
  load: z.array(LoadStepSchema).default([]),
  params: z.record(z.string(), z.union([z.number(), z.string()])).default({}),
  /** Overrides of params for --quick. */
  quick: z.record(z.string(), z.union([z.number(), z.string()])).default({}),
});
export type RuntimeSpec = z.infer<typeof RuntimeSchema>;

const WorkloadSpecSchema = z.discriminatedUnion("kind", [
  strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    kind: z.literal("synthetic"),
    image: z.string(),
    description: z.string().optional(),
  }),
  strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    kind: z.literal("debian"),
    image: z.string(),
    description: z.string().optional(),
    rootfs: DebianRootfsSchema,
    runtime: RuntimeSchema.optional(),
  }),
]);
export type WorkloadSpec = z.infer<typeof WorkloadSpecSchema>;
export type DebianWorkload = Extract<WorkloadSpec, { kind: "debian" }>;

export async function listWorkloads(dir = workloadsDir): Promise<string[]> {
  return yamlNames(dir);
}

/** The same names at once, for help texts: commander builds them before anything can be awaited. */
export function listWorkloadsSync(dir = workloadsDir): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => f.replace(/\.yaml$/, ""))
    .sort();
}

export function parseWorkload(text: string, source: string): WorkloadSpec {
  return parseYamlWith(WorkloadSpecSchema, text, source, "workload");
}

export async function loadWorkload(name: string, dir = workloadsDir): Promise<WorkloadSpec> {
  const file = path.join(dir, `${name}.yaml`);
  const text = await readFile(file, "utf8").catch(async () => {
    throw new BenchError(`unknown workload "${name}"`, `use one of: ${(await listWorkloads(dir)).join(", ")}`);
  });
  const w = parseWorkload(text, file);
  if (w.name !== name) throw new BenchError(`${file}: name is "${w.name}", expected "${name}"`);
  return w;
}

/** {param} substitution; an unknown name is an error naming it. */
export function expandParams(cmd: string, params: Record<string, string | number>, source: string): string {
  return cmd.replace(/\{([a-zA-Z_][a-zA-Z0-9_]*)\}/g, (_m, k: string) => {
    const v = params[k];
    if (v === undefined) throw new BenchError(`${source}: command uses {${k}} but params has no ${k}`);
    return String(v);
  });
}
