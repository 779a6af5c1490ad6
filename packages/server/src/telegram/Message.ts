import type { WatchlistCategory } from "@chaverim/domain/Watchlist"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { InlineKeyboardMarkup } from "grammy/types"
import { type Viewer, visibleTo } from "../alerts/Views"
import type { ButtonPress } from "./Callbacks"

/**
 * What an alert message says and which buttons it carries. Messages are rendered from the database
 * every time (when sent, and after a button), so an edited message always shows the alert as it is.
 */

/** What a message shows of an alert. */
export interface AlertCard {
  readonly id: string
  readonly plate: string
  readonly listName: string
  readonly category: WatchlistCategory
  readonly priority: number
  readonly entryNote: string | null
  readonly cameraName: string | null
  readonly site: string | null
  readonly lat: number | null
  readonly lon: number | null
  readonly seenAt: Date
  readonly retro: boolean
  readonly status: "new" | "acknowledged" | "resolved"
  readonly acknowledgedBy: string | null
  readonly acknowledgedAt: Date | null
  readonly enRouteBy: string | null
  readonly enRouteAt: Date | null
  /** the detection (row id) whose plate crop the message carries */
  readonly photoDetectionId: number
}

const CATEGORY_LABEL: Record<WatchlistCategory, string> = {
  stolen: "Stolen vehicle",
  bolo: "BOLO",
  missing_person: "Missing person",
  of_interest: "Vehicle of interest",
  allow: "Not on the allow list"
}

/**
 * The alert as a message shows it to `viewer`; none when it does not exist or is on a list the viewer
 * may not see (the rule of the alert API and the live feed), which the message must not tell apart.
 */
export const loadCard = (alertId: string, viewer: Viewer) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{
      id: string
      plate: string
      list_name: string
      category: WatchlistCategory
      priority: number
      entry_note: string | null
      camera_name: string | null
      site: string | null
      lat: number | null
      lon: number | null
      seen_at: Date
      retro: boolean
      status: "new" | "acknowledged" | "resolved"
      acknowledged_by_name: string | null
      acknowledged_at: Date | null
      en_route_by_name: string | null
      en_route_at: Date | null
      photo_detection_id: string
    }>`
      SELECT a.id, a.plate, w.name AS list_name, w.category, w.priority, e.note AS entry_note,
             c.name AS camera_name, c.site, coalesce(c.lat, d.lat) AS lat, coalesce(c.lon, d.lon) AS lon,
             d.detected_at AS seen_at, a.retro, a.status, a.acknowledged_by_name, a.acknowledged_at,
             a.en_route_by_name, a.en_route_at,
             -- the latest sighting's crop, else the first's
             CASE WHEN EXISTS (SELECT 1 FROM detection_images i WHERE i.detection_id = a.last_detection_id AND i.kind = 'plate')
                  THEN a.last_detection_id ELSE a.detection_id END AS photo_detection_id
        FROM alerts a
        JOIN watchlists w ON w.id = a.watchlist_id
        LEFT JOIN watchlist_entries e ON e.id = a.entry_id
        JOIN detections d ON d.id = a.last_detection_id
        JOIN cameras c ON c.id = d.camera_id
       WHERE a.id = ${alertId}::bigint AND ${visibleTo(sql, viewer)}`
    if (row === undefined) return Option.none<AlertCard>()
    return Option.some<AlertCard>({
      id: String(row.id),
      plate: row.plate,
      listName: row.list_name,
      category: row.category,
      priority: row.priority,
      entryNote: row.entry_note,
      cameraName: row.camera_name,
      site: row.site,
      lat: row.lat === null ? null : Number(row.lat),
      lon: row.lon === null ? null : Number(row.lon),
      seenAt: new Date(row.seen_at),
      retro: row.retro,
      status: row.status,
      acknowledgedBy: row.acknowledged_by_name,
      acknowledgedAt: row.acknowledged_at === null ? null : new Date(row.acknowledged_at),
      enRouteBy: row.en_route_by_name,
      enRouteAt: row.en_route_at === null ? null : new Date(row.en_route_at),
      photoDetectionId: Number(row.photo_detection_id)
    })
  })

/** Text for Telegram's HTML parse mode: only these three characters are special there. */
export const escapeHtml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

/** `2026-05-01 14:03:22 UTC`: one unambiguous zone for volunteers wherever the server runs. */
export const readableTime = (d: Date) => `${d.toISOString().slice(0, 19).replace("T", " ")} UTC`

export const mapLink = (lat: number, lon: number) =>
  `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=17/${lat}/${lon}`

/** Photo captions are limited to 1024 characters; text messages to 4096. */
export const CAPTION_LIMIT = 1024

/** The message (HTML). `publicUrl` adds a link to the alert in the web app. */
export const renderCard = (card: AlertCard, publicUrl: Option.Option<string>): string => {
  const lines: Array<string> = []
  lines.push(`🚨 <b>${escapeHtml(card.plate)}</b> — ${escapeHtml(CATEGORY_LABEL[card.category])}`)
  if (card.retro) lines.push("⏪ <b>RETRO</b>: seen before the plate was added to the list")
  lines.push(`List: ${escapeHtml(card.listName)} (${card.category}, priority ${card.priority})`)
  if (card.entryNote !== null && card.entryNote !== "") lines.push(`Note: ${escapeHtml(card.entryNote.slice(0, 300))}`)
  const place = [card.cameraName, card.site].filter((p): p is string => p !== null && p !== "")
  lines.push(`Camera: ${place.length === 0 ? "unnamed camera" : escapeHtml(place.join(" — "))}`)
  lines.push(`Seen: ${readableTime(card.seenAt)}`)
  if (card.lat !== null && card.lon !== null) lines.push(`Map: ${escapeHtml(mapLink(card.lat, card.lon))}`)
  if (Option.isSome(publicUrl)) lines.push(`Open: ${escapeHtml(`${publicUrl.value.replace(/\/+$/, "")}/alerts/${card.id}`)}`)
  if (card.status === "resolved") lines.push("☑️ Resolved")
  if (card.acknowledgedBy !== null) {
    lines.push(
      `✅ Acknowledged by ${escapeHtml(card.acknowledgedBy)}${card.acknowledgedAt === null ? "" : ` at ${readableTime(card.acknowledgedAt)}`}`
    )
  }
  if (card.enRouteBy !== null) {
    lines.push(`🚗 On the way: ${escapeHtml(card.enRouteBy)}${card.enRouteAt === null ? "" : ` (${readableTime(card.enRouteAt)})`}`)
  }
  return lines.join("\n")
}

/** Acknowledge until someone has; On my way while the alert is open. */
export const keyboardFor = (card: AlertCard, sign: (press: ButtonPress) => string): InlineKeyboardMarkup => {
  const row: Array<{ text: string; callback_data: string }> = []
  if (card.status === "new") row.push({ text: "✅ Acknowledge", callback_data: sign({ action: "ack", alertId: card.id }) })
  if (card.status !== "resolved") row.push({ text: "🚗 On my way", callback_data: sign({ action: "way", alertId: card.id }) })
  return { inline_keyboard: row.length === 0 ? [] : [row] }
}
