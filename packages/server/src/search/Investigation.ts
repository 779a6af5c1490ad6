import { BadRequest } from "@chaverim/domain/Errors"
import type {
  ConvoyMatch,
  ConvoyParams,
  ConvoyResult,
  MapParams,
  MapResult,
  MultiPlaceRequest,
  MultiPlaceResult,
  RouteLeg,
  RouteParams,
  RouteResult,
  RouteStop,
  Sighting,
  TimelineParams,
  TimelineResult
} from "@chaverim/domain/Investigation"
import { normalizePlate, ocrKey } from "@chaverim/domain/Plate"
import { plateDifferences } from "@chaverim/domain/Search"
import { locationOf } from "@chaverim/domain/Location"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import { Audit } from "../audit/Audit"
import type { Actor, RequestInfo } from "../auth/Accounts"
import { requireReason } from "../audit/Reason"
import { AppConfig } from "../Config"
import { CURSOR_TIME, decodeCursor, encodeCursor } from "../db/Cursor"
import { imageLinks } from "../images/Images"

const DAY_MS = 86_400_000
/** Without `from`, a range covers the 30 days before `to`. */
const DEFAULT_RANGE_MS = 30 * DAY_MS
const MAX_RANGE_DAYS = 366
/** Convoy work grows with the period (each candidate's own reads are counted over it). */
const CONVOY_MAX_RANGE_DAYS = 31
/** An incident is a short time at a few cameras: every read there is looked at. */
const PLACE_MAX_RANGE_DAYS = 1

/** Reads used by the route: the newest this many. */
export const SIGHTINGS_CAP = 5_000
const GAPS_MAX = 50
/** Reads of the target a convoy search looks around: the newest this many. */
export const CONVOY_READS_CAP = 2_000
/** Candidates whose own rates are counted: the ones seen with the target at most cameras, then most often. */
const CONVOY_SCORED_MAX = 200
/**
 * A candidate's own rate at a camera is counted over its reads in the period, or, when it has more than
 * this many, over the span of its newest this many: frequent plates are the usual candidates, and reading
 * all of a bus's reads for a month costs far more than the estimate gains.
 */
const RATE_SAMPLE = 100
const EVIDENCE_MAX = 100
const PLACE_SIGHTINGS_MAX = 20
/**
 * Stops closer than this are never flagged as too fast: two cameras at one junction read a car a second
 * apart, and neither their clocks nor their positions are that exact.
 */
const FLAG_MIN_DISTANCE_M = 250

const EARTH_RADIUS_M = 6_371_008.8

/** Great-circle distance in metres. */
export const haversineMeters = (a: { lat: number; lon: number }, b: { lat: number; lon: number }): number => {
  const rad = Math.PI / 180
  const dLat = (b.lat - a.lat) * rad
  const dLon = (b.lon - a.lon) * rad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)))
}

const lnFactorial = (n: number) => {
  let s = 0
  for (let i = 2; i <= n; i++) s += Math.log(i)
  return s
}

/**
 * -ln P(X >= k) for X ~ Poisson(expected): how surprising `k` events are when `expected` were due to
 * chance. Summed upwards from k when k is beyond the mean (so a tiny tail keeps its precision), else
 * one minus the terms below k.
 */
export const poissonSurprise = (k: number, expected: number): number => {
  if (k <= 0) return 0
  if (expected <= 0) return Number.POSITIVE_INFINITY
  const logTerm = (i: number) => -expected + i * Math.log(expected) - lnFactorial(i)
  if (k > expected) {
    let sum = 1
    let ratio = 1
    for (let j = 1; j < 100_000; j++) {
      ratio *= expected / (k + j)
      sum += ratio
      if (ratio < 1e-15 * sum) break
    }
    return Math.max(0, -(logTerm(k) + Math.log(sum)))
  }
  let below = 0
  for (let i = 0; i < k; i++) below += Math.exp(logTerm(i))
  return -Math.log(Math.min(1, Math.max(Number.MIN_VALUE, 1 - below)))
}

const round = (x: number, digits: number) => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

const iso = (d: Date | string) => new Date(d).toISOString()

interface CameraRow {
  readonly id: string
  readonly external_id: string
  readonly collector_id: string
  readonly name: string | null
  readonly site: string | null
  readonly lat: number | null
  readonly lon: number | null
}

const cameraRef = (c: CameraRow) => ({
  id: c.id,
  external_id: c.external_id,
  collector_id: c.collector_id,
  name: c.name,
  site: c.site,
  lat: c.lat,
  lon: c.lon
})

