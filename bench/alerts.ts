/**
 * `npm run bench -- alerts`: how long after the ingest answer an alert reaches the control room and
 * the field.
 *
 * A real server (child process, its own database) with 100,000 watchlist entries of every kind
 * (60% exact, 20% OCR-aware, 15% wildcard, 5% regex) on 20 shared lists, each list followed by one
 * linked Telegram chat on a local fake Bot API (test-support/FakeBotApi.ts). Collectors send
 * 1,000 reads/s (an open loop: batches leave on schedule whether or not earlier ones are answered);
 * one read in `--match-every` carries a plate that one entry matches, with a plate photo, and is the
 * only read of that plate, so it raises exactly one new alert. For each such read:
 *   - to the WebSocket: from the batch's 200 answer to the `alert` message on an admin's
 *     `/api/v1/live` connection;
 *   - to Telegram: from the same answer to the fake Bot API receiving `sendPhoto` for it;
 *   - to MQTT: from the same answer to a subscriber of the machine's Mosquitto (127.0.0.1:1883)
 *     receiving the alert on `<prefix>/alert` (the server publishing with QoS 1 through the outbox);
 *   - to a webhook: from the same answer to a local HTTPS receiver getting the signed POST (its
 *     certificate trusted through WEBHOOK_CA_FILE), every signature checked.
 * Every planted read must alert exactly once (checked in PostgreSQL too) and reach every channel,
 * or the run fails. `--no-outputs` leaves MQTT and the webhook off (the first wave's figures).
 */
import { parseEntryValue } from "@chaverim/domain/Watchlist"
import type { EntryKind } from "@chaverim/domain/Watchlist"
import { createHash, randomBytes, randomInt } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { monitorEventLoopDelay } from "node:perf_hooks"
import pg from "pg"
import type WebSocket from "ws"
import { startFakeBotApi } from "../test-support/FakeBotApi"
import { startOutputReceivers } from "./lib/outputs"
import { type OptionSpecs, numberOption, parseArgs } from "./lib/args"
import { claimCollector } from "./lib/collectors"
import { openLiveFeed } from "./lib/live"
import { coresBetween, cpuSnapshot } from "./lib/cpu"
import { freshDatabase } from "./lib/database"
import { emit, progress, quantile } from "./lib/report"
import { startBalancer } from "./lib/balancer"
import { startServer } from "./lib/server"
import { spanTable } from "./lib/spanStats"

export const description =
  "alert latency with 100,000 watchlist entries at 1,000 reads/s: ingest answer to the WebSocket alert and to Telegram's sendPhoto"

export const options: OptionSpecs = {
  entries: { description: "watchlist entries (mixed kinds)", default: "100000" },
  rate: { description: "reads per second sent", default: "1000" },
  seconds: { description: "how long the load runs", default: "30" },
  "match-every": { description: "one read in this many is on a list (each raises a new alert)", default: "100" },
  collectors: { description: "collectors sending", default: "4" },
  servers: {
    description: "server processes on the one database, the batches through a round-robin TCP balancer when more than one " +
      "(the control room's WebSocket on the first)",
    default: "1"
  },
  batch: { description: "reads per batch", default: "25" },
  "no-outputs": { description: "leave MQTT and the webhook off", flag: true },
  keep: { description: "keep the database afterwards", flag: true },
  trace: { description: "time the server's spans (engine, SQL, HTTP) during the load and print them", flag: true },
  profile: { description: "write the server's CPU profile (node --cpu-prof) into this folder" }
}

const LISTS = 20
const TARGETS = { ws: 100, telegram: 1_000, mqtt: 1_000, webhook: 1_000 } as const
const LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
const DIGITS = "0123456789"
const ALNUM = LETTERS + DIGITS
const chars = (alphabet: string, n: number) => Array.from({ length: n }, () => alphabet[randomInt(alphabet.length)]).join("")
/** Characters no OCR fold touches: a body made of them has an OCR key of its own. */
const PLAIN = "ACEFHJKMNPRTUVWXY34679"
/** Plates of ordinary traffic: never on a list (watched plates all start with W, which these never do). */
const trafficPlate = () => chars(LETTERS.replace("W", ""), 3) + chars(DIGITS, 4)

