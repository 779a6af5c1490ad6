/**
 * `npm run bench -- day`: the central server's memory through a day's traffic, replayed faster than
 * it happened. Does the server give back what a day of work takes, or does it keep some of it?
 *
 * A real server (bench/server.ts, a child process, as `npm start` runs it) on a fresh database. The
 * day (default 300,000 reads: 200 cameras on 10 collectors, about one read a minute each) is sent
 * through the batch API in time order on a fixed schedule (open loop, `--rate` reads a second), each
 * read stamped with its time in the replayed day (yesterday). Alongside, as the day would have them:
 *   - every collector's heartbeat each replayed 5 minutes;
 *   - 10,000 exact watchlist entries; one read in `--match-every` carries one of them (each once),
 *     so alerts are raised, stored and sent to an admin's live WebSocket, which also takes every
 *     read of the feed;
 *   - an operator's requests, `--searches-per-hour` each replayed hour: exact, OCR-aware and partial
 *     plate search, a plate's timeline and the alert list, in turn, on plates seen so far.
 * Sampled every second from /proc: the server's RSS (VmRSS), its anonymous part (RssAnon) and its
 * peak (VmHWM); at every twentieth of the day the V8 heap in use and, after a full collection (the
 * server runs with --expose-gc for it), the heap still reachable (SIGUSR2 snapshot). After the day,
 * `--idle` seconds of quiet, then memory once more. Printed: memory at the day's start (after its
 * first twentieth), end and after the quiet, the peak, the slopes of RSS and of the live heap over
 * the second half of the day (MB per 100,000 reads: a leak is a slope that does not flatten), and a
 * chart (--chart).
 *
 * The run fails when a read is lost or stored twice, a batch is refused, or a planted read did not
 * raise exactly one alert that reached the WebSocket: memory measured on a server that dropped
 * work would flatter it.
 */
import { randomInt } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { Interrupted, numberOption, type OptionSpecs, parseArgs } from "./lib/args"
import { lineChartsSvg } from "./lib/chart"
import { mibToMb, processMemory } from "./lib/memory"
import { claimCollector } from "./lib/collectors"
import { openLiveFeed } from "./lib/live"
import { connect, freshDatabase } from "./lib/database"
import { emit, progress, quantile } from "./lib/report"
import { runScope } from "./lib/run"
import { repoRoot, startServer } from "./lib/server"
import { benchCookie } from "./lib/session"

export const description =
  "the server's memory through a replayed day (reads, heartbeats, live feed, alerts, searches): RSS and heap over the day, with a chart"

export const options: OptionSpecs = {
  reads: { description: "reads in the replayed day", default: "300000" },
  rate: { description: "reads a second of the replay", default: "1000" },
  collectors: { description: "collectors, each with its own API key", default: "10" },
  cameras: { description: "cameras per collector", default: "20" },
  batch: { description: "reads per batch", default: "50" },
  entries: { description: "exact watchlist entries", default: "10000" },
  "match-every": { description: "one read in this many carries a watched plate (each raises one alert)", default: "2000" },
  "searches-per-hour": { description: "an operator's requests per replayed hour (searches, timeline, alert list)", default: "12" },
  idle: { description: "seconds of quiet after the day before memory is measured again", default: "30" },
  chart: { description: "where to write the SVG chart", default: "docs/perf/day-memory.svg" }
}

const DAY_MS = 86_400_000
const LETTERS = "ABCEFGHJKLMNPRSTUVWXZ" // no D: watched plates start with DAY
const DIGITS = "0123456789"
const chars = (alphabet: string, n: number) => Array.from({ length: n }, () => alphabet[randomInt(alphabet.length)]).join("")
const pick = <A>(items: ReadonlyArray<A>): A => items[randomInt(items.length)]!
/** Plates of the day: most from a pool of regulars (commuters), the rest once. */
const REGULARS = Array.from({ length: 20_000 }, () => chars(LETTERS, 3) + chars(DIGITS, 4))
const trafficPlate = () => (Math.random() < 0.7 ? pick(REGULARS) : chars(LETTERS, 3) + chars(DIGITS, 4))
const watchedPlate = (i: number) => `DAY${String(i).padStart(5, "0")}`

