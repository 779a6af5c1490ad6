/**
 * Ingest benchmark: simulated collectors upload detection batches through the real HTTP batch API
 * (POST /api/v1/detections/batch) of a real server (bench/server.ts, a child process) backed by a
 * fresh PostgreSQL database.
 *
 * Scenarios:
 *   metadata  closed loop, JSON batches, as fast as the server answers
 *   images    closed loop, multipart batches with a plate photo (50 KB) and a scene photo (200 KB) per
 *             detection, into the server's filesystem store; after it the same photos are written
 *             straight to the same disk the way the store writes them (bench/lib/bareDisk.ts), to
 *             show whether photos are bound by the disk or by the server
 *   fixed     open loop at a fixed rate (default 1,000 detections/s), latency under a steady load
 *   single    closed loop, one read per request (the shape of `/api/plate-reads`, webhooks and direct
 *             integrations), at each of --single-concurrency requests in flight
 *
 * Each scenario warms up first (unrecorded), then measures; at the end rows in `detections` are
 * counted to check that every accepted detection was stored exactly once. After metadata and single
 * the same kind of rows are written straight into the same PostgreSQL through the same driver, at the
 * same batch size and concurrency (bench/lib/bare.ts): a multi-row INSERT and COPY per batch, and for
 * single a transaction per row. Those rates are the machine's limit our figure is measured against.
 */
import { MAX_BATCH_BYTES } from "@chaverim/domain/Detection"
import { randomBytes, randomInt, randomUUID } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import type pg from "pg"
import { Interrupted, numberOption, type OptionSpecs, parseArgs, UsageError } from "./lib/args"
import { coresBetween, cpuSnapshot, type CpuSnapshot } from "./lib/cpu"
import { monotonicMicros, summariseProfile, type Window } from "./lib/cpuprofile"
import { startBalancer } from "./lib/balancer"
import { claimCollector } from "./lib/collectors"
import { measureBareDisk } from "./lib/bareDisk"
import { type BareMethod, type BareRow, dropBareTable, measureBare, prepareBareTable } from "./lib/bare"
import { adminUrl, connect, freshDatabase } from "./lib/database"
import { emit, progress, quantile } from "./lib/report"
import { runScope } from "./lib/run"
import { type ServerProcess, type ServerSnapshot, startServer, storeHistogram } from "./lib/server"
import { spanTable } from "./lib/spanStats"

export const description = "detections through the HTTP batch API (scenarios: metadata, images, fixed, single)"

const SCENARIOS = ["metadata", "images", "fixed", "single"] as const
type Scenario = (typeof SCENARIOS)[number]

export const options: OptionSpecs = {
  scenario: { description: "metadata | images | fixed | single | all, or several joined by commas", default: "all" },
  seconds: { description: "measured duration of each scenario, in seconds", default: "20" },
  warmup: { description: "unrecorded warm-up before each scenario, in seconds", default: "3" },
  collectors: { description: "simulated collectors, each with its own API key", default: "4" },
  concurrency: { description: "requests in flight per collector (closed-loop scenarios)", default: "2" },
  batch: { description: "detections per batch", default: "50" },
  rate: { description: "detections per second in the fixed scenario", default: "1000" },
  "image-bytes": { description: "size of each plate photo in the images scenario", default: "51200" },
  "scene-bytes": { description: "size of each scene photo in the images scenario (0: none)", default: "204800" },
  cameras: { description: "cameras per collector", default: "20" },
  "single-concurrency": { description: "requests in flight in the single scenario, one measurement each", default: "1,8" },
  servers: {
    description: "server processes on the one database, behind a round-robin TCP balancer when more than one " +
      "(span, event-loop and store-time figures are the first server's; CPU is all of theirs)",
    default: "1"
  },
  "bare-seconds": { description: "duration of each bare INSERT/COPY/transaction comparison (0: none)", default: "10" },
  profile: { description: "write a V8 CPU profile of the server process into this directory, and summarise it" },
  trace: { description: "time the server's spans (HTTP, auth, store, each SQL statement) and print them", flag: true },
  "keep-db": { description: "keep the database (and image directory) afterwards, for inspection", flag: true },
  "reuse-db": { description: "ingest into this existing database (a search data set kept with --keep, say) instead of a fresh one; it is left in place" }
}

// ---------------------------------------------------------------------------------------------
// Realistic detections

const LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ" // no I, O, Q: like most issuing authorities
const DIGITS = "0123456789"
const pick = <A>(items: ReadonlyArray<A>): A => items[randomInt(items.length)]!
const chars = (alphabet: string, n: number) => Array.from({ length: n }, () => alphabet[randomInt(alphabet.length)]).join("")

