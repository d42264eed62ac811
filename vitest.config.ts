import os from "node:os";
import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const isEndToEnd = (spec: TestSpecification) => spec.moduleId.includes("/test/e2e/");

/**
 * The end-to-end tests wait for the guest kernel, which a fresh machine has
 * to build (the longest step of a first `npm test`): one of them starts
 * first, so the build begins at once and the unit tests run beside it; the
 * others come last, so none holds a worker while it waits for the build.
 */
class KernelBuildFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const e2e = sorted.filter(isEndToEnd);
    return [...e2e.slice(0, 1), ...sorted.filter((f) => !isEndToEnd(f)), ...e2e.slice(1)];
  }
}

export default defineConfig({
  test: {
    include: ["orchestrator/test/**/*.test.ts"],
    testTimeout: 20_000,
    globalSetup: ["orchestrator/test/helpers/scratchRoot.ts"],
    // the end-to-end test boots QEMU guests; unit tests stay fast beside it
    fileParallelism: true,
    // vitest's default on 2 cores is one worker, which would queue every unit test behind the end-to-end one
    maxWorkers: Math.max(2, os.availableParallelism() - 1),
    sequence: { sequencer: KernelBuildFirst },
  },
});
