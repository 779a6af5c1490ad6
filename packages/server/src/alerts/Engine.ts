import { ocrKey } from "@chaverim/domain/Plate"
import type { EntryKind, WatchlistCategory } from "@chaverim/domain/Watchlist"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import { AppConfig } from "../Config"
import { isFor, PgListener } from "../db/Listener"
import { appendLiveEvents, type LiveEventsToAppend } from "../live/Events"
import { ALERT_RETRY_FIRST, ALERT_RETRY_MAX, alertRetry, makeItemBackoff } from "./Backoff"
import { indexKeys, type Match, Matcher, type MatchRead, PATTERN_TESTS_PER_READ } from "./Matcher"
import { MatcherCache } from "./MatcherCache"

export const ALERT_WORK_CHANNEL = "alert_work"
/** Telegram's senders are woken by this; the payload is never empty (PgClient.listen drops empty ones). */
export const TELEGRAM_DELIVERY_CHANNEL = "telegram_delivery"

/** For a notification that never came (the LISTEN connection was down, say). */
const SAFETY_POLL = Duration.seconds(5)

const alertsCreated = Metric.counter("alpr_alerts_created_total", { description: "Alerts raised (retro ones included)" })
const sightingsAdded = Metric.counter("alpr_alert_sightings_total", { description: "Reads added to an alert" })
const itemsDone = Metric.counter("alpr_alert_work_done_total", { description: "Alert work items processed" })
const itemsFailed = Metric.counter("alpr_alert_work_failed_total", { description: "Alert work item attempts that failed and will be retried" })
const readsCutShort = Metric.counter("alpr_match_budget_exceeded_total", {
  description: "Reads with more candidate wildcard and regular-expression entries than one read may test (some untested)"
})

/**
 * Matching is synchronous; a long run of it (a retro check over every distinct plate, a large batch)
 * gives the event loop a turn this often, so other requests (/health among them) are not held up.
 */
const SLICE_MS = 10

/** Distinct plates a retro check matches at a time. */
const PLATE_GROUP = 5_000

/** A turn of the event loop (I/O included), which a microtask such as `Effect.yieldNow` does not give. */
const turnOfEventLoop = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/**
 * Matches every read, in order, with a turn of the event loop every SLICE_MS of real time (not the
 * Clock's: it is the CPU time held that matters). Reads cut short by the pattern budget are counted.
 */
const matchAll = <A>(matcher: Matcher, items: ReadonlyArray<A>, readOf: (item: A) => MatchRead) =>
  Effect.gen(function*() {
    const outcomes: Array<ReadonlyArray<Match>> = []
    let cutShort = 0
    let sliceEnds = performance.now() + SLICE_MS
    for (const item of items) {
      const outcome = matcher.matchWithin(readOf(item))
      outcomes.push(outcome.matches)
      if (!outcome.complete) cutShort++
      if (performance.now() > sliceEnds) {
        yield* turnOfEventLoop
        sliceEnds = performance.now() + SLICE_MS
      }
    }
    if (cutShort > 0) {
      yield* Metric.incrementBy(readsCutShort, cutShort)
      yield* Effect.logWarning("reads ran out of their pattern budget: some wildcard or regex entries were not tested").pipe(
        Effect.annotateLogs({ reads: cutShort, tests_per_read: PATTERN_TESTS_PER_READ })
      )
    }
    return outcomes
  })

interface WorkItem {
  readonly id: string
  readonly detection_ids: ReadonlyArray<string> | null
  readonly entry_ids: ReadonlyArray<string> | null
}

interface ReadRow {
  readonly id: string
  readonly plate: string
  readonly camera_id: string
  readonly detected_at: Date
}

interface Hit {
  readonly read: ReadRow
  readonly match: Match
}

interface RetroEntryRow {
  readonly id: string
  readonly watchlist_id: string
  readonly kind: EntryKind
  readonly value: string
  readonly expires_at: Date | null
  readonly category: WatchlistCategory
}

/** Sightings were already on record although the lock should have shown them: retry the item. */
class SightingTaken extends Data.TaggedError("SightingTaken")<{ readonly expected: number; readonly inserted: number }> {}

