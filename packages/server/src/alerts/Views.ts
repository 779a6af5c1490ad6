import { Alert, type AlertDetection, AlertStatus } from "@chaverim/domain/Alerts"
import type { Role } from "@chaverim/domain/Auth"
import { locationOf } from "@chaverim/domain/Location"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import * as Schema from "effect/Schema"
import { IsoTime, IsoTimeOrNull } from "../db/Rows"
import { imageLinks } from "../images/Images"

/**
 * How alerts and reads are read for people (the alert API and the live feed), in one place so both
 * show the same thing.
 */

/** Who is looking: what decides which lists' alerts they may see. */
export interface Viewer {
  readonly userId: string
  readonly role: Role
}

/** A list's alerts are for everyone when it is shared, else for its owner; admins see every list. */
export const mayView = (viewer: Viewer, list: { readonly shared: boolean; readonly owner_id: string | null }) =>
  viewer.role === "admin" || list.shared || list.owner_id === viewer.userId

/** The same rule in SQL over the watchlists row `w`. */
export const visibleTo = (sql: SqlClient.SqlClient, viewer: Viewer): Statement.Fragment =>
  viewer.role === "admin" ? sql`true` : sql`(w.shared OR w.owner_id = ${viewer.userId})`

/** The same rule in SQL for every account `u` at once (who among many may see the list `w`). */
export const visibleToEach = (sql: SqlClient.SqlClient): Statement.Fragment =>
  sql`(u.role = 'admin' OR w.shared OR w.owner_id = u.id)`

/** A read `d` and its camera `c` as `detectionColumns` names them. */
export const DetectionRow = Schema.Struct({
  d_id: Schema.String,
  d_detection_id: Schema.String,
  d_detected_at: IsoTime,
  d_received_at: IsoTime,
  d_plate_text: Schema.String,
  d_plate: Schema.String,
  d_confidence: Schema.Number,
  d_direction: Schema.NullOr(Schema.String),
  d_vehicle_type: Schema.NullOr(Schema.String),
  d_vehicle_color: Schema.NullOr(Schema.String),
  d_vehicle_make: Schema.NullOr(Schema.String),
  d_lat: Schema.NullOr(Schema.Number),
  d_lon: Schema.NullOr(Schema.Number),
  c_id: Schema.String,
  c_name: Schema.NullOr(Schema.String),
  c_site: Schema.NullOr(Schema.String),
  c_lat: Schema.NullOr(Schema.Number),
  c_lon: Schema.NullOr(Schema.Number),
  image_kinds: Schema.NullOr(Schema.Array(Schema.String))
})
export type DetectionRow = typeof DetectionRow.Type

/** The columns of a read `d` and its camera `c`, as DetectionRow names them. */
export const detectionColumns = (sql: SqlClient.SqlClient) =>
  sql`d.id::text AS d_id, d.detection_id AS d_detection_id, d.detected_at AS d_detected_at,
      d.received_at AS d_received_at, d.plate_text AS d_plate_text, d.plate AS d_plate,
      d.confidence AS d_confidence, d.direction AS d_direction, d.vehicle_type AS d_vehicle_type,
      d.vehicle_color AS d_vehicle_color, d.vehicle_make AS d_vehicle_make, d.lat AS d_lat, d.lon AS d_lon,
      c.id AS c_id, c.name AS c_name, c.site AS c_site, c.lat AS c_lat, c.lon AS c_lon,
      (SELECT array_agg(i.kind ORDER BY i.kind) FROM detection_images i WHERE i.detection_id = d.id) AS image_kinds`

export const detectionOf = (row: DetectionRow): AlertDetection => ({
  id: row.d_id,
  detection_id: row.d_detection_id,
  detected_at: row.d_detected_at,
  received_at: row.d_received_at,
  plate_text: row.d_plate_text,
  plate: row.d_plate,
  confidence: row.d_confidence,
  direction: row.d_direction,
  vehicle_type: row.d_vehicle_type,
  vehicle_color: row.d_vehicle_color,
  vehicle_make: row.d_vehicle_make,
  location: locationOf({ lat: row.d_lat, lon: row.d_lon }, { lat: row.c_lat, lon: row.c_lon }),
  camera: { id: row.c_id, name: row.c_name, site: row.c_site, lat: row.c_lat, lon: row.c_lon },
  images: imageLinks(row.d_id, row.image_kinds)
})

