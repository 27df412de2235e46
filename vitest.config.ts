import { defineConfig } from "vitest/config";

// Integration tests share one local infrastructure and some of them stop and start its servers, so test
// files run one at a time.
export default defineConfig({
  test: {
    include: ["service/test/**/*.test.ts"],
    // Every response a supertest request receives is checked against the API description.
    setupFiles: ["service/test/support/contract-setup.ts"],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    reporters: ["default"],
  },
});
