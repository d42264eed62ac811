import { BenchError } from "../util/errors.js";
import { run, runAllowFail } from "../util/exec.js";
import type { Progress } from "../util/progress.js";

/** Debian packages each part of the pipeline needs on the host. */
export const HOST_PACKAGES = {
  vm: ["qemu-system-x86", "busybox-static", "cpio", "gzip", "gcc", "libc6-dev"],
  kernel: ["make", "gcc", "flex", "bison", "bc", "libelf-dev", "libssl-dev", "perl", "xz-utils", "dpkg-dev"],
  erofsUtils: ["dpkg-dev", "autoconf", "automake", "libtool", "pkg-config", "liblz4-dev", "uuid-dev", "zlib1g-dev", "libssl-dev", "libxml2-dev"],
  rootfs: ["mmdebstrap"],
  git: ["git", "patch"],
} as const;

export type HostPart = keyof typeof HOST_PACKAGES;

let aptUpdated = false;

export async function missingPackages(pkgs: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const p of new Set(pkgs)) {
    const r = await runAllowFail("dpkg-query", ["-W", "-f=${Status}", p]);
    if (r.exitCode !== 0 || !r.stdout.includes("install ok installed")) missing.push(p);
  }
  return missing;
}

/**
 * Installs what is missing when we may (root), otherwise stops with the exact
 * command the user has to run.
 */
export async function ensureHostPackages(parts: HostPart[], progress: Progress): Promise<string[]> {
  const wanted = parts.flatMap((p) => HOST_PACKAGES[p]);
  const missing = await missingPackages(wanted);
  if (missing.length === 0) return [];
  const cmd = `apt-get install -y --no-install-recommends ${missing.join(" ")}`;
  if (process.getuid?.() !== 0) {
    throw new BenchError(`host packages missing: ${missing.join(", ")}`, `run as root: apt-get update && ${cmd}`);
  }
  await progress.stage("provision", `installing ${missing.join(" ")}`, async () => {
    const env = { DEBIAN_FRONTEND: "noninteractive" };
    if (!aptUpdated) {
      await run("apt-get", ["update", "-q"], { env, what: "apt-get update" });
      aptUpdated = true;
    }
    await run("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...missing], { env, what: cmd });
  });
  return missing;
}