/** Plate formats as cameras report them: New York, California, UK, New Jersey with a dash, spaced. */
const PLATE_FORMATS: ReadonlyArray<() => string> = [
  () => chars(LETTERS, 3) + chars(DIGITS, 4), // ABC1234
  () => chars("123456789", 1) + chars(LETTERS, 3) + chars(DIGITS, 3), // 7ABC123
  () => chars(LETTERS, 2) + chars(DIGITS, 2) + chars(LETTERS, 3), // AB12CDE
  () => `${chars(LETTERS, 3)}-${chars(DIGITS, 4)}`, // ABC-1234
  () => `${chars(LETTERS, 1)}${chars(DIGITS, 2)} ${chars(LETTERS, 3)}` // A12 BCD
]
const randomPlate = () => pick(PLATE_FORMATS)()

/** Vehicles seen again and again (residents, commuters) next to ones seen once. */
const REGULARS: ReadonlyArray<string> = Array.from({ length: 5_000 }, randomPlate)

const COLORS = ["white", "black", "silver", "grey", "blue", "red", "green", "brown"]
const TYPES = ["car", "suv", "truck", "van", "motorcycle"]
const MAKES = ["Toyota", "Honda", "Ford", "Chevrolet", "Nissan", "Hyundai", "Subaru", "Tesla", "BMW", "Kia"]
const STREETS = ["Main St", "Route 59", "College Rd", "Maple Ave", "Grandview Ave", "Spook Rock Rd", "Route 45"]

interface Camera {
  readonly id: string
  /** its row's id, for the bare comparison (which has no cameras table) */
  readonly uuid: string
  readonly mac: string
  readonly name: string
  readonly lat: number
  readonly lon: number
}

interface SimCollector {
  readonly index: number
  readonly collectorId: string
  readonly apiKey: string
  readonly cameras: ReadonlyArray<Camera>
  seq: number
}

const makeCameras = (collector: number, count: number): Array<Camera> => {
  const siteLat = 41.05 + Math.random() * 0.2
  const siteLon = -74.15 + Math.random() * 0.2
  return Array.from({ length: count }, (_, i) => ({
    id: `cam-${collector}-${i + 1}`,
    uuid: randomUUID(),
    mac: Array.from({ length: 6 }, (_, b) => (b === 0 ? 0x02 : randomInt(256)).toString(16).padStart(2, "0"))
      .join(":").toUpperCase(),
    name: `${pick(STREETS)} ${pick(["northbound", "southbound", "eastbound", "westbound"])}`,
    lat: siteLat + (Math.random() - 0.5) * 0.01,
    lon: siteLon + (Math.random() - 0.5) * 0.01
  }))
}

/** Unique across the run: `<run>-<measurement>-<phase>-c<collector>-<seq>`. */
const detectionIdPrefix = (run: string, label: string, phase: "w" | "m") => `${run}-${label}-${phase}-`

const makeBatch = (collector: SimCollector, size: number, idPrefix: string) => {
  const now = Date.now()
  return Array.from({ length: size }, () => {
    const camera = pick(collector.cameras)
    return {
      detection_id: `${idPrefix}c${collector.index}-${++collector.seq}`,
      // A read is uploaded a little after it happened.
      timestamp: new Date(now - randomInt(3_000)).toISOString(),
      camera: { id: camera.id, mac: camera.mac, name: camera.name },
      plate: { text: Math.random() < 0.7 ? pick(REGULARS) : randomPlate(), confidence: 0.6 + Math.random() * 0.39 },
      vehicle: {
        direction: pick(["in", "out"]),
        type: pick(TYPES),
        color: pick(COLORS),
        make: pick(MAKES)
      },
      location: { lat: camera.lat, lon: camera.lon }
    }
  })
}

/** A JPEG-shaped payload (SOI ... EOI) of the given size, with noise in between. */
const fakeJpeg = (size: number): Uint8Array => {
  const bytes = new Uint8Array(randomBytes(size))
  bytes.set([0xff, 0xd8, 0xff, 0xe0], 0)
  bytes.set([0xff, 0xd9], size - 2)
  return bytes
}

// ---------------------------------------------------------------------------------------------
// Sending batches

interface Sample {
  readonly start: number
  readonly end: number
  readonly latencyMs: number
  readonly status: number
  readonly sent: number
  readonly accepted: number
  readonly duplicates: number
  readonly rejected: number
  readonly backpressure: number
  readonly error?: string
}

interface Target {
  readonly url: string
  /** the photos a read carries (images scenario), each kind a few different files to pick from */
  readonly photos: { readonly plate: ReadonlyArray<Blob>; readonly scene: ReadonlyArray<Blob> } | undefined
  /** Aborted when the benchmark is interrupted: no new requests, in-flight ones cancelled. */
  readonly stop: AbortSignal
}

