import { defineWorkspace } from "vitest/config"

export default defineWorkspace([
  "packages/domain",
  "packages/server",
  "apps/server",
  "apps/web",
  "edge"
])
