import { AlertFacts } from "@chaverim/domain/Outputs"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Int8Text, IsoTime, orBug } from "../db/Rows"

/**
 * An alert as the outbound channels tell it (`AlertFacts`), read afresh for every attempt, so a retry
 * says what the alert is now. Who may receive it is each channel's rule, checked in its own SQL; this
 * only reads the facts, with whether the list is shared (for channels that carry only shared lists).
 */

const FactsRow = Schema.Struct({
  id: Int8Text,
  plate: Schema.String,
  status: AlertFacts.fields.status,
  retro: Schema.Boolean,
  seen_at: IsoTime,
  list_id: Schema.String,
  list_name: Schema.String,
  category: AlertFacts.fields.list.fields.category,
  priority: Schema.Number,
  camera_id: Schema.String,
  camera_name: Schema.NullOr(Schema.String),
  site: Schema.NullOr(Schema.String),
  lat: Schema.NullOr(Schema.Number),
  lon: Schema.NullOr(Schema.Number),
  shared: Schema.Boolean,
  /** the read whose plate crop goes with the notice: the latest sighting's, else the first's */
  photo_detection_id: Schema.compose(Int8Text, Schema.NumberFromString)
})

export interface AlertNoticeFacts {
  readonly facts: AlertFacts
  readonly shared: boolean
  readonly listId: string
  readonly photoDetectionId: number
}

/** The link to an alert in the web app, when PUBLIC_URL is set. */
export const alertUrl = (publicUrl: Option.Option<string>, alertId: string): string | null =>
  Option.isSome(publicUrl) ? `${publicUrl.value.replace(/\/+$/, "")}/alerts/${alertId}` : null

/** The alert's facts; none when it is gone (retention) or its list was deleted. */
export const loadAlertFacts = (alertId: string, publicUrl: Option.Option<string>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const row = yield* orBug(SqlSchema.findOne({
      Request: Schema.String,
      Result: FactsRow,
      execute: (id) =>
        sql`
          SELECT a.id, a.plate, a.status, a.retro, d.detected_at AS seen_at, w.id AS list_id, w.name AS list_name,
                 w.category, w.priority, c.id AS camera_id, c.name AS camera_name, c.site,
                 coalesce(c.lat, d.lat) AS lat, coalesce(c.lon, d.lon) AS lon, w.shared,
                 CASE WHEN EXISTS (SELECT 1 FROM detection_images i WHERE i.detection_id = a.last_detection_id AND i.kind = 'plate')
                      THEN a.last_detection_id ELSE a.detection_id END AS photo_detection_id
            FROM alerts a
            JOIN watchlists w ON w.id = a.watchlist_id AND w.deleted_at IS NULL
            JOIN detections d ON d.id = a.last_detection_id
            JOIN cameras c ON c.id = d.camera_id
           WHERE a.id = ${id}::bigint`
    })(alertId))
    return Option.map(row, (r): AlertNoticeFacts => ({
      facts: {
        id: r.id,
        plate: r.plate,
        status: r.status,
        retro: r.retro,
        seen_at: r.seen_at,
        list: { id: r.list_id, name: r.list_name, category: r.category, priority: r.priority },
        camera: { id: r.camera_id, name: r.camera_name, site: r.site },
        location: r.lat === null || r.lon === null ? null : { lat: r.lat, lon: r.lon },
        url: alertUrl(publicUrl, r.id)
      },
      shared: r.shared,
      listId: r.list_id,
      photoDetectionId: r.photo_detection_id
    }))
  })

/** A one-line summary for text channels: `AB123CD — Stolen cars (stolen) at Gate 2, 2026-05-01 14:03:22 UTC`. */
export const summaryLine = (facts: AlertFacts): string => {
  const place = [facts.camera.name, facts.camera.site].filter((p): p is string => p !== null && p !== "").join(", ")
  const when = `${facts.seen_at.slice(0, 19).replace("T", " ")} UTC`
  return `${facts.plate} — ${facts.list.name} (${facts.list.category})${place === "" ? "" : ` at ${place}`}, ${when}`
}
