import { HealthAlert, HealthKind, HealthListRequest } from "@chaverim/domain/Health"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { IsoTime, IsoTimeOrNull, orBug } from "../db/Rows"

/** A row of `health_alerts` with the names of its collector and camera, as `healthFrom` reads it. */
const HealthRow = Schema.Struct({
  id: Schema.String,
  kind: HealthKind,
  collector_id: Schema.String,
  collector_name: Schema.String,
  camera_id: Schema.NullOr(Schema.String),
  camera_name: Schema.NullOr(Schema.String),
  camera_site: Schema.NullOr(Schema.String),
  message: Schema.String,
  details: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  raised_at: IsoTime,
  cleared_at: IsoTimeOrNull,
  duration_s: Schema.Number
})
type HealthRow = typeof HealthRow.Type

export const decodeHealthRows = Schema.decodeUnknown(Schema.Array(HealthRow))

/** SELECT … FROM health_alerts h with its collector and camera: the columns HealthRow reads. */
export const healthFrom = (sql: SqlClient.SqlClient) =>
  sql`
    SELECT h.id::text AS id, h.kind, h.collector_id::text AS collector_id, c.name AS collector_name,
           h.camera_id::text AS camera_id, coalesce(k.name, k.external_id) AS camera_name, k.site AS camera_site,
           h.message, h.details, h.raised_at, h.cleared_at,
           round(extract(epoch FROM coalesce(h.cleared_at, now()) - h.raised_at))::float8 AS duration_s
      FROM health_alerts h
      JOIN collectors c ON c.id = h.collector_id
      LEFT JOIN cameras k ON k.id = h.camera_id`

/** A health alert as the contracts carry it. */
export const healthOf = (row: HealthRow): HealthAlert => ({
  id: row.id,
  kind: row.kind,
  collector: { id: row.collector_id, name: row.collector_name },
  camera: row.camera_id === null ? null : { id: row.camera_id, name: row.camera_name ?? row.camera_id, site: row.camera_site },
  message: row.message,
  details: row.details,
  raised_at: row.raised_at,
  cleared_at: row.cleared_at,
  duration_s: row.duration_s
})

/** One health alert as the contracts carry it; none when there is no such alert. */
export const loadHealthAlert = (healthAlertId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* orBug(decodeHealthRows(yield* sql`${healthFrom(sql)} WHERE h.id = ${healthAlertId}::bigint`))
    return row === undefined ? Option.none<HealthAlert>() : Option.some(healthOf(row))
  })

/** The health alerts, newest first: the open ones, or every one within `limit`. */
export class HealthAlerts extends Effect.Service<HealthAlerts>()("@chaverim/server/HealthAlerts", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const listed = SqlSchema.findAll({
      Request: HealthListRequest,
      Result: HealthRow,
      execute: ({ limit, open }) =>
        sql`${healthFrom(sql)}
          ${open === true ? sql`WHERE h.cleared_at IS NULL` : sql``}
          ORDER BY h.raised_at DESC, h.id DESC
          LIMIT ${limit ?? 100}`
    })
    const list = (request: HealthListRequest = {}) =>
      orBug(listed(request)).pipe(Effect.map((rows) => rows.map(healthOf)), Effect.withSpan("HealthAlerts.list"))
    return { list } as const
  })
}) {}
