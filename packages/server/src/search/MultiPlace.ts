import { BadRequest } from "@chaverim/domain/Errors"
import type { MultiPlaceRequest, MultiPlaceResult } from "@chaverim/domain/Investigation"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Actor, RequestInfo } from "../auth/Accounts"
import { IsoTime, orBug } from "../db/Rows"
import { type Inquiry, rangeOf } from "./Inquiry"

/** An incident is a short time at a few cameras: every read there is looked at. */
const PLACE_MAX_RANGE_DAYS = 1
const PLACE_SIGHTINGS_MAX = 20

/** One camera of one place, with the place's range (as text for `json_to_recordset`). */
const PlaceCamera = Schema.Struct({ place: Schema.Number, camera_id: Schema.String, t0: Schema.String, t1: Schema.String })

/** A read of a plate found at every place, with its place, the plate's count there and its camera. */
const MultiPlaceRow = Schema.Struct({
  plate: Schema.String,
  place: Schema.Number,
  count: Schema.Number,
  id: Schema.String,
  detection_id: Schema.String,
  detected_at: IsoTime,
  plate_text: Schema.String,
  confidence: Schema.Number,
  camera_id: Schema.String,
  camera_name: Schema.NullOr(Schema.String),
  camera_site: Schema.NullOr(Schema.String)
})

/**
 * Every read at each place's cameras in its range (index `(camera_id, detected_at)`, one range scan
 * per camera and place), grouped by plate: the plates found at every place.
 */
export const makeMultiPlace = ({ reasonOf, record, sql }: Inquiry) => {
  const knownCameras = SqlSchema.findAll({
    Request: Schema.Array(Schema.String),
    Result: Schema.Struct({ id: Schema.String }),
    execute: (ids) => sql`SELECT id FROM cameras WHERE id IN ${sql.in(ids)}`
  })

  const readsAt = SqlSchema.findAll({
    Request: Schema.Struct({ pairs: Schema.Array(PlaceCamera), places: Schema.Number, limit: Schema.Number }),
    Result: MultiPlaceRow,
    execute: ({ limit, pairs, places }) =>
      sql`
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
          SELECT plate FROM seen GROUP BY plate HAVING count(DISTINCT place) = ${places}::int
           ORDER BY plate LIMIT ${limit + 1}
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
  })

  return Effect.fn("Investigation.multiPlace")(function*(
    body: MultiPlaceRequest,
    user: Actor,
    request: RequestInfo
  ) {
    const reason = yield* reasonOf(body)
    for (const [i, place] of body.places.entries()) yield* rangeOf(place, PLACE_MAX_RANGE_DAYS, `places[${i}]`)
    const places = body.places.map((p) => ({ ...p, camera_ids: [...new Set(p.camera_ids.map((id) => id.toLowerCase()))] }))
    const wanted = [...new Set(places.flatMap((p) => p.camera_ids))]
    const known = new Set((yield* orBug(knownCameras(wanted))).map((r) => r.id))
    const unknown = wanted.filter((id) => !known.has(id))
    if (unknown.length > 0) return yield* new BadRequest({ message: `no such camera: ${unknown.join(", ")}` })

    const pairs = places.flatMap((p, place) =>
      p.camera_ids.map((camera_id) => ({ place, camera_id, t0: p.from.toISOString(), t1: p.to.toISOString() }))
    )
    const rows = yield* orBug(readsAt({ pairs, places: places.length, limit: body.limit }))

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
        detected_at: r.detected_at,
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
}