/**
 * An alert `a` as `alertFrom` selects it: the contract's columns (its list and entry as JSON objects),
 * the latest sighting's read, the list's owner and sharing (for `mayView`) and the keyset cursor's time.
 */
export const AlertRow = Schema.Struct({
  ...DetectionRow.fields,
  id: Schema.String,
  status: AlertStatus,
  plate: Schema.String,
  retro: Schema.Boolean,
  sightings: Schema.Number,
  first_seen_at: IsoTime,
  last_seen_at: IsoTime,
  created_at: IsoTime,
  updated_at: IsoTime,
  /** created_at to the microsecond, for the keyset cursor */
  cursor_time: Schema.String,
  watchlist: Alert.fields.watchlist,
  entry: Alert.fields.entry,
  owner_id: Schema.NullOr(Schema.String),
  shared: Schema.Boolean,
  acknowledged_by: Schema.NullOr(Schema.String),
  acknowledged_at: IsoTimeOrNull,
  en_route_by: Schema.NullOr(Schema.String),
  en_route_at: IsoTimeOrNull,
  resolved_by: Schema.NullOr(Schema.String),
  resolved_at: IsoTimeOrNull,
  resolution_note: Schema.NullOr(Schema.String)
})
export type AlertRow = typeof AlertRow.Type

/** An alert `a` with its list, entry and latest sighting; FROM and joins included, WHERE left to the caller. */
export const alertFrom = (sql: SqlClient.SqlClient) =>
  sql`SELECT a.id::text AS id, a.status, a.plate, a.retro, a.sightings, a.first_seen_at, a.last_seen_at,
             a.created_at, a.updated_at,
             to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_time,
             a.acknowledged_by_name AS acknowledged_by, a.acknowledged_at, a.en_route_by_name AS en_route_by,
             a.en_route_at, a.resolved_by_name AS resolved_by, a.resolved_at, a.resolution_note,
             json_build_object('id', w.id, 'name', w.name, 'category', w.category, 'priority', w.priority,
                               'colour', w.colour) AS watchlist,
             w.owner_id, w.shared,
             CASE WHEN e.id IS NULL THEN NULL
                  ELSE json_build_object('id', e.id::text, 'kind', e.kind, 'value', e.value, 'note', e.note) END AS entry,
             ${detectionColumns(sql)}
        FROM alerts a
        JOIN watchlists w ON w.id = a.watchlist_id
        LEFT JOIN watchlist_entries e ON e.id = a.entry_id
        JOIN detections d ON d.id = a.last_detection_id
        JOIN cameras c ON c.id = d.camera_id`

/** Decodes rows selected with `alertFrom`, or with `detectionColumns` (a ParseError is our bug: see `orBug`). */
export const decodeAlertRows = Schema.decodeUnknown(Schema.Array(AlertRow))
export const decodeDetectionRows = Schema.decodeUnknown(Schema.Array(DetectionRow))

/** The alert as the contracts show it (only its fields: the row's others never leave the server). */
export const alertOf = (row: AlertRow): Alert => ({
  id: row.id,
  status: row.status,
  plate: row.plate,
  retro: row.retro,
  not_on_allow_list: row.entry === null,
  sightings: row.sightings,
  first_seen_at: row.first_seen_at,
  last_seen_at: row.last_seen_at,
  created_at: row.created_at,
  updated_at: row.updated_at,
  watchlist: row.watchlist,
  entry: row.entry,
  detection: detectionOf(row),
  acknowledged_by: row.acknowledged_by,
  acknowledged_at: row.acknowledged_at,
  en_route_by: row.en_route_by,
  en_route_at: row.en_route_at,
  resolved_by: row.resolved_by,
  resolved_at: row.resolved_at,
  resolution_note: row.resolution_note
})
