import { LIVE_PATH, LIVE_REPLAY_DEFAULT, type LiveMessage, LiveParams } from "@chaverim/domain/Alerts"
import type { HealthAlert } from "@chaverim/domain/Health"
import { SESSION_COOKIE } from "@chaverim/domain/Auth"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Socket from "@effect/platform/Socket"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Arr from "effect/Array"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { Socket as NetSocket } from "node:net"
import {
  alertFrom,
  alertOf,
  type AlertRow,
  decodeAlertRows,
  decodeDetectionRows,
  detectionColumns,
  detectionOf,
  type DetectionRow,
  mayView,
  type Viewer
} from "../alerts/Views"
import { type LiveViewer, makePhotoViews, MAX_VIEW_READS } from "../audit/PhotoViews"
import { Accounts } from "../auth/Accounts"
import { decodeHealthRows, healthFrom, healthOf } from "../health/Health"
import { SESSION_CHANGED_CHANNEL } from "../auth/SessionChanges"
import { AppConfig } from "../Config"
import { isFor, PgListener } from "../db/Listener"
import { orBug } from "../db/Rows"
import { requestInfoOf } from "../http/ClientAddress"
import { originAllowed } from "../http/Origin"
import { LIVE_EVENTS_CHANNEL, LIVE_EVENTS_KEPT_HOURS } from "./Events"

/** Messages waiting for one client; past either bound the client is told to resync. */
export const CLIENT_MAX_MESSAGES = 1_000
export const CLIENT_MAX_BYTES = 4 * 1024 * 1024
/** Bytes the socket may hold unsent before the client's messages wait in its outbox instead. */
const SOCKET_HIGH_WATER = 256 * 1024
/** A client told to resync that still reads nothing after this is cut off. */
const STALLED_CLOSE_MS = 30_000
const STALL_CHECK_MS = 5_000
const PAGE = 500
/** Live events are kept this long (the contract: a day), then pruned. */
const KEEP = `${LIVE_EVENTS_KEPT_HOURS} hours`
const PRUNE_LOCK = 7_415_011
const SAFETY_POLL = "5 seconds"
/**
 * A feed's session is checked again when a change to its user is announced (SESSION_CHANGED_CHANNEL),
 * and at least this often: what no trigger announces, a session running out, is noticed then.
 */
const SESSION_RECHECK = "1 minute"
/** A check of the session that takes longer than this has failed: the feed closes. */
const SESSION_CHECK_TIMEOUT = "4 seconds"
/** Closes of a feed whose session could not be checked (the database failed): reconnect and try again. */
export const CLOSE_CHECK_FAILED = 1011
/** The last row of a closing connection's view is given this long. */
const VIEW_ROW_AT_CLOSE = "3 seconds"

/** One event made ready to send: its text is built once for every client. */
interface Outgoing {
  readonly id: number
  readonly kind: "detection" | "alert" | "health"
  readonly text: string
  /** for a read with a plate crop: the read's id (its crop is covered by the connection's view) */
  readonly read?: string | undefined
  /** for a read: when it was stored (ms), to time its way to the screens */
  readonly storedMs?: number | undefined
  /** for an alert: whose list it is, to decide who may receive it */
  readonly list?: { readonly shared: boolean; readonly owner_id: string | null } | undefined
  /** for a health alert: admins only */
  readonly adminsOnly?: true | undefined
}

/** A row of `live_events` (its bigints as text): the event's number and the read or alert it tells of. */
const EventRow = Schema.Struct({
  id: Schema.NumberFromString,
  kind: Schema.Literal("detection", "alert", "health"),
  detection_id: Schema.NullOr(Schema.String),
  alert_id: Schema.NullOr(Schema.String),
  health_alert_id: Schema.NullOr(Schema.String),
  /** the read's time in milliseconds since 1970; null for an alert, or an event from before sql/0021 */
  at_ms: Schema.NullOr(Schema.Number)
})

/** The journal's first and last event numbers (as text), both null when it is empty. */
const BoundsRow = Schema.Struct({ min: Schema.NullOr(Schema.NumberFromString), max: Schema.NullOr(Schema.NumberFromString) })

