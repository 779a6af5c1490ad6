/**
 * `npm run bench -- wall`: does the control-room wall (`/wall`, the React page a kiosk shows) keep
 * drawing at 60 frames a second while live reads arrive? The target (README, wall issue): "the
 * wall view keeps 60 fps while 50 reads/s arrive", with no long tasks.
 *
 * A real server (child process, its own database, serving the built web app from apps/web/dist,
 * rebuilt first when stale) and Debian's Chromium driven by playwright-core, as the web tests do. The
 * wall is signed in as a viewer (`--role`): a paired wall display's account, as a kiosk has, with its
 * session inserted in PostgreSQL. Map tiles come from a stand-in tile server on this machine. Collectors (claimed with
 * claim codes) send reads through the real batch API, multipart with a small JPEG plate crop each,
 * in batches of `--batch` on a fixed schedule (open loop) at `--rate` reads a second.
 *
 * For each rate, on a fresh page: an idle baseline (no reads) of `--idle` seconds, a warm-up of
 * `--warmup` seconds under load, then `--seconds` of measurement under load. In the page (an init
 * script, so nothing of the app is changed):
 *   - requestAnimationFrame intervals: frames per second, interval percentiles, frames over 50 ms;
 *   - PerformanceObserver `longtask` (count, total, longest) and `long-animation-frame` (which
 *     scripts and how much style and layout made a frame long: on stderr, for diagnosis);
 *   - a MutationObserver noting when each plate's text first enters the DOM, compared with the
 *     benchmark's clock at the batch's 200 answer (clocks aligned by a round trip) for the latency
 *     from ingest to wall, split at the moment the feed's message reached the browser (DevTools'
 *     view of the WebSocket).
 * From the DevTools protocol: JS heap after a forced GC before the load and after it (and again once
 * the crops still on their way have come), DOM nodes, layouts, style recalculations and main-thread
 * time. Plate crops the page asked for: answers by status, time from asking to the last byte
 * (queueing included), those still waiting at the end, and the views the server audited. CPU of the
 * server, PostgreSQL, the browser (all its processes; renderers alone) and this process, from /proc.
 *
 * Fails (non-zero exit) only when the measurement itself failed: the wall never went live, no
 * reads showed, or the newest accepted read never showed. A missed target is printed
 * (`..._target_met` 0, and "met: false" on stderr), not an error; so are batches the server refused
 * or did not answer (it did not keep up).
 */
import { spawnSync } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as FsP from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { type Browser, type CDPSession, chromium, type Page } from "playwright-core"
import { Interrupted, type OptionSpecs, numberOption, parseArgs, UsageError } from "./lib/args"
import { claimCollector } from "./lib/collectors"
import { coresBetween, cpuSnapshot } from "./lib/cpu"
import { connect, freshDatabase } from "./lib/database"
import { cpuByPid, cpuUsedBetween, descendants } from "./lib/processTree"
import { emit, progress, quantile } from "./lib/report"
import { runScope } from "./lib/run"
import { repoRoot, type ServerProcess, startServer } from "./lib/server"
import { spanTable } from "./lib/spanStats"
import { startTileServer } from "../test-support/TileServer"

export const description =
  "the wall view (/wall) in Chromium while live reads with plate crops arrive: frames per second, long tasks, " +
  "ingest-to-screen latency, page memory, CPU"

export const options: OptionSpecs = {
  rate: { description: "reads per second sent", default: "50" },
  rates: { description: "several rates one after another, each on a fresh page, e.g. 50,100,200 (instead of --rate)" },
  seconds: { description: "how long each rate is measured", default: "30" },
  warmup: { description: "seconds of load before measuring", default: "3" },
  idle: { description: "seconds of idle baseline (no reads) before the load", default: "3" },
  batch: { description: "reads per batch", default: "10" },
  collectors: { description: "collectors sending (round robin)", default: "2" },
  viewport: { description: "the screen, WIDTHxHEIGHT in CSS pixels", default: "1920x1080" },
  scale: { description: "device scale factor (2: a 4K screen showing a 1080p layout)", default: "1" },
  "web-dist": { description: "serve this build of the web app instead of apps/web/dist (which is then not rebuilt): to compare a change" },
  role: { description: "the wall's account: viewer (as a kiosk), operator or admin", default: "viewer" },
  gl: { description: "leave out --disable-gpu: Chromium composites through GL (SwiftShader here, a real GPU on a kiosk) instead of its software compositor", flag: true },
  "no-tiles": { description: "no map tiles (MAP_TILE_URL=none) instead of the local stand-in tile server", flag: true },
  "chrome-trace": {
    description: "write a Chrome trace of each measured window into this directory (DevTools' Performance panel opens it) and sum up its frames; tracing costs CPU itself"
  },
  profile: { description: "write a JS CPU profile (.cpuprofile) of the page during each measured window into this directory, and sum it up on stderr" },
  trace: { description: "time the server's spans (HTTP, SQL, ...) during each measured window and print them", flag: true },
  keep: { description: "keep the database and image directory afterwards", flag: true }
}

/** 60 fps is the target; a run at 58 or more counts as keeping it (timer jitter, the odd late frame). */
const FPS_TARGET = 60
const FPS_MET_AT = 58
const LONG_TASKS_TARGET = 0
/** How long a batch may wait for its answer. */
const BATCH_TIMEOUT_MS = 30_000
/** The frame interval of a 60 Hz screen. */
const FRAME_MS = 1000 / 60

/**
 * The flags of apps/web/test/browser.ts (software rendering, no background traffic), plus the
 * kiosk's autoplay policy (deploy/kiosk/wall-kiosk.sh): with it the wall's sound is on, as on the
 * kiosk, and it shows no "enable sound" button.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--no-first-run", "--disable-quic", "--autoplay-policy=no-user-gesture-required"
]

/** Plates of this run: `BW` and six digits, found in the page's text by the pattern below. */
const plateOf = (n: number) => `BW${String(n).padStart(6, "0")}`

/**
 * Installed in the page before the app's scripts (a string: it runs in the browser, and this
 * project is compiled without the DOM's types). `window.__wallBench`:
 *   begin()         start a window: clears what was recorded
 *   end()           close it (the time is kept; observers deliver late entries, which are filtered)
 *   collect()       what the window recorded
 *   drainSeen()     [plate, epoch ms] first seen since the last drain
 *   now()           epoch ms, the page's clock
 */
