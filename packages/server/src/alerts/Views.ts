import type { Alert, AlertDetection, AlertStatus } from "@chaverim/domain/Alerts"
import type { Role } from "@chaverim/domain/Auth"
import type { EntryKind, WatchlistCategory } from "@chaverim/domain/Watchlist"
import { locationOf } from "@chaverim/domain/Location"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
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

export interface DetectionRow {
  readonly d_id: string
  readonly d_detection_id: string
  readonly d_detected_at: Date
  readonly d_received_at: Date
  readonly d_plate_text: string
  readonly d_plate: string
  readonly d_confidence: number
  readonly d_direction: string | null
  readonly d_vehicle_type: string | null
  readonly d_vehicle_color: string | null
  readonly d_vehicle_make: string | null
  readonly d_lat: number | null
  readonly d_lon: number | null
  readonly c_id: string
  readonly c_name: string | null
  readonly c_site: string | null
  readonly c_lat: number | null
  readonly c_lon: number | null
  readonly image_kinds: ReadonlyArray<string> | null
}

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
  detected_at: row.d_detected_at.toISOString(),
  received_at: row.d_received_at.toISOString(),
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

export interface AlertRow extends DetectionRow {
  readonly id: string
  readonly status: AlertStatus
  readonly plate: string
  readonly retro: boolean
  readonly sightings: number
  readonly first_seen_at: Date
  readonly last_seen_at: Date
  readonly created_at: Date
  readonly updated_at: Date
  /** created_at to the microsecond, for the keyset cursor */
  readonly cursor_time: string
  readonly acknowledged_by_name: string | null
  readonly acknowledged_at: Date | null
  readonly en_route_by_name: string | null
  readonly en_route_at: Date | null
  readonly resolved_by_name: string | null
  readonly resolved_at: Date | null
  readonly resolution_note: string | null
  readonly w_id: string
  readonly w_name: string
  readonly w_category: WatchlistCategory
  readonly w_priority: number
  readonly w_colour: string
  readonly owner_id: string | null
  readonly shared: boolean
  readonly e_id: string | null
  readonly e_kind: EntryKind | null
  readonly e_value: string | null
  readonly e_note: string | null
}

/** An alert `a` with its list, entry and latest sighting; FROM and joins included, WHERE left to the caller. */
export const alertFrom = (sql: SqlClient.SqlClient) =>
  sql`SELECT a.id::text AS id, a.status, a.plate, a.retro, a.sightings, a.first_seen_at, a.last_seen_at,
             a.created_at, a.updated_at,
             to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_time,
             a.acknowledged_by_name, a.acknowledged_at, a.en_route_by_name, a.en_route_at,
             a.resolved_by_name, a.resolved_at, a.resolution_note,
             w.id AS w_id, w.name AS w_name, w.category AS w_category, w.priority AS w_priority,
             w.colour AS w_colour, w.owner_id, w.shared,
             e.id::text AS e_id, e.kind AS e_kind, e.value AS e_value, e.note AS e_note,
             ${detectionColumns(sql)}
        FROM alerts a
        JOIN watchlists w ON w.id = a.watchlist_id
        LEFT JOIN watchlist_entries e ON e.id = a.entry_id
        JOIN detections d ON d.id = a.last_detection_id
        JOIN cameras c ON c.id = d.camera_id`

const isoOrNull = (d: Date | null) => (d === null ? null : d.toISOString())

export const alertOf = (row: AlertRow): Alert => ({
  id: row.id,
  status: row.status,
  plate: row.plate,
  retro: row.retro,
  not_on_allow_list: row.e_id === null,
  sightings: row.sightings,
  first_seen_at: row.first_seen_at.toISOString(),
  last_seen_at: row.last_seen_at.toISOString(),
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
  watchlist: { id: row.w_id, name: row.w_name, category: row.w_category, priority: row.w_priority, colour: row.w_colour },
  entry: row.e_id === null
    ? null
    : { id: row.e_id, kind: row.e_kind!, value: row.e_value!, note: row.e_note },
  detection: detectionOf(row),
  acknowledged_by: row.acknowledged_by_name,
  acknowledged_at: isoOrNull(row.acknowledged_at),
  en_route_by: row.en_route_by_name,
  en_route_at: isoOrNull(row.en_route_at),
  resolved_by: row.resolved_by_name,
  resolved_at: isoOrNull(row.resolved_at),
  resolution_note: row.resolution_note
})
