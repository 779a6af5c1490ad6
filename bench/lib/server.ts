import { type ChildProcess, spawn } from "node:child_process"
import * as Path from "node:path"
import * as Readline from "node:readline"
import { fileURLToPath } from "node:url"
import { progress } from "./report"
import type { SpanFigures } from "./spanStats"

/** The repository root (bench/lib/ is two levels down). */
export const repoRoot = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..", "..")

/** What bench/server.ts reports on SIGUSR2, for the time since the previous one. */
export interface ServerSnapshot {
  readonly wall_ms: number
  readonly event_loop_utilization: number
  readonly event_loop_delay_p50_ms: number
  readonly event_loop_delay_p99_ms: number
  readonly event_loop_delay_max_ms: number
  readonly gc_ms: number
  readonly cpu_user_ms: number
  readonly cpu_system_ms: number
  readonly heap_used_mb: number
  /** the heap in use after a full collection; NaN unless the server was started with --expose-gc */
  readonly heap_live_mb: number
  readonly spans: Readonly<Record<string, SpanFigures>>
}

export interface ServerProcess {
  readonly url: string
  readonly pid: number
  readonly claimCodes: ReadonlyArray<string>
  /** Figures since the last snapshot (or start); resets them. */
  readonly snapshot: () => Promise<ServerSnapshot>
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  readonly stop: (graceMs?: number) => Promise<void>
}

export interface StartOptions {
  readonly databaseUrl: string
  readonly dataDir: string
  readonly collectors: number
  /** Extra node arguments for the server process, e.g. ["--cpu-prof", "--cpu-prof-dir", dir]. */
  readonly nodeArgs?: ReadonlyArray<string>
  readonly env?: Readonly<Record<string, string>>
  /** Record span timings in the server (BENCH_TRACE=1). */
  readonly trace?: boolean
  readonly startTimeoutMs?: number
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
  })

/** The benchmark servers' METRICS_TOKEN, for reading /metrics. */
const BENCH_METRICS_TOKEN = "bench-metrics-token-0123456789abcdef"

/**
 * Starts bench/server.ts (the real ServerLayer) in a child node process and waits for the JSON line
 * with its URL. Its stderr (logs) is passed through to ours.
 */
export const startServer = async (options: StartOptions): Promise<ServerProcess> => {
  // as `npm start` runs the server (package.json)
  const args = ["--max-semi-space-size=64", ...(options.nodeArgs ?? []), "--import", "tsx", Path.join(repoRoot, "bench", "server.ts")]
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: {
      ...process.env,
      ...options.env,
      DATABASE_URL: options.databaseUrl,
      DATA_DIR: options.dataDir,
      PORT: "0",
      HOST: "127.0.0.1",
      METRICS_TOKEN: BENCH_METRICS_TOKEN,
      BENCH_COLLECTORS: String(options.collectors),
      BENCH_TRACE: options.trace ? "1" : "0"
    },
    // stdin stays open: the server stops by itself when it closes, i.e. when this process dies.
    stdio: ["pipe", "pipe", "inherit"]
  })
  const done = exited(child)

  const stop = async (graceMs = 20_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill("SIGTERM")
    const timer = setTimeout(() => {
      progress(`server ${child.pid} did not stop within ${graceMs} ms; killing it`)
      child.kill("SIGKILL")
    }, graceMs)
    await done
    clearTimeout(timer)
  }

  const snapshotWaiters: Array<(s: ServerSnapshot) => void> = []
  const announced = new Promise<{ url: string; claim_codes: Array<string>; pid: number }>((resolve, reject) => {
    const lines = Readline.createInterface({ input: child.stdout! })
    const timer = setTimeout(
      () => reject(new Error(`the server did not start within ${options.startTimeoutMs ?? 120_000} ms`)),
      options.startTimeoutMs ?? 120_000
    )
    lines.on("line", (line) => {
      const trimmed = line.trim()
      if (trimmed.startsWith("{")) {
        try {
          const parsed = JSON.parse(trimmed) as { url?: unknown; snapshot?: ServerSnapshot }
          if (parsed.snapshot !== undefined) {
            snapshotWaiters.shift()?.(parsed.snapshot)
            return
          }
          if (typeof parsed.url === "string") {
            clearTimeout(timer)
            resolve(parsed as { url: string; claim_codes: Array<string>; pid: number })
            return
          }
        } catch {
          // not the announcement
        }
      }
      process.stderr.write(`[server stdout] ${line}\n`)
    })
    child.once("exit", (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`the server exited before it was ready (code ${code}, signal ${signal})`))
    })
    child.once("error", (e) => {
      clearTimeout(timer)
      reject(e)
    })
  })

  try {
    const info = await announced
    const snapshot = () =>
      new Promise<ServerSnapshot>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the server sent no snapshot")), 10_000)
        snapshotWaiters.push((s) => {
          clearTimeout(timer)
          resolve(s)
        })
        child.kill("SIGUSR2")
      })
    return { url: info.url, pid: child.pid!, claimCodes: info.claim_codes, snapshot, stop }
  } catch (e) {
    await stop(5_000)
    throw e
  }
}

/** Sum and count of the server's batch-store histogram (admission to commit), from its /metrics. */
export const storeHistogram = async (url: string): Promise<{ sum: number; count: number } | undefined> => {
  try {
    const text = await (await fetch(`${url}/metrics`, {
      headers: { authorization: `Bearer ${BENCH_METRICS_TOKEN}` },
      signal: AbortSignal.timeout(5_000)
    })).text()
    const value = (suffix: string) => {
      const line = text.split("\n").find((l) => l.startsWith(`alpr_ingest_batch_duration_seconds_${suffix}`))
      return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(" ") + 1))
    }
    return { sum: value("sum"), count: value("count") }
  } catch {
    return undefined
  }
}
