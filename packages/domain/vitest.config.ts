import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    name: "domain",
    include: ["test/**/*.test.ts"],
    globalSetup: [],
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
