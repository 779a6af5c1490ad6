import { expect } from "@effect/vitest"
import { spawn } from "node:child_process"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

/** The repository root, where `npm run alpr` runs. */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url))

/** tsx start-up is slow on a 2-core machine: one invocation may take this long. */
export const INVOCATION_MS = 30_000

export interface Run {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Where commands that touch the object store keep it, unless a test says otherwise: never the checkout. */
const SCRATCH_DATA_DIR = Path.join(Os.tmpdir(), `alpr-cli-test-${process.pid}`)

/** `npx tsx apps/server/src/main.ts ...args` against the database at `databaseUrl`, as a real process. */
export const alprAgainst = (databaseUrl: () => string, logLevel = "Error") =>
(args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn("npx", ["tsx", "apps/server/src/main.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl(), LOG_LEVEL: logLevel, DATA_DIR: SCRATCH_DATA_DIR, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), INVOCATION_MS * 1.5)
    child.once("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })

export const describeRun = (run: Run) => `exit ${run.code ?? run.signal}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`

/** The non-empty lines of a text, trimmed. */
export const lines = (text: string) => text.split("\n").map((l) => l.trim()).filter((l) => l !== "")

/** The last non-empty stdout line, parsed as JSON. */
export const lastJson = (run: Run): any => {
  const out = lines(run.stdout)
  expect(out.length, describeRun(run)).toBeGreaterThan(0)
  return JSON.parse(out[out.length - 1]!)
}
