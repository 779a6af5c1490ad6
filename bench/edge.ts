/**
 * Edge collector benchmark.
 *
 *   write  the durable buffer (edge/src/buffer/Buffer.ts) in this process, in a temporary directory
 *          on the machine's disk: reads/s and the latency of `add`, for one read per call with many
 *          concurrent callers (a push camera: one read per request, group commit applies) and for
 *          batches, each with and without a plate photo.
 *          Target: 10,000 reads/s, judged on one read per call without photos, which is what a
 *          camera listener does; the other three are reported alongside.
 *   drain  the state after an outage: the collector's buffer prefilled with --reads reads (written
 *          with makeBuffer into its directory, as the collector would have), then the real central
 *          server (bench/server.ts on a fresh PostgreSQL database) and a claimed collector process,
 *          started as systemd starts it in production (the node options, bundle and environment of
 *          deploy/edge/chaverim-edge.service, read by edge/test/ProductionLaunch.ts; --source runs
 *          `node --import tsx edge/src/main.ts run` instead), and reads/s are measured from the
 *          first accepted read to the last; every read must then be in the central database exactly
 *          once. Targets: 3,000 reads/s; the collector's peak RSS (VmHWM, its whole life) at most 80 MB.
 */
import type { Detection } from "@chaverim/domain/Detection"
import type { CameraRead } from "@chaverim/edge/adapters/CameraRead"
import { makeBuffer } from "@chaverim/edge/buffer/Buffer"
import { productionLaunch } from "../edge/test/ProductionLaunch"
import * as Effect from "effect/Effect"
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process"
import { randomBytes, randomInt } from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Readline from "node:readline"
import type pg from "pg"
import { Interrupted, numberOption, type OptionSpecs, parseArgs, UsageError } from "./lib/args"
import { coresBetween, cpuSnapshot, type CpuSnapshot, processCpuSeconds } from "./lib/cpu"
import { monotonicMicros, summariseProfile, type Window } from "./lib/cpuprofile"
import { mibToMb, processMemory } from "./lib/memory"
import { adminUrl, connect, freshDatabase } from "./lib/database"
import { emit, progress, quantile } from "./lib/report"
import { runScope } from "./lib/run"
import { freePort } from "../test-support/Net"
import { repoRoot, type ServerProcess, startServer, storeHistogram } from "./lib/server"

export const description = "the edge collector: buffer write rate, drain rate after an outage, collector memory"

/** The collector's command line, started with node directly so that its pid is the collector's. */
const EDGE_MAIN = "edge/src/main.ts"

const SCENARIOS = ["write", "drain"] as const
type Scenario = (typeof SCENARIOS)[number]

const DEFAULT_READS = 200_000
const DEFAULT_READS_WITH_PHOTOS = 20_000

export const options: OptionSpecs = {
  scenario: { description: "write | drain | all", default: "all" },
  seconds: { description: "measured duration of each buffer write case, in seconds", default: "5" },
  callers: { description: "concurrent callers adding one read each (write, one read per call)", default: "64" },
  batch: { description: "reads per add call (write, batches; 4 concurrent callers)", default: "50" },
  reads: { description: `reads to prefill and drain (default ${DEFAULT_READS}; ${DEFAULT_READS_WITH_PHOTOS} with --photos)` },
  photos: { description: "drain: a plate photo with every read", flag: true },
  "photo-bytes": { description: "size of each plate photo", default: "20480" },
  concurrency: { description: "drain: the collector's upload concurrency (upload.concurrency, 1..8)", default: "4" },
  source: { description: "drain: run the collector from source (node --import tsx) instead of the production bundle", flag: true },
  "max-events": { description: "drain: the collector's upload batch size (upload.max_events, 1..100)", default: "50" },
  trace: { description: "drain: time the server's spans and print where a batch's time goes", flag: true },
  profile: { description: "drain: write V8 CPU profiles of the collector and the server into this directory, and summarise them" },
  keep: { description: "keep the directories and the database afterwards, for inspection", flag: true }
}

const TARGET_WRITE = 10_000
const TARGET_DRAIN = 3_000
const TARGET_RSS_MB = 80

// ---------------------------------------------------------------------------------------------
// Reads as the collector stores them

const LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
const DIGITS = "0123456789"
const pick = <A>(items: ReadonlyArray<A>): A => items[randomInt(items.length)]!
const chars = (alphabet: string, n: number) => Array.from({ length: n }, () => alphabet[randomInt(alphabet.length)]).join("")
const randomPlate = () =>
  pick([
    () => chars(LETTERS, 3) + chars(DIGITS, 4),
    () => chars("123456789", 1) + chars(LETTERS, 3) + chars(DIGITS, 3),
    () => `${chars(LETTERS, 3)}-${chars(DIGITS, 4)}`
  ])()
/** Vehicles seen again and again next to ones seen once. */
const REGULARS: ReadonlyArray<string> = Array.from({ length: 2_000 }, randomPlate)
const COLORS = ["white", "black", "silver", "grey", "blue", "red"]
const TYPES = ["car", "suv", "truck", "van"]
const MAKES = ["Toyota", "Honda", "Ford", "Chevrolet", "Nissan", "Hyundai", "Subaru", "Tesla"]

interface Camera {
  readonly id: string
  readonly mac: string
  readonly name: string
  readonly lat: number
  readonly lon: number
}

/** One site's cameras, as one collector sees them. */
const CAMERAS: ReadonlyArray<Camera> = Array.from({ length: 12 }, (_, i) => ({
  id: `cam-${i + 1}`,
  mac: `02:00:00:00:00:${(i + 1).toString(16).padStart(2, "0")}`.toUpperCase(),
  name: `${pick(["Main St", "Route 59", "Maple Ave", "College Rd"])} ${pick(["northbound", "southbound"])}`,
  lat: 41.1 + Math.random() * 0.01,
  lon: -74.05 + Math.random() * 0.01
}))

/** A JPEG-shaped payload (SOI ... EOI) of the given size, with noise in between. */
const fakeJpeg = (size: number): Uint8Array => {
  const bytes = new Uint8Array(randomBytes(size))
  bytes.set([0xff, 0xd8, 0xff, 0xe0], 0)
  bytes.set([0xff, 0xd9], size - 2)
  return bytes
}

const makeReads = (prefix: string, photoBytes: number | undefined) => {
  const photos = photoBytes === undefined ? [] : Array.from({ length: 16 }, () => fakeJpeg(photoBytes))
  let seq = 0
  return {
    /** The read with detection id `<prefix><n>`, taken at `at` (ms). */
    next: (at: number = Date.now()): CameraRead => {
      const camera = pick(CAMERAS)
      const detection: Detection = {
        detection_id: `${prefix}${++seq}`,
        timestamp: new Date(at).toISOString(),
        camera: { id: camera.id, mac: camera.mac, name: camera.name },
        plate: { text: Math.random() < 0.7 ? pick(REGULARS) : randomPlate(), confidence: 0.6 + Math.random() * 0.39 },
        vehicle: { direction: pick(["in", "out"]), type: pick(TYPES), color: pick(COLORS), make: pick(MAKES) },
        location: { lat: camera.lat, lon: camera.lon }
      }
      return {
        detection,
        images: photos.length === 0 ? [] : [{ kind: "plate", contentType: "image/jpeg", bytes: pick(photos) }]
      }
    },
    get count() {
      return seq
    }
  }
}

type ReadBuffer = Effect.Effect.Success<ReturnType<typeof makeBuffer>>

/** Runs `use` with a buffer on `dir`, closed afterwards. */
const withBuffer = <A>(dir: string, quotaBytes: number, use: (buffer: ReadBuffer) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeBuffer({ dir, retentionDays: 7, quotaBytes }), use)))

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)))

// ---------------------------------------------------------------------------------------------
// write: the buffer in this process

interface WriteCase {
  readonly name: string
  readonly label: string
  readonly perCall: number
  readonly callers: number
  readonly photo: boolean
}

const WARMUP_MS = 1_000

