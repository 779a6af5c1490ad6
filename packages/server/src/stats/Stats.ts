import { BadRequest } from "@chaverim/domain/Errors"
import {
  Confusion,
  LOW_CONFIDENCE,
  type ReadsParams,
  type ReadsStats,
  STATS_MAX_DAYS,
  type StatsParams,
  type SummaryStats
} from "@chaverim/domain/Stats"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { IsoTime, orBug } from "../db/Rows"
import { type Viewer, visibleTo } from "../alerts/Views"

/**
 * The numbers for admins and operators, counted from the reads, alerts and corrections of a range (at
 * most STATS_MAX_DAYS; each query reads that range's months of `detections` once).
 */

const CameraRow = Schema.Struct({ id: Schema.String, name: Schema.String, site: Schema.NullOr(Schema.String) })
const BucketRow = Schema.Struct({
  at: IsoTime,
  camera_id: Schema.String,
  reads: Schema.Number,
  low_confidence: Schema.Number,
  unique_plates: Schema.Number
})
const TotalsRow = Schema.Struct({
  reads: Schema.Number,
  unique_plates: Schema.Number,
  low: Schema.Number,
  lag_p50: Schema.NullOr(Schema.Number),
  lag_p95: Schema.NullOr(Schema.Number)
})
const BinRow = Schema.Struct({ bin: Schema.Number, reads: Schema.Number })
const ListRow = Schema.Struct({ watchlist_id: Schema.String, name: Schema.String, alerts: Schema.Number })
const AccuracyRow = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  site: Schema.NullOr(Schema.String),
  reads: Schema.Number,
  checked: Schema.Number,
  corrected: Schema.Number,
  rejected: Schema.Number
})
const PairRow = Schema.Struct({ read: Schema.String, actual: Schema.String })

const DAY_MS = 86_400_000

/**
 * The characters `read` has where `actual` has others, by the cheapest alignment of the two (Levenshtein:
 * a substitution, insertion or deletion costs one): "O" for "0" in "AB0123" read as "ABO123". Insertions
 * and deletions are counted with "" on their missing side.
 */
