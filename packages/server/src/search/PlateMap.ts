import type { MapParams, MapResult } from "@chaverim/domain/Investigation"
import { locationOf } from "@chaverim/domain/Location"
import { CameraRef } from "@chaverim/domain/Search"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Actor, RequestInfo } from "../auth/Accounts"
import { iso, IsoTimeOrNull, orBug } from "../db/Rows"
import { cameraRef, type Inquiry, MAX_RANGE_DAYS, plateOf, Range, rangeOf } from "./Inquiry"

/** A camera with the plate's reads there (none for a camera that only has a location). */
const MapRow = Schema.Struct({
  ...CameraRef.fields,
  count: Schema.Number,
  first_seen: IsoTimeOrNull,
  last_seen: IsoTimeOrNull,
  /** the newest own location of the plate's reads there */
  seen_lat: Schema.NullOr(Schema.Number),
  seen_lon: Schema.NullOr(Schema.Number)
})

/** Where the plate was seen: its reads per camera in the range, and every other camera with a location. */
export const makeMap = ({ inRange, reasonOf, record, sql }: Inquiry) => {
  const camerasOf = SqlSchema.findAll({
    Request: Schema.Struct({ plate: Schema.String, range: Range }),
    Result: MapRow,
    execute: ({ plate, range }) =>
      sql`
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
  })

  return Effect.fn("Investigation.map")(function*(typed: string, params: MapParams, user: Actor, request: RequestInfo) {
    const reason = yield* reasonOf(params)
    const plate = yield* plateOf(typed)
    const range = yield* rangeOf(params, MAX_RANGE_DAYS)
    const rows = yield* orBug(camerasOf({ plate, range }))
    const result: MapResult = {
      plate,
      from: iso(range.from),
      to: iso(range.to),
      total: rows.reduce((n, r) => n + r.count, 0),
      cameras: rows.map((r) => ({
        camera: cameraRef(r),
        location: locationOf(r, { lat: r.seen_lat, lon: r.seen_lon }),
        count: r.count,
        first_seen: r.first_seen,
        last_seen: r.last_seen
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
}
