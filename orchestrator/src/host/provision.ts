import os from "node:os";
import path from "node:path";
import { BenchError } from "../util/errors.js";
import { withLock } from "../util/fileLock.js";
import { run, runAllowFail } from "../util/exec.js";
import type { Progress } from "../util/progress.js";

/** Debian packages each part of the pipeline needs on the host. */
export const HOST_PACKAGES = {
  vm: ["qemu-system-x86", "busybox-static", "cpio", "gzip", "gcc", "libc6-dev"],
  kernel: ["make", "gcc", "flex", "bison", "bc", "libelf-dev", "libssl-dev", "perl", "xz-utils", "dpkg-dev"],
  erofsUtils: [
    "dpkg-dev",
    "autoconf",
    "automake",
    "libtool",
    "pkg-config",
    "liblz4-dev",
    "uuid-dev",
    "zlib1g-dev",
    "libssl-dev",
    "libxml2-dev",
  ],
  rootfs: ["mmdebstrap"],
  git: ["git", "patch"],
  /** Only the tests need it: they look at the HTML reports in a real browser. */
  browser: ["chromium"],
} as const;

export type HostPart = keyof typeof HOST_PACKAGES;

let aptUpdated = false;

export async function missingPackages(pkgs: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const p of new Set(pkgs)) {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's format, not a template
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
  // two runs (or test files) at once take turns; apt itself waits for a dpkg lock held by anything else
  await withLock(
    path.join(os.tmpdir(), "erofs-share-bench-host-packages"),
    "installing host packages",
    () =>
      progress.stage("provision", `installing ${missing.join(" ")}`, async () => {
        const still = await missingPackages(missing);
        if (!still.length) return;
        const env = { DEBIAN_FRONTEND: "noninteractive" };
        const wait = ["-o", "DPkg::Lock::Timeout=600"];
        if (!aptUpdated) {
          await run("apt-get", [...wait, "update", "-q"], { env, what: "apt-get update" });
          aptUpdated = true;
        }
        await run("apt-get", [...wait, "install", "-y", "-q", "--no-install-recommends", ...still], { env, what: cmd });
      }),
    (m) => progress.info(m),
  );
  return missing;
}
