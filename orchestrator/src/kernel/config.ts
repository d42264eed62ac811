import { appendFile, readFile } from "node:fs/promises";
import path from "node:path";
import { BenchError } from "../util/errors.js";
import { run } from "../util/exec.js";

/** Kconfig values: "y", "m", "n", a number or a quoted string. */
export type ConfigValues = Map<string, string>;

/** Parses a .config or a fragment; "# CONFIG_X is not set" means "n". */
export function parseConfig(text: string): ConfigValues {
  const values: ConfigValues = new Map();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const unset = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line);
    if (unset) {
      values.set(unset[1]!, "n");
      continue;
    }
    if (!line || line.startsWith("#")) continue;
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (!m)
      throw new BenchError(
        `config line not understood: "${line}"`,
        `use CONFIG_NAME=value or "# CONFIG_NAME is not set"`,
      );
    values.set(m[1]!, m[2]!);
  }
  return values;
}

/** Later fragments win, as with scripts/kconfig/merge_config.sh. */
export function mergeFragments(...fragments: ConfigValues[]): ConfigValues {
  const out: ConfigValues = new Map();
  for (const f of fragments) for (const [k, v] of f) out.set(k, v);
  return out;
}

export function renderFragment(values: ConfigValues): string {
  return [...values].map(([k, v]) => (v === "n" ? `# ${k} is not set` : `${k}=${v}`)).join("\n") + "\n";
}

interface ConfigMismatch {
  symbol: string;
  wanted: string;
  got: string;
}

/** Every requested symbol as kconfig left it; a dependency it dropped shows up here. */
export function verifyConfig(requested: ConfigValues, actual: ConfigValues): ConfigMismatch[] {
  const out: ConfigMismatch[] = [];
  for (const [symbol, wanted] of requested) {
    const got = actual.get(symbol) ?? "n";
    if (got !== wanted) out.push({ symbol, wanted, got: actual.has(symbol) ? got : "not set" });
  }
  return out;
}

function describeMismatches(mm: ConfigMismatch[]): string {
  return mm.map((m) => `${m.symbol}: wanted ${m.wanted}, got ${m.got}`).join("; ");
}

/**
 * tinyconfig + fragment, then olddefconfig, then the check that kconfig kept
 * what we asked for (on tinyconfig EROFS silently stays off without
 * MISC_FILESYSTEMS, for example).
 */
export async function configureKernel(opts: {
  tree: string;
  outDir: string;
  fragment: ConfigValues;
  logFile: string;
}): Promise<{ config: ConfigValues; configText: string }> {
  const make = (target: string) =>
    run("make", [`O=${opts.outDir}`, target], { cwd: opts.tree, logFile: opts.logFile, what: `make ${target}` });
  await make("tinyconfig");
  await appendFile(path.join(opts.outDir, ".config"), "\n" + renderFragment(opts.fragment));
  await make("olddefconfig");
  const configText = await readFile(path.join(opts.outDir, ".config"), "utf8");
  const config = parseConfig(configText);
  const mm = verifyConfig(opts.fragment, config);
  if (mm.length) {
    throw new BenchError(
      `kernel config lost requested symbols after olddefconfig: ${describeMismatches(mm)}`,
      "add the symbols they depend on to the guest fragment (kernel/guest.config) or the series' symbols",
      [path.join(opts.outDir, ".config")],
    );
  }
  return { config, configText };
}