/** Reads are for everyone; an alert only for who may see its list; a health alert for admins. */
const mayReceive = (viewer: Viewer, event: Outgoing) =>
  event.adminsOnly === true ? viewer.role === "admin" : event.list === undefined || mayView(viewer, event.list)

/**
 * What one connection is sent: what its user may receive as of now (their role may change while the
 * feed is open), and of that no reads with `?only=alerts`.
 */
const wantedBy = (viewer: () => Viewer, only: LiveParams["only"]) => (event: Outgoing) =>
  event.text !== "" && mayReceive(viewer(), event) && (only === undefined || event.kind !== "detection")

const messageText = (message: LiveMessage) => JSON.stringify(message)

const clientsGauge = Metric.gauge("alpr_live_clients", { description: "Live feed WebSocket clients connected to this server" })
/** From a read stored to its message written to a screen's socket (the live ones, not replays or resumes). */
const toScreen = Metric.histogram(
  "alpr_live_to_screen_seconds",
  MetricBoundaries.fromIterable([0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]),
  "Seconds from a read stored to its live message written to a client"
)
const overflowsTotal = Metric.counter("alpr_live_overflows_total", {
  description: "Live feed clients that fell too far behind and were told to resync"
})

/**
 * What one client has yet to be sent. Filled by the broadcaster without ever waiting; when it grows
 * past its bounds it is dropped whole and the client will be told to resync, so a slow client costs
 * bounded memory and delays no one.
 */
class Outbox {
  private items: Array<Outgoing> = []
  private bytes = 0
  private waiter: (() => void) | undefined
  overflowed = false

  constructor(readonly wants: (event: Outgoing) => boolean) {}

  /** Whether this offer overflowed the outbox. */
  offer(events: ReadonlyArray<Outgoing>): boolean {
    if (this.overflowed) return false
    for (const event of events) {
      if (!this.wants(event)) continue
      this.items.push(event)
      this.bytes += event.text.length
    }
    if (this.items.length > CLIENT_MAX_MESSAGES || this.bytes > CLIENT_MAX_BYTES) {
      this.overflowed = true
      this.items = []
      this.bytes = 0
    }
    this.wake()
    return this.overflowed
  }

  /** Everything waiting (at least one event, or the overflow). */
  readonly take: Effect.Effect<ReadonlyArray<Outgoing>> = Effect.async<ReadonlyArray<Outgoing>>((resume) => {
    const give = () => {
      const items = this.items
      this.items = []
      this.bytes = 0
      this.waiter = undefined
      resume(Effect.succeed(items))
    }
    if (this.items.length > 0 || this.overflowed) give()
    else this.waiter = give
    return Effect.sync(() => {
      this.waiter = undefined
    })
  })

  private wake() {
    if (this.waiter !== undefined && (this.items.length > 0 || this.overflowed)) this.waiter()
  }
}

const drainOf = (net: NetSocket): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const done = () => {
      net.off("drain", done)
      net.off("close", done)
      resume(Effect.void)
    }
    net.on("drain", done)
    net.on("close", done)
    return Effect.sync(() => {
      net.off("drain", done)
      net.off("close", done)
    })
  })

/**
 * Resolves once the socket has room again (or has closed). A client that reads nothing at all for
 * STALLED_CLOSE_MS while it is owed a resync is cut off, so it does not hold its buffers for good.
 */
const roomIn = (net: NetSocket, outbox: Outbox): Effect.Effect<void> =>
  Effect.gen(function*() {
    let stalled = 0
    while (net.writableLength > SOCKET_HIGH_WATER && !net.destroyed) {
      const drained = yield* drainOf(net).pipe(Effect.timeoutOption(STALL_CHECK_MS))
      if (Option.isSome(drained) || !outbox.overflowed) continue
      stalled += STALL_CHECK_MS
      if (stalled >= STALLED_CLOSE_MS) net.destroy()
    }
  })

/**
 * The live feed of one server: one LISTEN live_events for all its clients; at each notification the
 * events after the last one broadcast are read once and handed to every client's outbox.
 */
