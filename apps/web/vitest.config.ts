import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    name: "web-e2e",
    include: ["test/**/*.test.ts"],
    globalSetup: ["../../test-support/globalSetup.ts", "./test/globalSetup.ts"],
    // One browser and one server at a time: the machine has two cores.
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 180_000
  }
})