const PAGE_PROBE = String.raw`(() => {
  const PLATE = /BW\d{6}/g
  const now = () => performance.timeOrigin + performance.now()
  const s = { from: 0, to: Infinity, last: undefined, frames: [], long: [], loaf: [], seen: new Map(), longSupported: false, loafSupported: false }
  const tick = (t) => {
    if (s.last !== undefined) s.frames.push([t, t - s.last])
    s.last = t
    requestAnimationFrame(tick)
  }
  requestAnimationFrame(tick)
  try {
    new PerformanceObserver((list) => { for (const e of list.getEntries()) s.long.push([e.startTime, e.duration]) }).observe({ type: "longtask" })
    s.longSupported = true
  } catch {}
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        s.loaf.push({
          start: e.startTime, duration: e.duration, blocking: e.blockingDuration,
          styleLayout: e.styleAndLayoutStart > 0 ? e.startTime + e.duration - e.styleAndLayoutStart : 0,
          scripts: e.scripts.map((x) => ({
            duration: x.duration, forced: x.forcedStyleAndLayoutDuration, type: x.invokerType, invoker: x.invoker,
            source: (x.sourceURL || "").replace(/^.*\//, "") + (x.sourceFunctionName ? ":" + x.sourceFunctionName : "")
          }))
        })
      }
    }).observe({ type: "long-animation-frame" })
    s.loafSupported = true
  } catch {}
  const scan = (text, t) => {
    if (!text) return
    const found = text.match(PLATE)
    if (found) for (const p of found) if (!s.seen.has(p)) s.seen.set(p, t)
  }
  new MutationObserver((records) => {
    const t = now()
    for (const r of records) {
      if (r.type === "characterData") scan(r.target.data, t)
      else for (const n of r.addedNodes) scan(n.textContent, t)
    }
  }).observe(document, { subtree: true, childList: true, characterData: true })
  window.__wallBench = {
    now,
    begin() { s.from = performance.now(); s.to = Infinity; s.last = undefined; s.frames = []; s.long = []; s.loaf = [] },
    end() { s.to = performance.now() },
    collect() {
      const inside = (t) => t >= s.from && t <= s.to
      return {
        windowMs: s.to - s.from,
        frames: s.frames.filter(([t]) => inside(t)).map(([, d]) => d),
        long: s.long.filter(([t]) => inside(t)),
        loaf: s.loaf.filter((l) => inside(l.start)),
        longSupported: s.longSupported,
        loafSupported: s.loafSupported
      }
    },
    drainSeen() {
      const out = [...s.seen]
      s.seen.clear()
      return out
    }
  }
})()`

/** Plate crops as a camera would crop them: drawn by the browser (canvas to JPEG), a few to share. */
const DRAW_CROPS = String.raw`((texts) => texts.map((text) => {
  const canvas = document.createElement("canvas")
  canvas.width = 240
  canvas.height = 64
  const g = canvas.getContext("2d")
  g.fillStyle = "#f5f5f0"
  g.fillRect(0, 0, 240, 64)
  g.strokeStyle = "#1e3a8a"
  g.lineWidth = 4
  g.strokeRect(0, 0, 240, 64)
  g.fillStyle = "#111"
  g.font = "bold 40px monospace"
  g.textAlign = "center"
  g.textBaseline = "middle"
  g.fillText(text, 120, 35)
  return canvas.toDataURL("image/jpeg", 0.85).split(",")[1]
}))`

interface Collected {
  readonly windowMs: number
  readonly frames: ReadonlyArray<number>
  readonly long: ReadonlyArray<readonly [number, number]>
  readonly loaf: ReadonlyArray<{
    readonly start: number
    readonly duration: number
    readonly blocking: number
    readonly styleLayout: number
    readonly scripts: ReadonlyArray<{ readonly duration: number; readonly forced: number; readonly type: string; readonly invoker: string; readonly source: string }>
  }>
  readonly longSupported: boolean
  readonly loafSupported: boolean
}

interface Camera {
  readonly id: string
  readonly mac: string
  readonly name: string
  readonly location: { readonly lat: number; readonly lon: number }
}

interface Collector {
  readonly apiKey: string
  readonly index: number
  readonly cameras: ReadonlyArray<Camera>
  seq: number
}

interface SentBatch {
  readonly plates: ReadonlyArray<string>
  readonly measured: boolean
  readonly sentAt: number
  answeredAt?: number
  status?: number
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(new Interrupted("interrupted"))
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(new Interrupted("interrupted"))
    }
    signal.addEventListener("abort", onAbort, { once: true })
  })

/** Epoch milliseconds, high resolution (this process's clock). */
const nowMs = () => performance.timeOrigin + performance.now()

const mb = (bytes: number) => bytes / 1024 / 1024

const metricsOf = async (cdp: CDPSession): Promise<Record<string, number>> => {
  const { metrics } = await cdp.send("Performance.getMetrics")
  return Object.fromEntries(metrics.map((m) => [m.name, m.value]))
}

/** The page's heap and DOM after a full garbage collection: what it keeps, not what it has not freed yet. */
const settledMemory = async (cdp: CDPSession) => {
  await cdp.send("HeapProfiler.collectGarbage")
  const m = await metricsOf(cdp)
  return { heap: m.JSHeapUsedSize ?? Number.NaN, nodes: m.Nodes ?? Number.NaN, listeners: m.JSEventListeners ?? Number.NaN }
}

/**
 * The page clock minus ours, from the round trip with the smallest delay of a few: both are the
 * system clock, but their origins are read at different moments.
 */
const clockOffset = async (page: Page) => {
  let best = { rtt: Infinity, offset: 0 }
  for (let i = 0; i < 7; i++) {
    const before = nowMs()
    const theirs = (await page.evaluate("window.__wallBench.now()")) as number
    const after = nowMs()
    if (after - before < best.rtt) best = { rtt: after - before, offset: theirs - (before + after) / 2 }
  }
  return best
}

/** Builds apps/web/dist when it is missing or older than its sources (as `npm start` does). */
const buildWebApp = () => {
  const script = Path.join(repoRoot, "apps", "web", "scripts", "build-if-stale.mjs")
  const result = spawnSync(process.execPath, [script], { cwd: repoRoot, stdio: ["ignore", 2, 2] })
  const dist = Path.join(repoRoot, "apps", "web", "dist")
  if (result.status !== 0 || !Fs.existsSync(Path.join(dist, "index.html"))) {
    throw new Error(`the web app is not built (${dist}); run npm run -s build -w apps/web and look at its output`)
  }
  return dist
}

const parseViewport = (raw: string) => {
  const match = /^(\d+)x(\d+)$/.exec(raw)
  if (!match) throw new UsageError(`--viewport must be WIDTHxHEIGHT, e.g. 1920x1080 (got "${raw}")`)
  return { width: Number(match[1]), height: Number(match[2]) }
}

const parseRates = (values: Map<string, string>) => {
  const raw = values.get("rates")
  if (raw === undefined) return [numberOption(values, "rate", { min: 1 })]
  return raw.split(",").map((r) => {
    const rate = Number(r)
    if (r.trim() === "" || !Number.isFinite(rate) || rate < 1) throw new UsageError(`--rates must be numbers of at least 1, comma-separated (got "${raw}")`)
    return rate
  })
}

/** Quantiles of an unsorted list. */
const stats = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  return {
    sorted,
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    p99: quantile(sorted, 0.99),
    max: sorted.at(-1) ?? Number.NaN
  }
}

