import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { BenchError } from "../util/errors.js";
import { run } from "../util/exec.js";
import { sha256 } from "../util/fsx.js";
import { rootfsDir } from "../util/paths.js";
import { shQuote } from "../util/shell.js";
import { pipName, pipPins, type DebianWorkload } from "./workloads.js";

/** The mmdebstrap customize hook that installs a side's pip packages (see the script's header). */
const PIP_HOOK = path.join(rootfsDir, "esb-pip-install.sh");

/** A side's pip packages as its rootfs records them: the pins it was built from and what the venv holds. */
export const PipRecordSchema = z.object({
  venv: z.string(),
  requirements: z.array(z.string()),
  /** name → version, read from the venv's dist-info directories. */
  installed: z.record(z.string(), z.string()),
});
type PipRecord = z.infer<typeof PipRecordSchema>;

/** The pip part of a side's cache key: the pins, where they go, and the hook's text (a change to it rebuilds the rootfs). */
export interface PipInputs {
  requirements: string[];
  venv: string;
  hook: string;
}

export async function pipInputs(r: DebianWorkload["rootfs"], side: "a" | "b"): Promise<PipInputs | undefined> {
  const requirements = r[side].pip;
  if (!requirements) return undefined;
  return { requirements, venv: r.venv, hook: sha256(await readFile(PIP_HOOK, "utf8")) };
}

/**
 * The customize hook for mmdebstrap. Its requirements file is written into
 * the rootfs' cache entry, so what was installed stays beside the image.
 */
export async function pipHook(entryDir: string, pip: PipInputs): Promise<string> {
  const reqFile = path.join(entryDir, "pip-requirements.txt");
  await writeFile(reqFile, pip.requirements.join("\n") + "\n");
  return `sh ${shQuote(PIP_HOOK)} "$1" ${shQuote(pip.venv)} ${shQuote(reqFile)}`;
}

/**
 * pip packages installed under a venv, from a rootfs' file list
 * (`./opt/venv/lib/python3.11/site-packages/numpy-2.4.1.dist-info/`).
 */
export function parseDistInfo(paths: string[], venv: string): Map<string, string> {
  const out = new Map<string, string>();
  const prefix = `.${venv}/lib/`;
  for (const p of paths) {
    if (!p.startsWith(prefix)) continue;
    const m = /^python[^/]+\/site-packages\/([^/]+)-([^-/]+)\.dist-info\/?$/.exec(p.slice(prefix.length));
    if (m) out.set(pipName(m[1]!), m[2]!);
  }
  return out;
}

/** What the rootfs' venv holds; every pin must be there at its version, else the build failed. */
export async function pipRecord(tar: string, pip: PipInputs, where: string): Promise<PipRecord> {
  const list = await run("tar", ["-tf", tar], { what: `listing ${tar}` });
  const found = parseDistInfo(list.stdout.split("\n"), pip.venv);
  for (const [name, version] of pipPins(pip.requirements)) {
    if (found.get(name) !== version)
      throw new BenchError(
        `${where}: pip package ${name}==${version} is not in ${pip.venv} (found ${found.get(name) ?? "none"})`,
      );
  }
  return {
    venv: pip.venv,
    requirements: pip.requirements,
    installed: Object.fromEntries([...found].sort(([a], [b]) => (a < b ? -1 : 1))),
  };
}
