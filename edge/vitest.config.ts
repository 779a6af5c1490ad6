import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    name: "edge",
    include: ["test/**/*.test.ts"],
    globalSetup: ["../test-support/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
