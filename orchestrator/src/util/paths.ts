import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The checkout this program runs from (kernel/, rootfs/, workloads/ live here). */
const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** Content-addressed cache: kernels, images, tools. ESB_CACHE overrides. */
export function cacheRoot(): string {
  return process.env.ESB_CACHE ?? path.join(os.homedir(), ".cache", "erofs-share-bench");
}

export const kernelDir = path.join(projectRoot, "kernel");
export const rootfsDir = path.join(projectRoot, "rootfs");
export const workloadsDir = path.join(projectRoot, "workloads");
export const resultsDir = path.join(projectRoot, "results");