const send = async (
  target: Target,
  collector: SimCollector,
  events: ReadonlyArray<{ readonly detection_id: string }>,
  /** When the request was meant to start (open loop); latency counts from here. */
  scheduled?: number
): Promise<Sample> => {
  let body: string | FormData
  const headers: Record<string, string> = { authorization: `Bearer ${collector.apiKey}` }
  const batchJson = JSON.stringify({ events })
  if (target.photos) {
    const form = new FormData()
    form.append("batch", batchJson)
    for (const event of events) {
      form.append(`plate:${event.detection_id}`, pick(target.photos.plate), "plate.jpg")
      if (target.photos.scene.length > 0) form.append(`scene:${event.detection_id}`, pick(target.photos.scene), "scene.jpg")
    }
    body = form
  } else {
    body = batchJson
    headers["content-type"] = "application/json"
  }
  const start = scheduled ?? performance.now()
  const base = { start, sent: events.length }
  try {
    const response = await fetch(`${target.url}/api/v1/detections/batch`, {
      method: "POST",
      headers,
      body,
      signal: AbortSignal.any([AbortSignal.timeout(60_000), target.stop])
    })
    const text = await response.text()
    const end = performance.now()
    const backpressure = Number(response.headers.get("x-backpressure") ?? Number.NaN)
    let accepted = 0
    let duplicates = 0
    let rejected = 0
    let error: string | undefined
    if (response.status === 200) {
      const result = JSON.parse(text) as { accepted: number; duplicates: number; rejected: number }
      accepted = result.accepted
      duplicates = result.duplicates
      rejected = result.rejected
      if (rejected > 0) error = `rejected events: ${text.slice(0, 300)}`
    } else {
      error = `${response.status}: ${text.slice(0, 300)}`
    }
    return {
      ...base,
      end,
      latencyMs: end - start,
      status: response.status,
      accepted,
      duplicates,
      rejected,
      backpressure,
      ...(error === undefined ? {} : { error })
    }
  } catch (e) {
    const end = performance.now()
    return {
      ...base,
      end,
      latencyMs: end - start,
      status: 0,
      accepted: 0,
      duplicates: 0,
      rejected: 0,
      backpressure: Number.NaN,
      error: e instanceof Error ? `${e.name}: ${e.message}` : String(e)
    }
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)))

/** Closed loop: one request in flight per slot (a collector may have several), each sent when the last returns. */
const closedLoop = async (
  target: Target,
  slots: ReadonlyArray<SimCollector>,
  settings: { batch: number; warmupMs: number; measureMs: number; run: string; label: string },
  onMeasureStart: () => void
) => {
  const t0 = performance.now()
  const measureStart = t0 + settings.warmupMs
  const end = measureStart + settings.measureMs
  const samples: Array<Sample> = []
  let announced = false
  const worker = async (collector: SimCollector) => {
    for (;;) {
      const now = performance.now()
      if (now >= end || target.stop.aborted) return
      const measured = now >= measureStart
      if (measured && !announced) {
        announced = true
        onMeasureStart()
      }
      const events = makeBatch(
        collector,
        settings.batch,
        detectionIdPrefix(settings.run, settings.label, measured ? "m" : "w")
      )
      const sample = await send(target, collector, events)
      if (measured) samples.push(sample)
      if (sample.status !== 200) {
        if (sample.error) progress(`  batch answer ${sample.error}`)
        // Behave like a collector: back off a little rather than hammer a refusing server.
        await sleep(sample.status === 503 ? 200 : 50)
      }
    }
  }
  const ticker = setInterval(() => {
    const t = performance.now()
    const phase = t < measureStart ? "warm-up" : "measuring"
    const accepted = samples.reduce((n, s) => n + s.accepted, 0)
    progress(`  ${settings.label}: ${phase}, ${samples.length} batches measured, ${accepted} accepted`)
  }, 5_000)
  try {
    await Promise.all(slots.map(worker))
  } finally {
    clearInterval(ticker)
  }
  return { samples, measureStart }
}

/** Open loop: batches are sent on a fixed schedule, round-robin over collectors, whatever the answers. */
const openLoop = async (
  target: Target,
  collectors: ReadonlyArray<SimCollector>,
  settings: { rate: number; batch: number; warmupMs: number; measureMs: number; run: string; label: string },
  onMeasureStart: () => void
) => {
  const intervalMs = (1000 * settings.batch) / settings.rate
  const t0 = performance.now() + 10
  const measureStart = t0 + settings.warmupMs
  const total = Math.round((settings.warmupMs + settings.measureMs) / intervalMs)
  const samples: Array<Sample> = []
  const inFlight: Array<Promise<void>> = []
  let maxLagMs = 0
  let announced = false
  let concurrent = 0
  let maxConcurrent = 0
  for (let k = 0; k < total && !target.stop.aborted; k++) {
    const due = t0 + k * intervalMs
    const wait = due - performance.now()
    if (wait > 0) await sleep(wait)
    const measured = due >= measureStart
    if (measured && !announced) {
      announced = true
      onMeasureStart()
    }
    if (measured) maxLagMs = Math.max(maxLagMs, performance.now() - due)
    const collector = collectors[k % collectors.length]!
    const events = makeBatch(
      collector,
      settings.batch,
      detectionIdPrefix(settings.run, settings.label, measured ? "m" : "w")
    )
    concurrent++
    maxConcurrent = Math.max(maxConcurrent, concurrent)
    inFlight.push(send(target, collector, events, due).then((sample) => {
      concurrent--
      if (measured) samples.push(sample)
      if (sample.status !== 200 && sample.error) progress(`  batch answer ${sample.error}`)
    }))
    if (k > 0 && k % Math.round(5_000 / intervalMs) === 0) {
      progress(`  ${settings.label}: ${measured ? "measuring" : "warm-up"}, ${k}/${total} batches sent, ${concurrent} in flight`)
    }
  }
  await Promise.all(inFlight)
  progress(`  ${settings.label}: schedule lag max ${maxLagMs.toFixed(1)} ms, at most ${maxConcurrent} requests in flight`)
  return { samples, measureStart }
}

