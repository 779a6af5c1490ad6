// Which Chromium the web app's end-to-end tests drive, and how `npm test` gets one on a machine that
// has none. Everything the choice depends on comes in as a `World`, so the choice itself is testable.
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Module from "node:module"
import * as Path from "node:path"

export interface World {
  /** PATH and CHROMIUM_PATH are read from here */
  readonly env: Readonly<Record<string, string | undefined>>
  /** undefined where the platform has no user ids (Windows) */
  readonly uid: number | undefined
  readonly isExecutable: (path: string) => boolean
  /** where `playwright-core install chromium` puts its Chromium; asked only when needed (loading playwright-core is slow) */
  readonly playwrightChromium: () => string
  /** runs a command to its end, output shown to the user; true when it exited 0 */
  readonly run: (command: string, args: ReadonlyArray<string>, env?: Readonly<Record<string, string>>) => boolean
  readonly log: (line: string) => void
}

const DEBIAN = "/usr/bin/chromium"

export const PLAYWRIGHT_INSTALL = ["npx", "playwright-core", "install", "--no-shell", "chromium"] as const

export const NOT_FOUND =
  "no Chromium for the web app's tests: run `sudo apt-get install chromium` (Debian, Ubuntu) or " +
  "`npx playwright-core install --with-deps chromium`, or set CHROMIUM_PATH to a Chromium executable"

const onPath = (world: World, name: string): string | undefined =>
  (world.env.PATH ?? "")
    .split(Path.delimiter)
    .filter((dir) => dir !== "")
    .map((dir) => Path.join(dir, name))
    .find(world.isExecutable)

/**
 * The Chromium already on this machine: CHROMIUM_PATH when set (and then nothing else, so a wrong
 * value is noticed rather than quietly replaced), else Debian's, else `chromium` anywhere on PATH,
 * else the one Playwright's installer put in its cache.
 */
export const findChromium = (world: World): string | undefined => {
  const chosen = world.env.CHROMIUM_PATH
  if (chosen !== undefined && chosen !== "") return world.isExecutable(chosen) ? chosen : undefined
  if (world.isExecutable(DEBIAN)) return DEBIAN
  const found = onPath(world, "chromium")
  if (found !== undefined) return found
  const playwright = world.playwrightChromium()
  return world.isExecutable(playwright) ? playwright : undefined
}

export type Ensured = { readonly _tag: "Found"; readonly path: string } | { readonly _tag: "Missing"; readonly reason: string }

/**
 * Finds a Chromium, installing one when there is none: Debian's package when we are root and have
 * apt-get (the browser the wall's kiosk runs), else Playwright's download, which needs
 * no privileges. Never reports success without an executable to show for it.
 */
export const ensureChromium = (world: World): Ensured => {
  const present = findChromium(world)
  if (present !== undefined) return { _tag: "Found", path: present }
  const chosen = world.env.CHROMIUM_PATH
  if (chosen !== undefined && chosen !== "") {
    return { _tag: "Missing", reason: `CHROMIUM_PATH is ${chosen}, which is not an executable: ${NOT_FOUND}` }
  }

  if (world.uid === 0 && onPath(world, "apt-get") !== undefined) {
    world.log("== no Chromium found: installing Debian's chromium with apt-get (for the web app's tests)")
    // An update that fails for one unreachable source still leaves lists chromium may be found in.
    world.run("apt-get", ["update", "-q"])
    const installed = world.run("apt-get", ["install", "-y", "-q", "chromium"], { DEBIAN_FRONTEND: "noninteractive" })
    const path = installed ? findChromium(world) : undefined
    if (path !== undefined) return { _tag: "Found", path }
    world.log("== apt-get did not install chromium; trying Playwright's installer")
  } else {
    world.log("== no Chromium found: installing Playwright's Chromium (for the web app's tests)")
  }

  const [command, ...args] = PLAYWRIGHT_INSTALL
  const path = world.run(command, args) ? findChromium(world) : undefined
  return path !== undefined ? { _tag: "Found", path } : { _tag: "Missing", reason: NOT_FOUND }
}

/** The entry point's whole behaviour: the exit code, and one line on stderr when there is no browser. */
export const main = (world: World): number => {
  const result = ensureChromium(world)
  if (result._tag === "Found") return 0
  world.log(result.reason)
  return 1
}

export const realWorld = (cwd: string): World => ({
  env: process.env,
  uid: process.getuid?.(),
  isExecutable: (path) => {
    try {
      Fs.accessSync(path, Fs.constants.X_OK)
      return Fs.statSync(path).isFile()
    } catch {
      return false
    }
  },
  playwrightChromium: () => {
    // Loaded only when needed: most runs find a browser without it, and loading it takes most of a second.
    const playwright = Module.createRequire(import.meta.url)("playwright-core") as typeof import("playwright-core")
    return playwright.chromium.executablePath()
  },
  run: (command, args, env = {}) =>
    spawnSync(command, args, { cwd, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, ...env } }).status === 0,
  log: (line) => console.error(line)
})