const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(1)} ms` : "-")

interface Context {
  readonly server: ServerProcess
  readonly browser: Browser
  readonly cookie: string
  readonly role: string
  /** the wall account's audit trail: photo views and refused calls so far */
  readonly audited: () => Promise<{ readonly views: number; readonly denied: number }>
  readonly collectors: ReadonlyArray<Collector>
  readonly crops: ReadonlyArray<Uint8Array<ArrayBuffer>>
  readonly pgPids: () => Promise<Array<number>>
  readonly signal: AbortSignal
  readonly settings: {
    readonly seconds: number
    readonly warmup: number
    readonly idle: number
    readonly batch: number
    readonly viewport: { readonly width: number; readonly height: number }
    readonly scale: number
    readonly traceDir: string | undefined
    readonly profileDir: string | undefined
  }
  /** the next plate number (plates are unique over the whole run) */
  next: number
}

/** Sends one batch as a collector does: multipart, the events as JSON and a plate crop per read. */
const sendBatch = async (ctx: Context, collector: Collector, batch: SentBatch, plates: ReadonlyArray<string>) => {
  const now = Date.now()
  const events = plates.map((plate, k) => {
    const camera = collector.cameras[(collector.seq + k) % collector.cameras.length]!
    return {
      detection_id: `w-${collector.index}-${++collector.seq}`,
      timestamp: new Date(now - 200).toISOString(),
      camera: { id: camera.id, mac: camera.mac, name: camera.name },
      plate: { text: plate, confidence: 0.91 },
      vehicle: { direction: k % 2 === 0 ? "in" : "out", type: "car", color: "blue" },
      location: camera.location
    }
  })
  const form = new FormData()
  form.append("batch", JSON.stringify({ events }))
  for (const [k, event] of events.entries()) {
    const crop = ctx.crops[(collector.seq + k) % ctx.crops.length]!
    form.append(`plate:${event.detection_id}`, new Blob([crop], { type: "image/jpeg" }), "plate.jpg")
  }
  try {
    // A collector gives up on an answer after a while too; without this, fetch waits 5 minutes.
    const response = await fetch(`${ctx.server.url}/api/v1/detections/batch`, {
      method: "POST",
      headers: { authorization: `Bearer ${collector.apiKey}` },
      body: form,
      signal: AbortSignal.timeout(BATCH_TIMEOUT_MS)
    })
    batch.answeredAt = nowMs()
    batch.status = response.status
    const text = await response.text()
    if (response.status !== 200) progress(`batch refused: ${response.status} ${text.slice(0, 200)}`)
    else if ((JSON.parse(text) as { rejected?: number }).rejected) progress(`batch partly rejected: ${text.slice(0, 300)}`)
  } catch (e) {
    batch.status = 0
    const reason = e instanceof Error && e.name === "TimeoutError" ? `no answer within ${BATCH_TIMEOUT_MS / 1000} s` : e instanceof Error ? e.message : String(e)
    progress(`batch failed: ${reason}`)
  }
}

/** Batches on a fixed schedule (open loop: whether or not earlier ones were answered) until stopped. */
const startLoad = (ctx: Context, rate: number) => {
  const batches: Array<SentBatch> = []
  const inFlight = new Set<Promise<void>>()
  let measuring = false
  let stopped = false
  const interval = (1000 * ctx.settings.batch) / rate
  const loop = (async () => {
    const started = performance.now()
    for (let b = 0; !stopped; b++) {
      const wait = started + b * interval - performance.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      if (stopped) break
      const plates = Array.from({ length: ctx.settings.batch }, () => plateOf(ctx.next++))
      const batch: SentBatch = { plates, measured: measuring, sentAt: nowMs() }
      batches.push(batch)
      const sending = sendBatch(ctx, ctx.collectors[b % ctx.collectors.length]!, batch, plates)
      inFlight.add(sending)
      void sending.finally(() => inFlight.delete(sending))
    }
  })()
  return {
    batches,
    measure: (on: boolean) => {
      measuring = on
    },
    stop: async () => {
      stopped = true
      await loop
      await Promise.all(inFlight)
    }
  }
}

/** The scripts that made frames long, by where they came from: the wall's hot spots. */
const loafSummary = (loaf: Collected["loaf"]) => {
  const bySource = new Map<string, { count: number; ms: number; forced: number }>()
  let styleLayout = 0
  for (const frame of loaf) {
    styleLayout += frame.styleLayout
    for (const script of frame.scripts) {
      const key = `${script.type} ${script.invoker} @ ${script.source}`.slice(0, 140)
      const entry = bySource.get(key) ?? { count: 0, ms: 0, forced: 0 }
      entry.count++
      entry.ms += script.duration
      entry.forced += script.forced
      bySource.set(key, entry)
    }
  }
  const top = [...bySource.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 8)
  return { styleLayout, top }
}

/**
 * Self time of a page's CPU profile by script (the bundle's chunks name the library: react, CameraMap
 * is Leaflet, index and rpc are Effect) and by function; the functions are minified, so each is
 * named with its place in the chunk.
 */
const pageProfileSummary = (profile: {
  readonly nodes: ReadonlyArray<{ readonly id: number; readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number; readonly columnNumber: number } }>
  readonly samples?: ReadonlyArray<number>
  readonly timeDeltas?: ReadonlyArray<number>
}) => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]))
  const chunk = (url: string) => url === "" ? "" : url.replace(/^.*\//, "").replace(/-[A-Za-z0-9_-]{8}\.js$/, ".js")
  const byChunk = new Map<string, number>()
  const byFunction = new Map<string, number>()
  let total = 0
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  for (let i = 0; i < samples.length; i++) {
    const frame = byId.get(samples[i]!)
    const dt = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000
    if (frame === undefined) continue
    total += dt
    const script = chunk(frame.url) || frame.functionName
    byChunk.set(script, (byChunk.get(script) ?? 0) + dt)
    const fn = `${frame.functionName || "(anonymous)"} ${chunk(frame.url)}:${frame.lineNumber + 1}:${frame.columnNumber + 1}`
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + dt)
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m].filter(([k]) => k !== "(idle)").sort((a, b) => b[1] - a[1]).slice(0, n)
      .map(([k, v]) => `      ${v.toFixed(0).padStart(6)} ms  ${k}`).join("\n")
  return `    self time by script (of ${total.toFixed(0)} ms sampled, ${(byChunk.get("(idle)") ?? 0).toFixed(0)} ms idle):\n${top(byChunk, 10)}\n` +
    `    by function:\n${top(byFunction, 15)}`
}

/**
 * What Chromium itself says of the frames in a trace: its frame reporter's verdict on each frame
 * (presented, dropped, nothing to draw), so that the rAF figure can be checked against it, and where
 * the renderer's main thread spent its time.
 */
const chromeTraceSummary = async (path: string) => {
  const parsed = JSON.parse(await FsP.readFile(path, "utf8")) as
    | { traceEvents: Array<TraceEvent> }
    | Array<TraceEvent>
  const events = Array.isArray(parsed) ? parsed : parsed.traceEvents
  const threadNames = new Map<string, string>()
  for (const e of events) if (e.ph === "M" && e.name === "thread_name") threadNames.set(`${e.pid}:${e.tid}`, String(e.args?.name))
  const states = new Map<string, number>()
  const mainThread = new Map<string, number>()
  let first = Infinity
  let last = 0
  for (const e of events) {
    if (e.ts !== undefined && e.ts > 0) {
      first = Math.min(first, e.ts)
      last = Math.max(last, e.ts)
    }
    if (e.name === "PipelineReporter" && e.ph === "b") {
      const state = String((e.args?.frame_reporter as { state?: string } | undefined)?.state ?? "?").replace(/^STATE_/, "").toLowerCase()
      states.set(state, (states.get(state) ?? 0) + 1)
    }
    if (e.ph === "X" && e.dur !== undefined && threadNames.get(`${e.pid}:${e.tid}`) === "CrRendererMain") {
      mainThread.set(e.name, (mainThread.get(e.name) ?? 0) + e.dur / 1000)
    }
  }
  const seconds = (last - first) / 1e6
  const top = [...mainThread].filter(([name]) => !/RunTask/.test(name)).sort((a, b) => b[1] - a[1]).slice(0, 12)
  const busy = (mainThread.get("ThreadControllerImpl::RunTask") ?? 0) + (mainThread.get("RunTask") ?? 0)
  return `    Chromium's frame reporter over ${seconds.toFixed(1)} s: ${[...states].map(([k, v]) => `${k} ${v}`).join(", ")} ` +
    `(presented ${(((states.get("presented_all") ?? 0) + (states.get("presented_partial") ?? 0)) / seconds).toFixed(1)}/s)\n` +
    `    renderer main thread: tasks ${busy.toFixed(0)} ms; nested events (ms, overlapping):\n` +
    top.map(([name, v]) => `      ${v.toFixed(0).padStart(6)}  ${name}`).join("\n")
}

