import { AlertStatus } from "@chaverim/domain/Alerts"
import { type HealthAlert, HEALTH_KIND_TEXT } from "@chaverim/domain/Health"
import { WatchlistCategory } from "@chaverim/domain/Watchlist"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { InlineKeyboardMarkup } from "grammy/types"
import { type Viewer, visibleTo } from "../alerts/Views"
import { Int8Text, orBug } from "../db/Rows"
import type { ButtonPress } from "./Callbacks"

/**
 * What an alert message says and which buttons it carries. Messages are rendered from the database
 * every time (when sent, and after a button), so an edited message always shows the alert as it is.
 */

/** What a message shows of an alert. */
const AlertCard = Schema.Struct({
  id: Int8Text,
  plate: Schema.String,
  listName: Schema.String,
  category: WatchlistCategory,
  priority: Schema.Number,
  entryNote: Schema.NullOr(Schema.String),
  cameraName: Schema.NullOr(Schema.String),
  site: Schema.NullOr(Schema.String),
  lat: Schema.NullOr(Schema.Number),
  lon: Schema.NullOr(Schema.Number),
  seenAt: Schema.DateFromSelf,
  retro: Schema.Boolean,
  status: AlertStatus,
  acknowledgedBy: Schema.NullOr(Schema.String),
  acknowledgedAt: Schema.NullOr(Schema.DateFromSelf),
  enRouteBy: Schema.NullOr(Schema.String),
  enRouteAt: Schema.NullOr(Schema.DateFromSelf),
  /** the detection (row id) whose plate crop the message carries */
  photoDetectionId: Schema.compose(Int8Text, Schema.NumberFromString)
})
export type AlertCard = typeof AlertCard.Type

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
    return yield* orBug(SqlSchema.findOne({
      Request: Schema.String,
      Result: AlertCard,
      execute: (id) =>
        sql`
          SELECT a.id, a.plate, w.name AS "listName", w.category, w.priority, e.note AS "entryNote",
                 c.name AS "cameraName", c.site, coalesce(c.lat, d.lat) AS lat, coalesce(c.lon, d.lon) AS lon,
                 d.detected_at AS "seenAt", a.retro, a.status, a.acknowledged_by_name AS "acknowledgedBy",
                 a.acknowledged_at AS "acknowledgedAt", a.en_route_by_name AS "enRouteBy", a.en_route_at AS "enRouteAt",
                 -- the latest sighting's crop, else the first's
                 CASE WHEN EXISTS (SELECT 1 FROM detection_images i WHERE i.detection_id = a.last_detection_id AND i.kind = 'plate')
                      THEN a.last_detection_id ELSE a.detection_id END AS "photoDetectionId"
            FROM alerts a
            JOIN watchlists w ON w.id = a.watchlist_id
            LEFT JOIN watchlist_entries e ON e.id = a.entry_id
            JOIN detections d ON d.id = a.last_detection_id
            JOIN cameras c ON c.id = d.camera_id
           WHERE a.id = ${id}::bigint AND ${visibleTo(sql, viewer)}`
    })(alertId))
  })

/** Text for Telegram's HTML parse mode: only these three characters are special there. */
export const escapeHtml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

/** `2026-05-01 14:03:22 UTC`: one unambiguous zone for volunteers wherever the server runs. */
export const readableTime = (d: Date) => `${d.toISOString().slice(0, 19).replace("T", " ")} UTC`

export const mapLink = (lat: number, lon: number) =>
  `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=17/${lat}/${lon}`

/** Photo captions are limited to 1024 characters; text messages to 4096. */
export const CAPTION_LIMIT = 1024

/** A health alert raised or cleared, for an admin: what, where, since when, and how long it lasted. */
export const renderHealth = (health: HealthAlert, event: "raised" | "cleared"): string => {
  const what = HEALTH_KIND_TEXT[health.kind]
  const lines = event === "raised"
    ? [`⚠️ <b>${escapeHtml(what)}</b>`, escapeHtml(health.message), `Since ${readableTime(new Date(health.raised_at))}`]
    : [
      `✅ <b>${escapeHtml(what)}: cleared</b>`,
      escapeHtml(health.message),
      `Lasted ${Math.max(1, Math.round(health.duration_s / 60))} min, until ${readableTime(new Date(health.cleared_at ?? health.raised_at))}`
    ]
  return lines.join("\n")
}

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