const writeCase = async (
  c: WriteCase,
  settings: { readonly measureMs: number; readonly photoBytes: number; readonly keep: boolean },
  stop: AbortSignal
) => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "alpr-bench-buffer-"))
  const reads = makeReads(`w-${c.name}-`, c.photo ? settings.photoBytes : undefined)
  const latencies: Array<number> = []
  let measured = 0
  let calls = 0
  const t0 = performance.now()
  const measureStart = t0 + WARMUP_MS
  const end = measureStart + settings.measureMs
  progress(`write ${c.label}: ${c.callers} callers x ${c.perCall} read(s) per add${c.photo ? `, ${settings.photoBytes} B photo each` : ""}`)
  const ticker = setInterval(() => {
    const t = performance.now()
    if (t > measureStart) progress(`  ${c.name}: ${measured} reads in ${((t - measureStart) / 1000).toFixed(1)} s`)
  }, 2_000)
  let lastEnd = measureStart
  try {
    await withBuffer(dir, 1e12, (buffer) => {
      const caller = Effect.gen(function*() {
        for (;;) {
          const started = performance.now()
          if (started >= end || stop.aborted) return
          const batch = Array.from({ length: c.perCall }, () => reads.next())
          yield* buffer.add(batch)
          const done = performance.now()
          if (started >= measureStart) {
            measured += batch.length
            calls++
            latencies.push(done - started)
            lastEnd = Math.max(lastEnd, done)
          }
        }
      })
      return Effect.all(Array.from({ length: c.callers }, () => caller), { concurrency: "unbounded", discard: true })
    })
  } finally {
    clearInterval(ticker)
    if (settings.keep) progress(`  kept ${dir}`)
    else Fs.rmSync(dir, { recursive: true, force: true })
  }
  if (stop.aborted) throw new Interrupted("interrupted")
  const seconds = (lastEnd - measureStart) / 1000
  const rate = measured / seconds
  latencies.sort((a, b) => a - b)
  progress(`  ${c.name}: ${measured} reads in ${calls} calls over ${seconds.toFixed(2)} s: ${rate.toFixed(0)} reads/s, ` +
    `add p50 ${quantile(latencies, 0.5).toFixed(2)} ms, p99 ${quantile(latencies, 0.99).toFixed(2)} ms`)
  emit(`edge.buffer.${c.name}.throughput`, rate, "reads/s")
  emit(`edge.buffer.${c.name}.add_p50_ms`, quantile(latencies, 0.5), "ms")
  emit(`edge.buffer.${c.name}.add_p99_ms`, quantile(latencies, 0.99), "ms")
  return rate
}

const runWrite = async (
  settings: { readonly measureMs: number; readonly photoBytes: number; readonly callers: number; readonly batch: number; readonly keep: boolean },
  stop: AbortSignal
) => {
  const fs = (() => {
    try {
      const mounts = Fs.readFileSync("/proc/mounts", "utf8").split("\n").map((l) => l.split(" "))
      const tmp = Fs.realpathSync(Os.tmpdir())
      const mount = mounts.filter((m) => m[1] !== undefined && (tmp === m[1] || tmp.startsWith(`${m[1] === "/" ? "" : m[1]}/`)))
        .sort((a, b) => b[1]!.length - a[1]!.length)[0]
      return mount ? `${mount[2]} on ${mount[0]}` : "unknown"
    } catch {
      return "unknown"
    }
  })()
  progress(`buffer write test in ${Os.tmpdir()} (${fs}); SQLite WAL, synchronous=FULL; photos fsynced with their directory`)
  const cases: ReadonlyArray<WriteCase> = [
    { name: "single", label: "one read per call (push camera)", perCall: 1, callers: settings.callers, photo: false },
    { name: "single_photo", label: "one read per call, with photo", perCall: 1, callers: settings.callers, photo: true },
    { name: "batch", label: `batches of ${settings.batch}`, perCall: settings.batch, callers: 4, photo: false },
    { name: "batch_photo", label: `batches of ${settings.batch}, with photos`, perCall: settings.batch, callers: 4, photo: true }
  ]
  const rates = new Map<string, number>()
  for (const c of cases) rates.set(c.name, await writeCase(c, settings, stop))
  const judged = rates.get("single")!
  progress(`buffer write target ${TARGET_WRITE} reads/s, judged on one read per call without photos: ` +
    `${judged.toFixed(0)} reads/s, ${judged >= TARGET_WRITE ? "met" : "MISSED"}`)
  emit("edge.buffer.meets_target", judged >= TARGET_WRITE ? 1 : 0, "bool")
}

// ---------------------------------------------------------------------------------------------
// drain: a claimed collector process after an outage


