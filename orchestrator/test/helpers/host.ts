import { ensureHostPackages, type HostPart } from "../../src/host/provision.js";
import { Progress } from "../../src/util/progress.js";

/**
 * Tests that run real host tools (gcc, QEMU, chromium) install them first,
 * the way the tool itself does, so `npm ci && npm test` works on a fresh
 * machine; concurrent test files take turns on apt.
 */
export async function needHost(...parts: HostPart[]): Promise<void> {
  await ensureHostPackages(parts, new Progress(true));
}