/** Each read with each match it makes, in the reads' order. */
const hitsOf = (matcher: Matcher, reads: ReadonlyArray<ReadRow>) =>
  Effect.map(
    matchAll(matcher, reads, (read) => ({ plate: read.plate, cameraId: read.camera_id, detectedAt: read.detected_at })),
    (outcomes): ReadonlyArray<Hit> => reads.flatMap((read, i) => outcomes[i]!.map((match) => ({ read, match })))
  )

/** What serialises work on one alert: the list, the entry (0 for a gate) and the plate. */
const keyOf = (hit: Hit) =>
  `${hit.match.watchlistId}|${hit.match._tag === "Entry" ? hit.match.entryId : "0"}|${hit.read.plate}`

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`)

const byTime = (a: ReadRow, b: ReadRow) =>
  a.detected_at.getTime() - b.detected_at.getTime() || Number(BigInt(a.id) - BigInt(b.id))

/**
 * The alert engine: `alertWorkers` fibers take items off the durable `alert_work` queue (sql/0009)
 * and turn matching reads into alerts, sightings, Telegram deliveries and live events, each item in
 * one transaction that also deletes it. Woken by NOTIFY alert_work, with a slow poll for a missed
 * notification; the backlog left by a stopped server is drained at start.
 *
 * Nothing is lost: an item leaves the queue only in the transaction that stored its results, and a
 * failing one stays there and is retried, backing off. Nothing is doubled: every sighting of a read
 * for a list entry is a primary key, written under an advisory lock of (list, entry, plate).
 */
export class AlertEngine extends Effect.Service<AlertEngine>()("@chaverim/server/AlertEngine", {
  scoped: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const config = yield* AppConfig
    const cache = yield* MatcherCache
    const listener = yield* PgListener

    const live = (events: LiveEventsToAppend) => appendLiveEvents(events).pipe(Effect.provideService(SqlClient.SqlClient, sql))

    const failures = yield* makeItemBackoff(alertRetry, Duration.times(ALERT_RETRY_MAX, 2))

    /**
     * Takes the oldest item, skipping those another worker holds or that are backing off: deleted
     * here, it is gone only if the transaction that stores its results commits.
     */
    const claim = (now: number) => {
      const waiting = failures.waiting(now)
      return sql<WorkItem>`
        DELETE FROM alert_work
         WHERE id = (
           SELECT w.id FROM alert_work w
            WHERE ${waiting.length === 0 ? sql`true` : sql`w.id <> ALL(string_to_array(${waiting.join(",")}, ',')::bigint[])`}
            ORDER BY w.id
            LIMIT 1
              FOR UPDATE SKIP LOCKED)
        RETURNING id::text AS id, detection_ids::text[] AS detection_ids, entry_ids::text[] AS entry_ids`
    }

    /**
     * Stores what the hits mean, in the caller's transaction. Under the locks of their (list, entry,
     * plate), reads already on record for the entry are skipped; for each other one, the open alert
     * within the cooldown takes the sighting, else a new alert is raised. Returns the alerts created,
     * every alert touched and the sightings added.
     */
    const raise = (hits: ReadonlyArray<Hit>, retro: boolean) =>
      Effect.gen(function*() {
        const created: Array<string> = []
        const touched = new Set<string>()
        if (hits.length === 0) return { created, touched, added: 0 }
        // All locks at once, in one order (of the lock numbers), so two workers cannot deadlock.
        const keys = [...new Set(hits.map(keyOf))]
        yield* sql`
          SELECT pg_advisory_xact_lock(k)
            FROM (SELECT DISTINCT hashtext(x) AS k FROM json_array_elements_text(${JSON.stringify(keys)}::json) AS x
                   ORDER BY k OFFSET 0) s`
        const sightingOf = ({ match, read }: Hit) => ({
          detection_id: read.id,
          watchlist_id: match.watchlistId,
          entry_key: match._tag === "Entry" ? match.entryId : "0"
        })
        const seen = new Set(
          (yield* sql<{ key: string }>`
            SELECT s.detection_id || '|' || s.watchlist_id || '|' || s.entry_key AS key
              FROM alert_sightings s
              JOIN json_to_recordset(${JSON.stringify(hits.map(sightingOf))}::json)
                     AS x(detection_id bigint, watchlist_id uuid, entry_key bigint)
                ON s.detection_id = x.detection_id AND s.watchlist_id = x.watchlist_id AND s.entry_key = x.entry_key`)
            .map((row) => row.key)
        )
        const sightings: Array<ReturnType<typeof sightingOf> & { readonly alert_id: string }> = []
        for (const hit of hits) {
          const sighting = sightingOf(hit)
          const key = `${sighting.detection_id}|${sighting.watchlist_id}|${sighting.entry_key}`
          if (seen.has(key)) continue
          seen.add(key)
          const { match, read } = hit
          const entryId = match._tag === "Entry" ? match.entryId : null
          const cooldown = config.alertCooldownSeconds
          const [open] = yield* sql<{ id: string }>`
            UPDATE alerts a
               SET sightings = a.sightings + 1,
                   last_detection_id = CASE WHEN ${read.detected_at} >= a.last_seen_at THEN ${read.id}::bigint ELSE a.last_detection_id END,
                   last_seen_at = greatest(a.last_seen_at, ${read.detected_at}),
                   detection_id = CASE WHEN ${read.detected_at} < a.first_seen_at THEN ${read.id}::bigint ELSE a.detection_id END,
                   first_seen_at = least(a.first_seen_at, ${read.detected_at}),
                   updated_at = now()
             WHERE a.id = (
               SELECT o.id FROM alerts o
                WHERE o.watchlist_id = ${match.watchlistId}
                  AND ${entryId === null ? sql`o.entry_id IS NULL` : sql`o.entry_id = ${entryId}`}
                  AND o.plate = ${read.plate}
                  AND o.status <> 'resolved'
                  AND o.last_seen_at >= ${read.detected_at}::timestamptz - make_interval(secs => ${cooldown})
                  AND o.first_seen_at <= ${read.detected_at}::timestamptz + make_interval(secs => ${cooldown})
                ORDER BY o.last_seen_at DESC
                LIMIT 1)
               -- checked again on the row as it is after waiting for its lock: resolved meanwhile, it takes no more
               AND a.status <> 'resolved'
            RETURNING a.id::text AS id`
          let alertId: string
          if (open !== undefined) {
            alertId = open.id
          } else {
            const [inserted] = yield* sql<{ id: string }>`
              INSERT INTO alerts (watchlist_id, entry_id, plate, detection_id, last_detection_id, first_seen_at, last_seen_at, retro)
              VALUES (${match.watchlistId}, ${entryId}, ${read.plate}, ${read.id}, ${read.id}, ${read.detected_at}, ${read.detected_at}, ${retro})
              RETURNING id::text AS id`
            alertId = inserted!.id
            created.push(alertId)
          }
          sightings.push({ ...sighting, alert_id: alertId })
          touched.add(alertId)
        }
        if (sightings.length > 0) {
          // The primary key has the last word: a row already there is not counted, and fails the item.
          const inserted = yield* sql`
            INSERT INTO alert_sightings (detection_id, watchlist_id, entry_key, alert_id)
            SELECT detection_id, watchlist_id, entry_key, alert_id
              FROM json_to_recordset(${JSON.stringify(sightings)}::json)
                     AS x(detection_id bigint, watchlist_id uuid, entry_key bigint, alert_id bigint)
            ON CONFLICT DO NOTHING
            RETURNING alert_id`
          if (inserted.length !== sightings.length) return yield* new SightingTaken({ expected: sightings.length, inserted: inserted.length })
        }
        return { created, touched, added: sightings.length }
      })

    /** A message owed to every linked, enabled volunteer subscribed to the list or its category who may see the list. */
    const deliveries = (alertIds: ReadonlyArray<string>) =>
      alertIds.length === 0 ? Effect.void : sql`
        WITH owed AS (
          INSERT INTO telegram_deliveries (alert_id, user_id, chat_id)
          SELECT a.id, l.user_id, l.chat_id
            FROM alerts a
            JOIN watchlists w ON w.id = a.watchlist_id
            CROSS JOIN telegram_links l
            JOIN users u ON u.id = l.user_id
           WHERE a.id = ANY(string_to_array(${alertIds.join(",")}, ',')::bigint[])
             AND u.disabled_at IS NULL
             AND (w.shared OR w.owner_id = l.user_id OR u.role = 'admin')
             AND EXISTS (SELECT 1 FROM telegram_subscriptions s
                          WHERE s.user_id = l.user_id AND (s.watchlist_id = w.id OR s.category = w.category))
          ON CONFLICT (alert_id, user_id) DO NOTHING
          RETURNING 1)
        SELECT pg_notify(${TELEGRAM_DELIVERY_CHANNEL}, 'pending') FROM (SELECT 1 FROM owed LIMIT 1) x`.pipe(Effect.asVoid)

    /** A detection item: its reads against the lists held in memory; one live event per read. */
    const detectionItem = (ids: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const reads = yield* sql<ReadRow>`
          SELECT id::text AS id, plate, camera_id, detected_at FROM detections
           WHERE id = ANY(string_to_array(${ids.join(",")}, ',')::bigint[])
           ORDER BY detected_at, detections.id`
        const hits = yield* hitsOf(yield* cache.current, reads)
        const { added, created, touched } = yield* raise(hits, false)
        yield* deliveries(created)
        yield* live({ detectionIds: reads.map((r) => r.id), alertIds: [...touched] })
        return { created: created.length, sightings: added }
      })

    /**
     * A retro item: entries just added, against the reads of the last `retroAlertDays` days. Exact and
     * OCR entries find their reads by index; wildcards and expressions first find their plates among the
     * distinct plates (by a literal they require, when they have one), then those plates' reads.
     */
    const retroItem = (ids: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const entries = yield* sql<RetroEntryRow>`
          SELECT e.id::text AS id, e.watchlist_id, e.kind, e.value, e.expires_at, w.category
            FROM watchlist_entries e JOIN watchlists w ON w.id = e.watchlist_id
           WHERE e.id = ANY(string_to_array(${ids.join(",")}, ',')::bigint[])
             AND e.removed_at IS NULL AND w.deleted_at IS NULL AND w.active AND w.category <> 'allow'`
        // A matcher of these entries only: the rules (expiry, canonical values) are the live ones.
        const matcher = Matcher.build(
          entries.map((e) => ({ id: e.watchlist_id, category: e.category, cameraIds: [], active: true })),
          entries.map((e) => ({ id: e.id, watchlistId: e.watchlist_id, kind: e.kind, value: e.value, expiresAt: e.expires_at }))
        )
        const since = new Date((yield* Clock.currentTimeMillis) - config.retroAlertDays * 86_400_000)
        const plates = new Set(entries.filter((e) => e.kind === "exact").map((e) => e.value))
        const ocrKeys = new Set(entries.filter((e) => e.kind === "ocr").map((e) => ocrKey(e.value)))
        const patterns = entries.filter((e) => e.kind === "wildcard" || e.kind === "regex")
        if (patterns.length > 0) {
          const literals = patterns.map((e) => indexKeys(e.kind, e.value))
          const candidates = literals.some((keys) => keys === undefined || keys.length === 0)
            ? sql<{ plate: string }>`SELECT plate FROM plates`
            : sql<{ plate: string }>`
                SELECT plate FROM plates
                 WHERE plate LIKE ANY(SELECT '%' || x || '%' FROM json_array_elements_text(${
              JSON.stringify([...new Set(literals.flatMap((keys) => keys!.map(escapeLike)))])
            }::json) AS x)`
          const epoch = new Date(0)
          // Through a cursor, a group at a time, so that neither the memory held nor the longest stretch
          // of work on the event loop grows with the number of distinct plates.
          yield* candidates.stream.pipe(
            Stream.grouped(PLATE_GROUP),
            Stream.runForEach((group) => {
              const rows = Chunk.toReadonlyArray(group)
              return Effect.map(matchAll(matcher, rows, ({ plate }) => ({ plate, cameraId: "", detectedAt: epoch })), (outcomes) =>
                rows.forEach(({ plate }, i) => {
                  if (outcomes[i]!.length > 0) plates.add(plate)
                }))
            })
          )
        }
        // The recent reads whose plate (or OCR key) is one of `keys`, by that column's index.
        const readsBy = (column: "plate" | "plate_ocr", keys: ReadonlySet<string>) =>
          keys.size === 0 ? Effect.succeed([]) : sql<ReadRow>`
            SELECT d.id::text AS id, d.plate, d.camera_id, d.detected_at
              FROM json_array_elements_text(${JSON.stringify([...keys])}::json) AS p(k)
              JOIN detections d ON ${sql(`d.${column}`)} = p.k AND d.detected_at >= ${since}`
        const reads = new Map<string, ReadRow>()
        for (const read of [...yield* readsBy("plate", plates), ...yield* readsBy("plate_ocr", ocrKeys)]) reads.set(read.id, read)
        const hits = yield* hitsOf(matcher, [...reads.values()].sort(byTime))
        const { added, created, touched } = yield* raise(hits, true)
        yield* deliveries(created)
        yield* live({ alertIds: [...touched] })
        return { created: created.length, sightings: added }
      })

    type Outcome = "done" | "empty" | "failed"

    const processNext: Effect.Effect<Outcome> = Effect.gen(function*() {
      let claimed: string | undefined
      const exit = yield* sql.withTransaction(Effect.gen(function*() {
        const [item] = yield* claim(yield* Clock.currentTimeMillis)
        if (item === undefined) return "empty" as const
        claimed = item.id
        const result = item.detection_ids !== null
          ? yield* detectionItem(item.detection_ids)
          : yield* retroItem(item.entry_ids ?? [])
        yield* Metric.incrementBy(alertsCreated, result.created)
        yield* Metric.incrementBy(sightingsAdded, result.sightings)
        return "done" as const
      }).pipe(Effect.withSpan("AlertEngine.item"))).pipe(Effect.exit)
      if (Exit.isSuccess(exit)) {
        if (claimed !== undefined) {
          yield* failures.succeeded(claimed)
          yield* Metric.increment(itemsDone)
        }
        return exit.value
      }
      // Shutting down: the transaction rolled back and the item waits for the next server.
      if (Cause.isInterruptedOnly(exit.cause)) return yield* Effect.interrupt
      yield* Metric.increment(itemsFailed)
      if (claimed === undefined) {
        yield* Effect.logWarning("alert work could not be claimed; retrying", exit.cause)
        return "failed"
      }
      const { attempts, delay } = yield* failures.failed(claimed)
      yield* Effect.logWarning("alert work item failed; it stays queued and is retried", exit.cause).pipe(
        Effect.annotateLogs({ alert_work_id: claimed, attempts, retry_in_ms: Math.round(Duration.toMillis(delay)) })
      )
      return "failed"
    })

    // A wake-up is a Deferred swapped for a fresh one: a worker holding the old one before it looked
    // for work cannot miss a notification that came while it looked.
    const bell = yield* Ref.make(yield* Deferred.make<void>())
    const ring = Effect.flatMap(Deferred.make<void>(), (fresh) => Ref.getAndSet(bell, fresh)).pipe(
      Effect.flatMap((rung) => Deferred.succeed(rung, undefined))
    )

    /** How long an idle worker may sleep: the safety poll, or until the first backoff ends. */
    const idleFor = Effect.map(Clock.currentTimeMillis, (now) => failures.soonest(now, SAFETY_POLL))

    const worker = Effect.gen(function*() {
      while (true) {
        const wake = yield* Ref.get(bell)
        const outcome = yield* processNext
        if (outcome === "done") continue
        if (outcome === "failed" && failures.size === 0) {
          // The database itself is failing: do not spin on it.
          yield* Effect.sleep(Duration.times(ALERT_RETRY_FIRST, 2))
          continue
        }
        yield* Deferred.await(wake).pipe(Effect.timeoutOption(yield* idleFor))
      }
    })

    const signals = yield* listener.subscribe(ALERT_WORK_CHANNEL)
    yield* Stream.fromQueue(signals).pipe(
      Stream.filter(isFor(ALERT_WORK_CHANNEL)),
      Stream.runForEach(() => ring),
      Effect.forkScoped
    )
    for (let i = 0; i < Math.max(1, config.alertWorkers); i++) {
      yield* Effect.forkScoped(worker.pipe(Effect.annotateLogs({ alert_worker: i })))
    }

    return {
      /** Wakes the workers now (they also wake on NOTIFY alert_work). */
      wake: ring
    } as const
  })
}) {}
