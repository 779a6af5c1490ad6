import { ocrKey } from "@chaverim/domain/Plate"
import { EntryKind, WatchlistCategory } from "@chaverim/domain/Watchlist"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import type * as Statement from "@effect/sql/Statement"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { AppConfig } from "../Config"
import { ALERT_WORK_CHANNEL } from "../db/Bell"
import { makeItemBackoff } from "../db/ItemBackoff"
import { Int8Text, orBug } from "../db/Rows"
import { forkQueueWorkers, type Turn } from "../db/QueueWorkers"
import { publish } from "../outbox/Outbox"
import { appendLiveEvents, type LiveEventsToAppend } from "../live/Events"
import { ALERT_RETRY_FIRST, ALERT_RETRY_MAX, alertRetry } from "./Backoff"
import { indexKeys, type Match, Matcher, type MatchRead, PATTERN_TESTS_PER_READ } from "./Matcher"
import { MatcherCache } from "./MatcherCache"


/** For a notification that never came (the LISTEN connection was down, say). */
const SAFETY_POLL = Duration.seconds(5)
/**
 * Work items one turn takes at most: with a backlog (a burst of batches, a server catching up) their
 * reads are read and matched together, so the round trips of a turn are paid once for them all.
 */
const ITEM_BATCH = 16

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

const WorkItem = Schema.Struct({
  id: Int8Text,
  detection_ids: Schema.NullOr(Schema.Array(Schema.String)),
  entry_ids: Schema.NullOr(Schema.Array(Schema.String)),
  /** the reads' earliest and latest times, as PostgreSQL writes them (to the microsecond) */
  detected_from: Schema.NullOr(Schema.String),
  detected_to: Schema.NullOr(Schema.String)
})

/** A read as matching needs it. */
const ReadRow = Schema.Struct({
  id: Int8Text,
  plate: Schema.String,
  camera_id: Schema.String,
  detected_at: Schema.DateFromSelf
})
type ReadRow = typeof ReadRow.Type

/**
 * A read of a detection item, with its latest review: matched by the plate as reviewed (a correction's),
 * and, not yet reviewed, whether it must wait for one (footage's reads; a camera's below its
 * min_confidence).
 */
const ItemReadRow = Schema.Struct({
  ...ReadRow.fields,
  reviewed: Schema.NullOr(Schema.Literal("confirm", "correct", "reject")),
  review: Schema.NullOr(Schema.Literal("footage", "low_confidence"))
})

/** A time as PostgreSQL writes it ("2026-12-07 10:00:00.123456+00"), in milliseconds; NaN when not so written. */
const pgMillis = (text: string) => Date.parse(text.replace(" ", "T").replace(/([+-]\d\d)$/, "$1:00"))

/**
 * The span of several items' reads, for the months it names: each item's own when there is one,
 * else a millisecond wider than theirs at both ends; none (every month looked at) when any is unknown.
 */
const spanOf = (items: ReadonlyArray<typeof WorkItem.Type>): [string | null, string | null] => {
  if (items.length === 1) return [items[0]!.detected_from, items[0]!.detected_to]
  const froms = items.map((item) => (item.detected_from === null ? Number.NaN : pgMillis(item.detected_from)))
  const tos = items.map((item) => (item.detected_to === null ? Number.NaN : pgMillis(item.detected_to)))
  if ([...froms, ...tos].some(Number.isNaN)) return [null, null]
  return [new Date(Math.min(...froms) - 1).toISOString(), new Date(Math.max(...tos) + 1).toISOString()]
}

interface Hit {
  readonly read: ReadRow
  readonly match: Match
}

/** An entry just added, with its list's category, as a matcher of its own takes it. */
const RetroEntryRow = Schema.Struct({
  id: Int8Text,
  watchlist_id: Schema.String,
  kind: EntryKind,
  value: Schema.String,
  expires_at: Schema.NullOr(Schema.DateFromSelf),
  category: WatchlistCategory
})

