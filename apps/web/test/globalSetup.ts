import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

/** The tests drive the built app as the server serves it: build it first when it is missing or stale. */
export default function setup() {
  const script = fileURLToPath(new URL("../scripts/build-if-stale.mjs", import.meta.url))
  const result = spawnSync(process.execPath, [script], { stdio: "inherit" })
  if (result.status !== 0) throw new Error("building the web app failed")
}
