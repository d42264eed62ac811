import path from "node:path";
import { execa } from "execa";
import { agentCompileArgs, type Agent } from "../../src/guest/initramfs.js";
import { rootfsDir } from "../../src/util/paths.js";

/**
 * The guest's rootfs/ the agent tests build from: ESB_ROOTFS=path/to/a/copy
 * runs them against another copy (to check that they catch a regression).
 */
export const ROOTFS = process.env.ESB_ROOTFS ? path.resolve(process.env.ESB_ROOTFS) : rootfsDir;

/**
 * Builds an agent from the files the initramfs compiles it from, into dir;
 * linked dynamically (the host has a libc), with the initramfs's warnings.
 */
export async function buildAgent(agent: Agent, dir: string, flags = ["-O2", "-Wall"]): Promise<string> {
  const out = path.join(dir, agent);
  await execa("gcc", agentCompileArgs(agent, out, { rootfs: ROOTFS, flags }));
  return out;
}

const FIXTURES = path.join(import.meta.dirname, "../fixtures/agents");

/** Compiles a test's own C into `out`, every warning an error: nothing of it ships, so nothing in it may be sloppy. */
async function compileStrict(out: string, args: string[]): Promise<string> {
  await execa("gcc", ["-O2", "-Wall", "-Wextra", "-Werror", "-o", out, ...args]);
  return out;
}

/**
 * A library to preload into an agent: readdir fails with EIO in every
 * directory named as ESB_READDIR_FAILS says (fixtures/agents/readdirFails.c).
 */
export async function buildReaddirFailure(dir: string): Promise<string> {
  return compileStrict(path.join(dir, "readdirFails.so"), [
    "-shared",
    "-fPIC",
    path.join(FIXTURES, "readdirFails.c"),
    "-ldl",
  ]);
}

/** The environment that makes readdir fail in directories named `name`. */
export const readdirFailsIn = (so: string, name: string): Record<string, string> => ({
  LD_PRELOAD: so,
  ESB_READDIR_FAILS: name,
});

/** fixtures/agents/digestChunks.c linked with the library's digests. */
export async function buildDigestChunks(dir: string): Promise<string> {
  return compileStrict(path.join(dir, "digestChunks"), [
    "-I",
    path.join(ROOTFS, "common"),
    path.join(FIXTURES, "digestChunks.c"),
    path.join(ROOTFS, "common", "digest.c"),
  ]);
}