/** `edge claim`: the collector's id, once its API key is in its directory. */
const claimCollector = (env: Readonly<Record<string, string>>, code: string, centralUrl: string) =>
  new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", "tsx", EDGE_MAIN, "claim", code, "--central", centralUrl],
      { cwd: repoRoot, env: { ...process.env, ...env }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const line = stdout.trim().split("\n").reverse().find((l) => l.trim().startsWith("{"))
        const id = line === undefined ? undefined : (JSON.parse(line) as { collector_id?: unknown }).collector_id
        if (error || typeof id !== "string") {
          return reject(new Error(`edge claim failed: ${error?.message ?? "no collector id"}\n${stdout}${stderr}`))
        }
        resolve(id)
      }
    )
  })

interface CollectorProcess {
  readonly pid: number
  readonly child: ChildProcess
  /** Whether `stop` was called: an exit is then no surprise. */
  readonly stopping: () => boolean
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  readonly stop: (graceMs?: number) => Promise<void>
}

/**
 * `edge run`, its output passed through to our stderr: as the systemd unit starts it (its node
 * options, the bundle of `npm run edge:build` and its environment, the collector's directory and
 * a quieter log level aside), or from source.
 */
const startCollector = (
  env: Readonly<Record<string, string>>,
  nodeArgs: ReadonlyArray<string>,
  fromSource: boolean
): CollectorProcess => {
  const production = productionLaunch(repoRoot)
  const program = fromSource ? ["--import", "tsx", EDGE_MAIN, "run"] : [...production.nodeOptions, ...production.args]
  const child = spawn(process.execPath, [...nodeArgs, ...program], {
    cwd: repoRoot,
    env: { ...process.env, ...(fromSource ? {} : production.env), LOG_LEVEL: "Warning", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  for (const stream of [child.stdout!, child.stderr!]) {
    Readline.createInterface({ input: stream }).on("line", (line) => process.stderr.write(`[edge] ${line}\n`))
  }
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
  })
  // Never left running, orphaned, whatever happens to this process.
  const killOnExit = () => child.kill("SIGKILL")
  process.once("exit", killOnExit)
  void exited.then(() => process.off("exit", killOnExit))
  let stopping = false
  return {
    pid: child.pid!,
    child,
    stopping: () => stopping,
    stop: async (graceMs = 10_000) => {
      stopping = true
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs)
      await exited
      clearTimeout(timer)
    }
  }
}

interface DrainSettings {
  readonly reads: number
  readonly photoBytes: number | undefined
  readonly concurrency: number
  readonly maxEvents: number
  readonly trace: boolean
  readonly profileDir: string | undefined
  readonly fromSource: boolean
  readonly keep: boolean
}

