import { CameraConnection, cameraDrift, DeviceCamera } from "@chaverim/domain/CameraConnection"
import { BadRequest, NotFound } from "@chaverim/domain/Errors"
import { Camera, type CameraCreate, type CameraUpdate } from "@chaverim/domain/rpc/Cameras"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { IsoTime, IsoTimeOrNull, orBug } from "../db/Rows"

/** A row of `cameras` with its collector's name and the camera as the collector reports it; the drift is worked out after. */
const CameraRow = Schema.Struct({
  ...Camera.fields,
  connection: Schema.NullOr(Schema.parseJson(CameraConnection)),
  device: Schema.NullOr(Schema.parseJson(DeviceCamera)),
  retired_at: IsoTimeOrNull,
  updated_at: IsoTime
}).pipe(Schema.omit("drift"))
type CameraRow = typeof CameraRow.Type

const withDrift = (row: CameraRow): Camera => ({ ...row, drift: cameraDrift(row, row.device) })

/** A camera as its collector's configuration takes it (edge/src/config/EdgeConfig.ts' CameraConfig). */
const deviceConfigOf = (row: CameraRow & { readonly connection: CameraConnection }) => ({
  id: row.external_id,
  ...(row.name === null ? {} : { name: row.name }),
  ...(row.lat === null || row.lon === null ? {} : { location: { lat: row.lat, lon: row.lon } }),
  ...row.connection
})

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
             c.retired_at, c.updated_at, c.connection::text AS connection,
             (SELECT r::text FROM jsonb_array_elements(k.reported_cameras) r WHERE r->>'id' = c.external_id LIMIT 1) AS device
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
      return (yield* orBug(listRows(collectorId))).map(withDrift)
    })

    const getRow = (cameraId: string) =>
      Effect.flatMap(
        orBug(one(cameraId)),
        Option.match({
          onNone: () => new NotFound({ message: `no camera ${cameraId}` }),
          onSome: Effect.succeed
        })
      )
    const get = (cameraId: string) => Effect.map(getRow(cameraId), withDrift)

    const collectorRow = (collectorId: string) =>
      Effect.flatMap(
        orBug(SqlSchema.findOne({
          Request: Schema.String,
          Result: Schema.Struct({ reported_cameras: Schema.NullOr(Schema.parseJson(Schema.Array(DeviceCamera))), cameras_reported_at: IsoTimeOrNull }),
          execute: (id) => sql`SELECT reported_cameras::text AS reported_cameras, cameras_reported_at FROM collectors WHERE id = ${id}`
        })(collectorId)),
        Option.match({
          onNone: () => new NotFound({ message: `no collector ${collectorId}` }),
          onSome: Effect.succeed
        })
      )

    /** A camera made before it has sent a read: its reads then join it by its id on the collector. */
    const create = Effect.fn("Cameras.create")(function*(made: CameraCreate) {
      yield* collectorRow(made.collector_id)
      const rows = yield* sql<{ id: string }>`
        INSERT INTO cameras (collector_id, external_id, mac, name, site, lat, lon, connection)
        VALUES (${made.collector_id}, ${made.external_id}, 'unknown', ${made.name?.trim() ?? null}, ${made.site?.trim() ?? null},
                ${made.lat ?? null}, ${made.lon ?? null}, ${JSON.stringify(made.connection)}::jsonb)
        ON CONFLICT (collector_id, external_id) DO NOTHING
        RETURNING id::text AS id`.pipe(orBug)
      const [row] = rows
      if (row === undefined) {
        return yield* new BadRequest({ message: `the collector has a camera ${made.external_id} already: edit that one` })
      }
      return yield* get(row.id)
    })

    /** What `update_cameras` carries for the collector: every camera in service with a connection set. */
    const pushable = Effect.fn("Cameras.pushable")(function*(collectorId: string) {
      yield* collectorRow(collectorId)
      const rows = yield* orBug(listRows(collectorId))
      return rows.flatMap((row) => row.connection === null || row.retired_at !== null ? [] : [deviceConfigOf({ ...row, connection: row.connection })])
    })

    const lastPush = SqlSchema.findOne({
      Request: Schema.String,
      Result: Schema.Struct({
        command_id: Schema.String,
        status: Schema.Literal("pending", "done", "failed"),
        message: Schema.NullOr(Schema.String),
        created_at: IsoTime,
        acked_at: IsoTimeOrNull
      }),
      execute: (collectorId) =>
        sql`SELECT id::text AS command_id, status, message, created_at, acked_at FROM collector_commands
             WHERE collector_id = ${collectorId} AND cmd = 'update_cameras' ORDER BY created_at DESC, id DESC LIMIT 1`
    })

    /** The collector's side: the cameras it reports that no camera here sets the connection of, and its last push. */
    const collectorSide = Effect.fn("Cameras.collector")(function*(collectorId: string) {
      const reported = yield* collectorRow(collectorId)
      const managed = new Set((yield* orBug(listRows(collectorId))).filter((row) => row.connection !== null).map((row) => row.external_id))
      return {
        collector_id: collectorId,
        reported_at: reported.cameras_reported_at,
        device_only: (reported.reported_cameras ?? []).filter((camera) => !managed.has(camera.id)),
        last_push: Option.getOrNull(yield* orBug(lastPush(collectorId)))
      }
    })

    /** The camera before and after: the audit log records what changed. */
    const update = Effect.fn("Cameras.update")(function*(change: CameraUpdate) {
      const before = yield* getRow(change.camera_id)
      const set = (column: string, value: string | number | null | undefined) =>
        value === undefined ? sql`` : sql`, ${sql(column)} = ${value}`
      const zone = change.zone === undefined ? sql`` : sql`, zone = ${change.zone === null ? null : JSON.stringify(change.zone)}::jsonb`
      const connection = change.connection === undefined
        ? sql``
        : sql`, connection = ${change.connection === null ? null : JSON.stringify(change.connection)}::jsonb`
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
               ${zone} ${connection} ${retired}
         WHERE id = ${change.camera_id}`
      return { before: withDrift(before), after: yield* get(change.camera_id) }
    })

    return { list, get, update, create, pushable, collectorSide } as const
  })
}) {}
