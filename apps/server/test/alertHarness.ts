import type { Alert, LiveMessage } from "@chaverim/domain/Alerts"
import { LIVE_PATH } from "@chaverim/domain/Alerts"
import { MatcherCache } from "@chaverim/server"
import * as Effect from "effect/Effect"
import type { IncomingMessage } from "node:http"
import pg from "pg"
import WebSocket from "ws"
import type { TestServer } from "./harness"

/**
 * Helpers for the alert engine and live feed tests. Watchlists and entries are written in SQL here
 * (their service is someone else's); every read goes through the real ingest endpoint.
 */

export interface ListOptions {
  readonly name?: string
  readonly category?: "stolen" | "bolo" | "missing_person" | "of_interest" | "allow"
  readonly shared?: boolean
  readonly ownerId?: string | null
  readonly cameraIds?: ReadonlyArray<string>
  readonly active?: boolean
}

let lists = 0

/** A watchlist; returns its id and the revision its row took. */
export const createList = async (server: TestServer, options: ListOptions = {}) => {
  const { rows } = await server.db.query<{ id: string; revision: string }>(
    `INSERT INTO watchlists (name, category, shared, owner_id, camera_ids, active)
     VALUES ($1, $2, $3, $4, $5::uuid[], $6) RETURNING id, revision::text AS revision`,
    [
      options.name ?? `list ${++lists} ${Math.random().toString(36).slice(2, 8)}`,
      options.category ?? "stolen",
      options.shared ?? true,
      options.ownerId ?? null,
      options.cameraIds ?? [],
      options.active ?? true
    ]
  )
  return { id: rows[0]!.id, revision: Number(rows[0]!.revision) }
}

export interface EntryOptions {
  readonly note?: string
  readonly expiresAt?: Date
}

/** An entry (the value as the watchlist service would store it: canonical). */
export const createEntry = async (
  server: TestServer,
  watchlistId: string,
  kind: "exact" | "ocr" | "wildcard" | "regex",
  value: string,
  options: EntryOptions = {}
) => {
  const { rows } = await server.db.query<{ id: string; revision: string }>(
    `INSERT INTO watchlist_entries (watchlist_id, kind, value, note, added_by_name, expires_at)
     VALUES ($1, $2, $3, $4, 'test', $5) RETURNING id::text AS id, revision::text AS revision`,
    [watchlistId, kind, value, options.note ?? null, options.expiresAt ?? null]
  )
  return { id: rows[0]!.id, revision: Number(rows[0]!.revision) }
}

/** Waits until the server's matcher has applied every change up to `revision`. */
export const matcherAt = (server: TestServer, revision: number) =>
  server.runtime.runPromise(
    Effect.flatMap(MatcherCache, (cache) => cache.awaitRevision(revision)).pipe(Effect.timeout("10 seconds"))
  )

/** The newest revision of lists and entries in the database. */
export const latestRevision = async (db: pg.Client) => {
  const { rows } = await db.query<{ r: string }>(
    "SELECT greatest((SELECT max(revision) FROM watchlists), (SELECT max(revision) FROM watchlist_entries), 0)::text AS r"
  )
  return Number(rows[0]!.r)
}

/** A camera row of the collector, as ingest would make it, so a gate can name it before a read. */
export const createCamera = async (server: TestServer, collectorId: string, externalId: string) => {
  const { rows } = await server.db.query<{ id: string }>(
    `INSERT INTO cameras (collector_id, external_id, mac, name) VALUES ($1, $2, $3, $2)
     ON CONFLICT (collector_id, external_id) DO UPDATE SET updated_at = now() RETURNING id`,
    [collectorId, externalId, "AA:BB:CC:00:00:01"]
  )
  return rows[0]!.id
}

/**
 * Resolves when the alert work queue is empty and Telegram has taken its outbox events: checked at
 * every live event appended (the engine appends one with every item it finishes), every Telegram
 * delivery owed and, for items that do neither, every half second.
 */
export const drained = async (databaseUrl: string, timeoutMs = 60_000) => {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    await client.query("LISTEN live_events; LISTEN telegram_delivery")
    await new Promise<void>((resolve, reject) => {
      let checking = false
      const check = async () => {
        if (checking) return
        checking = true
        try {
          // The engine's queue, and what it published that the server's channels have yet to take (a
          // channel a test registers without a consumer keeps its rows).
          const { rows } = await client.query<{ n: string }>(
            `SELECT ((SELECT count(*) FROM alert_work) +
                     (SELECT count(*) FROM outbox WHERE channel IN ('telegram', 'webhook', 'mqtt', 'email')))::text AS n`
          )
          if (rows[0]?.n === "0") finish()
        } catch (error) {
          finish(error as Error)
        } finally {
          checking = false
        }
      }
      const poll = setInterval(check, 500)
      const timer = setTimeout(() => finish(new Error("the alert work queue did not drain")), timeoutMs)
      const finish = (error?: Error) => {
        clearInterval(poll)
        clearTimeout(timer)
        client.removeAllListeners("notification")
        if (error) reject(error)
        else resolve()
      }
      client.on("notification", () => void check())
      void check()
    })
  } finally {
    await client.end()
  }
}