// ---------------------------------------------------------------------------------------------
// Server-side figures


// ---------------------------------------------------------------------------------------------
// Scenarios

interface Context {
  readonly url: string
  /** the server's DATA_DIR, where its filesystem store keeps photos */
  readonly dataDir: string
  readonly databaseUrl: string
  readonly stop: AbortSignal
  /** the first server: its span and event-loop figures are the ones printed */
  readonly server: ServerProcess
  /** every server's pid (--servers), for their CPU together */
  readonly serverPids: ReadonlyArray<number>
  readonly db: pg.Client
  readonly collectors: ReadonlyArray<SimCollector>
  readonly run: string
  readonly settings: {
    readonly warmupMs: number
    readonly measureMs: number
    readonly concurrency: number
    readonly batch: number
    readonly rate: number
    readonly imageBytes: number
    readonly sceneBytes: number
    readonly bareSeconds: number
  }
}

const METRIC_PREFIX: Record<Scenario, string> = {
  metadata: "ingest.metadata",
  images: "ingest.images",
  fixed: "ingest.fixed_rate",
  single: "ingest.single"
}

/**
 * One measured run of a scenario; the single scenario runs once per concurrency, its requests spread
 * over the collectors.
 */
const runScenario = async (ctx: Context, scenario: Scenario, singleConcurrency = 1) => {
  const settings = scenario === "single"
    ? { ...ctx.settings, batch: 1, concurrency: singleConcurrency }
    : scenario === "images"
    ? { ...ctx.settings, batch: Math.min(ctx.settings.batch, photoBatch(ctx.settings)) }
    : ctx.settings
  const label = scenario === "single" ? `single-c${singleConcurrency}` : scenario
  const prefix = scenario === "single" ? `${METRIC_PREFIX[scenario]}.c${singleConcurrency}` : METRIC_PREFIX[scenario]
  const slots = scenario === "single"
    ? Array.from({ length: singleConcurrency }, (_, i) => ctx.collectors[i % ctx.collectors.length]!)
    : ctx.collectors.flatMap((c) => Array.from({ length: settings.concurrency }, () => c))
  const target: Target = {
    url: ctx.url,
    stop: ctx.stop,
    photos: scenario === "images"
      ? {
        plate: Array.from({ length: 16 }, () => new Blob([fakeJpeg(settings.imageBytes)], { type: "image/jpeg" })),
        scene: settings.sceneBytes === 0 ? [] : Array.from({ length: 16 }, () => new Blob([fakeJpeg(settings.sceneBytes)], { type: "image/jpeg" }))
      }
      : undefined
  }
  progress(
    scenario === "fixed"
      ? `scenario fixed: ${settings.rate} detections/s open loop over ${ctx.collectors.length} collectors, ` +
        `${settings.warmupMs / 1000} s warm-up + ${settings.measureMs / 1000} s`
      : scenario === "single"
      ? `scenario single: one read per request, ${singleConcurrency} in flight over ${ctx.collectors.length} collectors, ` +
        `${settings.warmupMs / 1000} s warm-up + ${settings.measureMs / 1000} s`
      : `scenario ${scenario}: ${ctx.collectors.length} collectors x ${settings.concurrency} in flight, ` +
        `batches of ${settings.batch}${scenario === "images" ? ` with ${photoSizes(settings).join(" + ")} B photos a read` : ""}, ` +
        `${settings.warmupMs / 1000} s warm-up + ${settings.measureMs / 1000} s`
  )

  // PostgreSQL processes working for us: this database's backends and the cluster's own processes
  // (taken when measuring starts, once the server's pool has grown).
  const postgresPidsNow = async () =>
    (await ctx.db.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR datname IS NULL"
    )).rows.map((r) => r.pid)
  let postgresPids: Array<number> = []
  const load = () => Os.loadavg().map((l) => l.toFixed(2)).join(" ")
  progress(`  load average before: ${load()}`)
  let cpuStart: CpuSnapshot | undefined
  let histogramStart: Promise<{ sum: number; count: number } | undefined> = Promise.resolve(undefined)
  let windowStart = 0
  let serverReset: Promise<unknown> = Promise.resolve()
  let cpuStarted: Promise<void> = Promise.resolve()
  const onMeasureStart = () => {
    cpuStarted = postgresPidsNow().then((pids) => {
      postgresPids = pids
      cpuStart = cpuSnapshot(ctx.serverPids, postgresPids)
    })
    windowStart = monotonicMicros()
    histogramStart = storeHistogram(ctx.server.url)
    serverReset = ctx.server.snapshot().catch(() => undefined)
  }
  const { samples, measureStart } = scenario === "fixed"
    ? await openLoop(target, ctx.collectors, { ...settings, run: ctx.run, label }, onMeasureStart)
    : await closedLoop(target, slots, { ...settings, run: ctx.run, label }, onMeasureStart)
  if (ctx.stop.aborted) throw new Interrupted("interrupted")
  await cpuStarted
  const cpuEnd = cpuSnapshot(ctx.serverPids, postgresPids)
  const window: Window = { from: windowStart, to: monotonicMicros() }
  await serverReset
  const serverFigures = await ctx.server.snapshot().catch((e) => {
    progress(`  no snapshot from the server: ${String(e)}`)
    return undefined
  })
  const [h0, h1] = [await histogramStart, await storeHistogram(ctx.server.url)]

  const lastEnd = samples.reduce((t, s) => Math.max(t, s.end), measureStart)
  const windowSeconds = (lastEnd - measureStart) / 1000
  const ok = samples.filter((s) => s.status === 200)
  const accepted = samples.reduce((n, s) => n + s.accepted, 0)
  const duplicates = samples.reduce((n, s) => n + s.duplicates, 0)
  const rejected = samples.reduce((n, s) => n + s.rejected, 0)
  const sentOk = ok.reduce((n, s) => n + s.sent, 0)
  const latencies = samples.map((s) => s.latencyMs).sort((a, b) => a - b)
  const maxBackpressure = samples.reduce((m, s) => (Number.isNaN(s.backpressure) ? m : Math.max(m, s.backpressure)), 0)
  const non200 = samples.length - ok.length
  const throughput = windowSeconds > 0 ? accepted / windowSeconds : 0

  // Every accepted detection stored exactly once: rows of the measured phase == sum of accepted.
  const idPattern = `${detectionIdPrefix(ctx.run, label, "m")}%`
  const { rows } = await ctx.db.query<{ rows: string; distinct_ids: string; images: string }>(
    `SELECT count(*) AS rows,
            count(DISTINCT (collector_id, detection_id)) AS distinct_ids,
            (SELECT count(*) FROM detection_images i JOIN detections d ON d.id = i.detection_id
              WHERE d.detection_id LIKE $1) AS images
       FROM detections WHERE detection_id LIKE $1`,
    [idPattern]
  )
  const stored = Number(rows[0]!.rows)
  const distinct = Number(rows[0]!.distinct_ids)
  const images = Number(rows[0]!.images)
  const checks = [
    [stored === accepted, `rows stored ${stored} != accepted ${accepted}`],
    [distinct === stored, `rows ${stored} but only ${distinct} distinct detection ids`],
    [duplicates === 0 && rejected === 0 && accepted === sentOk,
      `of ${sentOk} detections in 200 answers, ${accepted} accepted, ${duplicates} duplicates, ${rejected} rejected`],
    [scenario !== "images" || images === stored * photoSizes(settings).length, `${stored} detections but ${images} photos`]
  ] as const
  const failures = checks.filter(([good]) => !good).map(([, why]) => why)
  const firstError = samples.find((s) => s.error !== undefined)?.error
  if (firstError !== undefined) progress(`  ${label}: first failed batch: ${firstError}`)
  for (const why of failures) progress(`  VERIFY FAILED (${label}): ${why}`)
  progress(
    `  ${label}: ${samples.length} batches in ${windowSeconds.toFixed(1)} s, ${accepted} accepted, ` +
      `${stored} rows${scenario === "images" ? `, ${images} images` : ""}, ${non200} non-200`
  )

  if (scenario === "fixed") {
    emit(`${prefix}.p50_ms`, quantile(latencies, 0.5), "ms")
    emit(`${prefix}.p99_ms`, quantile(latencies, 0.99), "ms")
    emit(`${prefix}.max_ms`, latencies.at(-1) ?? Number.NaN, "ms")
    emit(`${prefix}.achieved_rate`, throughput, "detections/s")
  } else {
    emit(`${prefix}.throughput`, throughput, "detections/s")
    emit(`${prefix}.p50_ms`, quantile(latencies, 0.5), "ms")
    emit(`${prefix}.p99_ms`, quantile(latencies, 0.99), "ms")
    if (scenario === "images") {
      const perRead = photoSizes(settings).reduce((n, b) => n + b, 0)
      emit(`${prefix}.image_throughput`, (stored * perRead) / 1024 / 1024 / windowSeconds, "MiB/s")
    }
  }
  emit(`${prefix}.batches`, samples.length, "count")
  emit(`${prefix}.max_backpressure`, maxBackpressure, "ratio")
  emit(`${prefix}.non_200`, non200, "count")
  emit(`${prefix}.verified`, failures.length === 0 ? 1 : 0, "bool")
  if (h0 && h1 && h1.count > h0.count) {
    // Server side, from admission to commit; the rest of a batch's latency is HTTP, parsing, auth, queueing.
    emit(`${prefix}.server_store_mean_ms`, ((h1.sum - h0.sum) / (h1.count - h0.count)) * 1000, "ms")
  }
  if (cpuStart) {
    const cores = coresBetween(cpuStart, cpuEnd)
    emit(`${prefix}.cpu.server`, cores.server, "cores")
    emit(`${prefix}.cpu.postgres`, cores.postgres, "cores")
    emit(`${prefix}.cpu.bench`, cores.bench, "cores")
    emit(`${prefix}.cpu.other`, cores.other, "cores")
    emit(`${prefix}.cpu.machine`, cores.machine, "cores")
    progress(`  load average after: ${load()}; machine busy ${cores.machine.toFixed(2)} of ${Os.cpus().length} cores`)
  }
  if (serverFigures) {
    emit(`${prefix}.server_event_loop_utilization`, serverFigures.event_loop_utilization, "ratio")
    emit(`${prefix}.server_event_loop_delay_p99_ms`, serverFigures.event_loop_delay_p99_ms, "ms")
    emit(`${prefix}.server_gc_share`, serverFigures.gc_ms / serverFigures.wall_ms, "ratio")
    printSpans(label, serverFigures, samples.length)
  }
  if (scenario === "images") await compareWithBareDisk(ctx, prefix, throughput, slots.length)
  if (scenario === "metadata" || scenario === "single") {
    await compareWithBare(ctx, prefix, throughput, {
      methods: scenario === "single" ? ["transaction", "insert"] : ["insert", "copy"],
      batch: settings.batch,
      concurrency: slots.length,
      collectors: ctx.collectors
    })
  }
  return { label, window }
}

