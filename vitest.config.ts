import { defineConfig } from "vitest/config";

const shared = {
  testTimeout: 20_000,
  globalSetup: ["orchestrator/test/helpers/scratchRoot.ts"],
};

/**
 * Four kinds of test, one folder each: unit (no root, no QEMU, no network),
 * host (real host tools: C agents built with gcc, QEMU started, chromium),
 * e2e (a kernel built and booted). Unit test files share their workers'
 * modules (loading them again per file cost more than the tests took),
 * except those that replace a module with vi.mock (*.mocked.test.ts).
 */
export default defineConfig({
  test: {
    projects: [
      { test: { ...shared, name: "unit", include: ["orchestrator/test/unit/**/*.test.ts"], exclude: ["**/*.mocked.test.ts"], isolate: false } },
      { test: { ...shared, name: "unit-mocked", include: ["orchestrator/test/unit/**/*.mocked.test.ts"] } },
      { test: { ...shared, name: "host", include: ["orchestrator/test/host/**/*.test.ts"] } },
      { test: { ...shared, name: "e2e", include: ["orchestrator/test/e2e/**/*.test.ts"] } },
    ],
  },
});
