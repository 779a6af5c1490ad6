import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { fixturePath, HIKVISION_ANPR_DETECTION, ROOT } from "./cameras"

/** tsx start-up is slow on a 2-core machine: one invocation may take this long. */
const INVOCATION_MS = 30_000

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** A command from the repository root; by default `npm run -s edge -- ...args`, as an operator runs it. */
const edge = (args: ReadonlyArray<string>, command: ReadonlyArray<string> = ["npm", "run", "-s", "edge", "--"]): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(command[0]!, [...command.slice(1), ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), INVOCATION_MS)
    child.once("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

const describeRun = (run: Run) => `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`

/** stderr without npm's own warnings about the machine's npm configuration. */
const ownStderr = (run: Run) => run.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("npm warn"))

describe("edge parse", () => {
  it("prints the Detection of a Hikvision ANPR alert as one JSON line", async () => {
    const run = await edge(["parse", "--vendor", "hikvision", fixturePath("hikvision/parkpow_hikvision_lpr_anpr.xml")])
    expect(run.code, describeRun(run)).toBe(0)
    const lines = run.stdout.split("\n").filter((l) => l !== "")
    expect(lines.map((l) => JSON.parse(l))).toEqual([HIKVISION_ANPR_DETECTION])
  }, INVOCATION_MS * 2)

  it("tells the photos of a read on stderr only", async () => {
    const run = await edge(["parse", "--vendor", "genetec", fixturePath("genetec/parkpow_snapshot-middleware_Genetec.json")])
    expect(run.code, describeRun(run)).toBe(0)
    expect(JSON.parse(run.stdout).plate).toEqual({ text: "9HKA742", confidence: 0.99 })
    expect(ownStderr(run)).toEqual([
      "genetec:ccd6761e-b2a6-4afc-b386-412d6529c4ec images: plate (3519 bytes, image/jpeg), scene (141672 bytes, image/jpeg)"
    ])
  }, INVOCATION_MS * 2)

  it("fails with one line saying what is wrong with a file that is not the vendor's payload", async () => {
    const file = fixturePath("hikvision/naveenrobo_vehicleDetect_plates_request_response.txt")
    const run = await edge(["parse", "--vendor", "hikvision", file])
    expect(run.code, describeRun(run)).not.toBe(0)
    expect(run.stdout).toBe("")
    expect(ownStderr(run)).toEqual([
      `error: ${file} is not a hikvision payload: not well-formed XML (line 15: Extra text at the end)`
    ])
  }, INVOCATION_MS * 2)
})

describe("the production bundle", () => {
  it("builds with npm run edge:build and parses like the source", async () => {
    const build = await edge([], ["npm", "run", "-s", "edge:build"])
    expect(build.code, describeRun(build)).toBe(0)
    const file = fixturePath("hikvision/parkpow_hikvision_lpr_anpr.xml")
    const bundled = await edge(["parse", "--vendor", "hikvision", file], [process.execPath, "edge/dist/main.mjs"])
    const source = await edge(["parse", "--vendor", "hikvision", file])
    expect(bundled.code, describeRun(bundled)).toBe(0)
    expect(bundled.stdout).toBe(source.stdout)
    expect(bundled.stdout).toContain('"text":"PECT600"')
  })
})