export const confusionsOf = (read: string, actual: string): ReadonlyArray<{ readonly read: string; readonly actual: string }> => {
  const n = read.length
  const m = actual.length
  const cost: Array<Array<number>> = Array.from({ length: n + 1 }, (_, i) => Array.from({ length: m + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= n; i++) {
    for (let j = 1; j <= m; j++) {
      cost[i]![j] = Math.min(
        cost[i - 1]![j - 1]! + (read[i - 1] === actual[j - 1] ? 0 : 1),
        cost[i - 1]![j]! + 1,
        cost[i]![j - 1]! + 1
      )
    }
  }
  const out: Array<{ read: string; actual: string }> = []
  let i = n
  let j = m
  while (i > 0 || j > 0) {
    if (i > 0 && j > 0 && cost[i]![j] === cost[i - 1]![j - 1]! + (read[i - 1] === actual[j - 1] ? 0 : 1)) {
      if (read[i - 1] !== actual[j - 1]) out.push({ read: read[i - 1]!, actual: actual[j - 1]! })
      i--
      j--
    } else if (i > 0 && cost[i]![j] === cost[i - 1]![j]! + 1) {
      out.push({ read: read[i - 1]!, actual: "" })
      i--
    } else {
      out.push({ read: "", actual: actual[j - 1]! })
      j--
    }
  }
  return out.reverse()
}

/** Statistics requests one server answers at once; more wait. */
export const STATS_AT_ONCE = 2

export class Stats extends Effect.Service<Stats>()("@chaverim/server/Stats", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // A month's statistics scan that month's reads: a few at once per server, the rest wait their turn,
    // so a burst of dashboards cannot take every connection from ingest.
    const turns = yield* Effect.makeSemaphore(STATS_AT_ONCE)

    const rangeOf = (params: StatsParams) =>
      Effect.gen(function*() {
        const from = params.from.getTime()
        const to = params.to.getTime()
        if (!(to > from)) return yield* new BadRequest({ message: "to must be after from" })
        if (to - from > STATS_MAX_DAYS * DAY_MS) {
          return yield* new BadRequest({ message: `from and to are at most ${STATS_MAX_DAYS} days apart` })
        }
        return { from: params.from.toISOString(), to: params.to.toISOString() }
      })

    /** The reads `d` of the range (and camera), as parameters the planner sees (the months to read). */
    const readsIn = (range: { readonly from: string; readonly to: string }, camera: string | undefined) =>
      sql`d.detected_at >= ${range.from}::timestamptz AND d.detected_at < ${range.to}::timestamptz
          ${camera === undefined ? sql`` : sql`AND d.camera_id = ${camera}::uuid`}`

    const camerasOf = SqlSchema.findAll({
      Request: Schema.Array(Schema.String),
      Result: CameraRow,
      execute: (ids) =>
        sql`SELECT id::text AS id, coalesce(name, external_id) AS name, site FROM cameras
             WHERE id = ANY(string_to_array(${ids.join(",")}, ',')::uuid[]) ORDER BY 2, 1`
    })

    const reads = (params: ReadsParams) =>
      Effect.gen(function*() {
        const range = yield* rangeOf(params)
        const unit = params.bucket === "day" ? "day" : "hour"
        const rows = yield* SqlSchema.findAll({
          Request: Schema.Void,
          Result: BucketRow,
          execute: () =>
            sql`
              SELECT date_trunc(${unit}, d.detected_at, 'UTC') AS at, d.camera_id::text AS camera_id,
                     count(*)::int AS reads, count(*) FILTER (WHERE d.confidence < ${LOW_CONFIDENCE})::int AS low_confidence,
                     count(DISTINCT d.plate)::int AS unique_plates
                FROM detections d
               WHERE ${readsIn(range, params.camera)}
               GROUP BY 1, 2 ORDER BY 1, 2`
        })(undefined).pipe(orBug)
        const cameras = yield* orBug(camerasOf([...new Set(rows.map((r) => r.camera_id))]))
        return { bucket: unit, cameras, buckets: rows } satisfies ReadsStats
      }).pipe(turns.withPermits(1), Effect.withSpan("Stats.reads"))

    const summary = (params: StatsParams, viewer: Viewer) =>
      Effect.gen(function*() {
        const range = yield* rangeOf(params)
        const where = readsIn(range, params.camera)
        const [totals] = yield* SqlSchema.findAll({
          Request: Schema.Void,
          Result: TotalsRow,
          execute: () =>
            sql`
              SELECT count(*)::int AS reads, count(DISTINCT d.plate)::int AS unique_plates,
                     count(*) FILTER (WHERE d.confidence < ${LOW_CONFIDENCE})::int AS low,
                     percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.received_at - d.detected_at))::float8 AS lag_p50,
                     percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM d.received_at - d.detected_at))::float8 AS lag_p95
                FROM detections d WHERE ${where}`
        })(undefined).pipe(orBug)
        const bins = yield* SqlSchema.findAll({
          Request: Schema.Void,
          Result: BinRow,
          execute: () =>
            sql`
              SELECT least(floor(d.confidence * 10), 9)::int AS bin, count(*)::int AS reads
                FROM detections d WHERE ${where} GROUP BY 1`
        })(undefined).pipe(orBug)
        const [repeat] = yield* SqlSchema.findAll({
          Request: Schema.Void,
          Result: Schema.Struct({ plates: Schema.Number }),
          execute: () =>
            sql`
              SELECT count(*)::int AS plates FROM (
                SELECT d.plate FROM detections d WHERE ${where}
                 GROUP BY d.plate HAVING count(DISTINCT date_trunc('day', d.detected_at, 'UTC')) >= 2) p`
        })(undefined).pipe(orBug)
        // Only the lists the viewer may see (alerts/Views.ts' rule).
        const lists = yield* SqlSchema.findAll({
          Request: Schema.Void,
          Result: ListRow,
          execute: () =>
            sql`
              SELECT w.id::text AS watchlist_id, w.name, count(*)::int AS alerts
                FROM alerts a JOIN watchlists w ON w.id = a.watchlist_id
                ${params.camera === undefined ? sql`` : sql`JOIN detections d ON d.id = a.detection_id AND ${where}`}
               WHERE a.first_seen_at >= ${range.from}::timestamptz AND a.first_seen_at < ${range.to}::timestamptz
                 AND ${visibleTo(sql, viewer)}
               GROUP BY w.id, w.name ORDER BY 3 DESC, 2`
        })(undefined).pipe(orBug)
        // Each read's latest correction says whether it was right.
        const accuracy = yield* SqlSchema.findAll({
          Request: Schema.Void,
          Result: AccuracyRow,
          execute: () =>
            sql`
              SELECT k.id::text AS id, coalesce(k.name, k.external_id) AS name, k.site,
                     count(*)::int AS reads, count(c.action)::int AS checked,
                     count(*) FILTER (WHERE c.action = 'correct')::int AS corrected,
                     count(*) FILTER (WHERE c.action = 'reject')::int AS rejected
                FROM detections d JOIN cameras k ON k.id = d.camera_id
                LEFT JOIN LATERAL (SELECT x.action FROM corrections x WHERE x.detection_id = d.id
                                    ORDER BY x.id DESC LIMIT 1) c ON true
               WHERE ${where}
               GROUP BY k.id ORDER BY 2, 1`
        })(undefined).pipe(orBug)
        const pairs = yield* SqlSchema.findAll({
          Request: Schema.Void,
          Result: PairRow,
          execute: () =>
            sql`
              SELECT d.plate AS read, c.plate AS actual
                FROM detections d
                JOIN LATERAL (SELECT x.action, x.plate FROM corrections x WHERE x.detection_id = d.id
                               ORDER BY x.id DESC LIMIT 1) c ON c.action = 'correct'
               WHERE ${where}`
        })(undefined).pipe(orBug)
        const counted = new Map<string, typeof Confusion.Type>()
        for (const pair of pairs) {
          for (const swap of confusionsOf(pair.read, pair.actual)) {
            const key = `${swap.read}\u0000${swap.actual}`
            const before = counted.get(key)
            counted.set(key, { read: swap.read, actual: swap.actual, count: (before?.count ?? 0) + 1 })
          }
        }
        const confidence = Array.from({ length: 10 }, (_, i) => bins.find((b) => b.bin === i)?.reads ?? 0)
        const reads = totals?.reads ?? 0
        const round = (n: number | null | undefined) => (n === null || n === undefined ? null : Math.round(n * 10) / 10)
        return {
          from: range.from,
          to: range.to,
          reads,
          unique_plates: totals?.unique_plates ?? 0,
          repeat_plates: repeat?.plates ?? 0,
          low_confidence_share: reads === 0 ? null : (totals?.low ?? 0) / reads,
          confidence,
          alerts_by_list: lists,
          ingest_lag_s: { p50: round(totals?.lag_p50), p95: round(totals?.lag_p95) },
          accuracy: accuracy.map((a) => ({
            camera: { id: a.id, name: a.name, site: a.site },
            reads: a.reads,
            checked: a.checked,
            corrected: a.corrected,
            rejected: a.rejected,
            share_wrong: a.checked === 0 ? null : (a.corrected + a.rejected) / a.checked
          })),
          confusions: [...counted.values()].sort((a, b) => b.count - a.count || a.read.localeCompare(b.read)).slice(0, 50)
        } satisfies SummaryStats
      }).pipe(turns.withPermits(1), Effect.withSpan("Stats.summary"))

    return { reads, summary } as const
  })
}) {}