export class LiveFeed extends Effect.Service<LiveFeed>()("@chaverim/server/LiveFeed", {
  scoped: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const photoViews = yield* makePhotoViews
    /** A connection's audit row naming the crops it sent is written this often (while it sends any). */
    const viewRowEvery = Duration.seconds((yield* AppConfig).liveViewAuditSeconds)
    /** A connection's token is replaced this often. */
    const tokenEveryMs = (yield* AppConfig).liveViewTokenSeconds * 1000
    const listener = yield* PgListener
    const signals = yield* listener.subscribe(LIVE_EVENTS_CHANNEL)
    const sessionSignals = yield* listener.subscribe(SESSION_CHANGED_CHANNEL)
    const clients = new Set<Outbox>()
    /** Each open feed's "check your session now", by user id. */
    const rechecks = new Map<string, Set<Queue.Enqueue<void>>>()
    // An aggregate: always one row.
    const start = yield* SqlSchema.single({
      Request: Schema.Void,
      Result: Schema.Struct({ id: Schema.NumberFromString }),
      execute: () => sql`SELECT coalesce(max(id), 0)::text AS id FROM live_events`
    })(undefined).pipe(orBug, Effect.catchTag("NoSuchElementException", Effect.die))
    /** The last event handed to the clients. */
    let head = start.id

    // A page is decoded once for all the clients.
    const eventPage = SqlSchema.findAll({
      Request: Schema.Struct({ after: Schema.Number, upTo: Schema.UndefinedOr(Schema.Number) }),
      Result: EventRow,
      execute: ({ after, upTo }) =>
        sql`
          SELECT id::text AS id, kind, detection_id::text AS detection_id, alert_id::text AS alert_id,
                 health_alert_id::text AS health_alert_id, (extract(epoch FROM detected_at) * 1000)::float8 AS at_ms
            FROM live_events
           WHERE ${sql.and([sql`id > ${after}`, ...(upTo === undefined ? [] : [sql`id <= ${upTo}`])])}
           ORDER BY live_events.id
           LIMIT ${PAGE}`
    })

    const bounds = SqlSchema.findOne({
      Request: Schema.Void,
      Result: BoundsRow,
      execute: () => sql`SELECT min(id)::text AS min, max(id)::text AS max FROM live_events`
    })(undefined).pipe(orBug, Effect.map(Option.getOrElse(() => ({ min: null, max: null }))))

    /**
     * The latest `count` reads' events up to `upTo`, newest first: the journal's primary key read
     * backwards, stepping over the few alert events between them; never more than a day of events.
     */
    const latestReadPage = SqlSchema.findAll({
      Request: Schema.Struct({ upTo: Schema.Number, count: Schema.Number }),
      Result: EventRow,
      execute: ({ count, upTo }) =>
        sql`
          SELECT id::text AS id, kind, detection_id::text AS detection_id, alert_id::text AS alert_id,
                 health_alert_id::text AS health_alert_id, (extract(epoch FROM detected_at) * 1000)::float8 AS at_ms
            FROM live_events
           WHERE id <= ${upTo} AND kind = 'detection'
           ORDER BY live_events.id DESC
           LIMIT ${count}`
    })

    /**
     * Events with what they show as of now, in their order; `replayed` marks reads sent to a fresh
     * connection from before it.
     */
    const outgoingOf = (events: ReadonlyArray<typeof EventRow.Type>, replayed = false) =>
      Effect.gen(function*() {
        if (events.length === 0) return []
        const detectionIds = [...new Set(events.flatMap((e) => (e.detection_id === null ? [] : [e.detection_id])))]
        const alertIds = [...new Set(events.flatMap((e) => (e.alert_id === null ? [] : [e.alert_id])))]
        const healthIds = [...new Set(events.flatMap((e) => (e.health_alert_id === null ? [] : [e.health_alert_id])))]
        const detections = new Map<string, DetectionRow>()
        if (detectionIds.length > 0) {
          // The reads' times bound the lookup to their months (a parameter the planner sees), when
          // every event carries one.
          const times = events.flatMap((e) => (e.detection_id === null ? [] : [e.at_ms]))
          const within = times.some((t) => t === null)
            ? sql``
            : sql`AND d.detected_at BETWEEN ${new Date(Math.floor(Math.min(...(times as Array<number>))) - 1).toISOString()}::timestamptz
                                        AND ${new Date(Math.ceil(Math.max(...(times as Array<number>))) + 1).toISOString()}::timestamptz`
          const rows = yield* sql`
            SELECT ${detectionColumns(sql)} FROM detections d JOIN cameras c ON c.id = d.camera_id
             WHERE d.id = ANY(string_to_array(${detectionIds.join(",")}, ',')::bigint[]) ${within}`
          for (const row of yield* orBug(decodeDetectionRows(rows))) detections.set(row.d_id, row)
        }
        const alerts = new Map<string, AlertRow>()
        if (alertIds.length > 0) {
          const rows = yield* sql`
            ${alertFrom(sql)} WHERE a.id = ANY(string_to_array(${alertIds.join(",")}, ',')::bigint[])`
          for (const row of yield* orBug(decodeAlertRows(rows))) alerts.set(row.id, row)
        }
        const healths = new Map<string, HealthAlert>()
        if (healthIds.length > 0) {
          const rows = yield* sql`
            ${healthFrom(sql)} WHERE h.id = ANY(string_to_array(${healthIds.join(",")}, ',')::bigint[])`
          for (const row of yield* orBug(decodeHealthRows(rows))) healths.set(row.id, healthOf(row))
        }
        const out: Array<Outgoing> = []
        for (const event of events) {
          const id = event.id
          const detection = event.detection_id === null ? undefined : detections.get(event.detection_id)
          const alert = event.alert_id === null ? undefined : alerts.get(event.alert_id)
          const health = event.health_alert_id === null ? undefined : healths.get(event.health_alert_id)
          if (detection !== undefined) {
            const read = detectionOf(detection)
            out.push({
              id,
              kind: "detection",
              read: read.images.plate === undefined ? undefined : read.id,
              storedMs: Date.parse(detection.d_received_at),
              text: messageText(
                replayed
                  ? { type: "detection", event_id: id, detection: read, replayed: true }
                  : { type: "detection", event_id: id, detection: read }
              )
            })
          } else if (health !== undefined) {
            out.push({ id, kind: "health", text: messageText({ type: "health", event_id: id, health }), adminsOnly: true })
          } else if (alert !== undefined) {
            out.push({
              id,
              kind: "alert",
              text: messageText({ type: "alert", event_id: id, alert: alertOf(alert) }),
              list: { shared: alert.shared, owner_id: alert.owner_id }
            })
          } else {
            // The read or alert is gone (retention): nothing to show, but the number is used.
            out.push({ id, kind: event.kind, text: "" })
          }
        }
        return out
      })

    /** Events after `after` (up to `upTo`), oldest first, with what they show as of now. */
    const eventsAfter = (after: number, upTo: number | undefined) =>
      Effect.flatMap(orBug(eventPage({ after, upTo })), (events) => outgoingOf(events))

    /** The latest `count` reads up to event `upTo` (the ones a fresh connection starts with), oldest first. */
    const latestReads = (upTo: number, count: number) =>
      count === 0
        ? Effect.succeed([])
        : Effect.flatMap(orBug(latestReadPage({ upTo, count })), (events) => outgoingOf([...events].reverse(), true))

    const broadcast = Effect.gen(function*() {
      while (true) {
        const page = yield* orBug(eventPage({ after: head, upTo: undefined }))
        const full = page.length >= PAGE
        const events = yield* outgoingOf(page)
        if (!Arr.isNonEmptyReadonlyArray(events)) return
        // No wait between reading and handing over: a client registering sees `head` move with it.
        let overflowed = 0
        for (const client of clients) if (client.offer(events)) overflowed++
        head = Arr.lastNonEmpty(events).id
        if (overflowed > 0) yield* Metric.incrementBy(overflowsTotal, overflowed)
        // A page short of full held every event there was: what comes next comes with a NOTIFY of its own.
        if (!full) return
      }
    })

    const dirty = yield* Queue.sliding<void>(1)
    yield* Stream.fromQueue(signals).pipe(
      Stream.filter(isFor(LIVE_EVENTS_CHANNEL)),
      Stream.merge(Stream.fromSchedule(Schedule.spaced(SAFETY_POLL))),
      Stream.runForEach(() => Queue.offer(dirty, undefined)),
      Effect.forkScoped
    )
    yield* Queue.take(dirty).pipe(
      Effect.zipRight(broadcast),
      Effect.tapError((error) => Effect.logWarning("live feed: reading events failed; retrying", error)),
      Effect.retry(Schedule.exponential("200 millis").pipe(Schedule.jittered, Schedule.union(Schedule.spaced("10 seconds")))),
      Effect.forever,
      Effect.forkScoped
    )

    // A change announced for a user wakes their feeds; after a lost LISTEN connection every feed checks,
    // since announcements made meanwhile are gone.
    yield* Stream.fromQueue(sessionSignals).pipe(
      Stream.runForEach((signal) => {
        const woken = signal._tag === "Connected"
          ? [...rechecks.values()].flatMap((feeds) => [...feeds])
          : signal.channel === SESSION_CHANGED_CHANNEL
          ? [...rechecks.get(signal.payload) ?? []]
          : []
        return Effect.forEach(woken, (feed) => Queue.offer(feed, undefined), { discard: true })
      }),
      Effect.forkScoped
    )

    // One server at a time prunes; the newest event always stays, so the numbering stays known.
    const prune = sql.withTransaction(Effect.gen(function*() {
      const lock = yield* SqlSchema.findOne({
        Request: Schema.Void,
        Result: Schema.Struct({ locked: Schema.Boolean }),
        execute: () => sql`SELECT pg_try_advisory_xact_lock(${PRUNE_LOCK}) AS locked`
      })(undefined).pipe(orBug)
      if (!Option.exists(lock, (row) => row.locked)) return
      yield* sql`
        DELETE FROM live_events
         WHERE created_at < now() - ${KEEP}::interval
           AND id < (SELECT max(id) FROM live_events)`
    }))
    yield* prune.pipe(
      Effect.catchAll((error) => Effect.logWarning("live feed: pruning failed", error)),
      Effect.repeat(Schedule.spaced("1 hour")),
      Effect.forkScoped
    )

    /**
     * Serves one WebSocket until it closes: `hello`, the events after `after` (when given) from the
     * table, or else the latest `replay` reads (up to the head `hello` gives: the live ones come after
     * it, so none is sent twice), then the live ones, each once and in order. `session` (who the
     * session's user is now, none once it has ended) is asked again whenever a change to the user is
     * announced, and every SESSION_RECHECK: a changed role applies from the next event on, an ended
     * session closes the feed (4401), and so does a check that fails or hangs (1011: fail closed, the
     * client reconnects).
     */
    const serve = (options: {
      readonly socket: Socket.Socket
      readonly net: NetSocket
      readonly viewer: Viewer
      readonly after: number | undefined
      readonly only: LiveParams["only"]
      /** reads to replay when `after` is not given */
      readonly replay: number
      readonly session: Effect.Effect<Option.Option<Viewer>, unknown>
      /** who watches, for the audit of the crops the feed sends */
      readonly watcher: LiveViewer
    }) =>
      Effect.scoped(Effect.gen(function*() {
        const write = yield* options.socket.writer
        let viewer = options.viewer
        const wants = wantedBy(() => viewer, options.only)
        const outbox = new Outbox(wants)
        const recheck = yield* Queue.sliding<void>(1)
        const userId = options.viewer.userId
        const feeds = rechecks.get(userId) ?? new Set()
        rechecks.set(userId, feeds.add(recheck))
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            feeds.delete(recheck)
            if (feeds.size === 0 && rechecks.get(userId) === feeds) rechecks.delete(userId)
          })
        )
        // A change committed between the check before the upgrade and the line above was announced to nobody.
        yield* Queue.offer(recheck, undefined)
        // Registered together with reading the head: every event after `from` reaches the outbox.
        const from = head
        clients.add(outbox)
        yield* Metric.set(clientsGauge, clients.size)
        yield* Effect.addFinalizer(() =>
          Effect.suspend(() => {
            clients.delete(outbox)
            return Metric.set(clientsGauge, clients.size)
          })
        )

        const send = (text: string) => Effect.zipRight(roomIn(options.net, outbox), write(text))
        const close = (code: number, reason: string) => write(new Socket.CloseEvent(code, reason))
        const resync = (reason: "overflow" | "too_old" | "unknown") =>
          send(messageText({ type: "resync", last_event_id: head, reason })).pipe(Effect.zipRight(close(4000, "resync")))

        // The crops this connection shows are audited as its view (audit/PhotoViews.ts): reads with a
        // crop sent since the view's last row wait in `unlisted` for the next one.
        const carriesReads = options.only === undefined
        const unlisted: Array<string> = []
        let tokenAt = 0
        const rows = yield* Effect.makeSemaphore(1)
        /**
         * Rows naming the reads not yet listed (a read leaves `unlisted` once its row is written), the
         * last one with a new token when `after` is given; one writer at a time.
         */
        const viewRows = (after?: number) =>
          rows.withPermits(1)(Effect.gen(function*() {
            while (true) {
              const final = unlisted.length <= MAX_VIEW_READS
              const chunk = unlisted.slice(0, MAX_VIEW_READS)
              if (chunk.length === 0 && after === undefined) return undefined
              const token = yield* photoViews.live(options.watcher, chunk, final ? after : undefined)
              unlisted.splice(0, chunk.length)
              if (final) return token
            }
          }))
        /** A new token, covering what the connection sends after `after`, given to the client. */
        const newView = (after: number) =>
          Effect.gen(function*() {
            const token = yield* viewRows(after)
            tokenAt = Date.now()
            if (token !== undefined) yield* send(messageText({ type: "view", token }))
          })
        /** Sends a read or an alert; a read's crop is listed by the view (renewed first when it is due). */
        const sendEvent = (event: Outgoing) =>
          Effect.gen(function*() {
            if (event.read !== undefined) {
              if (Date.now() - tokenAt >= tokenEveryMs) yield* newView(event.id - 1)
              unlisted.push(event.read)
            }
            yield* send(event.text)
          })
        if (carriesReads) {
          // The reads of the last minute are listed every minute, and the rest when the connection ends.
          const listUnlisted = Effect.suspend(() => (unlisted.length === 0 ? Effect.void : Effect.asVoid(viewRows())))
          yield* listUnlisted.pipe(
            Effect.catchAllCause((cause) => Effect.logWarning("live feed: recording a view failed; retrying", cause)),
            Effect.repeat(Schedule.spaced(viewRowEvery)),
            Effect.delay(viewRowEvery),
            Effect.forkScoped
          )
          // Bounded: a server stopping must not wait on a database that is going away.
          yield* Effect.addFinalizer(() =>
            listUnlisted.pipe(
              Effect.timeoutFail({ duration: VIEW_ROW_AT_CLOSE, onTimeout: () => "timed out" }),
              Effect.catchAllCause((cause) => Effect.logWarning("live feed: recording a view failed", cause))
            )
          )
        }

        const writer = Effect.gen(function*() {
          yield* send(messageText({ type: "hello", last_event_id: from }))
          let last = from
          if (options.after !== undefined) {
            const after = options.after
            const journal = yield* bounds
            const max = journal.max ?? 0
            const min = journal.min ?? undefined
            if (after > Math.max(max, from)) return yield* resync("unknown")
            if (min !== undefined && after < min - 1) return yield* resync("too_old")
            if (carriesReads) yield* newView(Math.min(after, from))
            let cursor = after
            while (cursor < from) {
              const page = yield* eventsAfter(cursor, from)
              if (!Arr.isNonEmptyReadonlyArray(page)) break
              for (const event of page) {
                if (wants(event)) yield* sendEvent(event)
              }
              cursor = Arr.lastNonEmpty(page).id
            }
            last = Math.max(from, after)
          } else if (carriesReads) {
            const replayed = (yield* latestReads(from, options.replay)).filter(wants)
            // The replayed reads are named by the connection's first row; what comes after `from`, by range.
            for (const event of replayed) if (event.read !== undefined) unlisted.push(event.read)
            yield* newView(from)
            for (const event of replayed) yield* send(event.text)
          }
          while (true) {
            const events = yield* outbox.take
            for (const event of events) {
              // Queued before a change of role: sent only if the user may still receive it.
              if (event.id <= last || !wants(event)) continue
              yield* sendEvent(event)
              if (event.storedMs !== undefined) yield* Metric.update(toScreen, Math.max(0, Date.now() - event.storedMs) / 1000)
              last = event.id
            }
            if (outbox.overflowed) return yield* resync("overflow")
          }
        })

        const sessionWatch = Effect.gen(function*() {
          while (true) {
            yield* Queue.take(recheck).pipe(Effect.timeoutOption(SESSION_RECHECK))
            const checked = yield* options.session.pipe(
              Effect.timeoutFail({ duration: SESSION_CHECK_TIMEOUT, onTimeout: () => "timed out" }),
              Effect.either
            )
            if (Either.isLeft(checked)) {
              yield* Effect.logWarning("live feed: checking a session failed; closing the feed", checked.left)
              return yield* close(CLOSE_CHECK_FAILED, "the session could not be checked; reconnect")
            }
            if (Option.isNone(checked.right)) return yield* close(4401, "the session has ended")
            viewer = checked.right.value
          }
        })

        const reader = options.socket.runRaw(() => {}).pipe(Effect.catchAll(() => Effect.void))
        yield* Effect.raceFirst(reader, Effect.raceFirst(writer, sessionWatch)).pipe(
          // A defect too (an audit row of the view that could not be written): the connection ends, the client reconnects.
          Effect.catchAllCause((cause) => Effect.logWarning("live feed: a connection failed", cause))
        )
      }))

    return {
      serve,
      /** The last event handed to the clients. */
      head: Effect.sync(() => head),
      /** Clients connected now. */
      clients: Effect.sync(() => clients.size),
      prune
    } as const
  })
}) {}

