import type { RouteLeg, RouteParams, RouteResult, RouteStop } from "@chaverim/domain/Investigation"
import { locationOf } from "@chaverim/domain/Location"
import { CameraRef } from "@chaverim/domain/Search"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Actor, RequestInfo } from "../auth/Accounts"
import { iso, orBug } from "../db/Rows"
import { haversineMeters } from "./Geometry"
import { cameraRef, type Inquiry, MAX_RANGE_DAYS, plateOf, Range, rangeOf } from "./Inquiry"
import { round } from "./Statistics"

/** Reads used by the route: the newest this many. */
export const SIGHTINGS_CAP = 5_000
/**
 * Stops closer than this are never flagged as too fast: two cameras at one junction read a car a second
 * apart, and neither their clocks nor their positions are that exact.
 */
const FLAG_MIN_DISTANCE_M = 250

/** A read of the plate with its camera; `detected_at` stays a Date, for the arithmetic of stops and legs. */
const RouteRow = Schema.Struct({
  id: Schema.String,
  detected_at: Schema.DateFromSelf,
  lat: Schema.NullOr(Schema.Number),
  lon: Schema.NullOr(Schema.Number),
  /** every read of the plate in the range */
  total: Schema.Number,
  camera_id: Schema.String,
  ...CameraRef.omit("id", "lat", "lon").fields,
  camera_lat: Schema.NullOr(Schema.Number),
  camera_lon: Schema.NullOr(Schema.Number)
})
type RouteRow = typeof RouteRow.Type

/**
 * The plate's reads in time order (the newest SIGHTINGS_CAP), collapsed into stops (consecutive reads
 * at one camera no further apart than the trip gap), split into trips where a pause is longer than
 * the trip gap, with the distance and speed from every stop to the next.
 */
export const makeRoute = ({ inRange, reasonOf, record, sql }: Inquiry) => {
  const readsOf = SqlSchema.findAll({
    Request: Schema.Struct({ plate: Schema.String, range: Range }),
    Result: RouteRow,
    execute: ({ plate, range }) =>
      sql`
        SELECT d.id::text AS id, d.detected_at, d.lat, d.lon, (count(*) OVER ())::int AS total,
               c.id AS camera_id, c.external_id, c.collector_id, c.name, c.site, c.lat AS camera_lat, c.lon AS camera_lon
          FROM detections d JOIN cameras c ON c.id = d.camera_id
         WHERE ${inRange(plate, range)}
         ORDER BY d.detected_at DESC, d.id DESC
         LIMIT ${SIGHTINGS_CAP}`
  })

  return Effect.fn("Investigation.route")(function*(
    typed: string,
    params: RouteParams,
    user: Actor,
    request: RequestInfo
  ) {
    const reason = yield* reasonOf(params)
    const plate = yield* plateOf(typed)
    const range = yield* rangeOf(params, MAX_RANGE_DAYS)
    const rows = yield* orBug(readsOf({ plate, range }))
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
    const lastStop = stops.at(-1)
    if (lastStop !== undefined) closeTrip(lastStop)

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
}
