import { NotFound } from "@chaverim/domain/Errors"
import type { Camera, CameraUpdate } from "@chaverim/domain/Rpc"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

interface CameraRow {
  readonly id: string
  readonly collector_id: string
  readonly collector_name: string
  readonly external_id: string
  readonly mac: string
  readonly name: string | null
  readonly site: string | null
  readonly lat: number | null
  readonly lon: number | null
  readonly updated_at: Date
}

const toCamera = (r: CameraRow): Camera => ({
  camera_id: r.id,
  collector_id: r.collector_id,
  collector_name: r.collector_name,
  external_id: r.external_id,
  mac: r.mac,
  name: r.name,
  site: r.site,
  lat: r.lat,
  lon: r.lon,
  updated_at: new Date(r.updated_at).toISOString()
})

/**
 * The cameras collectors report, as an admin sees and names them: where each one is (site and
 * position) and which collector it belongs to.
 */
export class Cameras extends Effect.Service<Cameras>()("@chaverim/server/Cameras", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const select = sql`
      SELECT c.id, c.collector_id, k.name AS collector_name, c.external_id, c.mac, c.name, c.site, c.lat, c.lon,
             c.updated_at
        FROM cameras c JOIN collectors k ON k.id = c.collector_id`

    const list = Effect.fn("Cameras.list")(function*(collectorId?: string) {
      const rows = yield* sql<CameraRow>`
        ${select} ${collectorId === undefined ? sql`` : sql`WHERE c.collector_id = ${collectorId}`}
        ORDER BY k.name, c.site NULLS LAST, c.name NULLS LAST, c.external_id`
      return rows.map(toCamera)
    })

    const get = (cameraId: string) =>
      Effect.flatMap(
        sql<CameraRow>`${select} WHERE c.id = ${cameraId}`,
        ([row]) => row === undefined ? new NotFound({ message: `no camera ${cameraId}` }) : Effect.succeed(toCamera(row))
      )

    /** The camera before and after: the audit log records what changed. */
    const update = Effect.fn("Cameras.update")(function*(change: CameraUpdate) {
      const before = yield* get(change.camera_id)
      const set = (column: string, value: string | number | null | undefined) =>
        value === undefined ? sql`` : sql`, ${sql(column)} = ${value}`
      yield* sql`
        UPDATE cameras SET updated_at = now()
               ${set("name", change.name?.trim() ?? change.name)} ${set("site", change.site?.trim() ?? change.site)}
               ${set("lat", change.lat)} ${set("lon", change.lon)}
         WHERE id = ${change.camera_id}`
      return { before, after: yield* get(change.camera_id) }
    })

    return { list, get, update } as const
  })
}) {}