interface PlannedEntry {
  readonly kind: EntryKind
  readonly value: string
  /** a plate this entry matches and no other entry does */
  readonly sample: string
}

/**
 * Entry `i` (every kind in turn), with a plate that matches it: `WK` + a body unique to `i` made of
 * characters no OCR fold touches + one more character. No two entries match one plate, and no
 * traffic plate matches any entry.
 */
const plannedEntry = (i: number): PlannedEntry => {
  let body = ""
  for (let n = i, k = 0; k < 5; k++, n = Math.floor(n / PLAIN.length)) body = PLAIN[n % PLAIN.length] + body
  const stem = `WK${body}`
  const bucket = i % 20
  if (bucket < 12) return { kind: "exact", value: `${stem}A`, sample: `${stem}A` }
  // The list has the plate with a zero; the camera reads the letter O.
  if (bucket < 16) return { kind: "ocr", value: `${stem}0`, sample: `${stem}O` }
  if (bucket < 19) return { kind: "wildcard", value: `${stem}?`, sample: `${stem}${ALNUM[i % ALNUM.length]}` }
  return { kind: "regex", value: `${stem}[A-Z0-9]`, sample: `${stem}${ALNUM[i % ALNUM.length]}` }
}

interface Read {
  readonly detection_id: string
  readonly timestamp: string
  readonly camera: { readonly id: string; readonly mac: string }
  readonly plate: { readonly text: string; readonly confidence: number }
}

