import { spawn } from "node:child_process"
import { ROOT } from "./cameras"

export interface EdgeRun {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * `edge ARGS` as a process of its own, with `env` over a copy of this one's environment from which
 * the collector's own settings are removed (so only what a test gives counts), and `input` on
 * standard input. Killed after `timeoutMs`.
 */
export const edge = (args: ReadonlyArray<string>, env: Record<string, string>, input = "", timeoutMs = 45_000) =>
  new Promise<EdgeRun>((resolve, reject) => {
    const base = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith("EDGE_") && k !== "CREDENTIALS_DIRECTORY" && k !== "INVOCATION_ID")
    )
    const child = spawn(process.execPath, ["--import", "tsx", "edge/src/main.ts", ...args], {
      cwd: ROOT,
      env: { ...base, LOG_LEVEL: "Info", ...env },
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.once("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    child.stdin.end(input)
  })
