/**
 * The real central server (ServerLayer: HTTP API, services, migrated PostgreSQL) for benchmarks, run
 * as a child process so that it does not share a JS thread with the load generator.
 *
 * Settings from the environment:
 *   DATABASE_URL      the database (required; the benchmark creates a fresh one)
 *   DATA_DIR          where images are stored (required)
 *   PORT, HOST        default 0 (a free port) and 127.0.0.1
 *   BENCH_LOG_LEVEL   default Warning (not LOG_LEVEL, so that a shell setting does not leak in)
 *   BENCH_COLLECTORS  how many collectors to create after start (default 0)
 *   BENCH_TRACE       1: record how long each kind of span takes (see lib/spanStats.ts)
 * Any other AppConfig variable (DB_POOL_SIZE, INGEST_CONCURRENCY, ...) is read as usual.
 *
 * Prints one JSON line on stdout once listening:
 *   {"url": "http://127.0.0.1:PORT", "claim_codes": ["...", ...], "pid": N}
 * Everything else (logs, the "listening on" line) goes to stderr. Stops on SIGTERM or SIGINT, and
 * when its stdin closes (the benchmark died).
 *
 * On SIGUSR2 it prints {"snapshot": {...}} on stdout: process figures since the last snapshot
 * (event-loop utilisation and delay, GC time, CPU) and, with BENCH_TRACE=1, span timings; then it
 * starts counting afresh.
 */
import { AppConfig, Collectors } from "@chaverim/server"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { monitorEventLoopDelay, performance, PerformanceObserver } from "node:perf_hooks"
import { ServerLayer } from "../apps/server/src/Server"
import { SpanStats } from "./lib/spanStats"

// stdout carries only the JSON line below; whatever the server prints with console.log goes to stderr.
console.log = console.error

const required = (name: string): string => {
  const value = process.env[name]
  if (value === undefined || value === "") {
    process.stderr.write(`bench/server.ts: ${name} must be set\n`)
    process.exit(2)
  }
  return value
}

const databaseUrl = required("DATABASE_URL")
const dataDir = required("DATA_DIR")
const port = Number(process.env.PORT ?? "0")
const host = process.env.HOST ?? "127.0.0.1"
const collectors = Number(process.env.BENCH_COLLECTORS ?? "0")
// AppConfig still reads the environment for the settings not overridden below: PORT=0 (any free
// port) is not a valid PORT there, and images go to DATA_DIR, never to S3.
delete process.env.PORT
delete process.env.S3_ENDPOINT
const wantedLevel = (process.env.BENCH_LOG_LEVEL ?? "Warning").toLowerCase()
const logLevel = LogLevel.allLevels.find((l) => l._tag.toLowerCase() === wantedLevel || l.label.toLowerCase() === wantedLevel)
  ?? LogLevel.Warning

const spans = process.env.BENCH_TRACE === "1" ? new SpanStats() : undefined

const runtime = ManagedRuntime.make(
  ServerLayer.pipe(
    Layer.provide(spans ? Layer.setTracer(spans.tracer) : Layer.empty),
    Layer.provide(AppConfig.make({
      port,
      host,
      dataDir,
      databaseUrl: Option.some(Redacted.make(databaseUrl)),
      s3: Option.none()
    })),
    Layer.provide(Logger.minimumLogLevel(logLevel))
  )
)

// Process figures between snapshots.
let gcMs = 0
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration
}).observe({ entryTypes: ["gc"] })
const loopDelay = monitorEventLoopDelay({ resolution: 10 })
loopDelay.enable()
let lastElu = performance.eventLoopUtilization()
let lastCpu = process.cpuUsage()
let lastAt = performance.now()

const gc = (globalThis as { gc?: () => void }).gc

const snapshot = () => {
  const now = performance.now()
  const elu = performance.eventLoopUtilization(lastElu)
  const cpu = process.cpuUsage(lastCpu)
  const figures = {
    wall_ms: now - lastAt,
    event_loop_utilization: elu.utilization,
    event_loop_delay_p50_ms: loopDelay.percentile(50) / 1e6,
    event_loop_delay_p99_ms: loopDelay.percentile(99) / 1e6,
    event_loop_delay_max_ms: loopDelay.max / 1e6,
    gc_ms: gcMs,
    cpu_user_ms: cpu.user / 1000,
    cpu_system_ms: cpu.system / 1000,
    heap_used_mb: process.memoryUsage().heapUsed / 1024 / 1024,
    // What the heap holds that is still reachable: only when started with --expose-gc (bench/day.ts).
    heap_live_mb: gc === undefined ? Number.NaN : (gc(), process.memoryUsage().heapUsed / 1024 / 1024),
    spans: spans?.takeSnapshot() ?? {}
  }
  lastElu = performance.eventLoopUtilization()
  lastCpu = process.cpuUsage()
  lastAt = now
  gcMs = 0
  loopDelay.reset()
  process.stdout.write(`${JSON.stringify({ snapshot: figures })}\n`)
}
process.on("SIGUSR2", snapshot)

let stopping = false
const stop = async (code: number) => {
  if (stopping) return
  stopping = true
  // In-flight batches are finished first; but never hang on, orphaned, if that takes too long.
  setTimeout(() => {
    process.stderr.write("bench/server.ts: shutdown took over 15 s; exiting anyway\n")
    process.exit(code || 1)
  }, 15_000).unref()
  try {
    await runtime.dispose()
  } catch (e) {
    process.stderr.write(`bench/server.ts: shutdown failed: ${String(e)}\n`)
    code = code || 1
  }
  process.exit(code)
}
process.on("SIGTERM", () => void stop(0))
process.on("SIGINT", () => void stop(0))
process.stdin.on("end", () => void stop(0))
process.stdin.on("error", () => void stop(0))
process.stdin.resume()

const main = async () => {
  const address = await runtime.runPromise(HttpServer.HttpServer).then((server) => server.address)
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  const claimCodes: Array<string> = []
  for (let i = 1; i <= collectors; i++) {
    const created = await runtime.runPromise(Effect.flatMap(Collectors, (c) => c.create(`bench collector ${i}`)))
    claimCodes.push(created.claim_code)
  }
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`
  process.stdout.write(`${JSON.stringify({ url, claim_codes: claimCodes, pid: process.pid })}\n`)
}

main().catch((e) => {
  process.stderr.write(`bench/server.ts: failed to start: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`)
  void stop(1)
})
