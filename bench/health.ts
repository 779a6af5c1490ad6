/**
 * The fleet's health check and the statistics at scale (issue 19): on a data set of the search
 * benchmark (`npm run bench -- search --generate-only --keep [--rows N]`, then `--reuse-db NAME` here),
 * a real server checks the whole fleet every second for `--seconds`, and the time of each check is
 * taken from its span (HealthMonitor.check: the collectors, every camera's reads in the last hour and
 * in this hour of each of the last four weeks, its first and latest read, its clock, and the alerts'
 * bookkeeping). Then the statistics endpoints are asked, sequentially, as an operator would: reads per
 * camera by hour over the last 7 days and by day over the last 31, and the summary (totals, confidence,
 * repeat plates, ingest lag, accuracy, confusions) over 7 and 31 days.
 */
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { numberOption, type OptionSpecs, parseArgs, UsageError } from "./lib/args"
import { adminUrl, connect } from "./lib/database"
import { emit, progress, quantile } from "./lib/report"
import { runScope } from "./lib/run"
import { startServer } from "./lib/server"
import { benchCookie } from "./lib/session"

export const description =
  "the fleet's health check and the statistics endpoints on a data set of the search benchmark: check time per run, " +
  "stats p50/p95 over 7 and 31 days"

export const options: OptionSpecs = {
  "reuse-db": { description: "a database kept by `npm run bench -- search --generate-only --keep` (required)" },
  seconds: { description: "how long the server checks the fleet, once a second", default: "60" },
  queries: { description: "requests per statistics query", default: "20" }
}

const DAY_MS = 86_400_000

export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const values = parseArgs(argv, options)
  const reuse = values.get("reuse-db")
  if (reuse === undefined || !/^[a-z_][a-z0-9_]*$/.test(reuse)) {
    throw new UsageError("--reuse-db NAME is required: make one with `npm run bench -- search --generate-only --keep`")
  }
  const seconds = numberOption(values, "seconds", { min: 5 })
  const queries = numberOption(values, "queries", { min: 1, integer: true })
  const { cleanups, close } = runScope()
  try {
    const url = new URL(adminUrl())
    url.pathname = `/${reuse}`
    const databaseUrl = url.toString()
    const db = await connect(databaseUrl)
    cleanups.push(() => db.end())
    const facts = (await db.query<{ reads: string; cameras: number; collectors: number; newest: Date }>(
      `SELECT (SELECT reltuples::bigint FROM pg_class WHERE relname = 'detections')::text AS reads,
              (SELECT count(*)::int FROM cameras) AS cameras,
              (SELECT count(*)::int FROM collectors WHERE status = 'active' AND claimed_at IS NOT NULL) AS collectors,
              (SELECT max(detected_at) FROM detections) AS newest`
    )).rows[0]!
    progress(`database ${reuse}: about ${Number(facts.reads).toLocaleString("en")} reads, ${facts.cameras} cameras, ` +
      `${facts.collectors} collectors, newest read ${facts.newest.toISOString()}`)
    emit("health.data.reads", Number(facts.reads), "count")
    emit("health.data.cameras", facts.cameras, "count")
    const cookie = await benchCookie(db, "bench-health", "operator")

    const dataDir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-bench-health-"))
    cleanups.push(() => Fs.rm(dataDir, { recursive: true, force: true }))
    const server = await startServer({
      databaseUrl,
      dataDir,
      collectors: 0,
      trace: true,
      env: { HEALTH_CHECK_SECONDS: "1" },
      startTimeoutMs: 60 * 60_000
    })
    cleanups.push(() => server.stop())
    progress(`server ${server.url}: checking the fleet every second for ${seconds} s`)
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
    const snapshot = await server.snapshot()
    const check = snapshot.spans["HealthMonitor.check"]
    if (check === undefined || check.count === 0) throw new Error("the server ran no health check")
    emit("health.check.runs", check.count, "count")
    emit("health.check.p50", check.p50_ms, "ms")
    emit("health.check.p99", check.p99_ms, "ms")
    emit("health.check.max", check.max_ms, "ms")
    emit("health.check.mean", check.mean_ms, "ms")

    // The statistics, ending at the data's newest read.
    const to = new Date(Math.min(Date.now(), facts.newest.getTime() + 60_000))
    const measure = async (name: string, path: string) => {
      const times: Array<number> = []
      for (let i = 0; i < queries; i++) {
        const started = performance.now()
        const response = await fetch(`${server.url}${path}`, { headers: { cookie } })
        const body = await response.text()
        if (response.status !== 200) throw new Error(`${path}: HTTP ${response.status} ${body.slice(0, 300)}`)
        times.push(performance.now() - started)
      }
      times.sort((a, b) => a - b)
      emit(`health.stats.${name}.p50`, quantile(times, 0.5), "ms")
      emit(`health.stats.${name}.p95`, quantile(times, 0.95), "ms")
      emit(`health.stats.${name}.max`, times.at(-1)!, "ms")
    }
    const range = (days: number, extra: Record<string, string> = {}) =>
      new URLSearchParams({ from: new Date(to.getTime() - days * DAY_MS).toISOString(), to: to.toISOString(), ...extra }).toString()
    await measure("reads_7d_hourly", `/api/v1/stats/reads?${range(7, { bucket: "hour" })}`)
    await measure("reads_31d_daily", `/api/v1/stats/reads?${range(31, { bucket: "day" })}`)
    await measure("summary_7d", `/api/v1/stats/summary?${range(7)}`)
    await measure("summary_31d", `/api/v1/stats/summary?${range(31)}`)
  } finally {
    await close()
  }
}