export interface AlertRowSummary {
  readonly id: string
  readonly watchlist_id: string
  readonly entry_id: string | null
  readonly plate: string
  readonly sightings: number
  readonly retro: boolean
  readonly status: string
}

export const alertsOf = async (db: pg.Client, watchlistId?: string) =>
  (await db.query<AlertRowSummary>(
    `SELECT id::text AS id, watchlist_id, entry_id::text AS entry_id, plate, sightings, retro, status
       FROM alerts ${watchlistId === undefined ? "" : "WHERE watchlist_id = $1"} ORDER BY alerts.id`,
    watchlistId === undefined ? [] : [watchlistId]
  )).rows

/**
 * Queues a retro check of entries as the watchlist service does when entries are added: the item
 * and a NOTIFY alert_work (the ingest service rings after its commits; the database sends none).
 */
export const queueRetro = async (db: pg.Client, entryIds: ReadonlyArray<string>) => {
  await db.query("BEGIN")
  await db.query("INSERT INTO alert_work (entry_ids) VALUES ($1::bigint[])", [entryIds])
  await db.query("SELECT pg_notify('alert_work', 'retro')")
  await db.query("COMMIT")
}

/** Minutes before now, as an ISO timestamp. */
export const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString()

// ---------------------------------------------------------------------------------------------------------
// The live feed from a client's side

export const liveUrl = (server: TestServer, after?: number, only?: "alerts", replay?: number) => {
  const params = new URLSearchParams({
    ...(after === undefined ? {} : { after: String(after) }),
    ...(only === undefined ? {} : { only }),
    ...(replay === undefined ? {} : { replay: String(replay) })
  }).toString()
  return `${server.url.replace(/^http/, "ws")}${LIVE_PATH}${params === "" ? "" : `?${params}`}`
}

/** How the server answers an upgrade: "open", or the HTTP status it refused with. */
export const upgradeOutcome = (url: string, headers: Record<string, string>) =>
  new Promise<number | "open">((resolve, reject) => {
    const socket = new WebSocket(url, undefined, { headers })
    socket.on("open", () => {
      socket.close()
      resolve("open")
    })
    socket.on("unexpected-response", (_request: unknown, response: IncomingMessage) => {
      resolve(response.statusCode ?? 0)
      socket.terminate()
    })
    socket.on("error", (error) => reject(error))
  })

interface Waiter {
  readonly predicate: (message: LiveMessage) => boolean
  readonly resolve: (message: LiveMessage) => void
}

/** A live feed client that keeps every message, in order, and lets a test await one. */
export class LiveClient {
  readonly messages: Array<LiveMessage> = []
  /** when each message arrived (performance.now()) */
  readonly arrivals: Array<number> = []
  private waiters: Array<Waiter> = []
  readonly closed: Promise<{ readonly code: number; readonly reason: string }>

  private constructor(readonly socket: WebSocket) {
    socket.on("message", (data: Buffer) => {
      const message = JSON.parse(data.toString("utf8")) as LiveMessage
      this.messages.push(message)
      this.arrivals.push(performance.now())
      this.waiters = this.waiters.filter((waiter) => {
        if (!waiter.predicate(message)) return true
        waiter.resolve(message)
        return false
      })
    })
    this.closed = new Promise((resolve) => socket.on("close", (code, reason) => resolve({ code, reason: reason.toString() })))
  }

  static open(server: TestServer, cookie: string, after?: number, only?: "alerts", replay?: number): Promise<LiveClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(liveUrl(server, after, only, replay), undefined, { headers: { cookie } })
      const client = new LiveClient(socket)
      socket.on("open", () => resolve(client))
      socket.on("error", reject)
    })
  }

  /** The first message (already received or still to come) that satisfies `predicate`. */
  next<M extends LiveMessage>(predicate: (message: LiveMessage) => message is M, timeoutMs?: number): Promise<M>
  next(predicate: (message: LiveMessage) => boolean, timeoutMs?: number): Promise<LiveMessage>
  next(predicate: (message: LiveMessage) => boolean, timeoutMs = 20_000): Promise<LiveMessage> {
    const seen = this.messages.find(predicate)
    if (seen !== undefined) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter)
        reject(new Error(`no such live message within ${timeoutMs} ms (got ${this.messages.length})`))
      }, timeoutMs)
      const waiter: Waiter = {
        predicate,
        resolve: (message) => {
          clearTimeout(timer)
          resolve(message)
        }
      }
      this.waiters.push(waiter)
    })
  }

  /** Event numbers received (detections and alerts), in the order received. */
  get eventIds(): Array<number> {
    return this.messages.flatMap((m) => (m.type === "detection" || m.type === "alert" ? [m.event_id] : []))
  }

  alerts(): Array<Alert> {
    return this.messages.flatMap((m) => (m.type === "alert" ? [m.alert] : []))
  }

  close() {
    this.socket.close()
    return this.closed
  }
}

export const isAlertFor = (plate: string) => (message: LiveMessage): message is Extract<LiveMessage, { type: "alert" }> =>
  message.type === "alert" && message.alert.plate === plate

export const isDetectionOf = (detectionId: string) => (message: LiveMessage): message is Extract<LiveMessage, { type: "detection" }> =>
  message.type === "detection" && message.detection.detection_id === detectionId
