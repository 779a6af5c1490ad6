import * as Fs from "node:fs"
import { type Browser, chromium } from "playwright-core"

/** The collector's address as the browser sees it: plain http to a name, like a phone on the site network. */
export const LAN_NAME = "collector.test"

/**
 * Chromium for the device page's tests, the one the web app's tests use: CHROMIUM_PATH, else
 * Debian's, else Playwright's (`node --import tsx apps/web/scripts/ensure-chromium.ts` installs one,
 * as `npm test` does before vitest). None is a failure, never a skipped test.
 */
export const launchChromium = (): Promise<Browser> => {
  const candidates = [process.env["CHROMIUM_PATH"], "/usr/bin/chromium", chromium.executablePath()]
  const executablePath = candidates.find((path): path is string => path !== undefined && path !== "" && Fs.existsSync(path))
  if (executablePath === undefined) {
    throw new Error("no Chromium: run `node --import tsx apps/web/scripts/ensure-chromium.ts` (or set CHROMIUM_PATH)")
  }
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run",
      // A name for loopback that is not "localhost": a page there is not a secure context, as a collector's page on the LAN is not.
      `--host-resolver-rules=MAP ${LAN_NAME} 127.0.0.1`
    ]
  })
}