const Id = Schema.Struct({ id: Int8Text })
const SightingKey = Schema.Struct({ key: Schema.String })

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
 * and turn matching reads into alerts, sightings, outbox events and live events, each item in
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

    const live = (events: LiveEventsToAppend) => appendLiveEvents(events).pipe(Effect.provideService(SqlClient.SqlClient, sql))

    const failures = yield* makeItemBackoff(alertRetry, Duration.times(ALERT_RETRY_MAX, 2))

    const rowsOf = <A, I>(Result: Schema.Schema<A, I>, query: Statement.Statement<unknown>) =>
      orBug(SqlSchema.findAll({ Request: Schema.Void, Result, execute: () => query })(undefined))
    const readsOf = (query: Statement.Statement<unknown>) => rowsOf(ReadRow, query)
    /** The id a statement returns, if it returned a row. */
    const firstId = (query: Statement.Statement<unknown>) =>
      orBug(SqlSchema.findOne({ Request: Schema.Void, Result: Id, execute: () => query })(undefined)).pipe(
        Effect.map(Option.map((row) => row.id))
      )
    /** The id of the row an INSERT ... RETURNING id made (it always makes one). */
    const insertedId = (query: Statement.Statement<unknown>) =>
      orBug(SqlSchema.single({ Request: Schema.Void, Result: Id, execute: () => query })(undefined)).pipe(
        Effect.map((row) => row.id),
        Effect.catchTag("NoSuchElementException", () => Effect.dieMessage("an INSERT ... RETURNING returned no row"))
      )

    /**
     * Takes the oldest item, skipping those another worker holds or that are backing off: deleted
     * here, it is gone only if the transaction that stores its results commits.
     */
    const claim = SqlSchema.findAll({
      Request: Schema.Struct({ waiting: Schema.Array(Schema.String), limit: Schema.Number }),
      Result: WorkItem,
      execute: ({ limit, waiting }) =>
        sql`
          DELETE FROM alert_work
           WHERE id IN (
             SELECT w.id FROM alert_work w
              WHERE ${waiting.length === 0 ? sql`true` : sql`w.id <> ALL(string_to_array(${waiting.join(",")}, ',')::bigint[])`}
              ORDER BY w.id
              LIMIT ${limit}
                FOR UPDATE SKIP LOCKED)
          RETURNING id, detection_ids::text[] AS detection_ids, entry_ids::text[] AS entry_ids,
                    detected_from::text AS detected_from, detected_to::text AS detected_to`
    })

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
          (yield* rowsOf(SightingKey, sql`
            SELECT s.detection_id || '|' || s.watchlist_id || '|' || s.entry_key AS key
              FROM alert_sightings s
              JOIN json_to_recordset(${JSON.stringify(hits.map(sightingOf))}::json)
                     AS x(detection_id bigint, watchlist_id uuid, entry_key bigint)
                ON s.detection_id = x.detection_id AND s.watchlist_id = x.watchlist_id AND s.entry_key = x.entry_key`))
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
          const open = yield* firstId(sql`
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
            RETURNING a.id`)
          let alertId: string
          if (Option.isSome(open)) {
            alertId = open.value
          } else {
            alertId = yield* insertedId(sql`
              INSERT INTO alerts (watchlist_id, entry_id, plate, detection_id, last_detection_id, first_seen_at, last_seen_at, retro)
              VALUES (${match.watchlistId}, ${entryId}, ${read.plate}, ${read.id}, ${read.id}, ${read.detected_at}, ${read.detected_at}, ${retro})
              RETURNING id`)
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

    /** What happened to alerts, for the outbound channels (each decides what it owes for it). */
    const published = (created: ReadonlyArray<string>, touched: ReadonlySet<string>) =>
      publish([
        ...created.map((alertId) => ({ event: "alert_raised" as const, alertId })),
        ...[...touched].filter((id) => !created.includes(id)).map((alertId) => ({ event: "alert_updated" as const, alertId }))
      ]).pipe(Effect.provideService(SqlClient.SqlClient, sql))

    /** Hits of reads waiting for review are kept only for lists that alert on unreviewed reads. */
    const gateUnreviewed = (hits: ReadonlyArray<Hit>, waiting: ReadonlySet<string>) =>
      Effect.gen(function*() {
        const held = hits.filter((hit) => waiting.has(hit.read.id))
        if (held.length === 0) return hits
        const lists = [...new Set(held.map((hit) => hit.match.watchlistId))]
        const eager = new Set((yield* rowsOf(Schema.Struct({ id: Schema.String }), sql`
          SELECT id::text AS id FROM watchlists WHERE alert_unreviewed AND id = ANY(string_to_array(${lists.join(",")}, ',')::uuid[])`))
          .map((row) => row.id))
        return hits.filter((hit) => !waiting.has(hit.read.id) || eager.has(hit.match.watchlistId))
      })

    /** A detection item: its reads against the lists held in memory; one live event per read. */
    const detectionItem = (ids: ReadonlyArray<string>, from: string | null, to: string | null) =>
      Effect.gen(function*() {
        // The times name the reads' months to the planner (sql/0021): an unnamed statement is
        // planned with its parameters' values, so the other months are left out of the plan.
        const within = from === null || to === null
          ? sql``
          : sql`AND detected_at BETWEEN ${from}::timestamptz AND ${to}::timestamptz`
        const rows = yield* rowsOf(ItemReadRow, sql`
          SELECT d.id, coalesce(r.plate, d.plate) AS plate, d.camera_id, d.detected_at, r.action AS reviewed,
                 CASE WHEN r.action IS NOT NULL THEN NULL
                      WHEN k.kind = 'footage' THEN 'footage'
                      WHEN c.min_confidence IS NOT NULL AND d.confidence < c.min_confidence THEN 'low_confidence'
                 END AS review
            FROM detections d
            JOIN cameras c ON c.id = d.camera_id
            JOIN collectors k ON k.id = d.collector_id
            LEFT JOIN LATERAL (SELECT action, plate FROM corrections WHERE detection_id = d.id ORDER BY id DESC LIMIT 1) r ON true
           WHERE d.id = ANY(string_to_array(${ids.join(",")}, ',')::bigint[]) ${within}
           ORDER BY d.detected_at, d.id`)
        // A rejected read alerts no one; one waiting for review alerts only the lists that say so.
        const reads = rows.filter((r) => r.reviewed !== "reject")
        const waiting = rows.filter((r) => r.review !== null)
        if (waiting.length > 0) {
          yield* sql`
            INSERT INTO pending_reviews (detection_id, detected_at, reason)
            SELECT id, at, reason FROM json_to_recordset(${
            JSON.stringify(waiting.map((r) => ({ id: r.id, at: r.detected_at.toISOString(), reason: r.review })))
          }::json) AS x(id bigint, at timestamptz, reason text)
            ON CONFLICT (detection_id) DO NOTHING`
        }
        const hits = yield* gateUnreviewed(yield* hitsOf(yield* cache.current, reads), new Set(waiting.map((r) => r.id)))
        const { added, created, touched } = yield* raise(hits, false)
        yield* published(created, touched)
        yield* live({
          detectionIds: reads.map((r) => r.id),
          detectionTimes: reads.map((r) => r.detected_at.toISOString()),
          alertIds: [...touched]
        })
        return { created: created.length, sightings: added }
      })

    /**
     * A retro item: entries just added, against the reads of the last `retroAlertDays` days. Exact and
     * OCR entries find their reads by index; wildcards and expressions first find their plates among the
     * distinct plates (by a literal they require, when they have one), then those plates' reads.
     */
    const retroItem = (ids: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const entries = yield* rowsOf(RetroEntryRow, sql`
          SELECT e.id, e.watchlist_id, e.kind, e.value, e.expires_at, w.category
            FROM watchlist_entries e JOIN watchlists w ON w.id = e.watchlist_id
           WHERE e.id = ANY(string_to_array(${ids.join(",")}, ',')::bigint[])
             AND e.removed_at IS NULL AND w.deleted_at IS NULL AND w.active AND w.category <> 'allow'`)
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
          // Typed, not decoded: every distinct plate may stream through here, one text column each.
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
          keys.size === 0 ? Effect.succeed([]) : readsOf(sql`
            SELECT d.id, d.plate, d.camera_id, d.detected_at
              FROM json_array_elements_text(${JSON.stringify([...keys])}::json) AS p(k)
              JOIN detections d ON ${sql(`d.${column}`)} = p.k AND d.detected_at >= ${since}`)
        const reads = new Map<string, ReadRow>()
        for (const read of [...yield* readsBy("plate", plates), ...yield* readsBy("plate_ocr", ocrKeys)]) reads.set(read.id, read)
        // reads still waiting for review alert only the lists that say so, as new ones do
        const readIds = [...reads.keys()]
        const waiting = readIds.length === 0 ? new Set<string>() : new Set((yield* rowsOf(Schema.Struct({ id: Int8Text }), sql`
          SELECT detection_id AS id FROM pending_reviews WHERE detection_id = ANY(string_to_array(${readIds.join(",")}, ',')::bigint[])`))
          .map((row) => row.id))
        const hits = yield* gateUnreviewed(yield* hitsOf(matcher, [...reads.values()].sort(byTime)), waiting)
        const { added, created, touched } = yield* raise(hits, true)
        yield* published(created, touched)
        yield* live({ alertIds: [...touched] })
        return { created: created.length, sightings: added }
      })

    // After a batch of items failed: how many of its items are still to be taken one at a time, so that
    // only the item that fails backs off.
    let singles = 0

    const processNext: Effect.Effect<Turn> = Effect.gen(function*() {
      let claimed: ReadonlyArray<string> = []
      const limit = singles > 0 ? 1 : ITEM_BATCH
      const exit = yield* sql.withTransaction(Effect.gen(function*() {
        const items = yield* orBug(claim({ waiting: failures.waiting(yield* Clock.currentTimeMillis), limit }))
        claimed = items.map((item) => item.id)
        if (items.length === 0) return "empty" as const
        // The items' reads together (their times' span names the months), then each retro item.
        const detections = items.filter((item) => item.detection_ids !== null)
        const results = detections.length === 0 ? [] : [
          yield* detectionItem(
            detections.flatMap((item) => item.detection_ids ?? []),
            ...spanOf(detections)
          )
        ]
        for (const item of items) if (item.detection_ids === null) results.push(yield* retroItem(item.entry_ids ?? []))
        for (const result of results) {
          yield* Metric.incrementBy(alertsCreated, result.created)
          yield* Metric.incrementBy(sightingsAdded, result.sightings)
        }
        // fewer than asked for: the queue is empty but for these (new items ring the bell by NOTIFY)
        return items.length < limit ? "drained" as const : "done" as const
      }).pipe(Effect.withSpan("AlertEngine.item"))).pipe(Effect.exit)
      if (singles > 0 && claimed.length === 1) singles--
      if (Exit.isSuccess(exit)) {
        for (const id of claimed) yield* failures.succeeded(id)
        yield* Metric.incrementBy(itemsDone, claimed.length)
        return exit.value
      }
      // Shutting down: the transaction rolled back and the items wait for the next server.
      if (Cause.isInterruptedOnly(exit.cause)) return yield* Effect.interrupt
      yield* Metric.increment(itemsFailed)
      const [only] = claimed
      if (only === undefined) {
        yield* Effect.logWarning("alert work could not be claimed; retrying", exit.cause)
        return "failed"
      }
      if (claimed.length > 1) {
        singles = claimed.length
        yield* Effect.logWarning("a batch of alert work items failed; taking them one at a time", exit.cause).pipe(
          Effect.annotateLogs({ items: claimed.length })
        )
        return "done"
      }
      const { attempts, delay } = yield* failures.failed(only)
      yield* Effect.logWarning("alert work item failed; it stays queued and is retried", exit.cause).pipe(
        Effect.annotateLogs({ alert_work_id: only, attempts, retry_in_ms: Math.round(Duration.toMillis(delay)) })
      )
      // the other items go on while it backs off
      return "done"
    })

    const { wake } = yield* forkQueueWorkers({
      channel: ALERT_WORK_CHANNEL,
      workers: config.alertWorkers,
      turn: processNext,
      backoff: failures,
      safetyPoll: SAFETY_POLL,
      // the database itself is failing: do not spin on it
      pause: Duration.times(ALERT_RETRY_FIRST, 2),
      annotation: "alert_worker"
    })

    return {
      /** Wakes the workers now (they also wake on NOTIFY alert_work). */
      wake
    } as const
  })
}) {}
