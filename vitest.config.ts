import { defineConfig } from "vitest/config";

/**
 * Four kinds of test, one folder each: unit (no root, no QEMU, no network),
 * host (real host tools: C agents built with gcc, QEMU started, chromium),
 * e2e (a kernel built and booted). Unit test files share their workers'
 * modules (loading them again per file cost more than the tests took),
 * except those that replace a module with vi.mock (*.mocked.test.ts).
 */
export default defineConfig({
  test: {
    // once for every project: one scratch folder for the whole run (a folder per project would nest them)
    globalSetup: ["orchestrator/test/helpers/scratchRoot.ts"],
    projects: [
      {
        test: {
          testTimeout: 20_000,
          name: "unit",
          include: ["orchestrator/test/unit/**/*.test.ts"],
          exclude: ["**/*.mocked.test.ts"],
          isolate: false,
        },
      },
      { test: { testTimeout: 20_000, name: "unit-mocked", include: ["orchestrator/test/unit/**/*.mocked.test.ts"] } },
      { test: { testTimeout: 20_000, name: "host", include: ["orchestrator/test/host/**/*.test.ts"] } },
      { test: { testTimeout: 20_000, name: "e2e", include: ["orchestrator/test/e2e/**/*.test.ts"] } },
    ],
  },
});