/**
 * Reads a batch of the images scenario may hold: a batch is at most MAX_BATCH_BYTES in all (the
 * collector splits its uploads by it too), with room left for the JSON and the multipart framing.
 */
const photoBatch = (settings: { readonly imageBytes: number; readonly sceneBytes: number }) =>
  Math.max(1, Math.floor((MAX_BATCH_BYTES * 0.9) / photoSizes(settings).reduce((n, b) => n + b + 2_048, 0)))

/** The photo sizes each read of the images scenario carries: a plate photo, and a scene photo unless 0. */
const photoSizes = (settings: { readonly imageBytes: number; readonly sceneBytes: number }) =>
  settings.sceneBytes === 0 ? [settings.imageBytes] : [settings.imageBytes, settings.sceneBytes]

/**
 * Writes the same photos straight to the disk the server's store wrote them to, the way it writes
 * them, with as many reads in flight as the server could have had (batches in flight, 8 photos of a
 * batch at once): the disk's limit beside the server's photo rate.
 */
const compareWithBareDisk = async (ctx: Context, prefix: string, throughput: number, batchesInFlight: number) => {
  if (ctx.settings.bareSeconds <= 0) return
  const sizes = photoSizes(ctx.settings)
  const inFlight = batchesInFlight * 8
  progress(`  ${prefix}: bare disk, ${sizes.join(" + ")} B photos a read, written and synced, ${inFlight} reads in flight, ${ctx.settings.bareSeconds} s`)
  const before = Os.cpus().reduce((n, c) => n + c.times.idle, 0)
  const started = performance.now()
  const bare = await measureBareDisk(Path.join(ctx.dataDir, "bare-disk"), {
    photoBytes: sizes,
    inFlight,
    seconds: ctx.settings.bareSeconds,
    stop: ctx.stop
  })
  const idleShare = (Os.cpus().reduce((n, c) => n + c.times.idle, 0) - before) / (Os.cpus().length * (performance.now() - started))
  const rate = bare.reads / bare.seconds
  emit(`${prefix}.bare_disk.throughput`, rate, "detections/s")
  emit(`${prefix}.bare_disk.mib_per_s`, bare.bytes / 1024 / 1024 / bare.seconds, "MiB/s")
  emit(`${prefix}.bare_disk.machine_idle`, idleShare, "ratio")
  emit(`${prefix}.ratio_to_bare_disk`, throughput / rate, "ratio")
  progress(`  ${prefix}: bare disk ${rate.toFixed(0)} reads/s (${(bare.bytes / 1024 / 1024 / bare.seconds).toFixed(1)} MiB/s, ` +
    `machine ${(100 * idleShare).toFixed(0)}% idle); the server ${throughput.toFixed(0)} reads/s, ${(100 * throughput / rate).toFixed(0)}% of it`)
}

