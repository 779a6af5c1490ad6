import { NotFound } from "@chaverim/domain/Errors"
import { Camera, type CameraUpdate } from "@chaverim/domain/rpc/Cameras"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { IsoTime, IsoTimeOrNull, orBug } from "../db/Rows"

/** A row of `cameras` with its collector's name, as the contract carries a camera. */
const CameraRow = Schema.Struct({ ...Camera.fields, retired_at: IsoTimeOrNull, updated_at: IsoTime })

/**
 * The cameras collectors report, as an admin sees and names them: where each one is (site and
 * position) and which collector it belongs to.
 */
export class Cameras extends Effect.Service<Cameras>()("@chaverim/server/Cameras", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const select = sql`
      SELECT c.id AS camera_id, c.collector_id, k.name AS collector_name, c.external_id, c.mac, c.name, c.site,
             c.lat, c.lon, c.bearing, c.travel_direction, c.zone, c.expected_per_hour, c.min_confidence::float8 AS min_confidence,
             c.retired_at, c.updated_at
        FROM cameras c JOIN collectors k ON k.id = c.collector_id`

    const listRows = SqlSchema.findAll({
      Request: Schema.UndefinedOr(Schema.String),
      Result: CameraRow,
      execute: (collectorId) =>
        sql`
          ${select} ${collectorId === undefined ? sql`` : sql`WHERE c.collector_id = ${collectorId}`}
          ORDER BY k.name, c.site NULLS LAST, c.name NULLS LAST, c.external_id`
    })

    const one = SqlSchema.findOne({
      Request: Schema.String,
      Result: CameraRow,
      execute: (cameraId) => sql`${select} WHERE c.id = ${cameraId}`
    })

    const list = Effect.fn("Cameras.list")(function*(collectorId?: string) {
      return yield* orBug(listRows(collectorId))
    })

    const get = (cameraId: string) =>
      Effect.flatMap(
        orBug(one(cameraId)),
        Option.match({
          onNone: () => new NotFound({ message: `no camera ${cameraId}` }),
          onSome: Effect.succeed
        })
      )

    /** The camera before and after: the audit log records what changed. */
    const update = Effect.fn("Cameras.update")(function*(change: CameraUpdate) {
      const before = yield* get(change.camera_id)
      const set = (column: string, value: string | number | null | undefined) =>
        value === undefined ? sql`` : sql`, ${sql(column)} = ${value}`
      const zone = change.zone === undefined ? sql`` : sql`, zone = ${change.zone === null ? null : JSON.stringify(change.zone)}::jsonb`
      const retired = change.retired === undefined
        ? sql``
        : change.retired
        ? sql`, retired_at = coalesce(retired_at, now())`
        : sql`, retired_at = NULL`
      yield* sql`
        UPDATE cameras SET updated_at = now()
               ${set("name", change.name?.trim() ?? change.name)} ${set("site", change.site?.trim() ?? change.site)}
               ${set("lat", change.lat)} ${set("lon", change.lon)} ${set("bearing", change.bearing)}
               ${set("travel_direction", change.travel_direction?.trim() ?? change.travel_direction)}
               ${set("expected_per_hour", change.expected_per_hour)} ${set("min_confidence", change.min_confidence)}
               ${zone} ${retired}
         WHERE id = ${change.camera_id}`
      return { before, after: yield* get(change.camera_id) }
    })

    return { list, get, update } as const
  })
}) {}
