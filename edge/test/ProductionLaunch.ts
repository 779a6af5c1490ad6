import * as Fs from "node:fs"
import * as Path from "node:path"

/**
 * How systemd starts the collector in production, read from its unit, deploy/edge/chaverim-edge.service:
 * node's options and the bundle of `ExecStart`, and the `Environment=` settings. The benchmark
 * (bench/edge.ts) and the test of the production bundle (cli.test.ts) start it from here, so that
 * what they measure and check is what runs on a Pi, and a change to the unit is measured as it is.
 * Test support, not part of the collector.
 */

export const PRODUCTION_UNIT = "deploy/edge/chaverim-edge.service"

export interface ProductionLaunch {
  /** node's options, before the bundle */
  readonly nodeOptions: ReadonlyArray<string>
  /** the bundle and its arguments, relative to the repository root (its WorkingDirectory) */
  readonly args: ReadonlyArray<string>
  /** the unit's environment */
  readonly env: Readonly<Record<string, string>>
}

/** The words of a systemd setting: separated by spaces, double-quoted ones taken whole. */
const words = (value: string) => [...value.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!)

export const productionLaunch = (root: string): ProductionLaunch => {
  const unit = Path.join(root, PRODUCTION_UNIT)
  const env: Record<string, string> = {}
  let exec: ReadonlyArray<string> | undefined
  for (const line of Fs.readFileSync(unit, "utf8").split("\n").map((l) => l.trim())) {
    if (line.startsWith("Environment=")) {
      for (const assignment of words(line.slice("Environment=".length))) {
        const at = assignment.indexOf("=")
        if (at > 0) env[assignment.slice(0, at)] = assignment.slice(at + 1)
      }
    } else if (line.startsWith("ExecStart=")) {
      exec = words(line.slice("ExecStart=".length))
    }
  }
  // ExecStart=/usr/bin/env node --option=value... edge/dist/main.mjs run (options with their values joined by =)
  const node = exec?.findIndex((w) => w === "node" || w.endsWith("/node")) ?? -1
  const bundle = exec?.findIndex((w, i) => i > node && !w.startsWith("-")) ?? -1
  if (exec === undefined || node < 0 || bundle < 0) throw new Error(`${unit}: no ExecStart running node with a bundle`)
  return { nodeOptions: exec.slice(node + 1, bundle), args: exec.slice(bundle), env }
}