/** The bare comparison's rows: the same generator as the batches', in the columns the server fills. */
const bareRows = (collector: SimCollector, size: number, label: string): ReadonlyArray<BareRow> =>
  makeBatch(collector, size, detectionIdPrefix("bare", label, "m")).map((event) => {
    const camera = collector.cameras.find((c) => c.id === event.camera.id)!
    const plate = event.plate.text.toUpperCase().replace(/[^A-Z0-9]/g, "")
    return {
      collector_id: collector.collectorId,
      detection_id: event.detection_id,
      camera_id: camera.uuid,
      detected_at: event.timestamp,
      plate_text: event.plate.text,
      plate,
      confidence: event.plate.confidence,
      direction: event.vehicle.direction,
      vehicle_type: event.vehicle.type,
      vehicle_color: event.vehicle.color,
      vehicle_make: event.vehicle.make,
      lat: event.location.lat,
      lon: event.location.lon,
      raw: JSON.stringify(event)
    }
  })

/**
 * Writes the same kind of rows straight into PostgreSQL at the same batch size and concurrency, and
 * prints each method's rate beside ours and the ratio between them.
 */
const compareWithBare = async (
  ctx: Context,
  prefix: string,
  ours: number,
  options: {
    readonly methods: ReadonlyArray<BareMethod>
    readonly batch: number
    readonly concurrency: number
    readonly collectors: ReadonlyArray<SimCollector>
  }
) => {
  if (ctx.settings.bareSeconds <= 0) return
  await prepareBareTable(ctx.db)
  try {
    let turn = 0
    for (const method of options.methods) {
      if (ctx.stop.aborted) throw new Interrupted("interrupted")
      progress(`  ${prefix}: bare ${method}, batches of ${options.batch}, ${options.concurrency} connections, ${ctx.settings.bareSeconds} s`)
      const result = await measureBare(ctx.databaseUrl, method, {
        concurrency: options.concurrency,
        seconds: ctx.settings.bareSeconds,
        stop: ctx.stop,
        nextBatch: () => bareRows(options.collectors[turn++ % options.collectors.length]!, options.batch, `${prefix}-${method}`)
      })
      emit(`${prefix}.bare_${method}.throughput`, result.rowsPerSecond, "detections/s")
      emit(`${prefix}.bare_${method}.p50_ms`, quantile(result.latenciesMs, 0.5), "ms")
      emit(`${prefix}.bare_${method}.ratio`, ours / result.rowsPerSecond, "ratio")
    }
  } finally {
    await dropBareTable(ctx.db)
  }
}