interface TraceEvent {
  readonly name: string
  readonly ph: string
  readonly pid?: number
  readonly tid?: number
  readonly ts?: number
  readonly dur?: number
  readonly args?: Record<string, unknown>
}

interface RateOutcome {
  readonly failures: ReadonlyArray<string>
}

const measureRate = async (ctx: Context, rate: number, prefix: string): Promise<RateOutcome> => {
  const failures: Array<string> = []
  const { settings, server } = ctx
  const context = await ctx.browser.newContext({ viewport: settings.viewport, deviceScaleFactor: settings.scale })
  try {
    const [name, value] = ctx.cookie.split("=", 2) as [string, string]
    await context.addCookies([{ name, value, url: server.url }])
    await context.addInitScript({ content: PAGE_PROBE })
    const page = await context.newPage()
    const errors: Array<string> = []
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text())
    })
    page.on("pageerror", (error) => errors.push(String(error)))
    // Plate crops the page asked for, by answer (0: the request failed), in the window and in all.
    let measuringPhotos = false
    const photos = { all: new Map<number, number>(), window: new Map<number, number>() }
    const countPhoto = (status: number) => {
      photos.all.set(status, (photos.all.get(status) ?? 0) + 1)
      if (measuringPhotos) photos.window.set(status, (photos.window.get(status) ?? 0) + 1)
    }
    const isCrop = (url: string) => /\/api\/v1\/detections\/\d+\/images\//.test(url)
    page.on("response", (response) => {
      if (response.request().resourceType() === "image" && isCrop(response.url())) countPhoto(response.status())
    })
    page.on("requestfailed", (request) => {
      if (isCrop(request.url())) countPhoto(0)
    })
    // Crop requests not finished yet (the browser queues them: six connections to a host over
    // HTTP/1.1), and how long those asked for in the window took, queueing included.
    const pendingCrops = new Map<unknown, number>()
    const cropTimes: Array<number> = []
    page.on("request", (request) => {
      if (isCrop(request.url())) pendingCrops.set(request, nowMs())
    })
    const cropDone = (request: { url: () => string }) => {
      const started = pendingCrops.get(request)
      if (started === undefined) return
      pendingCrops.delete(request)
      if (measuringPhotos) cropTimes.push(nowMs() - started)
    }
    page.on("requestfinished", cropDone)
    page.on("requestfailed", cropDone)

    // When each read's feed message reached the browser (DevTools' view of the WebSocket, our clock).
    // Also what the feed said, by message type, and how often the page (re)connected.
    const feedSeen = new Map<string, number>()
    const feedTypes = new Map<string, number>()
    let connections = 0
    page.on("websocket", (socket) => {
      connections++
      socket.on("framereceived", ({ payload }) => {
        const at = nowMs()
        if (typeof payload !== "string") return
        const type = /"type"\s*:\s*"([a-z_]+)"/.exec(payload)?.[1] ?? "?"
        feedTypes.set(type, (feedTypes.get(type) ?? 0) + 1)
        for (const plate of payload.match(/BW\d{6}/g) ?? []) if (!feedSeen.has(plate)) feedSeen.set(plate, at)
      })
    })
    // Calls the page made that failed, other than plate crops (counted above).
    const failedCalls = new Map<string, number>()
    page.on("response", (response) => {
      if (response.status() < 400 || isCrop(response.url())) return
      const key = `${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}`
      failedCalls.set(key, (failedCalls.get(key) ?? 0) + 1)
    })
    const loadStarted = performance.now()
    await page.goto(`${server.url}/wall`)
    try {
      await page.getByRole("status").filter({ hasText: "LIVE" }).waitFor({ timeout: 30_000 })
    } catch {
      const shot = Path.join(Os.tmpdir(), `alpr-bench-wall-${rate}.png`)
      await page.screenshot({ path: shot }).catch(() => undefined)
      throw new Error(`the wall did not show LIVE within 30 s (screenshot ${shot}; page errors: ${errors.slice(0, 5).join(" | ") || "none"}; ` +
        `failed calls: ${[...failedCalls].map(([k, n]) => `${k} x${n}`).join(", ") || "none"})`)
    }
    progress(`wall LIVE ${((performance.now() - loadStarted) / 1000).toFixed(1)} s after opening ${server.url}/wall; settling`)
    // The service worker caches the app once installed; let that, the map's tiles and the first status load finish.
    await page.evaluate("Promise.race([navigator.serviceWorker ? navigator.serviceWorker.ready : null, new Promise((r) => setTimeout(r, 10000))])")
    await sleep(2_000, ctx.signal)
    const cdp = await context.newCDPSession(page)
    await cdp.send("Performance.enable")

    // ---- Idle baseline: the same page, nothing arriving
    await page.evaluate("window.__wallBench.begin()")
    await sleep(settings.idle * 1000, ctx.signal)
    await page.evaluate("window.__wallBench.end()")
    await sleep(200, ctx.signal)
    const idle = (await page.evaluate("window.__wallBench.collect()")) as Collected
    const idleFps = idle.frames.length / (idle.windowMs / 1000)
    const idleFrames = stats(idle.frames)
    progress(`idle: ${idleFps.toFixed(1)} fps, frame p50 ${ms(idleFrames.p50)}, p99 ${ms(idleFrames.p99)}, max ${ms(idleFrames.max)}, ` +
      `${idle.long.length} long tasks`)
    if (!idle.longSupported) progress("this Chromium does not report long tasks (PerformanceObserver 'longtask'): long-task figures are missing")
    const memoryBefore = await settledMemory(cdp)

    // ---- Warm-up, then the measured window, under load
    const seen = new Map<string, number>()
    const drain = async () => {
      for (const [plate, at] of (await page.evaluate("window.__wallBench.drainSeen()")) as Array<[string, number]>) {
        if (!seen.has(plate)) seen.set(plate, at)
      }
    }
    await drain()
    const load = startLoad(ctx, rate)
    let loadStopped = false
    try {
      progress(`${rate} reads/s in batches of ${settings.batch}: warming up for ${settings.warmup} s`)
      await sleep(settings.warmup * 1000, ctx.signal)
      const clock = await clockOffset(page)
      const pgPids = await ctx.pgPids()
      const browserPids = () => descendants(process.pid, [server.pid]).filter((p) => p.chromiumType !== "")
      const browserBefore = cpuByPid(browserPids())
      const cpuBefore = cpuSnapshot(server.pid, pgPids)
      await server.snapshot()
      const metricsBefore = await metricsOf(cdp)
      const auditedBefore = await ctx.audited()
      const tracePath = settings.traceDir === undefined ? undefined : Path.join(settings.traceDir, `wall-${prefix.slice(5)}.json`)
      if (tracePath !== undefined) {
        await FsP.mkdir(settings.traceDir!, { recursive: true })
        await ctx.browser.startTracing(page, {
          path: tracePath,
          categories: ["devtools.timeline", "disabled-by-default-devtools.timeline", "disabled-by-default-devtools.timeline.frame", "blink.user_timing", "v8.execute", "cc", "viz", "gpu", "benchmark"]
        })
      }
      if (settings.profileDir !== undefined) {
        await cdp.send("Profiler.enable")
        await cdp.send("Profiler.setSamplingInterval", { interval: 500 })
        await cdp.send("Profiler.start")
      }
      await page.evaluate("window.__wallBench.begin()")
      load.measure(true)
      measuringPhotos = true
      const measureStarted = performance.now()
      progress(`measuring for ${settings.seconds} s (page clock ${clock.offset >= 0 ? "+" : ""}${clock.offset.toFixed(1)} ms from ours, round trip ${clock.rtt.toFixed(1)} ms)`)
      let nextReport = 5_000
      while (performance.now() - measureStarted < settings.seconds * 1000) {
        await sleep(Math.min(1_000, settings.seconds * 1000 - (performance.now() - measureStarted)), ctx.signal)
        const elapsed = performance.now() - measureStarted
        if (elapsed >= nextReport) {
          nextReport += 5_000
          await drain()
          const measuredSoFar = load.batches.filter((b) => b.measured)
          const shown = measuredSoFar.reduce((n, b) => n + b.plates.filter((p) => seen.has(p)).length, 0)
          const m = await metricsOf(cdp)
          progress(`  ${(elapsed / 1000).toFixed(0)} s: ${measuredSoFar.length * settings.batch} reads sent, ${shown} of them on the wall so far; ` +
            `page heap ${mb(m.JSHeapUsedSize ?? Number.NaN).toFixed(1)} MB, ${m.Nodes} DOM nodes (no GC forced)`)
        }
      }
      await page.evaluate("window.__wallBench.end()")
      load.measure(false)
      measuringPhotos = false
      const windowSeconds = (performance.now() - measureStarted) / 1000
      const metricsAfter = await metricsOf(cdp)
      const cpuAfter = cpuSnapshot(server.pid, pgPids)
      const browserNow = browserPids()
      const browserAfter = cpuByPid(browserNow)
      const serverFigures = await server.snapshot()
      const auditedAfter = await ctx.audited()
      if (tracePath !== undefined) {
        await ctx.browser.stopTracing()
        progress(`Chrome trace of the window in ${tracePath}\n${await chromeTraceSummary(tracePath)}`)
      }
      const spans = spanTable(serverFigures.spans, windowSeconds, "per second", 20)
      if (spans !== undefined) progress(`  server spans during the window (ms)\n${spans}`)
      if (settings.profileDir !== undefined) {
        const { profile } = await cdp.send("Profiler.stop")
        await FsP.mkdir(settings.profileDir, { recursive: true })
        const file = Path.join(settings.profileDir, `wall-${prefix.slice(5)}.cpuprofile`)
        await FsP.writeFile(file, JSON.stringify(profile))
        progress(`JS profile of the page in ${file}\n${pageProfileSummary(profile)}`)
      }
      await load.stop()
      loadStopped = true

      // ---- The last reads: wait until the newest one is on the screen
      const last = load.batches.findLast((b) => b.status === 200)?.plates.at(-1)
      const waitStarted = performance.now()
      while (last !== undefined && !seen.has(last) && performance.now() - waitStarted < 10_000) {
        await sleep(250, ctx.signal)
        await drain()
      }
      if (last !== undefined && !seen.has(last)) failures.push(`${rate} reads/s: the newest read ${last} never showed on the wall (10 s after the load stopped)`)
      await sleep(500, ctx.signal)
      await drain()
      const collected = (await page.evaluate("window.__wallBench.collect()")) as Collected
      const pendingAtEnd = pendingCrops.size
      const memoryAfter = await settledMemory(cdp)
      // What the page keeps once the crops it still waits for have come: a backlog or a leak?
      const drainStarted = performance.now()
      while (pendingCrops.size > 0 && performance.now() - drainStarted < 60_000) await sleep(250, ctx.signal)
      const drainedSeconds = (performance.now() - drainStarted) / 1000
      const memoryDrained = pendingAtEnd === 0 ? memoryAfter : await settledMemory(cdp)
      const dom = (await page.evaluate(String.raw`({
        elements: document.getElementsByTagName("*").length,
        photos: document.querySelectorAll("img[src*='/images/']").length,
        noPhoto: [...document.querySelectorAll("div")].filter((d) => d.childElementCount === 0 && /^(no photo|photo unavailable)$/.test(d.textContent.trim())).length
      })`)) as { elements: number; photos: number; noPhoto: number }

      // ---- Figures
      const measured = load.batches.filter((b) => b.measured)
      const refused = measured.filter((b) => b.status !== 200).length
      const accepted = measured.filter((b) => b.status === 200)
      const latencies: Array<number> = []
      const feedLatencies: Array<number> = []
      const pageLatencies: Array<number> = []
      const missing: Array<string> = []
      for (const batch of accepted) {
        for (const [k, plate] of batch.plates.entries()) {
          const at = seen.get(plate)
          const fed = feedSeen.get(plate)
          if (fed !== undefined && batch.answeredAt !== undefined) feedLatencies.push(fed - batch.answeredAt)
          if (at === undefined || batch.answeredAt === undefined) {
            missing.push(`${plate} (batch ${measured.indexOf(batch)}, read ${k + 1} of ${batch.plates.length}, ${fed === undefined ? "not in the feed" : "in the feed"})`)
          } else {
            latencies.push(at - clock.offset - batch.answeredAt)
            if (fed !== undefined) pageLatencies.push(at - clock.offset - fed)
          }
        }
      }
      const feedLatency = stats(feedLatencies)
      const pageLatency = stats(pageLatencies)
      const notShown = missing.length
      if (notShown > 0) progress(`  reads that never showed: ${missing.slice(0, 12).join(", ")}${notShown > 12 ? ", ..." : ""}`)
      const reads = accepted.length * settings.batch
      const latency = stats(latencies)
      const batchTimes = stats(measured.filter((b) => b.answeredAt !== undefined).map((b) => b.answeredAt! - b.sentAt))
      const frames = stats(collected.frames)
      const fps = collected.frames.length / (collected.windowMs / 1000)
      const over50 = collected.frames.filter((d) => d > 50).length
      const missedFrames = collected.frames.reduce((n, d) => n + Math.max(0, Math.round(d / FRAME_MS) - 1), 0)
      const longDurations = collected.long.map(([, d]) => d)
      const longTotal = longDurations.reduce((a, b) => a + b, 0)
      const longMax = longDurations.length === 0 ? 0 : Math.max(...longDurations)
      const blocking = longDurations.reduce((a, d) => a + Math.max(0, d - 50), 0)
      const delta = (name: string) => (metricsAfter[name] ?? Number.NaN) - (metricsBefore[name] ?? Number.NaN)
      const cores = coresBetween(cpuBefore, cpuAfter)
      const wall = (cpuAfter.at - cpuBefore.at) / 1000
      const browserCores = cpuUsedBetween(browserBefore, browserAfter) / wall
      const rendererCores = cpuUsedBetween(browserBefore, browserAfter, browserNow.filter((p) => p.chromiumType === "renderer").map((p) => p.pid)) / wall
      const photoCount = (m: Map<number, number>, ok: boolean) => [...m].filter(([status]) => (status === 200) === ok).reduce((a, [, n]) => a + n, 0)
      const photoStatuses = (m: Map<number, number>) => [...m].map(([status, n]) => `${status === 0 ? "failed" : status}: ${n}`).join(", ") || "none"

      progress(`${rate} reads/s over ${windowSeconds.toFixed(1)} s: ${fps.toFixed(1)} fps (idle ${idleFps.toFixed(1)}), ` +
        `frame p50 ${ms(frames.p50)}, p95 ${ms(frames.p95)}, p99 ${ms(frames.p99)}, max ${ms(frames.max)}, ${over50} over 50 ms, ~${missedFrames} frames missed`)
      progress(`  long tasks: ${collected.long.length}, ${longTotal.toFixed(0)} ms in all, longest ${longMax.toFixed(0)} ms (blocking ${blocking.toFixed(0)} ms)`)
      progress(`  ingest answer to wall: p50 ${ms(latency.p50)}, p95 ${ms(latency.p95)}, p99 ${ms(latency.p99)}, max ${ms(latency.max)}; ` +
        `${latencies.length} of ${reads} reads shown, ${notShown} never shown (the wall keeps the newest 24: more arriving between two renders are skipped)`)
      progress(`    of which ingest answer to the feed message reaching the browser: p50 ${ms(feedLatency.p50)}, p95 ${ms(feedLatency.p95)}, p99 ${ms(feedLatency.p99)} ` +
        `(${feedLatencies.length} reads in the feed); from there to the DOM: p50 ${ms(pageLatency.p50)}, p95 ${ms(pageLatency.p95)}, p99 ${ms(pageLatency.p99)}`)
      progress(`  page: heap ${mb(memoryBefore.heap).toFixed(1)} -> ${mb(memoryAfter.heap).toFixed(1)} MB after GC, DOM nodes ${memoryBefore.nodes} -> ${memoryAfter.nodes} ` +
        `(${dom.elements} elements), listeners ${memoryBefore.listeners} -> ${memoryAfter.listeners}; main thread busy ${(delta("TaskDuration") / windowSeconds * 100).toFixed(0)}% ` +
        `(script ${(delta("ScriptDuration") / windowSeconds * 100).toFixed(0)}%, layout ${(delta("LayoutDuration") / windowSeconds * 100).toFixed(0)}%, ` +
        `style ${(delta("RecalcStyleDuration") / windowSeconds * 100).toFixed(0)}%); ${(delta("LayoutCount") / windowSeconds).toFixed(0)} layouts/s, ` +
        `${(delta("RecalcStyleCount") / windowSeconds).toFixed(0)} style recalcs/s`)
      const crop = stats(cropTimes)
      progress(`  plate crop requests in the window: ${cropTimes.length} finished, ${ms(crop.p50)} p50, ${ms(crop.p95)} p95, ${ms(crop.max)} max from asking to ` +
        `the last byte; ${pendingAtEnd} still waiting when the last read showed` +
        (pendingAtEnd === 0 ? "" : `, all in ${drainedSeconds.toFixed(1)} s (${pendingCrops.size} left); then DOM nodes ${memoryDrained.nodes}, ` +
          `heap ${mb(memoryDrained.heap).toFixed(1)} MB, listeners ${memoryDrained.listeners}`))
      progress(`  plate crops the page loaded: in the window ${photoStatuses(photos.window)}; since it opened ${photoStatuses(photos.all)}; ` +
        `at the end ${dom.photos} photos and ${dom.noPhoto} "no photo" boxes on the screen (signed in as a ${ctx.role}); ` +
        `${auditedAfter.views - auditedBefore.views} photo views audited in the window, ${auditedAfter.denied} refused calls audited since the start`)
      progress(`  CPU (cores of ${Os.cpus().length}): browser ${browserCores.toFixed(2)} (renderers ${rendererCores.toFixed(2)}), server ${cores.server.toFixed(2)}, ` +
        `postgres ${cores.postgres.toFixed(2)}, this process ${cores.bench.toFixed(2)}, machine ${cores.machine.toFixed(2)} ` +
        `(other work ${(cores.other - browserCores).toFixed(2)}); server event loop ${(100 * serverFigures.event_loop_utilization).toFixed(0)}% busy`)
      if (collected.loafSupported && collected.loaf.length > 0) {
        const summary = loafSummary(collected.loaf)
        progress(`  ${collected.loaf.length} long animation frames (over 50 ms), ${collected.loaf.reduce((a, l) => a + l.duration, 0).toFixed(0)} ms in all, ` +
          `${summary.styleLayout.toFixed(0)} ms of it style and layout; ${summary.top.length === 0 ? "no script in them" : "scripts in them:\n"}` +
          summary.top.map(([key, v]) => `      ${v.ms.toFixed(0).padStart(6)} ms ${String(v.count).padStart(4)}x  (forced layout ${v.forced.toFixed(0)} ms)  ${key}`).join("\n"))
      }
      progress(`  feed: ${connections} connection(s); messages ${[...feedTypes].map(([k, n]) => `${k} ${n}`).join(", ")}` +
        (failedCalls.size > 0 ? `; failed calls: ${[...failedCalls].map(([k, n]) => `${k} x${n}`).join(", ")}` : ""))
      const appErrors = errors.filter((e) => !/Failed to load resource/.test(e))
      if (appErrors.length > 0) progress(`  page errors (${appErrors.length}): ${appErrors.slice(0, 5).join(" | ")}`)

      emit(`${prefix}.reads_per_s`, reads / windowSeconds, "reads/s")
      emit(`${prefix}.batches_refused`, refused, "count")
      emit(`${prefix}.idle.fps`, idleFps, "fps")
      emit(`${prefix}.idle.frame_p99_ms`, idleFrames.p99, "ms")
      emit(`${prefix}.idle.longtasks`, idle.long.length, "count")
      emit(`${prefix}.fps`, fps, "fps")
      emit(`${prefix}.fps_target`, FPS_TARGET, "fps")
      emit(`${prefix}.fps_target_met`, fps >= FPS_MET_AT ? 1 : 0, "bool")
      emit(`${prefix}.frame.p50_ms`, frames.p50, "ms")
      emit(`${prefix}.frame.p95_ms`, frames.p95, "ms")
      emit(`${prefix}.frame.p99_ms`, frames.p99, "ms")
      emit(`${prefix}.frame.max_ms`, frames.max, "ms")
      emit(`${prefix}.frame.over_50ms`, over50, "count")
      emit(`${prefix}.frame.missed`, missedFrames, "count")
      if (collected.longSupported) {
        emit(`${prefix}.longtasks.count`, collected.long.length, "count")
        emit(`${prefix}.longtasks.total_ms`, longTotal, "ms")
        emit(`${prefix}.longtasks.max_ms`, longMax, "ms")
        emit(`${prefix}.longtasks.blocking_ms`, blocking, "ms")
        emit(`${prefix}.longtasks.target`, LONG_TASKS_TARGET, "count")
        emit(`${prefix}.longtasks.target_met`, collected.long.length <= LONG_TASKS_TARGET ? 1 : 0, "bool")
      }
      emit(`${prefix}.latency.p50_ms`, latency.p50, "ms")
      emit(`${prefix}.latency.p95_ms`, latency.p95, "ms")
      emit(`${prefix}.latency.p99_ms`, latency.p99, "ms")
      emit(`${prefix}.latency.max_ms`, latency.max, "ms")
      emit(`${prefix}.latency.feed_p50_ms`, feedLatency.p50, "ms")
      emit(`${prefix}.latency.feed_p99_ms`, feedLatency.p99, "ms")
      emit(`${prefix}.latency.in_page_p50_ms`, pageLatency.p50, "ms")
      emit(`${prefix}.latency.in_page_p99_ms`, pageLatency.p99, "ms")
      emit(`${prefix}.reads_shown`, latencies.length, "count")
      emit(`${prefix}.reads_not_shown`, notShown, "count")
      emit(`${prefix}.page.heap_start_mb`, mb(memoryBefore.heap), "MB")
      emit(`${prefix}.page.heap_end_mb`, mb(memoryAfter.heap), "MB")
      emit(`${prefix}.page.dom_nodes_start`, memoryBefore.nodes, "count")
      emit(`${prefix}.page.dom_nodes_end`, memoryAfter.nodes, "count")
      emit(`${prefix}.page.dom_elements_end`, dom.elements, "count")
      emit(`${prefix}.page.dom_nodes_after_crops`, memoryDrained.nodes, "count")
      emit(`${prefix}.page.heap_after_crops_mb`, mb(memoryDrained.heap), "MB")
      emit(`${prefix}.page.main_thread_busy`, delta("TaskDuration") / windowSeconds, "ratio")
      emit(`${prefix}.page.script_share`, delta("ScriptDuration") / windowSeconds, "ratio")
      emit(`${prefix}.page.layouts_per_s`, delta("LayoutCount") / windowSeconds, "1/s")
      emit(`${prefix}.page.style_recalcs_per_s`, delta("RecalcStyleCount") / windowSeconds, "1/s")
      emit(`${prefix}.photos.loaded`, photoCount(photos.window, true), "count")
      emit(`${prefix}.photos.not_loaded`, photoCount(photos.window, false), "count")
      emit(`${prefix}.photos.fetch_p50_ms`, crop.p50, "ms")
      emit(`${prefix}.photos.fetch_p95_ms`, crop.p95, "ms")
      emit(`${prefix}.photos.pending_end`, pendingAtEnd, "count")
      emit(`${prefix}.photos.audited_views`, auditedAfter.views - auditedBefore.views, "count")
      emit(`${prefix}.photos.on_screen_end`, dom.photos, "count")
      emit(`${prefix}.photos.no_photo_boxes_end`, dom.noPhoto, "count")
      emit(`${prefix}.ingest_batch.p99_ms`, batchTimes.p99, "ms")
      emit(`${prefix}.cpu.browser`, browserCores, "cores")
      emit(`${prefix}.cpu.renderer`, rendererCores, "cores")
      emit(`${prefix}.cpu.server`, cores.server, "cores")
      emit(`${prefix}.cpu.postgres`, cores.postgres, "cores")
      emit(`${prefix}.cpu.bench`, cores.bench, "cores")
      emit(`${prefix}.cpu.machine`, cores.machine, "cores")
      emit(`${prefix}.cpu.other`, cores.other - browserCores, "cores")
      emit(`${prefix}.server.event_loop_utilization`, serverFigures.event_loop_utilization, "ratio")

      progress(`  targets at ${rate} reads/s: fps ${fps.toFixed(1)} >= ${FPS_MET_AT} (60 fps): met: ${fps >= FPS_MET_AT}; ` +
        `long tasks ${collected.long.length} <= ${LONG_TASKS_TARGET}: met: ${collected.long.length <= LONG_TASKS_TARGET}`)
      if (auditedAfter.denied > 0) progress(`  the wall made ${auditedAfter.denied} calls its ${ctx.role} account may not make (audit_log, outcome denied)`)
      // The server not keeping up is a finding of its own, not a failure to measure the wall.
      if (refused > 0) progress(`  ${refused} of ${measured.length} batches were refused or failed: the server did not keep up with ${rate} reads/s`)
      if (latencies.length === 0) failures.push(`${rate} reads/s: none of the ${reads} reads sent showed on the wall`)
      return { failures }
    } finally {
      if (!loadStopped) await load.stop()
    }
  } finally {
    await context.close()
  }
}