interface SightingRow {
  readonly id: string
  readonly detection_id: string
  readonly detected_at: Date
  readonly plate_text: string
  readonly confidence: number
  readonly direction: string | null
  readonly lat: number | null
  readonly lon: number | null
  readonly duplicate_of: string | null
  readonly camera_id: string
  readonly image_kinds: ReadonlyArray<string> | null
}

interface TimelineSummaryRow {
  readonly total: number
  readonly cameras: ReadonlyArray<CameraRow & { count: number; first_seen: string; last_seen: string }>
  readonly gaps: ReadonlyArray<{ from: string; to: string; seconds: number; from_camera_id: string; to_camera_id: string }>
  readonly counts: ReadonlyArray<{ start: string; count: number }>
}

interface MapRow extends CameraRow {
  readonly count: number
  readonly first_seen: Date | null
  readonly last_seen: Date | null
  readonly seen_lat: number | null
  readonly seen_lon: number | null
}

interface RouteRow {
  readonly id: string
  readonly detected_at: Date
  readonly lat: number | null
  readonly lon: number | null
  readonly total: number
  readonly camera_id: string
  readonly external_id: string
  readonly collector_id: string
  readonly name: string | null
  readonly site: string | null
  readonly camera_lat: number | null
  readonly camera_lon: number | null
}

interface ConvoyRow {
  /** at most CONVOY_READS_CAP + 1 */
  readonly target_reads: number
  readonly target_passes: number
  readonly candidates: number
  readonly scored: number
  /** the target's passes per camera, with the camera */
  readonly target_cameras: ReadonlyArray<{ id: string; name: string | null; site: string | null; passes: number }>
  /** the joint sightings of the scored plates */
  readonly evidence: ReadonlyArray<{
    plate: string
    camera_id: string
    target_id: string
    target_at: string
    id: string
    detected_at: string
  }>
  /** each scored plate's passes at the target's cameras, counted over its reads in the period or its newest RATE_SAMPLE */
  readonly rates: ReadonlyArray<{ plate: string; camera_id: string; passes: number }>
  /** the plates counted over their newest RATE_SAMPLE reads only, with the oldest of those */
  readonly sampled: ReadonlyArray<{ plate: string; since: string }>
}

interface MultiPlaceRow {
  readonly plate: string
  readonly place: number
  readonly count: number
  readonly id: string
  readonly detection_id: string
  readonly detected_at: Date
  readonly plate_text: string
  readonly confidence: number
  readonly camera_id: string
  readonly camera_name: string | null
  readonly camera_site: string | null
}

interface Range {
  readonly from: Date
  readonly to: Date
}

/**
 * Investigating a plate: its timeline, map, route and convoy, and the plates seen at several incidents.
 * Each is a few statements driven by an index (the plate's reads by `(plate, detected_at)`, a camera's
 * by `(camera_id, detected_at)`), and each is audited with its parameters and the reason given.
 */