interface Collector {
  readonly index: number
  readonly apiKey: string
  readonly cameras: ReadonlyArray<{ readonly id: string; readonly mac: string; readonly name: string; readonly lat: number; readonly lon: number }>
}

interface MemorySample {
  /** reads sent when sampled */
  readonly reads: number
  readonly rssMb: number
  readonly anonMb: number
  readonly hwmMb: number
}

/** The server's memory now: VmRSS, RssAnon and VmHWM in MB (10^6 bytes). */
const memoryOf = (pid: number) => {
  const memory = processMemory(pid)
  return { rssMb: mibToMb(memory.rssMiB), anonMb: mibToMb(memory.anonMiB), hwmMb: mibToMb(memory.hwmMiB) }
}

/** Least-squares slope of y over x. */
const slope = (points: ReadonlyArray<readonly [number, number]>) => {
  const n = points.length
  if (n < 2) return Number.NaN
  const mx = points.reduce((s, [x]) => s + x, 0) / n
  const my = points.reduce((s, [, y]) => s + y, 0) / n
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0)
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0)
  return sxx === 0 ? Number.NaN : sxy / sxx
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)))

export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const values = parseArgs(argv, options)
  const settings = {
    reads: numberOption(values, "reads", { min: 1_000, integer: true }),
    rate: numberOption(values, "rate", { min: 1 }),
    collectors: numberOption(values, "collectors", { min: 1, integer: true }),
    cameras: numberOption(values, "cameras", { min: 1, integer: true }),
    batch: numberOption(values, "batch", { min: 1, integer: true }),
    entries: numberOption(values, "entries", { min: 1, integer: true }),
    matchEvery: numberOption(values, "match-every", { min: 1, integer: true }),
    searchesPerHour: numberOption(values, "searches-per-hour", { min: 0, integer: true }),
    idleS: numberOption(values, "idle", { min: 0 })
  }
  const planted = Math.min(settings.entries, Math.floor(settings.reads / settings.matchEvery))
  const chart = Path.resolve(repoRoot, values.get("chart")!)
  const scope = runScope()
  const { cleanups, signal } = scope
  try {
    const database = await freshDatabase()
    cleanups.push(database.drop)
    const dataDir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-bench-day-"))
    cleanups.push(() => Fs.rm(dataDir, { recursive: true, force: true }))
    // --expose-gc: at each twentieth of the day the heap is measured after a full collection too, so
    // that garbage not yet collected is not taken for memory held.
    const server = await startServer({ databaseUrl: database.url, dataDir, collectors: settings.collectors, nodeArgs: ["--expose-gc"] })
    cleanups.push(() => server.stop())
    const db = await connect(database.url)
    cleanups.push(() => db.end())
    progress(`server ${server.url} (pid ${server.pid}); the day: ${settings.reads.toLocaleString("en-US")} reads at ${settings.rate}/s, ` +
      `${planted} of them watched`)

    // ---- People and lists (in SQL: what is measured is the server's day, not the setup)
    const adminCookie = await benchCookie(db, "bench-day-admin", "admin")
    const { rows: [admin] } = await db.query<{ id: string }>("SELECT id FROM users WHERE username = 'bench-day-admin'")
    const { rows: [list] } = await db.query<{ id: string }>(
      "INSERT INTO watchlists (name, category, priority, owner_id, shared) VALUES ('bench day', 'stolen', 1, $1, true) RETURNING id",
      [admin!.id]
    )
    await db.query(
      `INSERT INTO watchlist_entries (watchlist_id, kind, value, reason, added_by, added_by_name)
       SELECT $1, 'exact', 'DAY' || lpad(g::text, 5, '0'), 'benchmark', $2, 'bench-day-admin' FROM generate_series(0, $3::int - 1) g`,
      [list!.id, admin!.id, settings.entries]
    )
    const operatorCookie = await benchCookie(db, "bench-day-operator", "operator")

    // ---- The control room: an admin's live feed, every read and alert
    let feedReads = 0
    const feedAlerts = new Set<string>()
    let resyncs = 0
    const socket = await openLiveFeed(server.url, adminCookie, (message) => {
      if (message.type === "detection") feedReads++
      else if (message.type === "resync") resyncs++
      else if (message.type === "alert" && message.alert !== undefined) feedAlerts.add(message.alert.plate)
    })
    cleanups.push(async () => socket.close())

    // ---- Collectors
    const collectors: Array<Collector> = await Promise.all(server.claimCodes.map(async (code, index) => {
      const claimed = await claimCollector(server.url, code, `bench-day-${index + 1}`)
      const lat = 41.05 + Math.random() * 0.2
      const lon = -74.15 + Math.random() * 0.2
      return {
        index,
        apiKey: claimed.apiKey,
        cameras: Array.from({ length: settings.cameras }, (_, k) => ({
          id: `day-${index + 1}-${k + 1}`,
          mac: ["02", "DA", "7E", (index + 1) & 0xff, k >> 8, k & 0xff].map((b) => (typeof b === "string" ? b : b.toString(16).padStart(2, "0").toUpperCase())).join(":"),
          name: `Site ${index + 1} camera ${k + 1}`,
          lat: lat + (Math.random() - 0.5) * 0.01,
          lon: lon + (Math.random() - 0.5) * 0.01
        }))
      }
    }))

    const failures: Array<string> = []
    const fail = (what: string) => {
      if (failures.length < 20) progress(`  ${what}`)
      failures.push(what)
    }
    const post = async (path: string, apiKey: string, body: unknown) => {
      const response = await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
        body: JSON.stringify(body),
        signal: AbortSignal.any([AbortSignal.timeout(60_000), signal])
      })
      return { status: response.status, text: await response.text() }
    }

    // ---- The day
    const dayStart = Date.now() - DAY_MS - 3_600_000 // yesterday, ending an hour ago
    const plantEvery = planted === 0 ? Infinity : Math.floor(settings.reads / planted)
    const seen: Array<string> = [] // plates sent so far (a sample), for the operator's questions
    let accepted = 0
    let duplicates = 0
    let sentReads = 0
    let nextPlant = 0
    let seq = 0
    const batch = (collector: Collector, from: number, count: number) =>
      Array.from({ length: count }, (_, k) => {
        const n = from + k
        const camera = pick(collector.cameras)
        let plate = trafficPlate()
        if (n % plantEvery === plantEvery - 1 && nextPlant < planted) plate = watchedPlate(nextPlant++)
        if (randomInt(200) === 0) seen[seen.length < 2_000 ? seen.length : randomInt(2_000)] = plate
        return {
          detection_id: `day-${collector.index + 1}-${++seq}`,
          timestamp: new Date(dayStart + (n / settings.reads) * DAY_MS + randomInt(1_000)).toISOString(),
          camera: { id: camera.id, mac: camera.mac, name: camera.name },
          plate: { text: plate, confidence: 0.6 + Math.random() * 0.39 },
          vehicle: { direction: pick(["in", "out"]), type: pick(["car", "suv", "truck", "van"]), color: pick(["white", "black", "silver", "red"]) },
          location: { lat: camera.lat, lon: camera.lon }
        }
      })

    const sendBatch = async (collector: Collector, from: number, count: number) => {
      try {
        const { status, text } = await post("/api/v1/detections/batch", collector.apiKey, { events: batch(collector, from, count) })
        if (status !== 200) return fail(`batch: ${status} ${text.slice(0, 200)}`)
        const result = JSON.parse(text) as { accepted: number; duplicates: number; rejected: number }
        accepted += result.accepted
        duplicates += result.duplicates
        if (result.rejected > 0) fail(`batch: ${result.rejected} rejected: ${text.slice(0, 200)}`)
      } catch (e) {
        if (!signal.aborted) fail(`batch: ${e instanceof Error ? e.message : String(e)}`)
      }
    }
    const heartbeats = () =>
      Promise.all(collectors.map(async (c) => {
        try {
          const { status, text } = await post("/api/v1/collectors/heartbeat", c.apiKey, {
            uptime_seconds: 86_400,
            queue_depth: 0,
            cameras_online: c.cameras.length,
            config_version: "1",
            edge_version: "bench"
          })
          if (status !== 200) fail(`heartbeat: ${status} ${text.slice(0, 200)}`)
        } catch (e) {
          if (!signal.aborted) fail(`heartbeat: ${e instanceof Error ? e.message : String(e)}`)
        }
      }))

    const requestMs: Array<number> = []
    const questions = [
      (plate: string) => `/api/v1/detections?${new URLSearchParams({ plate, mode: "exact", reason_code: "audit", reason: "bench day" })}`,
      (plate: string) => `/api/v1/detections?${new URLSearchParams({ plate, mode: "ocr", reason_code: "audit", reason: "bench day" })}`,
      (plate: string) => `/api/v1/detections?${new URLSearchParams({ plate: plate.slice(2, 6), mode: "partial", reason_code: "audit", reason: "bench day" })}`,
      (plate: string) =>
        `/api/v1/plates/${encodeURIComponent(plate)}/timeline?${new URLSearchParams({
          from: new Date(dayStart).toISOString(),
          to: new Date(dayStart + DAY_MS).toISOString(),
          reason_code: "audit",
          reason: "bench day"
        })}`,
      () => "/api/v1/alerts"
    ]
    let asked = 0
    const ask = async () => {
      const path = questions[asked++ % questions.length]!(seen.length === 0 ? "ABC1234" : pick(seen))
      const start = performance.now()
      try {
        const response = await fetch(`${server.url}${path}`, {
          headers: { cookie: operatorCookie },
          signal: AbortSignal.any([AbortSignal.timeout(60_000), signal])
        })
        const text = await response.text()
        if (response.status !== 200) fail(`GET ${path}: ${response.status} ${text.slice(0, 200)}`)
        requestMs.push(performance.now() - start)
      } catch (e) {
        if (!signal.aborted) fail(`GET ${path}: ${e instanceof Error ? e.message : String(e)}`)
      }
    }

    const samples: Array<MemorySample> = []
    const heap: Array<{ readonly reads: number; readonly usedMb: number; readonly liveMb: number }> = []
    const sample = () => {
      samples.push({ reads: sentReads, ...memoryOf(server.pid) })
    }
    const heapNow = async () => {
      const reads = sentReads
      const figures = await server.snapshot()
      heap.push({ reads, usedMb: mibToMb(figures.heap_used_mb), liveMb: mibToMb(figures.heap_live_mb) })
    }
    sample()
    await heapNow()
    const before = samples[0]!
    progress(`before the day: RSS ${before.rssMb.toFixed(1)} MB, heap ${heap[0]!.usedMb.toFixed(1)} MB (${heap[0]!.liveMb.toFixed(1)} live)`)

    const sampler = setInterval(sample, 1_000)
    cleanups.push(async () => clearInterval(sampler))
    const inFlight = new Set<Promise<unknown>>()
    const track = (p: Promise<unknown>) => {
      inFlight.add(p)
      void p.finally(() => inFlight.delete(p))
    }
    const beatEvery = Math.max(1, Math.round(settings.reads / 288)) // each replayed 5 minutes
    const askEvery = settings.searchesPerHour === 0 ? Infinity : Math.max(1, Math.round(settings.reads / (24 * settings.searchesPerHour)))
    const twentieth = Math.ceil(settings.reads / 20)
    let nextBeat = 0
    let nextAsk = askEvery
    let nextHeap = twentieth
    let nextCollector = 0
    let behind = 0
    const started = performance.now()
    const cpuBefore = process.cpuUsage()
    while (sentReads < settings.reads && !signal.aborted) {
      const due = Math.min(settings.reads, Math.floor(((performance.now() - started) / 1000) * settings.rate))
      while (sentReads + settings.batch <= due || (due === settings.reads && sentReads < due)) {
        const count = Math.min(settings.batch, settings.reads - sentReads)
        if (inFlight.size >= 256) {
          behind++
          break
        }
        track(sendBatch(collectors[nextCollector++ % collectors.length]!, sentReads, count))
        sentReads += count
        if (sentReads >= nextBeat) {
          track(heartbeats())
          nextBeat += beatEvery
        }
        if (sentReads >= nextAsk) {
          track(ask())
          nextAsk += askEvery
        }
        if (sentReads >= nextHeap) {
          track(heapNow())
          nextHeap += twentieth
          progress(`  hour ${((24 * sentReads) / settings.reads).toFixed(1)}: ${sentReads.toLocaleString("en-US")} reads sent, ` +
            `RSS ${samples[samples.length - 1]!.rssMb.toFixed(1)} MB`)
        }
      }
      await sleep(10)
    }
    while (inFlight.size > 0) await Promise.all([...inFlight])
    const dayMs = performance.now() - started
    clearInterval(sampler)
    sample()
    await heapNow()
    if (signal.aborted) throw new Interrupted("interrupted")
    const end = samples[samples.length - 1]!
    const endHeap = heap[heap.length - 1]!
    progress(`the day replayed in ${(dayMs / 1000).toFixed(0)} s (${(sentReads / (dayMs / 1000)).toFixed(0)} reads/s); ` +
      `RSS ${end.rssMb.toFixed(1)} MB, heap ${endHeap.usedMb.toFixed(1)} MB (${endHeap.liveMb.toFixed(1)} live); ${settings.idleS} s of quiet`)

    // ---- Quiet, then memory again, and what was stored
    const waitUntil = performance.now() + settings.idleS * 1000
    while (performance.now() < waitUntil && !signal.aborted) await sleep(200)
    const quiet = memoryOf(server.pid)
    const quietFigures = await server.snapshot()
    const quietHeap = { usedMb: mibToMb(quietFigures.heap_used_mb), liveMb: mibToMb(quietFigures.heap_live_mb) }
    const { rows: [stored] } = await db.query<{ reads: string; distinct_ids: string }>(
      "SELECT count(*) AS reads, count(DISTINCT detection_id) AS distinct_ids FROM detections"
    )
    const { rows: [alerts] } = await db.query<{ n: string }>("SELECT count(*) AS n FROM alerts")
    if (Number(stored!.reads) !== sentReads || Number(stored!.distinct_ids) !== sentReads) {
      fail(`stored ${stored!.reads} reads (${stored!.distinct_ids} distinct) of ${sentReads} sent`)
    }
    if (accepted !== sentReads || duplicates !== 0) fail(`accepted ${accepted}, duplicates ${duplicates}, of ${sentReads} sent`)
    if (Number(alerts!.n) !== nextPlant) fail(`${alerts!.n} alerts for ${nextPlant} planted reads`)
    const watchedOnFeed = [...feedAlerts].filter((p) => p.startsWith("DAY")).length
    if (watchedOnFeed !== nextPlant) fail(`${watchedOnFeed} of ${nextPlant} alerts reached the live WebSocket`)
    if (behind > 0) progress(`  the replay fell behind its schedule ${behind} times (256 requests in flight)`)

    // ---- Figures
    const secondHalf = samples.filter((s) => s.reads >= settings.reads / 2).map((s) => [s.reads / 100_000, s.rssMb] as const)
    const liveSecondHalf = heap.filter((h) => h.reads >= settings.reads / 2).map((h) => [h.reads / 100_000, h.liveMb] as const)
    const start = samples.find((s) => s.reads >= twentieth) ?? before
    const startHeap = heap[1] ?? heap[0]!
    const peak = Math.max(quiet.hwmMb, ...samples.map((s) => s.hwmMb))
    const sortedMs = [...requestMs].sort((a, b) => a - b)
    const cpu = process.cpuUsage(cpuBefore)
    emit("day.reads", sentReads, "reads")
    emit("day.replay_rate", sentReads / (dayMs / 1000), "reads/s")
    emit("day.rss.before_mb", before.rssMb, "MB")
    emit("day.rss.start_mb", start.rssMb, "MB")
    emit("day.rss.end_mb", end.rssMb, "MB")
    emit("day.rss.after_quiet_mb", quiet.rssMb, "MB")
    emit("day.rss.peak_mb", peak, "MB")
    emit("day.rss_anon.end_mb", end.anonMb, "MB")
    emit("day.rss.second_half_slope_mb_per_100k_reads", slope(secondHalf), "MB")
    emit("day.heap_used.start_mb", startHeap.usedMb, "MB")
    emit("day.heap_used.end_mb", endHeap.usedMb, "MB")
    emit("day.heap_used.after_quiet_mb", quietHeap.usedMb, "MB")
    emit("day.heap_live.before_mb", heap[0]!.liveMb, "MB")
    emit("day.heap_live.start_mb", startHeap.liveMb, "MB")
    emit("day.heap_live.end_mb", endHeap.liveMb, "MB")
    emit("day.heap_live.after_quiet_mb", quietHeap.liveMb, "MB")
    emit("day.heap_live.second_half_slope_mb_per_100k_reads", slope(liveSecondHalf), "MB")
    emit("day.alerts", Number(alerts!.n), "alerts")
    emit("day.feed_reads", feedReads, "messages")
    emit("day.operator_requests", requestMs.length, "requests")
    emit("day.operator_request.p95_ms", quantile(sortedMs, 0.95), "ms")
    emit("day.bench_cpu_seconds", (cpu.user + cpu.system) / 1e6, "s")
    emit("day.failures", failures.length, "count")
    if (resyncs > 0) progress(`  the live feed asked for a resync ${resyncs} times`)
    progress(`RSS: before ${before.rssMb.toFixed(1)}, start ${start.rssMb.toFixed(1)}, end ${end.rssMb.toFixed(1)}, ` +
      `after ${settings.idleS} s quiet ${quiet.rssMb.toFixed(1)}, peak ${peak.toFixed(1)} MB; ` +
      `second half ${slope(secondHalf).toFixed(2)} MB per 100k reads; heap live after a full GC ${heap[0]!.liveMb.toFixed(1)} ` +
      `(before), ${startHeap.liveMb.toFixed(1)} (start), ${endHeap.liveMb.toFixed(1)} (end), ${quietHeap.liveMb.toFixed(1)} MB (after the quiet)`)

    const hour = (reads: number) => (24 * reads) / settings.reads
    await Fs.mkdir(Path.dirname(chart), { recursive: true })
    await Fs.writeFile(chart, lineChartsSvg(
      [{
        title: "Server memory through a replayed day",
        unit: "MB",
        legend: "title",
        series: [
          { name: "RSS", colour: "#1565c0", labels: "last", points: samples.map((s) => [hour(s.reads), s.rssMb] as const) },
          { name: "of it anonymous", colour: "#ef6c00", labels: "last", points: samples.map((s) => [hour(s.reads), s.anonMb] as const) },
          { name: "JS heap in use", colour: "#2e7d32", labels: "last", points: heap.map((h) => [hour(h.reads), h.usedMb] as const) },
          { name: "JS heap live", colour: "#6a1b9a", labels: "last", points: heap.map((h) => [hour(h.reads), h.liveMb] as const) }
        ]
      }],
      { label: "hour of the replayed day", log: false, ticks: [0, 6, 12, 18, 24].map((h) => [h, String(h)] as const) },
      `npm run bench -- day: ${settings.reads.toLocaleString("en-US")} reads at ${settings.rate}/s, ` +
        `${new Date().toISOString().slice(0, 10)}, ${Os.cpus().length} cores; after ${settings.idleS} s quiet: RSS ${quiet.rssMb.toFixed(0)} MB`,
      { width: 760, height: 260 }
    ))
    progress(`chart written to ${Path.relative(process.cwd(), chart)}`)
    if (failures.length > 0) throw new Error(`the day's work was not all done (${failures.length} failures; first: ${failures[0]})`)
  } finally {
    await scope.close()
  }
}