export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const values = parseArgs(argv, options)
  const rates = parseRates(values)
  const role = values.get("role")!
  if (!["viewer", "operator", "admin"].includes(role)) throw new UsageError(`--role must be viewer, operator or admin (got "${role}")`)
  const settings = {
    seconds: numberOption(values, "seconds", { min: 1 }),
    warmup: numberOption(values, "warmup", { min: 0 }),
    idle: numberOption(values, "idle", { min: 1 }),
    batch: numberOption(values, "batch", { min: 1, integer: true }),
    viewport: parseViewport(values.get("viewport")!),
    scale: numberOption(values, "scale", { min: 0.5 }),
    traceDir: values.has("chrome-trace") ? Path.resolve(values.get("chrome-trace")!) : undefined,
    profileDir: values.has("profile") ? Path.resolve(values.get("profile")!) : undefined
  }
  const collectorCount = numberOption(values, "collectors", { min: 1, integer: true })
  const keep = values.has("keep")
  const screen = `${settings.viewport.width}x${settings.viewport.height}${settings.scale === 1 ? "" : `@${settings.scale}x`}`

  const { cleanups, signal, close } = runScope()
  try {
    let dist: string
    if (values.has("web-dist")) {
      dist = Path.resolve(values.get("web-dist")!)
      if (!Fs.existsSync(Path.join(dist, "index.html"))) throw new UsageError(`--web-dist: no index.html in ${dist}`)
    } else {
      progress("building the web app if stale (apps/web/scripts/build-if-stale.mjs)")
      dist = buildWebApp()
    }

    const database = await freshDatabase()
    progress(`database ${database.name}`)
    cleanups.push(async () => {
      if (keep) return progress(`kept database ${database.url}`)
      await database.drop()
    })
    const dataDir = await FsP.mkdtemp(Path.join(Os.tmpdir(), "alpr-bench-wall-"))
    cleanups.push(async () => {
      if (keep) return progress(`kept image directory ${dataDir}`)
      await FsP.rm(dataDir, { recursive: true, force: true })
    })
    let tileUrl = "none"
    if (!values.has("no-tiles")) {
      const tiles = await startTileServer({ cacheSeconds: 3600 })
      cleanups.push(tiles.close)
      tileUrl = tiles.url
    }
    const server = await startServer({
      databaseUrl: database.url,
      dataDir,
      collectors: collectorCount,
      trace: values.has("trace"),
      env: { WEB_DIST_DIR: dist, MAP_TILE_URL: tileUrl }
    })
    cleanups.push(() => server.stop())
    progress(`server ${server.url} (pid ${server.pid}) serving ${dist}; map tiles ${tileUrl}`)

    const db = await connect(database.url)
    cleanups.push(() => db.end())

    // ---- The wall's account and session, straight into PostgreSQL (as alerts.ts does)
    // A viewer is set up as a paired wall display (sql/0010: its own viewer account, no password), as a kiosk is.
    const display = role === "viewer"
    const { rows: [user] } = await db.query<{ id: string }>(
      `INSERT INTO users (username, role${display ? ", display" : ""}) VALUES ($1, $2${display ? ", true" : ""}) RETURNING id`,
      [`bench-wall-${role}`, role]
    )
    if (display) await db.query("INSERT INTO displays (name, user_id, paired_at) VALUES ('bench wall', $1, now())", [user!.id])
    const sessionToken = randomBytes(32).toString("base64url")
    await db.query(
      "INSERT INTO sessions (token_hash, user_id, expires_at, csrf_token) VALUES ($1, $2, now() + interval '12 hours', $3)",
      [createHash("sha256").update(sessionToken).digest("hex"), user!.id, randomBytes(16).toString("hex")]
    )

    // ---- Collectors, each with three cameras placed around a town
    const collectors = await Promise.all(server.claimCodes.map(async (code, index): Promise<Collector> => {
      const { apiKey } = await claimCollector(server.url, code, `bench-wall-${index}`)
      const cameras = Array.from({ length: 3 }, (_, k): Camera => ({
        id: `cam-${index}-${k}`,
        mac: `AA:BB:CC:00:${String(index).padStart(2, "0").slice(-2)}:${String(k).padStart(2, "0")}`,
        name: `Site ${index + 1} camera ${k + 1}`,
        location: { lat: 41.10 + 0.012 * index + 0.004 * k, lon: -74.06 + 0.015 * k + 0.006 * index }
      }))
      return { apiKey, index, cameras, seq: 0 }
    }))
    const heartbeat = async () => {
      await Promise.all(collectors.map(async (c) => {
        const response = await fetch(`${server.url}/api/v1/collectors/heartbeat`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${c.apiKey}` },
          body: JSON.stringify({ uptime_seconds: 3600, queue_depth: 0, cameras_online: c.cameras.length, config_version: "1", edge_version: "0.1.0" })
        })
        if (response.status !== 200) progress(`heartbeat: ${response.status} ${(await response.text()).slice(0, 200)}`)
      }))
    }
    await heartbeat()
    const beat = setInterval(() => void heartbeat().catch((e) => progress(`heartbeat failed: ${String(e)}`)), 15_000)
    cleanups.push(async () => clearInterval(beat))

    // ---- Chromium, and the crops it draws
    const args = values.has("gl") ? CHROMIUM_ARGS.filter((a) => a !== "--disable-gpu") : CHROMIUM_ARGS
    const browser = await chromium.launch({ executablePath: CHROMIUM, args, headless: true })
    cleanups.push(() => browser.close())
    progress(`Chromium ${browser.version()} (${CHROMIUM}), ${screen}, signed in as a ${role}`)
    const scratch = await browser.newPage()
    const texts = Array.from({ length: 16 }, (_, i) => `BW ${String(1000 + i * 617).slice(-4)}`)
    const crops = ((await scratch.evaluate(`(${DRAW_CROPS})(${JSON.stringify(texts)})`)) as Array<string>)
      .map((base64) => new Uint8Array(Buffer.from(base64, "base64")))
    await scratch.close()

    const ctx: Context = {
      server,
      browser,
      cookie: `alpr_session=${sessionToken}`,
      role,
      audited: async () => {
        const { rows: [row] } = await db.query<{ views: number; denied: number }>(
          `SELECT count(*) FILTER (WHERE action = 'image.view')::int AS views, count(*) FILTER (WHERE outcome = 'denied')::int AS denied
             FROM audit_log WHERE actor_id = $1`,
          [user!.id]
        )
        return row!
      },
      collectors,
      crops,
      pgPids: async () =>
        (await db.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")).rows
          .map((r) => r.pid),
      signal,
      settings,
      next: 1
    }

    // A read at every camera, then the cameras placed on the map (as an admin would have), so the wall's map has them.
    for (const collector of collectors) {
      const plates = collector.cameras.map(() => plateOf(ctx.next++))
      const batch: SentBatch = { plates, measured: false, sentAt: nowMs() }
      await sendBatch(ctx, collector, batch, plates)
      if (batch.status !== 200) throw new Error(`the first batch was refused (${batch.status})`)
      for (const camera of collector.cameras) {
        await db.query("UPDATE cameras SET lat = $1, lon = $2 WHERE external_id = $3", [camera.location.lat, camera.location.lon, camera.id])
      }
    }
    progress(`${collectors.length} collectors with ${collectors.length * 3} placed cameras; crops of ${crops.map((c) => c.length).join("/")} bytes`)

    const failures: Array<string> = []
    for (const rate of rates) {
      if (signal.aborted) throw new Interrupted("interrupted")
      const outcome = await measureRate(ctx, rate, `wall.${screen}.${rate}rps`)
      failures.push(...outcome.failures)
    }
    if (failures.length > 0) throw new Error(failures.join("; "))
  } finally {
    await close()
  }
}