export class Investigation extends Effect.Service<Investigation>()("@chaverim/server/Investigation", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* Audit
    const config = yield* AppConfig

    const reasonOf = (given: string | undefined) => requireReason(config.reasonRequired, given, "investigate")

    const plateOf = (typed: string) => {
      const plate = normalizePlate(typed)
      return plate === "" ? Effect.fail(new BadRequest({ message: "plate has no letters or digits" })) : Effect.succeed(plate)
    }

    const rangeOf = (params: { from?: Date | undefined; to?: Date | undefined }, maxDays: number, what = "the range") => {
      const to = params.to ?? new Date()
      const from = params.from ?? new Date(to.getTime() - DEFAULT_RANGE_MS)
      if (from.getTime() >= to.getTime()) return Effect.fail(new BadRequest({ message: `${what}: from must be before to` }))
      if (to.getTime() - from.getTime() > maxDays * DAY_MS) {
        return Effect.fail(new BadRequest({ message: `${what} covers at most ${maxDays === 1 ? "24 hours" : `${maxDays} days`}` }))
      }
      return Effect.succeed<Range>({ from, to })
    }

    const record = (
      user: Actor,
      request: RequestInfo,
      action: string,
      target: string | undefined,
      reason: string | undefined,
      details: Record<string, unknown>
    ) =>
      audit.record({
        actor: user,
        address: request.address,
        action,
        ...(target === undefined ? {} : { target }),
        ...(reason === undefined ? {} : { reason }),
        details,
        outcome: "success"
      })

    const inRange = (plate: string, range: Range) =>
      sql`plate = ${plate} AND detected_at >= ${range.from} AND detected_at < ${range.to}`

    /**
     * One scan of the plate's reads in the range (index `(plate, detected_at)`), kept for the per-camera
     * figures, the gaps (lag over time) and the counts per bucket; the newest reads are listed apart.
     */
    const timeline = Effect.fn("Investigation.timeline")(function*(
      typed: string,
      params: TimelineParams,
      user: Actor,
      request: RequestInfo
    ) {
      const reason = yield* reasonOf(params.reason)
      const plate = yield* plateOf(typed)
      const range = yield* rangeOf(params, MAX_RANGE_DAYS)
      const cursor = params.cursor === undefined ? undefined : yield* decodeCursor(params.cursor)
      const [[summary], page] = yield* Effect.all([
        sql<TimelineSummaryRow>`
          WITH s AS MATERIALIZED (
            SELECT id, detected_at, camera_id FROM detections WHERE ${inRange(plate, range)}
          )
          SELECT
            (SELECT count(*) FROM s)::int AS total,
            (SELECT coalesce(json_agg(json_build_object(
                      'id', c.id, 'external_id', c.external_id, 'collector_id', c.collector_id, 'name', c.name,
                      'site', c.site, 'lat', c.lat, 'lon', c.lon,
                      'count', a.count, 'first_seen', a.first_seen, 'last_seen', a.last_seen
                    ) ORDER BY a.first_seen, c.id), '[]'::json)
               FROM (SELECT camera_id, count(*)::int AS count, min(detected_at) AS first_seen, max(detected_at) AS last_seen
                       FROM s GROUP BY camera_id) a
               JOIN cameras c ON c.id = a.camera_id) AS cameras,
            (SELECT coalesce(json_agg(g ORDER BY g.seconds DESC, g.from), '[]'::json)
               FROM (SELECT prev_at AS from, detected_at AS to,
                            extract(epoch FROM detected_at - prev_at)::float8 AS seconds,
                            prev_camera AS from_camera_id, camera_id AS to_camera_id
                       FROM (SELECT detected_at, camera_id,
                                    lag(detected_at) OVER w AS prev_at, lag(camera_id) OVER w AS prev_camera
                               FROM s WINDOW w AS (ORDER BY detected_at, id)) x
                      WHERE detected_at - prev_at >= make_interval(mins => ${params.min_gap_minutes}::int)
                      ORDER BY detected_at - prev_at DESC, prev_at
                      LIMIT ${GAPS_MAX}) g) AS gaps,
            (SELECT coalesce(json_agg(json_build_object('start', b.start, 'count', b.count) ORDER BY b.start), '[]'::json)
               FROM (SELECT date_trunc(${params.bucket}, detected_at, 'UTC') AS start, count(*)::int AS count
                       FROM s GROUP BY 1) b) AS counts`,
        sql<SightingRow & { cursor_time: string }>`
          SELECT d.id::text AS id, d.detection_id, d.detected_at, d.plate_text, d.confidence, d.direction,
                 d.lat, d.lon, d.duplicate_of::text AS duplicate_of, d.camera_id, ${sql.literal(CURSOR_TIME)} AS cursor_time,
                 (SELECT array_agg(i.kind ORDER BY i.kind) FROM detection_images i WHERE i.detection_id = d.id) AS image_kinds
            FROM detections d
           WHERE ${inRange(plate, range)}
             ${cursor === undefined ? sql`` : sql`AND (d.detected_at, d.id) < (${cursor.t}::timestamptz, ${cursor.id}::bigint)`}
           ORDER BY d.detected_at DESC, d.id DESC
           LIMIT ${params.limit + 1}`
      ], { concurrency: 2 })
      const sightings = page.slice(0, params.limit)
      const last = sightings.at(-1)
      const more = page.length > params.limit && last !== undefined

      const cameras = summary!.cameras
      const byCamera = new Map<string, Array<Sighting>>(cameras.map((c) => [c.id, []]))
      const cameraOf = new Map(cameras.map((c) => [c.id, c]))
      for (const row of [...sightings].reverse()) {
        const camera = cameraOf.get(row.camera_id)
        const sighting: Sighting = {
          id: row.id,
          detection_id: row.detection_id,
          detected_at: iso(row.detected_at),
          plate_text: row.plate_text,
          confidence: row.confidence,
          direction: row.direction,
          location: locationOf(row, camera ?? { lat: null, lon: null }),
          duplicate_of: row.duplicate_of,
          images: imageLinks(row.id, row.image_kinds)
        }
        // A read stored after the summary was taken has no camera entry yet; it is left for the next look.
        byCamera.get(row.camera_id)?.push(sighting)
      }
      const result: TimelineResult = {
        plate,
        from: iso(range.from),
        to: iso(range.to),
        bucket: params.bucket,
        total: summary!.total,
        cap: params.limit,
        capped: more,
        next_cursor: more ? encodeCursor({ t: last.cursor_time, id: last.id }) : null,
        cameras: cameras.map((c) => ({
          camera: cameraRef(c),
          count: c.count,
          first_seen: iso(c.first_seen),
          last_seen: iso(c.last_seen),
          sightings: byCamera.get(c.id)!
        })),
        gaps: summary!.gaps.map((g) => ({
          from: iso(g.from),
          to: iso(g.to),
          seconds: round(g.seconds, 3),
          from_camera_id: g.from_camera_id,
          to_camera_id: g.to_camera_id
        })),
        counts: summary!.counts.map((b) => ({ start: iso(b.start), count: b.count }))
      }
      yield* record(user, request, "investigate.timeline", `plate:${plate}`, reason, {
        plate: typed,
        from: result.from,
        to: result.to,
        bucket: params.bucket,
        min_gap_minutes: params.min_gap_minutes,
        results: result.total
      })
      return result
    })

    const map = Effect.fn("Investigation.map")(function*(typed: string, params: MapParams, user: Actor, request: RequestInfo) {
      const reason = yield* reasonOf(params.reason)
      const plate = yield* plateOf(typed)
      const range = yield* rangeOf(params, MAX_RANGE_DAYS)
      const rows = yield* sql<MapRow>`
        SELECT c.id, c.external_id, c.collector_id, c.name, c.site, c.lat, c.lon,
               coalesce(a.count, 0)::int AS count, a.first_seen, a.last_seen, a.seen_lat, a.seen_lon
          FROM cameras c
          LEFT JOIN (
            SELECT camera_id, count(*) AS count, min(detected_at) AS first_seen, max(detected_at) AS last_seen,
                   (array_agg(lat ORDER BY detected_at DESC) FILTER (WHERE lat IS NOT NULL AND lon IS NOT NULL))[1] AS seen_lat,
                   (array_agg(lon ORDER BY detected_at DESC) FILTER (WHERE lat IS NOT NULL AND lon IS NOT NULL))[1] AS seen_lon
              FROM detections
             WHERE ${inRange(plate, range)}
             GROUP BY camera_id
          ) a ON a.camera_id = c.id
         WHERE a.camera_id IS NOT NULL OR (c.lat IS NOT NULL AND c.lon IS NOT NULL)
         ORDER BY coalesce(a.count, 0) DESC, c.name NULLS LAST, c.id`
      const result: MapResult = {
        plate,
        from: iso(range.from),
        to: iso(range.to),
        total: rows.reduce((n, r) => n + r.count, 0),
        cameras: rows.map((r) => ({
          camera: cameraRef(r),
          location: locationOf(r, { lat: r.seen_lat, lon: r.seen_lon }),
          count: r.count,
          first_seen: r.first_seen === null ? null : iso(r.first_seen),
          last_seen: r.last_seen === null ? null : iso(r.last_seen)
        }))
      }
      yield* record(user, request, "investigate.map", `plate:${plate}`, reason, {
        plate: typed,
        from: result.from,
        to: result.to,
        results: result.total
      })
      return result
    })

    /**
     * The plate's reads in time order (the newest SIGHTINGS_CAP), collapsed into stops (consecutive reads
     * at one camera no further apart than the trip gap), split into trips where a pause is longer than
     * the trip gap, with the distance and speed from every stop to the next.
     */
    const route = Effect.fn("Investigation.route")(function*(
      typed: string,
      params: RouteParams,
      user: Actor,
      request: RequestInfo
    ) {
      const reason = yield* reasonOf(params.reason)
      const plate = yield* plateOf(typed)
      const range = yield* rangeOf(params, MAX_RANGE_DAYS)
      const rows = yield* sql<RouteRow>`
        SELECT d.id::text AS id, d.detected_at, d.lat, d.lon, (count(*) OVER ())::int AS total,
               c.id AS camera_id, c.external_id, c.collector_id, c.name, c.site, c.lat AS camera_lat, c.lon AS camera_lon
          FROM detections d JOIN cameras c ON c.id = d.camera_id
         WHERE ${inRange(plate, range)}
         ORDER BY d.detected_at DESC, d.id DESC
         LIMIT ${SIGHTINGS_CAP}`
      const gapMs = params.trip_gap_minutes * 60_000

      interface Stop {
        readonly row: RouteRow
        readonly location: { lat: number; lon: number } | null
        last: RouteRow
        reads: number
      }
      const stops: Array<Stop> = []
      for (const row of [...rows].reverse()) {
        const current = stops.at(-1)
        if (
          current !== undefined && current.row.camera_id === row.camera_id &&
          row.detected_at.getTime() - current.last.detected_at.getTime() <= gapMs
        ) {
          current.last = row
          current.reads++
        } else {
          const camera = { lat: row.camera_lat, lon: row.camera_lon }
          stops.push({ row, location: locationOf(row, camera), last: row, reads: 1 })
        }
      }

      const trips: Array<{ start: string; end: string; seconds: number; distance_m: number; stops: Array<RouteStop> }> = []
      const implausible: Array<RouteResult["implausible"][number]> = []
      let tripStart = 0
      let tripDistance = 0
      let tripStops: Array<RouteStop> = []
      const closeTrip = (lastStop: Stop) => {
        const start = stops[tripStart]!.row.detected_at
        trips.push({
          start: iso(start),
          end: iso(lastStop.last.detected_at),
          seconds: round((lastStop.last.detected_at.getTime() - start.getTime()) / 1000, 3),
          distance_m: Math.round(tripDistance),
          stops: tripStops
        })
      }
      stops.forEach((stop, i) => {
        const previous = i === 0 ? undefined : stops[i - 1]!
        let leg: RouteLeg | null = null
        if (previous !== undefined) {
          const ms = stop.row.detected_at.getTime() - previous.last.detected_at.getTime()
          const distance = previous.location !== null && stop.location !== null
            ? haversineMeters(previous.location, stop.location)
            : null
          const speed = distance !== null && ms > 0 ? (distance / (ms / 1000)) * 3.6 : null
          const tooFast = distance !== null && distance >= FLAG_MIN_DISTANCE_M &&
            (speed === null || speed > params.max_speed_kmh)
          leg = {
            seconds: round(ms / 1000, 3),
            distance_m: distance === null ? null : Math.round(distance),
            speed_kmh: speed === null ? null : round(speed, 1),
            implausible: tooFast
          }
          if (tooFast) {
            implausible.push({
              from_detection_id: previous.last.id,
              to_detection_id: stop.row.id,
              from_camera_id: previous.row.camera_id,
              to_camera_id: stop.row.camera_id,
              at: iso(stop.row.detected_at),
              seconds: leg.seconds,
              distance_m: leg.distance_m!,
              speed_kmh: leg.speed_kmh
            })
          }
          if (ms > gapMs) {
            closeTrip(previous)
            tripStart = i
            tripDistance = 0
            tripStops = []
          } else if (distance !== null) {
            tripDistance += distance
          }
        }
        tripStops.push({
          camera: cameraRef({ ...stop.row, id: stop.row.camera_id, lat: stop.row.camera_lat, lon: stop.row.camera_lon }),
          location: stop.location,
          first_seen: iso(stop.row.detected_at),
          last_seen: iso(stop.last.detected_at),
          reads: stop.reads,
          detection: { id: stop.row.id, detected_at: iso(stop.row.detected_at) },
          from_previous: leg
        })
      })
      if (stops.length > 0) closeTrip(stops.at(-1)!)

      const total = rows[0]?.total ?? 0
      const result: RouteResult = {
        plate,
        from: iso(range.from),
        to: iso(range.to),
        trip_gap_minutes: params.trip_gap_minutes,
        max_speed_kmh: params.max_speed_kmh,
        total,
        cap: SIGHTINGS_CAP,
        capped: total > SIGHTINGS_CAP,
        trips,
        implausible
      }
      yield* record(user, request, "investigate.route", `plate:${plate}`, reason, {
        plate: typed,
        from: result.from,
        to: result.to,
        trip_gap_minutes: params.trip_gap_minutes,
        max_speed_kmh: params.max_speed_kmh,
        results: total,
        trips: trips.length,
        implausible: implausible.length
      })
      return result
    })

    /**
     * One statement, driven by the target's passes:
     * - `target`: the target's newest CONVOY_READS_CAP reads in the period (index `(plate, detected_at)`),
     *   one row per pass (a run of reads at one camera, by `duplicate_of`);
     * - `near`: for each pass, the reads at the same camera within the window (index
     *   `(camera_id, detected_at)`, one range scan per pass; DISTINCT ON keeps the LATERAL from being
     *   flattened into a hash join over the whole table), the closest read of each other plate;
     * - `candidates`: plates near the target at `min_cameras` distinct cameras or more; the best-placed
     *   CONVOY_SCORED_MAX of them are `scored`;
     * - `recent`: each scored plate's newest RATE_SAMPLE reads in the period (index `(plate, detected_at)`,
     *   one bounded range scan per plate), from which `rates` counts its passes at the target's cameras.
     * The score is then computed here from the counts.
     */
    const convoy = Effect.fn("Investigation.convoy")(function*(
      typed: string,
      params: ConvoyParams,
      user: Actor,
      request: RequestInfo
    ) {
      const reason = yield* reasonOf(params.reason)
      const plate = yield* plateOf(typed)
      const range = yield* rangeOf(params, CONVOY_MAX_RANGE_DAYS)
      const window = params.window_s
      const [row] = yield* sql<ConvoyRow>`
        WITH target_reads AS MATERIALIZED (
          SELECT id, camera_id, detected_at, duplicate_of
            FROM detections
           WHERE ${inRange(plate, range)}
           ORDER BY detected_at DESC, id DESC
           LIMIT ${CONVOY_READS_CAP + 1}
        ),
        target AS MATERIALIZED (
          SELECT camera_id, min(detected_at) AS first_at, max(detected_at) AS last_at,
                 (array_agg(id ORDER BY detected_at, id))[1] AS target_id
            FROM (SELECT * FROM target_reads ORDER BY detected_at DESC, id DESC LIMIT ${CONVOY_READS_CAP}) r
           GROUP BY coalesce(duplicate_of, id), camera_id
        ),
        near AS MATERIALIZED (
          SELECT t.target_id, t.first_at AS target_at, t.camera_id, n.plate, n.id, n.detected_at
            FROM target t
            CROSS JOIN LATERAL (
              SELECT DISTINCT ON (d.plate) d.plate, d.id, d.detected_at
                FROM detections d
               WHERE d.camera_id = t.camera_id
                 AND d.detected_at >= t.first_at - make_interval(secs => ${window}::int)
                 AND d.detected_at <= t.last_at + make_interval(secs => ${window}::int)
                 AND d.plate <> ${plate} AND d.plate_ocr <> ${ocrKey(plate)}
               ORDER BY d.plate, abs(extract(epoch FROM d.detected_at - t.first_at)), d.id
            ) n
        ),
        candidates AS MATERIALIZED (
          SELECT plate, count(DISTINCT camera_id) AS cameras, count(*) AS occasions
            FROM near
           GROUP BY plate
          HAVING count(DISTINCT camera_id) >= ${params.min_cameras}::int
        ),
        scored AS MATERIALIZED (
          SELECT plate FROM candidates ORDER BY cameras DESC, occasions DESC, plate LIMIT ${CONVOY_SCORED_MAX}
        ),
        recent AS MATERIALIZED (
          SELECT s.plate, r.camera_id, r.id, r.duplicate_of, r.detected_at
            FROM scored s
            CROSS JOIN LATERAL (
              SELECT d.camera_id, d.id, d.duplicate_of, d.detected_at
                FROM detections d
               WHERE d.plate = s.plate AND d.detected_at >= ${range.from} AND d.detected_at < ${range.to}
               ORDER BY d.detected_at DESC
               LIMIT ${RATE_SAMPLE}
            ) r
        )
        SELECT
          (SELECT count(*) FROM target_reads)::int AS target_reads,
          (SELECT count(*) FROM target)::int AS target_passes,
          (SELECT count(*) FROM candidates)::int AS candidates,
          (SELECT count(*) FROM scored)::int AS scored,
          (SELECT coalesce(json_agg(json_build_object('id', c.id, 'name', c.name, 'site', c.site, 'passes', t.passes)), '[]'::json)
             FROM (SELECT camera_id, count(*)::int AS passes FROM target GROUP BY camera_id) t
             JOIN cameras c ON c.id = t.camera_id) AS target_cameras,
          (SELECT coalesce(json_agg(json_build_object(
                    'plate', n.plate, 'camera_id', n.camera_id, 'target_id', n.target_id::text, 'target_at', n.target_at,
                    'id', n.id::text, 'detected_at', n.detected_at
                  ) ORDER BY n.plate, n.target_at, n.target_id), '[]'::json)
             FROM near n JOIN scored s ON s.plate = n.plate) AS evidence,
          (SELECT coalesce(json_agg(r), '[]'::json)
             FROM (SELECT plate, camera_id, count(DISTINCT coalesce(duplicate_of, id))::int AS passes
                     FROM recent
                    WHERE camera_id IN (SELECT camera_id FROM target)
                    GROUP BY plate, camera_id) r) AS rates,
          (SELECT coalesce(json_agg(s), '[]'::json)
             FROM (SELECT plate, min(detected_at) AS since
                     FROM recent GROUP BY plate HAVING count(*) >= ${RATE_SAMPLE}) s) AS sampled`

      const periodS = (range.to.getTime() - range.from.getTime()) / 1000
      const targetCameras = row!.target_cameras
      const cameraOf = new Map(targetCameras.map((c) => [c.id, c]))
      const nameOf = (id: string) => {
        const c = cameraOf.get(id)!
        return { id: c.id, name: c.name, site: c.site }
      }
      const passesOf = new Map(row!.rates.map((r) => [`${r.plate}\u0000${r.camera_id}`, r.passes]))
      const sinceOf = new Map(row!.sampled.map((s) => [s.plate, Date.parse(s.since)]))
      const byPlate = new Map<string, Array<ConvoyRow["evidence"][number]>>()
      for (const e of row!.evidence) {
        const list = byPlate.get(e.plate)
        if (list === undefined) byPlate.set(e.plate, [e])
        else list.push(e)
      }

      const matches: Array<ConvoyMatch> = []
      for (const [other, evidence] of byPlate) {
        const since = sinceOf.get(other)
        const countedS = since === undefined ? periodS : Math.max(1, (range.to.getTime() - since) / 1000)
        const joint = new Map<string, number>()
        for (const e of evidence) joint.set(e.camera_id, (joint.get(e.camera_id) ?? 0) + 1)
        // At each of the target's cameras: the plate's own rate there (half a pass added, so that a camera
        // it was not counted at still gets a rate in proportion to how busy the plate is, and never below
        // what the joint passes alone make it), the chance of a pass within +/- window of a given moment,
        // and so the joint sightings expected by chance over the target's passes there.
        const expectedAt = new Map<string, number>()
        for (const camera of targetCameras) {
          const passes = passesOf.get(`${other}\u0000${camera.id}`) ?? 0
          const rate = Math.max((passes + 0.5) / countedS, (joint.get(camera.id) ?? 0) / periodS)
          expectedAt.set(camera.id, camera.passes * -Math.expm1(-rate * 2 * window))
        }
        const expected = [...expectedAt.values()].reduce((a, b) => a + b, 0)
        matches.push({
          plate: other,
          score: round(poissonSurprise(evidence.length, expected), 3),
          cameras: joint.size,
          occasions: evidence.length,
          expected: Number(expected.toPrecision(4)),
          counted_days: round(countedS / 86_400, 3),
          possible_misread: plateDifferences(plate, other).length <= 1,
          per_camera: [...joint]
            .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
            .map(([cameraId, n]) => ({
              camera: nameOf(cameraId),
              joint: n,
              target_passes: cameraOf.get(cameraId)!.passes,
              plate_passes: passesOf.get(`${other}\u0000${cameraId}`) ?? 0,
              expected: Number(expectedAt.get(cameraId)!.toPrecision(4))
            })),
          evidence: evidence.slice(0, EVIDENCE_MAX).map((e) => ({
            camera: nameOf(e.camera_id),
            target: { id: e.target_id, detected_at: iso(e.target_at) },
            sighting: { id: e.id, detected_at: iso(e.detected_at) },
            offset_s: round((Date.parse(e.detected_at) - Date.parse(e.target_at)) / 1000, 3)
          }))
        })
      }
      matches.sort((a, b) => b.score - a.score || b.cameras - a.cameras || b.occasions - a.occasions || (a.plate < b.plate ? -1 : 1))

      const result: ConvoyResult = {
        plate,
        from: iso(range.from),
        to: iso(range.to),
        window_s: window,
        min_cameras: params.min_cameras,
        target_passes: row!.target_passes,
        cap: CONVOY_READS_CAP,
        capped: row!.target_reads > CONVOY_READS_CAP,
        candidates: row!.candidates,
        scored: row!.scored,
        items: matches.slice(0, params.limit)
      }
      yield* record(user, request, "investigate.convoy", `plate:${plate}`, reason, {
        plate: typed,
        from: result.from,
        to: result.to,
        window_s: window,
        min_cameras: params.min_cameras,
        limit: params.limit,
        results: result.items.length,
        candidates: result.candidates
      })
      return result
    })

    /**
     * Every read at each place's cameras in its range (index `(camera_id, detected_at)`, one range scan
     * per camera and place), grouped by plate: the plates found at every place.
     */
    const multiPlace = Effect.fn("Investigation.multiPlace")(function*(
      body: MultiPlaceRequest,
      user: Actor,
      request: RequestInfo
    ) {
      const reason = yield* reasonOf(body.reason)
      for (const [i, place] of body.places.entries()) yield* rangeOf(place, PLACE_MAX_RANGE_DAYS, `places[${i}]`)
      const places = body.places.map((p) => ({ ...p, camera_ids: [...new Set(p.camera_ids.map((id) => id.toLowerCase()))] }))
      const wanted = [...new Set(places.flatMap((p) => p.camera_ids))]
      const known = new Set((yield* sql<{ id: string }>`SELECT id FROM cameras WHERE id IN ${sql.in(wanted)}`).map((r) => r.id))
      const unknown = wanted.filter((id) => !known.has(id))
      if (unknown.length > 0) return yield* new BadRequest({ message: `no such camera: ${unknown.join(", ")}` })

      const pairs = places.flatMap((p, place) =>
        p.camera_ids.map((camera_id) => ({ place, camera_id, t0: p.from.toISOString(), t1: p.to.toISOString() }))
      )
      const rows = yield* sql<MultiPlaceRow>`
        WITH places AS (
          SELECT *
            FROM json_to_recordset(${JSON.stringify(pairs)}::json) AS p(place int, camera_id uuid, t0 timestamptz, t1 timestamptz)
        ),
        seen AS MATERIALIZED (
          SELECT p.place, d.*
            FROM places p
            -- OFFSET 0 keeps this a scan of each camera's range: flattened, the planner (which cannot see
            -- how few rows the JSON holds) prefers a hash join over the whole table.
            CROSS JOIN LATERAL (
              SELECT d.id, d.detection_id, d.plate, d.plate_text, d.confidence, d.detected_at, d.camera_id
                FROM detections d
               WHERE d.camera_id = p.camera_id AND d.detected_at >= p.t0 AND d.detected_at < p.t1
              OFFSET 0
            ) d
        ),
        matched AS (
          SELECT plate FROM seen GROUP BY plate HAVING count(DISTINCT place) = ${places.length}::int
           ORDER BY plate LIMIT ${body.limit + 1}
        ),
        ranked AS (
          SELECT s.*, row_number() OVER (PARTITION BY s.plate, s.place ORDER BY s.detected_at, s.id) AS k,
                 (count(*) OVER (PARTITION BY s.plate, s.place))::int AS count
            FROM seen s JOIN matched m ON m.plate = s.plate
        )
        SELECT r.plate, r.place, r.count, r.id::text AS id, r.detection_id, r.detected_at, r.plate_text, r.confidence,
               r.camera_id, c.name AS camera_name, c.site AS camera_site
          FROM ranked r JOIN cameras c ON c.id = r.camera_id
         WHERE r.k <= ${PLACE_SIGHTINGS_MAX}
         ORDER BY r.plate, r.place, r.detected_at, r.id`

      type PlaceSighting = MultiPlaceResult["items"][number]["places"][number]["sightings"][number]
      const byPlate = new Map<string, Map<number, { count: number; sightings: Array<PlaceSighting> }>>()
      for (const r of rows) {
        let perPlace = byPlate.get(r.plate)
        if (perPlace === undefined) byPlate.set(r.plate, perPlace = new Map())
        let entry = perPlace.get(r.place)
        if (entry === undefined) perPlace.set(r.place, entry = { count: r.count, sightings: [] })
        entry.sightings.push({
          id: r.id,
          detection_id: r.detection_id,
          detected_at: iso(r.detected_at),
          plate_text: r.plate_text,
          confidence: r.confidence,
          camera: { id: r.camera_id, name: r.camera_name, site: r.camera_site }
        })
      }
      const items = [...byPlate].slice(0, body.limit).map(([plate, perPlace]) => ({
        plate,
        places: [...perPlace].sort(([a], [b]) => a - b).map(([place, entry]) => ({ place, ...entry }))
      }))
      const result: MultiPlaceResult = { items, capped: byPlate.size > body.limit }
      yield* record(user, request, "investigate.multi_place", undefined, reason, {
        places: places.map((p) => ({ camera_ids: p.camera_ids, from: p.from.toISOString(), to: p.to.toISOString() })),
        limit: body.limit,
        results: items.length,
        plates: items.map((i) => i.plate)
      })
      return result
    })

    return { timeline, map, route, convoy, multiPlace } as const
  })
}) {}