export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const values = parseArgs(argv, options)
  const settings = {
    entries: numberOption(values, "entries", { min: 20 }),
    rate: numberOption(values, "rate", { min: 1 }),
    seconds: numberOption(values, "seconds", { min: 1 }),
    matchEvery: numberOption(values, "match-every", { min: 1 }),
    collectors: numberOption(values, "collectors", { min: 1 }),
    servers: numberOption(values, "servers", { min: 1, integer: true }),
    batch: numberOption(values, "batch", { min: 1 }),
    outputs: !values.has("no-outputs"),
    keep: values.has("keep"),
    trace: values.has("trace"),
    profile: values.get("profile")
  }
  const database = await freshDatabase()
  const dataDir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-bench-alerts-"))
  const token = `7000001:${randomBytes(16).toString("hex")}`
  const bot = await startFakeBotApi(token)
  progress(`database ${database.name}; fake Bot API at ${bot.url}`)
  const outputs = settings.outputs ? await startOutputReceivers(/\bWK[0-9A-Z]{6}\b/) : undefined
  const serverEnv = { TELEGRAM_BOT_TOKEN: token, TELEGRAM_API_ROOT: bot.url, LOG_LEVEL: "Warning", ...outputs?.env }
  const server = await startServer({
    databaseUrl: database.url,
    dataDir,
    collectors: settings.collectors,
    trace: settings.trace,
    ...(settings.profile === undefined ? {} : { nodeArgs: ["--cpu-prof", "--cpu-prof-dir", Path.resolve(settings.profile)] }),
    env: serverEnv
  })
  // More servers on the same database, each with its own alert engine and senders: every alert must
  // still be raised and delivered once.
  const others: Array<Awaited<ReturnType<typeof startServer>>> = []
  let balancer: Awaited<ReturnType<typeof startBalancer>> | undefined
  const db = new pg.Client({ connectionString: database.url })
  await db.connect()
  let socket: WebSocket | undefined
  try {
    for (let i = 1; i < settings.servers; i++) {
      others.push(await startServer({ databaseUrl: database.url, dataDir, collectors: 0, env: serverEnv }))
    }
    if (others.length > 0) {
      balancer = await startBalancer([server, ...others].map((s) => new URL(s.url)))
      progress(`${settings.servers} servers behind the balancer at ${balancer.url}`)
    }
    const ingestUrl = balancer?.url ?? server.url
    const serverPids = [server.pid, ...others.map((s) => s.pid)]
    // ---- Lists, entries, people (set up in SQL: what is measured is matching and delivery)
    const { rows: [admin] } = await db.query<{ id: string }>(
      "INSERT INTO users (username, role, totp_enrolled_at) VALUES ('bench-admin', 'admin', now()) RETURNING id"
    )
    const sessionToken = randomBytes(32).toString("base64url")
    await db.query(
      "INSERT INTO sessions (token_hash, user_id, expires_at, csrf_token) VALUES ($1, $2, now() + interval '2 hours', $3)",
      [createHash("sha256").update(sessionToken).digest("hex"), admin!.id, randomBytes(16).toString("hex")]
    )
    const { rows: lists } = await db.query<{ id: string }>(
      `INSERT INTO watchlists (name, category, priority, owner_id, shared)
       SELECT 'bench list ' || g, (ARRAY['stolen', 'bolo', 'missing_person', 'of_interest'])[1 + g % 4], 1 + g % 5, $1, true
         FROM generate_series(1, $2::int) g ORDER BY g RETURNING id`,
      [admin!.id, LISTS]
    )
    const planned = Array.from({ length: settings.entries }, (_, i) => plannedEntry(i))
    for (const entry of planned.slice(0, 200)) {
      const parsed = parseEntryValue(entry.kind, entry.value)
      if (parsed._tag === "Left") throw new Error(`bench entry ${entry.kind} ${entry.value}: ${parsed.left}`)
    }
    const loadStarted = performance.now()
    await db.query(
      `INSERT INTO watchlist_entries (watchlist_id, kind, value, reason, added_by, added_by_name)
       SELECT ($1::uuid[])[1 + (n - 1) % array_length($1::uuid[], 1)], e.kind, e.value, 'benchmark', $2, 'bench-admin'
         FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS e(kind, value, n)`,
      [lists.map((l) => l.id), admin!.id, planned.map((e) => e.kind), planned.map((e) => e.value)]
    )
    progress(`${settings.entries.toLocaleString("en-US")} entries on ${LISTS} lists in ${((performance.now() - loadStarted) / 1000).toFixed(1)} s`)
    const chats = lists.map((_, i) => 900_000_001 + i)
    for (const [i, list] of lists.entries()) {
      const { rows: [user] } = await db.query<{ id: string }>(
        "INSERT INTO users (username, role, totp_enrolled_at) VALUES ($1, 'operator', now()) RETURNING id",
        [`bench-volunteer-${i}`]
      )
      await db.query("INSERT INTO telegram_links (user_id, chat_id) VALUES ($1, $2)", [user!.id, chats[i]])
      await db.query("INSERT INTO telegram_subscriptions (user_id, watchlist_id) VALUES ($1, $2)", [user!.id, list.id])
    }
    // One webhook for every shared list (the server signs with the secret; the receiver checks it).
    if (outputs !== undefined) {
      await db.query("INSERT INTO webhooks (name, url, secret) VALUES ('bench receiver', $1, $2)", [outputs.webhookUrl, outputs.webhookSecret])
    }

    // ---- The control room's connection
    const wsSeen = new Map<string, number>()
    let wsAlerts = 0
    let resyncs = 0
    socket = await openLiveFeed(server.url, `alpr_session=${sessionToken}`, (message) => {
      if (message.type === "resync") resyncs++
      if (message.type === "alert" && message.alert !== undefined && !wsSeen.has(message.alert.plate)) {
        wsAlerts++
        wsSeen.set(message.alert.plate, Date.now())
      }
    })

    // ---- Collectors
    const collectors = await Promise.all(server.claimCodes.map(async (code, index) => {
      const { apiKey } = await claimCollector(ingestUrl, code, `bench-alerts-${index}`)
      return { apiKey, index, seq: 0 }
    }))
    const photo = new Uint8Array(randomBytes(4_000))
    photo.set([0xff, 0xd8, 0xff, 0xe0], 0)
    photo.set([0xff, 0xd9], photo.length - 2)

    const answered = new Map<string, number>()
    const batchLatencies: Array<number> = []
    let refused = 0
    let sent = 0
    let nextTarget = 0
    const order = Array.from({ length: settings.entries }, (_, i) => i).sort(() => Math.random() - 0.5)
    /** A batch of traffic with every `matchEvery`-th read planted (`plantFirst`: its first read too). */
    const sendBatch = async (collector: (typeof collectors)[number], size: number, planted: boolean, plantFirst = false) => {
      const now = Date.now()
      const events: Array<Read> = []
      const targets: Array<string> = []
      for (let k = 0; k < size; k++) {
        const target = planted && ((sent + k) % settings.matchEvery === 0 || (plantFirst && k === 0)) && nextTarget < order.length
        const plate = target ? planned[order[nextTarget++]!]!.sample : trafficPlate()
        if (target) targets.push(plate)
        events.push({
          detection_id: `a-${collector.index}-${++collector.seq}`,
          timestamp: new Date(now - randomInt(2_000)).toISOString(),
          camera: { id: `cam-${collector.index}-${k % 5}`, mac: `AA:BB:CC:00:0${collector.index % 10}:0${k % 5}` },
          plate: { text: plate, confidence: 0.9 }
        })
      }
      sent += size
      // As a collector sends them: multipart when the batch carries photos (only planted reads do), else JSON.
      const headers: Record<string, string> = { authorization: `Bearer ${collector.apiKey}` }
      let body: FormData | string
      if (targets.length > 0) {
        const form = new FormData()
        form.append("batch", JSON.stringify({ events }))
        for (const event of events) {
          if (targets.includes(event.plate.text)) form.append(`plate:${event.detection_id}`, new Blob([photo], { type: "image/jpeg" }), "plate.jpg")
        }
        body = form
      } else {
        body = JSON.stringify({ events })
        headers["content-type"] = "application/json"
      }
      const started = performance.now()
      const response = await fetch(`${ingestUrl}/api/v1/detections/batch`, { method: "POST", headers, body })
      const text = await response.text()
      batchLatencies.push(performance.now() - started)
      if (response.status !== 200) {
        refused++
        progress(`batch refused: ${response.status} ${text.slice(0, 200)}`)
        return
      }
      const at = Date.now()
      for (const plate of targets) answered.set(plate, at)
    }

    // ---- Warm-up: the matcher has every entry once planted reads alert (it loads them after NOTIFY)
    progress("waiting for the first planted reads to alert (the matcher loading the entries)")
    const warmStarted = Date.now()
    while (wsAlerts === 0) {
      if (Date.now() - warmStarted > 120_000) throw new Error("no alert within 120 s of planting watched plates")
      await sendBatch(collectors[0]!, settings.batch, true, true)
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000))
    progress(`first alert after ${((Date.now() - warmStarted) / 1000).toFixed(1)} s; measuring`)
    answered.clear()
    wsSeen.clear()
    outputs?.clear()
    const callsBefore = bot.calls.length

    // ---- The load: open loop, batches on schedule round-robin over the collectors
    const { rows: pgPids } = await db.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    const cpuStart = cpuSnapshot(serverPids, pgPids.map((r) => r.pid))
    if (settings.trace) await server.snapshot()
    // This process sends, receives the feed and plays Telegram: its own stalls would count as latency.
    const ownDelay = monitorEventLoopDelay({ resolution: 10 })
    ownDelay.enable()
    const interval = (1000 * settings.batch) / settings.rate
    const batches = Math.floor((settings.rate * settings.seconds) / settings.batch)
    const inFlight: Array<Promise<void>> = []
    const started = performance.now()
    for (let b = 0; b < batches; b++) {
      const due = started + b * interval
      const wait = due - performance.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      inFlight.push(sendBatch(collectors[b % collectors.length]!, settings.batch, true))
      if (b % Math.round(5_000 / interval) === 0 && b > 0) {
        progress(`  ${(sent).toLocaleString("en-US")} reads sent, ${answered.size} planted, ${wsSeen.size} alerts on the WebSocket`)
      }
    }
    await Promise.all(inFlight)
    const loadSeconds = (performance.now() - started) / 1000
    ownDelay.disable()
    progress(`this process's event loop delay during the load: p99 ${(ownDelay.percentile(99) / 1e6).toFixed(1)} ms, max ${(ownDelay.max / 1e6).toFixed(1)} ms`)
    const cpuEnd = cpuSnapshot(serverPids, pgPids.map((r) => r.pid))
    const figures = await server.snapshot()
    progress(
      `server during the load: event loop ${(100 * figures.event_loop_utilization).toFixed(0)}% busy, ` +
        `delay p99 ${figures.event_loop_delay_p99_ms.toFixed(1)} ms, GC ${figures.gc_ms.toFixed(0)} ms`
    )
    const table = spanTable(figures.spans, settings.seconds, "per second", 60)
    if (table !== undefined) progress(`server spans during the load (ms)\n${table}`)
    progress(`load done: ${settings.rate * settings.seconds} reads in ${loadSeconds.toFixed(1)} s; waiting for the last alerts`)

    let telegramRepeats = 0
    const telegramAt = () => {
      const at = new Map<string, number>()
      telegramRepeats = 0
      for (const call of bot.calls.slice(callsBefore)) {
        if (call.method !== "sendPhoto" || call.status !== 200) continue
        const plate = /\bWK[0-9A-Z]{6}\b/.exec(String(call.params.caption ?? ""))?.[0]
        if (plate === undefined) continue
        if (at.has(plate)) telegramRepeats++
        else at.set(plate, call.at)
      }
      return at
    }
    const settleStarted = Date.now()
    while (Date.now() - settleStarted < 30_000) {
      const telegram = telegramAt()
      if (
        [...answered.keys()].every((plate) =>
          wsSeen.has(plate) && telegram.has(plate) && (outputs === undefined || (outputs.mqtt.has(plate) && outputs.webhook.has(plate)))
        )
      ) break
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    const telegram = telegramAt()
    const planted = [...answered.keys()]
    const wsLatency = planted.filter((p) => wsSeen.has(p)).map((p) => wsSeen.get(p)! - answered.get(p)!).sort((a, b) => a - b)
    const tgLatency = planted.filter((p) => telegram.has(p)).map((p) => telegram.get(p)! - answered.get(p)!).sort((a, b) => a - b)
    const latencyOf = (seen: ReadonlyMap<string, number>) =>
      planted.filter((p) => seen.has(p)).map((p) => seen.get(p)! - answered.get(p)!).sort((a, b) => a - b)
    const mqttLatency = outputs === undefined ? [] : latencyOf(outputs.mqtt)
    const webhookLatency = outputs === undefined ? [] : latencyOf(outputs.webhook)
    const { rows: [stored] } = await db.query<{ alerts: number; plates: number; deliveries_sent: number }>(
      `SELECT count(*)::int AS alerts, count(DISTINCT plate)::int AS plates,
              (SELECT count(*)::int FROM telegram_deliveries WHERE status = 'sent') AS deliveries_sent
         FROM alerts WHERE plate = ANY($1::text[])`,
      [planted.map((p) => p.replace(/\s/g, ""))]
    )

    const cores = coresBetween(cpuStart, cpuEnd)
    progress(
      `planted ${planted.length}; WebSocket alerts ${wsLatency.length}, Telegram photos ${tgLatency.length}; ` +
        `stored alerts ${stored!.alerts} for ${stored!.plates} plates; resyncs ${resyncs}; refused batches ${refused}`
    )
    progress(`machine busy ${cores.machine.toFixed(2)} of 2 cores (server ${cores.server.toFixed(2)}, postgres ${cores.postgres.toFixed(2)})`)
    const report = (name: string, sorted: ReadonlyArray<number>, target: number) => {
      emit(`alerts.${name}.p50_ms`, quantile(sorted, 0.5), "ms")
      emit(`alerts.${name}.p95_ms`, quantile(sorted, 0.95), "ms")
      emit(`alerts.${name}.p99_ms`, quantile(sorted, 0.99), "ms")
      emit(`alerts.${name}.max_ms`, sorted.at(-1) ?? Number.NaN, "ms")
      emit(`alerts.${name}.target_p99_ms`, target, "ms")
      emit(`alerts.${name}.target_met`, quantile(sorted, 0.99) < target ? 1 : 0, "bool")
      progress(`${name}: p50 ${quantile(sorted, 0.5)} ms, p95 ${quantile(sorted, 0.95)} ms, p99 ${quantile(sorted, 0.99)} ms, max ${sorted.at(-1)} ms (target p99 < ${target} ms)`)
    }
    emit("alerts.servers", settings.servers, "count")
    emit("alerts.entries", settings.entries, "count")
    emit("alerts.reads_per_s", (settings.rate * settings.seconds) / loadSeconds, "reads/s")
    emit("alerts.planted", planted.length, "count")
    report("websocket", wsLatency, TARGETS.ws)
    report("telegram", tgLatency, TARGETS.telegram)
    emit("alerts.telegram.duplicates", telegramRepeats, "count")
    if (outputs !== undefined) {
      report("mqtt", mqttLatency, TARGETS.mqtt)
      report("webhook", webhookLatency, TARGETS.webhook)
      emit("alerts.mqtt.duplicates", outputs.duplicates.mqtt, "count")
      emit("alerts.webhook.duplicates", outputs.duplicates.webhook, "count")
      emit("alerts.webhook.bad_signatures", outputs.badSignatures(), "count")
      progress(`MQTT: ${mqttLatency.length} alerts, ${outputs.duplicates.mqtt} repeated; webhook: ${webhookLatency.length} POSTs, ${outputs.duplicates.webhook} repeated, ${outputs.badSignatures()} bad signatures`)
    }
    const sortedBatches = batchLatencies.sort((a, b) => a - b)
    emit("alerts.ingest_batch.p99_ms", quantile(sortedBatches, 0.99), "ms")
    emit("alerts.cpu.machine", cores.machine, "cores")
    const missing = (n: number) => (outputs === undefined ? 0 : planted.length - n)
    const lost = planted.length - wsLatency.length + (planted.length - tgLatency.length) + missing(mqttLatency.length) +
      missing(webhookLatency.length)
    const repeated = telegramRepeats + (outputs === undefined ? 0 : outputs.duplicates.mqtt + outputs.duplicates.webhook)
    if (
      lost > 0 || repeated > 0 || stored!.alerts !== planted.length || refused > 0 ||
      (outputs !== undefined && outputs.badSignatures() > 0)
    ) {
      throw new Error(
        `${planted.length - wsLatency.length} planted reads never reached the WebSocket, ${planted.length - tgLatency.length} never reached Telegram, ` +
          `${missing(mqttLatency.length)} never reached MQTT, ${missing(webhookLatency.length)} never reached the webhook, ` +
          `${stored!.alerts} alerts stored for ${planted.length} planted reads, ${refused} batches refused, ` +
          `${repeated} alerts delivered more than once` +
          (outputs === undefined ? "" : `, ${outputs.badSignatures()} webhook signatures wrong`)
      )
    }
  } finally {
    socket?.close()
    await db.end()
    await balancer?.close()
    for (const other of others) await other.stop()
    await server.stop()
    await bot.close()
    await outputs?.close()
    if (settings.keep) progress(`kept database ${database.name}`)
    else await database.drop()
    await Fs.rm(dataDir, { recursive: true, force: true })
  }
}