/** The server's span timings for one scenario, on stderr: where a batch's time goes. */
const printSpans = (scenario: string, figures: ServerSnapshot, batches: number) => {
  const table = spanTable(figures.spans, batches, "per batch", 25)
  if (table === undefined) return
  progress(
    `  ${scenario}: server spans (ms; per batch = total / measured batches; ` +
      `self = without child spans, negative when children run concurrently)\n${table}`
  )
}

// ---------------------------------------------------------------------------------------------

/** Where the server's CPU went in each measured window, from its --cpu-prof profile. */
const printProfile = async (
  dir: string,
  pid: number,
  windows: ReadonlyArray<{ label: string; window: Window }>
) => {
  // The main thread's profile is CPU.<date>.<time>.<pid>.0.<seq>.cpuprofile (others are workers).
  const files = (await Fs.readdir(dir)).filter((f) => f.includes(`.${pid}.0.`) && f.endsWith(".cpuprofile"))
  if (files.length === 0) return progress(`no CPU profile of pid ${pid} in ${dir}`)
  const file = Path.join(dir, files.sort().at(-1)!)
  progress(`CPU profile ${file}`)
  for (const { label, window } of windows) {
    const { totalMs, byKind } = await summariseProfile(file, [window])
    const lines = byKind
      .filter(([, ms]) => ms >= totalMs * 0.002)
      .map(([kind, ms]) => `    ${ms.toFixed(0).padStart(8)} ms ${((100 * ms) / totalMs).toFixed(1).padStart(5)}%  ${kind}`)
    progress(`  ${label}: server CPU profile over the measured ${(totalMs / 1000).toFixed(1)} s\n${lines.join("\n")}`)
  }
}

const reusedUrl = (admin: string, name: string) => {
  const url = new URL(admin)
  url.pathname = `/${name}`
  return url.toString()
}

