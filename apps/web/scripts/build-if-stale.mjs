#!/usr/bin/env node
// Builds the web app when apps/web/dist is missing or older than its sources, so that `npm start`
// right after `npm ci` serves the app without a separate build step. Fast when nothing changed.
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const web = fileURLToPath(new URL("..", import.meta.url))
const built = Path.join(web, "dist", "index.html")
const sources = ["src", "public", "index.html", "vite.config.ts", "package.json", "../../packages/domain/src"]

const newest = (path) => {
  const info = Fs.statSync(path, { throwIfNoEntry: false })
  if (info === undefined) return 0
  if (!info.isDirectory()) return info.mtimeMs
  return Fs.readdirSync(path).reduce((max, name) => Math.max(max, newest(Path.join(path, name))), info.mtimeMs)
}

const builtAt = Fs.statSync(built, { throwIfNoEntry: false })?.mtimeMs ?? 0
const changedAt = Math.max(...sources.map((source) => newest(Path.join(web, source))))
if (builtAt > changedAt) process.exit(0)

console.error(builtAt === 0 ? "building the web app (apps/web/dist is missing) ..." : "rebuilding the web app (its sources changed) ...")
// Output to stderr: stdout is for the server's "listening on". NODE_ENV is production whatever the
// caller runs under (vitest sets "test", which would bundle React's development build).
const result = spawnSync("npm", ["run", "-s", "build"], {
  cwd: web,
  stdio: ["ignore", 2, 2],
  env: { ...process.env, NODE_ENV: "production" }
})
if (result.status !== 0) {
  // The API still works without the app: say so and go on rather than refuse to start.
  console.error("the web app could not be built; the server starts without it (see the output above)")
}
