import { spawn } from "node:child_process"
import { ROOT } from "./cameras"

export interface EdgeRun {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** A command from the repository root with exactly `env`, `input` on standard input; killed after `timeoutMs`. */
export const runProcess = (
  command: ReadonlyArray<string>,
  env: NodeJS.ProcessEnv,
  input: string | undefined,
  timeoutMs: number
) =>
  new Promise<EdgeRun>((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), {
      cwd: ROOT,
      env,
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.once("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    if (input !== undefined) child.stdin!.end(input)
  })

/**
 * `edge ARGS` as a process of its own, with `env` over a copy of this one's environment from which
 * the collector's own settings are removed (so only what a test gives counts), and `input` on
 * standard input. Killed after `timeoutMs`.
 */
export const edge = (args: ReadonlyArray<string>, env: Record<string, string>, input = "", timeoutMs = 45_000) => {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("EDGE_") && k !== "CREDENTIALS_DIRECTORY" && k !== "INVOCATION_ID")
  )
  return runProcess([process.execPath, "--import", "tsx", "edge/src/main.ts", ...args], { ...base, LOG_LEVEL: "Info", ...env }, input, timeoutMs)
}