const refuse = (status: number, tag: string, message: string) =>
  HttpServerResponse.unsafeJson({ _tag: tag, message }, { status })

const decodeParams = Schema.decodeUnknownEither(LiveParams)

/** A parameter's own message, once (an optional one also fails as "not undefined", which says nothing). */
const firstProblemPerParameter = (error: ParseResult.ParseError) => {
  const byParameter = new Map<string, string>()
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const key = issue.path.join(".")
    if (!byParameter.has(key)) byParameter.set(key, issue.message)
  }
  return [...byParameter.values()].join("; ")
}

/**
 * `GET /api/v1/live` on the HttpApi's router: checked before the upgrade (WebSocket, Origin, a
 * session of any role, `?after`, `?only`, `?replay`), then served by the LiveFeed.
 */
export const LiveFeedRouteLayer = Layer.effectDiscard(Effect.gen(function*() {
  const router = yield* HttpApiBuilder.Router
  const feed = yield* LiveFeed
  const accounts = yield* Accounts
  const config = yield* AppConfig

  const handler = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (request.headers["upgrade"]?.toLowerCase() !== "websocket") {
      return refuse(426, "BadRequest", "this is a WebSocket endpoint: connect with a WebSocket client")
    }
    if (!originAllowed(request.headers, config.publicUrl)) {
      return refuse(403, "Forbidden", "cross-origin WebSocket connections are refused")
    }
    const token = request.cookies[SESSION_COOKIE] ?? ""
    const user = yield* accounts.sessionUser(token).pipe(Effect.orDie)
    if (Option.isNone(user)) return refuse(401, "Unauthorized", "sign in first; your session is missing or has ended")
    const query = Object.fromEntries(new URL(request.url, "http://localhost").searchParams)
    const params = decodeParams(query)
    if (Either.isLeft(params)) return refuse(400, "BadRequest", firstProblemPerParameter(params.left))
    const socket = yield* request.upgrade.pipe(Effect.orDie)
    yield* feed.serve({
      socket,
      net: NodeHttpServerRequest.toIncomingMessage(request).socket,
      viewer: { userId: user.value.userId, role: user.value.role },
      after: params.right.after,
      only: params.right.only,
      replay: params.right.replay ?? LIVE_REPLAY_DEFAULT,
      watcher: { actor: user.value, address: requestInfoOf(request, config).address },
      session: Effect.map(accounts.sessionUser(token), Option.map((u) => ({ userId: u.userId, role: u.role })))
    })
    return HttpServerResponse.empty()
  })

  yield* router.get(LIVE_PATH, handler)
})).pipe(Layer.provide(HttpApiBuilder.Router.Live))