/** The collector's status page: queue depth, quarantined reads; undefined when it does not answer. */
const collectorStatus = async (port: number) => {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/status`, { signal: AbortSignal.timeout(3_000) })
    return response.ok
      ? (await response.json()) as { queue_depth: number; buffer: { quarantined: number }; uploader: { _tag: string } }
      : undefined
  } catch {
    return undefined
  }
}

const runDrain = async (settings: DrainSettings, stop: AbortSignal, cleanups: Array<() => Promise<void>>) => {
  const { reads: total, keep } = settings
  const run = `d${randomBytes(3).toString("hex")}`
  const idPrefix = `${run}-`

  // 1. The outage: reads piled up in the collector's directory.
  const edgeDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "alpr-bench-edge-"))
  cleanups.push(async () => {
    if (keep) return progress(`kept collector directory ${edgeDir}`)
    Fs.rmSync(edgeDir, { recursive: true, force: true })
  })
  const quotaMb = Math.max(4096, Math.ceil((total * ((settings.photoBytes ?? 0) + 2048) * 2) / 1024 / 1024))
  const outageMs = 2 * 3600 * 1000
  const reads = makeReads(idPrefix, settings.photoBytes)
  progress(`prefilling ${edgeDir} with ${total} reads${settings.photoBytes ? ` with ${settings.photoBytes} B photos` : ""} ` +
    `taken over ${outageMs / 3600_000} hours`)
  const prefillStart = performance.now()
  let lastReport = prefillStart
  const started = Date.now() - outageMs
  await withBuffer(edgeDir, quotaMb * 1024 * 1024, (buffer) =>
    Effect.gen(function*() {
      while (reads.count < total && !stop.aborted) {
        const n = Math.min(1_000, total - reads.count)
        const batch = Array.from({ length: n }, () => reads.next(started + (outageMs * reads.count) / total))
        const { added } = yield* buffer.add(batch)
        if (added !== n) return yield* Effect.die(new Error(`prefill: ${n - added} of ${n} reads not added`))
        if (performance.now() - lastReport > 5_000) {
          lastReport = performance.now()
          progress(`  prefilled ${reads.count} of ${total}`)
        }
      }
      const stats = yield* buffer.stats
      progress(`  prefilled ${stats.pending} reads in ${((performance.now() - prefillStart) / 1000).toFixed(1)} s, ` +
        `${(stats.usedBytes / 1024 / 1024).toFixed(0)} MiB on disk`)
    }))
  if (stop.aborted) throw new Interrupted("interrupted")

  // 2. The central server comes back: a fresh database, the server, the collector claimed.
  const admin = adminUrl()
  const database = await freshDatabase(admin)
  progress(`database ${database.name} on ${new URL(admin).host}`)
  cleanups.push(async () => {
    if (keep) return progress(`kept database ${database.url}`)
    await database.drop()
    progress(`dropped database ${database.name}`)
  })
  const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "alpr-bench-data-"))
  cleanups.push(async () => {
    if (keep) return progress(`kept image directory ${dataDir}`)
    Fs.rmSync(dataDir, { recursive: true, force: true })
  })
  progress("starting the central server (bench/server.ts)")
  const nodeArgs = settings.profileDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", settings.profileDir]
  const server: ServerProcess = await startServer({
    databaseUrl: database.url,
    dataDir,
    collectors: 1,
    trace: settings.trace,
    nodeArgs
  })
  cleanups.push(async () => {
    await server.stop()
    progress("server stopped")
  })
  const db: pg.Client = await connect(database.url)
  cleanups.push(() => db.end())
  if (stop.aborted) throw new Interrupted("interrupted")

  const port = await freePort()
  const machineIdFile = Path.join(edgeDir, "machine-id")
  Fs.writeFileSync(machineIdFile, randomBytes(16).toString("hex"))
  Fs.writeFileSync(Path.join(edgeDir, "config.yaml"), JSON.stringify({
    listen: { host: "127.0.0.1", port },
    upload: { concurrency: settings.concurrency, max_events: settings.maxEvents },
    quota_mb: quotaMb
  }))
  // The benchmark's central server is plain http on loopback: marked as a trusted local network.
  const env = { EDGE_DIR: edgeDir, EDGE_MACHINE_ID_FILE: machineIdFile, EDGE_ALLOW_HTTP_CENTRAL: "1" }
  const collectorId = await claimCollector(env, server.claimCodes[0]!, server.url)
  progress(`server ${server.url} (pid ${server.pid}); collector ${collectorId} claimed; ` +
    `upload concurrency ${settings.concurrency}, batches of up to ${settings.maxEvents}`)
  if (stop.aborted) throw new Interrupted("interrupted")

  // 3. The collector starts and drains its buffer.
  if (!settings.fromSource) {
    progress("building the production bundle (npm run edge:build)")
    execFileSync(process.execPath, ["edge/scripts/build.mjs"], { cwd: repoRoot, stdio: "inherit" })
  }
  const spawnedAt = performance.now()
  const collector = startCollector(env, nodeArgs, settings.fromSource)
  cleanups.push(async () => {
    await collector.stop()
    progress("collector stopped")
  })
  progress(`collector started (pid ${collector.pid})`)
  let peakSampledRss = 0
  const rssTimer = setInterval(() => {
    const rss = processMemory(collector.pid).rssMiB
    if (rss > peakSampledRss) peakSampledRss = rss
  }, 200)
  cleanups.push(async () => clearInterval(rssTimer))
  let exitedEarly = false
  collector.child.once("exit", (code, signal) => {
    if (collector.stopping()) return
    exitedEarly = true
    progress(`collector exited (code ${code}, signal ${signal})`)
  })

  const postgresPidsNow = async () =>
    (await db.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR datname IS NULL"
    )).rows.map((r) => r.pid)
  // Rows by their identity: cheap to ask every 200 ms, where count(*) would load PostgreSQL itself.
  // Identities skip on conflicts, so the last steps are confirmed with count(*).
  const highestId = async () =>
    Number((await db.query<{ max: string | null }>("SELECT max(id) AS max FROM detections")).rows[0]!.max ?? 0)
  const countRows = async () => Number((await db.query<{ n: string }>("SELECT count(*) AS n FROM detections")).rows[0]!.n)

  let firstSeenAt: number | undefined
  let cpuStart: { snapshot: CpuSnapshot; collector: number; pids: Array<number>; micros: number } | undefined
  let histogramStart: { sum: number; count: number } | undefined
  let serverReset: Promise<unknown> = Promise.resolve()
  let lastProgress = performance.now()
  let lastProgressRows = 0
  let lastGrowth = performance.now()
  let lastHighest = 0
  let rows = 0
  for (;;) {
    if (stop.aborted) throw new Interrupted("interrupted")
    if (exitedEarly) throw new Error("the collector exited before its buffer was drained")
    await sleep(200)
    const highest = await highestId()
    const now = performance.now()
    if (highest > lastHighest) {
      lastHighest = highest
      lastGrowth = now
    } else if (now - lastGrowth > 120_000) {
      throw new Error(`no read arrived for 120 s; ${rows || highest} of ${total} stored`)
    }
    if (highest > 0 && firstSeenAt === undefined) {
      firstSeenAt = now
      const pids = await postgresPidsNow()
      cpuStart = {
        snapshot: cpuSnapshot(server.pid, pids),
        collector: processCpuSeconds(collector.pid),
        pids,
        micros: monotonicMicros()
      }
      histogramStart = await storeHistogram(server.url)
      serverReset = server.snapshot().catch(() => undefined)
      progress(`  first reads accepted ${((now - spawnedAt) / 1000).toFixed(1)} s after the collector was started`)
    }
    rows = highest >= total ? await countRows() : highest
    if (rows >= total) break
    if (now - lastProgress >= 5_000) {
      const status = await collectorStatus(port)
      const mem = processMemory(collector.pid)
      progress(`  ${rows} of ${total} stored, ${((rows - lastProgressRows) / ((now - lastProgress) / 1000)).toFixed(0)} reads/s; ` +
        `collector queue ${status?.queue_depth ?? "?"} (${status?.uploader._tag ?? "no answer"}), ` +
        `RSS ${mem.rssMiB.toFixed(0)} MiB (${mem.anonMiB.toFixed(0)} anonymous)`)
      lastProgress = now
      lastProgressRows = rows
    }
  }
  const doneAt = performance.now()
  const window: Window = { from: cpuStart!.micros, to: monotonicMicros() }
  const pidsEnd = await postgresPidsNow()
  const cpuEnd = cpuSnapshot(server.pid, new Set([...cpuStart!.pids, ...pidsEnd]))
  const collectorCpuEnd = processCpuSeconds(collector.pid)
  const memory = processMemory(collector.pid)
  await serverReset
  const serverFigures = await server.snapshot().catch(() => undefined)
  const histogramEnd = await storeHistogram(server.url)
  clearInterval(rssTimer)
  // Settled: the collector has marked its last batch uploaded.
  let status = await collectorStatus(port)
  for (let i = 0; i < 25 && status !== undefined && status.queue_depth > 0; i++) {
    await sleep(200)
    status = await collectorStatus(port)
  }

  // First to last accepted, on the database's clock: received_at is each batch's transaction time.
  const { rows: [span] } = await db.query<{ seconds: number; last_batch: string; batches: string }>(
    `SELECT extract(epoch FROM max(received_at) - min(received_at))::float8 AS seconds,
            count(*) FILTER (WHERE received_at = (SELECT max(received_at) FROM detections)) AS last_batch,
            count(DISTINCT received_at) AS batches
       FROM detections`
  )
  const { rows: [check] } = await db.query<{ rows: string; ids: string; ours: string; images: string }>(
    `SELECT count(*) AS rows,
            count(DISTINCT detection_id) AS ids,
            count(*) FILTER (WHERE collector_id = $1 AND detection_id LIKE $2) AS ours,
            (SELECT count(*) FROM detection_images) AS images
       FROM detections`,
    [collectorId, `${idPrefix}%`]
  )
  const stored = Number(check!.rows)
  const checks = [
    [stored === total, `${stored} rows in the central database, expected ${total}`],
    [Number(check!.ids) === stored, `${stored} rows but ${check!.ids} distinct detection ids`],
    [Number(check!.ours) === total, `${check!.ours} rows of this collector's reads, expected ${total}`],
    [settings.photoBytes === undefined || Number(check!.images) === total, `${check!.images} images, expected ${total}`],
    [status !== undefined && status.queue_depth === 0, `collector queue depth ${status?.queue_depth ?? "unknown"} at the end`],
    [status !== undefined && status.buffer.quarantined === 0, `${status?.buffer.quarantined ?? "?"} reads quarantined`]
  ] as const
  const failures = checks.filter(([good]) => !good).map(([, why]) => why)
  for (const why of failures) progress(`  VERIFY FAILED: ${why}`)

  const spanSeconds = span!.seconds
  const rate = spanSeconds > 0 ? (total - Number(span!.last_batch)) / spanSeconds : Number.NaN
  const wallSeconds = (doneAt - firstSeenAt!) / 1000
  const batches = Number(span!.batches)
  progress(`  drained ${total} reads: ${spanSeconds.toFixed(2)} s from first to last accepted ` +
    `(${wallSeconds.toFixed(1)} s by polling), ${rate.toFixed(0)} reads/s in ${batches} batches ` +
    `(${(total / batches).toFixed(1)} reads each); target ${TARGET_DRAIN} reads/s ` +
    (settings.photoBytes === undefined ? (rate >= TARGET_DRAIN ? "met" : "MISSED") : "(set for reads without photos)"))
  progress(`  collector peak RSS ${memory.hwmMiB.toFixed(1)} MiB (VmHWM, whole life), ${peakSampledRss.toFixed(1)} MiB sampled; ` +
    `target ${TARGET_RSS_MB} MB ${mibToMb(memory.hwmMiB) <= TARGET_RSS_MB ? "met" : "MISSED"}`)

  const prefix = settings.photoBytes === undefined ? "edge.drain" : "edge.drain_photos"
  emit(`${prefix}.throughput`, rate, "reads/s")
  emit(`${prefix}.seconds`, spanSeconds, "s")
  emit(`${prefix}.startup_seconds`, (firstSeenAt! - spawnedAt) / 1000, "s")
  emit(`${prefix}.reads`, total, "count")
  emit(`${prefix}.mean_batch`, total / batches, "reads")
  emit(`${prefix}.verified`, failures.length === 0 ? 1 : 0, "bool")
  if (settings.photoBytes === undefined) emit(`${prefix}.meets_target`, rate >= TARGET_DRAIN ? 1 : 0, "bool")
  // MB as in the target (10^6 bytes); /proc reports KiB.
  emit("edge.collector.peak_rss_mb", mibToMb(memory.hwmMiB), "MB")
  emit("edge.collector.peak_rss_sampled_mb", mibToMb(peakSampledRss), "MB")
  emit("edge.collector.meets_rss_target", mibToMb(memory.hwmMiB) <= TARGET_RSS_MB ? 1 : 0, "bool")
  if (histogramStart && histogramEnd && histogramEnd.count > histogramStart.count) {
    emit(`${prefix}.server_store_mean_ms`,
      ((histogramEnd.sum - histogramStart.sum) / (histogramEnd.count - histogramStart.count)) * 1000, "ms")
  }
  if (cpuStart) {
    const cores = coresBetween(cpuStart.snapshot, cpuEnd)
    const collectorCores = (collectorCpuEnd - cpuStart.collector) / ((cpuEnd.at - cpuStart.snapshot.at) / 1000)
    emit(`${prefix}.cpu.collector`, collectorCores, "cores")
    emit(`${prefix}.cpu.server`, cores.server, "cores")
    emit(`${prefix}.cpu.postgres`, cores.postgres, "cores")
    emit(`${prefix}.cpu.bench`, cores.bench, "cores")
    emit(`${prefix}.cpu.other`, cores.other - collectorCores, "cores")
    progress(`  machine busy ${cores.machine.toFixed(2)} of ${Os.cpus().length} cores`)
  }
  if (serverFigures) {
    emit(`${prefix}.server_event_loop_utilization`, serverFigures.event_loop_utilization, "ratio")
    const spans = Object.entries(serverFigures.spans).sort((a, b) => b[1].total_ms - a[1].total_ms).slice(0, 20)
    if (spans.length > 0) {
      progress(`  server spans (ms; per batch = total / ${batches} batches)\n` +
        `      count      mean       p99  self mean  per batch  span\n` +
        spans.map(([name, f]) =>
          `    ${String(f.count).padStart(7)} ${f.mean_ms.toFixed(2).padStart(9)} ${f.p99_ms.toFixed(2).padStart(9)} ` +
          `${f.self_mean_ms.toFixed(2).padStart(10)} ${(f.total_ms / batches).toFixed(2).padStart(10)}  ${name}`
        ).join("\n"))
    }
  }
  if (settings.profileDir !== undefined) {
    // Profiles are written when the processes exit.
    await collector.stop()
    await server.stop()
    await printProfile(settings.profileDir, "collector", collector.pid, window)
    await printProfile(settings.profileDir, "server", server.pid, window)
  }
}

