import { describe, expect, it } from "vitest"
import { ensureChromium, main, NOT_FOUND, PLAYWRIGHT_INSTALL, type World } from "../scripts/chromium"

const PLAYWRIGHTS = "/home/dev/.cache/ms-playwright/chromium-1255/chrome-linux64/chrome"

interface Machine {
  readonly uid?: number
  readonly path?: string
  readonly chromiumPath?: string
  /** executables present before anything runs */
  readonly files: ReadonlyArray<string>
  /** what each command (by its command line) leaves behind when it succeeds; a command not listed fails */
  readonly installs?: Readonly<Record<string, ReadonlyArray<string>>>
}

/** A machine made of a set of executables; commands are recorded, and the ones that succeed add files. */
const machine = (spec: Machine) => {
  const files = new Set(spec.files)
  const runs: Array<{ readonly line: string; readonly env: Readonly<Record<string, string>> }> = []
  const logs: Array<string> = []
  const world: World = {
    env: { PATH: spec.path ?? "/usr/local/bin:/usr/bin:/bin", CHROMIUM_PATH: spec.chromiumPath },
    uid: spec.uid,
    isExecutable: (path) => files.has(path),
    playwrightChromium: () => PLAYWRIGHTS,
    run: (command, args, env = {}) => {
      const line = [command, ...args].join(" ")
      runs.push({ line, env })
      const leaves = spec.installs?.[line]
      leaves?.forEach((file) => files.add(file))
      return leaves !== undefined
    },
    log: (line) => logs.push(line)
  }
  return { world, runs, logs }
}

const APT_UPDATE = "apt-get update -q"
const APT_INSTALL = "apt-get install -y -q chromium"
const PLAYWRIGHT = PLAYWRIGHT_INSTALL.join(" ")

describe("getting a Chromium for the web app's tests", () => {
  it("uses Debian's Chromium when it is there, and runs nothing", () => {
    const { world, runs } = machine({ uid: 0, files: ["/usr/bin/chromium", "/usr/bin/apt-get"] })
    expect(ensureChromium(world)).toEqual({ _tag: "Found", path: "/usr/bin/chromium" })
    expect(runs).toEqual([])
  })

  it("uses a chromium found elsewhere on PATH, and runs nothing", () => {
    const { world, runs } = machine({
      uid: 1000,
      path: "/home/dev/bin:/opt/chromium/bin:/usr/bin",
      files: ["/opt/chromium/bin/chromium", "/usr/bin/apt-get"]
    })
    expect(ensureChromium(world)).toEqual({ _tag: "Found", path: "/opt/chromium/bin/chromium" })
    expect(runs).toEqual([])
  })

  it("uses the Chromium Playwright installed earlier, and runs nothing", () => {
    const { world, runs } = machine({ uid: 1000, files: [PLAYWRIGHTS] })
    expect(ensureChromium(world)).toEqual({ _tag: "Found", path: PLAYWRIGHTS })
    expect(runs).toEqual([])
  })

  it("installs Debian's chromium with apt-get when root and no browser is there", () => {
    const { world, runs } = machine({
      uid: 0,
      files: ["/usr/bin/apt-get"],
      installs: { [APT_UPDATE]: [], [APT_INSTALL]: ["/usr/bin/chromium"] }
    })
    expect(ensureChromium(world)).toEqual({ _tag: "Found", path: "/usr/bin/chromium" })
    expect(runs).toEqual([
      { line: APT_UPDATE, env: {} },
      { line: APT_INSTALL, env: { DEBIAN_FRONTEND: "noninteractive" } }
    ])
  })

  it("uses Playwright's installer when not root, even with apt-get there", () => {
    const { world, runs } = machine({
      uid: 1000,
      files: ["/usr/bin/apt-get"],
      installs: { [APT_UPDATE]: [], [APT_INSTALL]: ["/usr/bin/chromium"], [PLAYWRIGHT]: [PLAYWRIGHTS] }
    })
    expect(ensureChromium(world)).toEqual({ _tag: "Found", path: PLAYWRIGHTS })
    expect(runs.map((run) => run.line)).toEqual(["npx playwright-core install --no-shell chromium"])
  })

  it("falls back to Playwright's installer when apt-get cannot install chromium", () => {
    const { world, runs } = machine({
      uid: 0,
      files: ["/usr/bin/apt-get"],
      installs: { [APT_UPDATE]: [], [PLAYWRIGHT]: [PLAYWRIGHTS] }
    })
    expect(ensureChromium(world)).toEqual({ _tag: "Found", path: PLAYWRIGHTS })
    expect(runs.map((run) => run.line)).toEqual([APT_UPDATE, APT_INSTALL, PLAYWRIGHT])
  })

  it("does not believe an installer that exits 0 but leaves no browser behind", () => {
    const { world } = machine({ uid: 1000, files: [], installs: { [PLAYWRIGHT]: [] } })
    expect(ensureChromium(world)).toEqual({ _tag: "Missing", reason: NOT_FOUND })
  })

  it("exits 1 with one line naming the command to run when everything fails", () => {
    const { world, runs, logs } = machine({ uid: 0, files: ["/usr/bin/apt-get"] })
    expect(main(world)).toBe(1)
    expect(runs.map((run) => run.line)).toEqual([APT_UPDATE, APT_INSTALL, PLAYWRIGHT])
    expect(logs.at(-1)).toBe(NOT_FOUND)
    expect(NOT_FOUND).not.toContain("\n")
    expect(NOT_FOUND).toContain("npx playwright-core install --with-deps chromium")
    expect(NOT_FOUND).toContain("apt-get install chromium")
  })

  it("takes CHROMIUM_PATH as given, and refuses a wrong one rather than installing another", () => {
    const given = machine({ uid: 0, chromiumPath: "/srv/chrome/chrome", files: ["/srv/chrome/chrome", "/usr/bin/chromium"] })
    expect(main(given.world)).toBe(0)
    expect(ensureChromium(given.world)).toEqual({ _tag: "Found", path: "/srv/chrome/chrome" })

    const wrong = machine({ uid: 0, chromiumPath: "/srv/nothing", files: ["/usr/bin/chromium", "/usr/bin/apt-get"] })
    expect(main(wrong.world)).toBe(1)
    expect(wrong.runs).toEqual([])
    expect(wrong.logs).toEqual([`CHROMIUM_PATH is /srv/nothing, which is not an executable: ${NOT_FOUND}`])
  })
})
