import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    name: "app",
    include: ["test/**/*.test.ts"],
    globalSetup: ["../../test-support/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