const claim = async (url: string, code: string, index: number, cameras: number): Promise<SimCollector> => ({
  index,
  ...(await claimCollector(url, code, `bench-collector-${index}`)),
  cameras: makeCameras(index, cameras),
  seq: 0
})

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
  const settings = {
    measureMs: numberOption(values, "seconds", { min: 1 }) * 1000,
    warmupMs: numberOption(values, "warmup", { min: 0 }) * 1000,
    concurrency: numberOption(values, "concurrency", { min: 1, integer: true }),
    batch: numberOption(values, "batch", { min: 1, integer: true }),
    rate: numberOption(values, "rate", { min: 1 }),
    imageBytes: numberOption(values, "image-bytes", { min: 4, integer: true }),
    sceneBytes: values.get("scene-bytes") === "0" ? 0 : numberOption(values, "scene-bytes", { min: 4, integer: true }),
    bareSeconds: numberOption(values, "bare-seconds", { min: 0 })
  }
  const singleLevels = values.get("single-concurrency")!.split(",").map((level) => {
    const n = Number(level)
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--single-concurrency takes whole numbers above 0 (got "${level}")`)
    return n
  })
  const collectorCount = numberOption(values, "collectors", { min: 1, integer: true })
  const serverCount = numberOption(values, "servers", { min: 1, integer: true })
  const cameras = numberOption(values, "cameras", { min: 1, integer: true })
  const profileDir = values.get("profile")
  const keep = values.has("keep-db")

  const { cleanups, signal: stopLoadSignal, close } = runScope()

  try {
    const admin = adminUrl()
    const reuse = values.get("reuse-db")
    if (reuse !== undefined && !/^[a-z_][a-z0-9_]*$/.test(reuse)) throw new UsageError("--reuse-db takes a database name")
    const database = reuse === undefined ? await freshDatabase(admin) : { name: reuse, url: reusedUrl(admin, reuse), drop: async () => {} }
    progress(`database ${database.name} on ${new URL(admin).host}${reuse === undefined ? "" : " (reused, left in place)"}`)
    cleanups.push(async () => {
      if (keep || reuse !== undefined) return progress(`kept database ${database.url}`)
      await database.drop()
      progress(`dropped database ${database.name}`)
    })
    const dataDir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-bench-data-"))
    cleanups.push(async () => {
      if (keep) return progress(`kept image directory ${dataDir}`)
      await Fs.rm(dataDir, { recursive: true, force: true })
    })

    const nodeArgs = profileDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", Path.resolve(profileDir)]
    progress(`starting the server (bench/server.ts)${profileDir ? `, CPU profile into ${Path.resolve(profileDir)}` : ""}`)
    const server = await startServer({
      databaseUrl: database.url,
      dataDir,
      collectors: collectorCount,
      nodeArgs,
      trace: values.has("trace")
    })
    let serverStopped = false
    const stopServer = async () => {
      if (serverStopped) return
      serverStopped = true
      await server.stop()
      progress("server stopped")
    }
    cleanups.push(stopServer)
    progress(`server ${server.url} (pid ${server.pid}); claiming ${collectorCount} collectors`)
    // More servers on the same database and data folder, behind a balancer, as a scaled-out install.
    const servers = [server]
    for (let i = 1; i < serverCount; i++) {
      const more = await startServer({ databaseUrl: database.url, dataDir, collectors: 0, trace: values.has("trace") })
      cleanups.push(() => more.stop())
      servers.push(more)
      progress(`server ${more.url} (pid ${more.pid})`)
    }
    const balancer = serverCount > 1 ? await startBalancer(servers.map((s) => new URL(s.url))) : undefined
    if (balancer) {
      cleanups.push(balancer.close)
      progress(`balancer ${balancer.url} in front of ${serverCount} servers`)
    }
    const url = balancer?.url ?? server.url
    emit("ingest.servers", serverCount, "count")

    const db = await connect(database.url)
    cleanups.push(() => db.end())

    const collectors = await Promise.all(server.claimCodes.map((code, i) => claim(url, code, i + 1, cameras)))
    const run = `b${randomBytes(3).toString("hex")}`
    const ctx: Context = { url, dataDir, databaseUrl: database.url, serverPids: servers.map((s) => s.pid), stop: stopLoadSignal, server, db, collectors, run, settings }
    progress(`node ${process.version}, ${Os.cpus().length} CPUs; server settings from the environment ` +
      `(DB_POOL_SIZE=${process.env.DB_POOL_SIZE ?? "default"}, INGEST_CONCURRENCY=${process.env.INGEST_CONCURRENCY ?? "default"})`)

    const windows: Array<{ label: string; window: Window }> = []
    for (const scenario of scenarios) {
      for (const level of scenario === "single" ? singleLevels : [1]) {
        if (stopLoadSignal.aborted) throw new Interrupted("interrupted")
        windows.push(await runScenario(ctx, scenario, level))
      }
    }

    if (profileDir !== undefined) {
      await stopServer() // the profile is written when the process exits
      await printProfile(Path.resolve(profileDir), server.pid, windows)
    }
  } finally {
    await close()
  }
}
