import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["orchestrator/test/**/*.test.ts"],
    testTimeout: 20_000,
    globalSetup: ["orchestrator/test/helpers/scratchRoot.ts"],
    // the end-to-end test boots QEMU guests; unit tests stay fast beside it
    fileParallelism: true,
  },
});
