// Run by `npm test` before vitest: the web app's end-to-end tests need a real Chromium, and a fresh
// machine has none. Quick when one is there; installs one when it can; otherwise exits 1 with one line
// saying what to run, so the browser tests are never skipped quietly.
import { fileURLToPath } from "node:url"
import { main, realWorld } from "./chromium"

process.exit(main(realWorld(fileURLToPath(new URL("../../..", import.meta.url)))))
