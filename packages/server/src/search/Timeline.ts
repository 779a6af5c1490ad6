import {
  Sighting,
  TimelineBucket,
  type TimelineParams,
  TimelineResult
} from "@chaverim/domain/Investigation"
import { locationOf } from "@chaverim/domain/Location"
import { CameraRef } from "@chaverim/domain/Search"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Actor, RequestInfo } from "../auth/Accounts"
import { Cursor, CURSOR_TIME, decodeCursor, encodeCursor } from "../db/Cursor"
import { iso, IsoTime, IsoTimeFromText, orBug } from "../db/Rows"
import { imageLinks } from "../images/Images"
import { cameraRef, type Inquiry, MAX_RANGE_DAYS, plateOf, Range, rangeOf } from "./Inquiry"
import { round } from "./Statistics"

const GAPS_MAX = 50

/** The figures over every read of the plate in the range, in one row (its lists as JSON). */
const TimelineSummary = Schema.Struct({
  total: Schema.Number,
  cameras: Schema.Array(Schema.Struct({
    ...CameraRef.fields,
    count: Schema.Number,
    first_seen: IsoTimeFromText,
    last_seen: IsoTimeFromText
  })),
  gaps: Schema.Array(Schema.Struct({
    ...TimelineResult.fields.gaps.value.fields,
    from: IsoTimeFromText,
    to: IsoTimeFromText
  })),
  counts: Schema.Array(Schema.Struct({ ...TimelineResult.fields.counts.value.fields, start: IsoTimeFromText }))
})

/** A read of the plate, with its own position, its camera and its place in the keyset order. */
const SightingRow = Schema.Struct({
  ...Sighting.omit("location", "images").fields,
  detected_at: IsoTime,
  lat: Schema.NullOr(Schema.Number),
  lon: Schema.NullOr(Schema.Number),
  camera_id: Schema.String,
  /** detected_at to the microsecond (a Date holds milliseconds), for the cursor */
  cursor_time: Schema.String,
  image_kinds: Schema.NullOr(Schema.Array(Schema.String))
})

/**
 * One scan of the plate's reads in the range (index `(plate, detected_at)`), kept for the per-camera
 * figures, the gaps (lag over time) and the counts per bucket; the newest reads are listed apart.
 */
export const makeTimeline = ({ inRange, reasonOf, record, sql }: Inquiry) => {
  const summaryOf = SqlSchema.single({
    Request: Schema.Struct({ plate: Schema.String, range: Range, bucket: TimelineBucket, minGapMinutes: Schema.Number }),
    Result: TimelineSummary,
    execute: ({ bucket, minGapMinutes, plate, range }) =>
      sql`
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
                    WHERE detected_at - prev_at >= make_interval(mins => ${minGapMinutes}::int)
                    ORDER BY detected_at - prev_at DESC, prev_at
                    LIMIT ${GAPS_MAX}) g) AS gaps,
          (SELECT coalesce(json_agg(json_build_object('start', b.start, 'count', b.count) ORDER BY b.start), '[]'::json)
             FROM (SELECT date_trunc(${bucket}, detected_at, 'UTC') AS start, count(*)::int AS count
                     FROM s GROUP BY 1) b) AS counts`
  })

  const sightingsOf = SqlSchema.findAll({
    Request: Schema.Struct({ plate: Schema.String, range: Range, cursor: Schema.UndefinedOr(Cursor), limit: Schema.Number }),
    Result: SightingRow,
    execute: ({ cursor, limit, plate, range }) =>
      sql`
        SELECT d.id::text AS id, d.detection_id, d.detected_at, d.plate_text, d.confidence, d.direction,
               d.lat, d.lon, d.duplicate_of::text AS duplicate_of, d.camera_id, ${sql.literal(CURSOR_TIME)} AS cursor_time,
               (SELECT array_agg(i.kind ORDER BY i.kind) FROM detection_images i WHERE i.detection_id = d.id) AS image_kinds
          FROM detections d
         WHERE ${inRange(plate, range)}
           ${cursor === undefined ? sql`` : sql`AND (d.detected_at, d.id) < (${cursor.t}::timestamptz, ${cursor.id}::bigint)`}
         ORDER BY d.detected_at DESC, d.id DESC
         LIMIT ${limit + 1}`
  })

  return Effect.fn("Investigation.timeline")(function*(
    typed: string,
    params: TimelineParams,
    user: Actor,
    request: RequestInfo
  ) {
    const reason = yield* reasonOf(params)
    const plate = yield* plateOf(typed)
    const range = yield* rangeOf(params, MAX_RANGE_DAYS)
    const cursor = params.cursor === undefined ? undefined : yield* decodeCursor(params.cursor)
    const [summary, page] = yield* Effect.all([
      summaryOf({ plate, range, bucket: params.bucket, minGapMinutes: params.min_gap_minutes }).pipe(
        orBug,
        Effect.catchTag("NoSuchElementException", () => Effect.dieMessage("an aggregate returned no row"))
      ),
      orBug(sightingsOf({ plate, range, cursor, limit: params.limit }))
    ], { concurrency: 2 })
    const sightings = page.slice(0, params.limit)
    const last = sightings.at(-1)
    const more = page.length > params.limit && last !== undefined

    const cameras = summary.cameras
    const byCamera = new Map<string, Array<Sighting>>(cameras.map((c) => [c.id, []]))
    const cameraOf = new Map(cameras.map((c) => [c.id, c]))
    for (const row of [...sightings].reverse()) {
      const camera = cameraOf.get(row.camera_id)
      const sighting: Sighting = {
        id: row.id,
        detection_id: row.detection_id,
        detected_at: row.detected_at,
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
      total: summary.total,
      cap: params.limit,
      capped: more,
      next_cursor: more ? encodeCursor({ t: last.cursor_time, id: last.id }) : null,
      cameras: cameras.map((c) => ({
        camera: cameraRef(c),
        count: c.count,
        first_seen: c.first_seen,
        last_seen: c.last_seen,
        sightings: byCamera.get(c.id)!
      })),
      gaps: summary.gaps.map((g) => ({ ...g, seconds: round(g.seconds, 3) })),
      counts: summary.counts
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
}