/** Where a process's CPU went during the drain, from its --cpu-prof profile. */
const printProfile = async (dir: string, what: string, pid: number, window: Window) => {
  // The main thread's profile is CPU.<date>.<time>.<pid>.0.<seq>.cpuprofile (others are workers).
  const files = Fs.readdirSync(dir).filter((f) => f.includes(`.${pid}.0.`) && f.endsWith(".cpuprofile"))
  if (files.length === 0) return progress(`no CPU profile of the ${what} (pid ${pid}) in ${dir}`)
  const file = Path.join(dir, files.sort().at(-1)!)
  const { byKind, totalMs } = await summariseProfile(file, [window])
  const lines = byKind
    .filter(([, ms]) => ms >= totalMs * 0.005)
    .map(([kind, ms]) => `    ${ms.toFixed(0).padStart(8)} ms ${((100 * ms) / totalMs).toFixed(1).padStart(5)}%  ${kind}`)
  progress(`  ${what} CPU profile over the drain (${file})\n${lines.join("\n")}`)
}

// ---------------------------------------------------------------------------------------------

export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const values = parseArgs(argv, options)
  const scenarioArg = values.get("scenario")!
  const scenarios: ReadonlyArray<Scenario> = scenarioArg === "all"
    ? SCENARIOS
    : scenarioArg.split(",").map((s) => {
      if (!(SCENARIOS as ReadonlyArray<string>).includes(s)) {
        throw new UsageError(`--scenario must be one of ${SCENARIOS.join(", ")} or all (got "${s}")`)
      }
      return s as Scenario
    })
  const photos = values.has("photos")
  if (!values.has("reads")) values.set("reads", String(photos ? DEFAULT_READS_WITH_PHOTOS : DEFAULT_READS))
  const photoBytes = numberOption(values, "photo-bytes", { min: 4, integer: true })
  const keep = values.has("keep")
  const write = {
    measureMs: numberOption(values, "seconds", { min: 1 }) * 1000,
    callers: numberOption(values, "callers", { min: 1, integer: true }),
    batch: numberOption(values, "batch", { min: 1, integer: true }),
    photoBytes,
    keep
  }
  const concurrency = numberOption(values, "concurrency", { min: 1, integer: true })
  if (concurrency > 8) throw new UsageError("--concurrency must be at most 8 (the collector's limit)")
  const maxEvents = numberOption(values, "max-events", { min: 1, integer: true })
  if (maxEvents > 100) throw new UsageError("--max-events must be at most 100 (the server's limit)")
  const drain: DrainSettings = {
    reads: numberOption(values, "reads", { min: 1, integer: true }),
    photoBytes: photos ? photoBytes : undefined,
    concurrency,
    maxEvents,
    trace: values.has("trace"),
    profileDir: values.has("profile") ? Path.resolve(values.get("profile")!) : undefined,
    fromSource: values.has("source"),
    keep
  }

  const { cleanups, signal: stopSignal, close } = runScope()

  progress(`node ${process.version}, ${Os.cpus().length} CPUs, load average ${Os.loadavg().map((l) => l.toFixed(2)).join(" ")}`)
  try {
    if (scenarios.includes("write")) await runWrite(write, stopSignal)
    if (scenarios.includes("drain")) await runDrain(drain, stopSignal, cleanups)
  } finally {
    await close()
  }
}
