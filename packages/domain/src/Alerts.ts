import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Schema from "effect/Schema"
import { HealthAlert } from "./Health"
import { CameraRef, ReadFields } from "./Search"
import { EntryKind, WatchlistCategory } from "./Watchlist"

/**
 * Alerts raised when a watched plate is read, and the live feed's messages. An alert is `new` until
 * someone acknowledges it, and `resolved` for good; repeated reads within the cooldown add sightings
 * to the open alert instead of raising another.
 */
export const AlertStatus = Schema.Literal("new", "acknowledged", "resolved")
export type AlertStatus = typeof AlertStatus.Type

/** Where an alert was handled from; recorded in the audit log. */
export const AlertVia = Schema.Literal("web", "telegram")
export type AlertVia = typeof AlertVia.Type

/** A bigint id in decimal, as every database id travels. */
const BigIntId = Schema.String.pipe(Schema.pattern(/^\d{1,18}$/, { message: () => "an id is a whole number" }))

/** A read as the alert views and the live feed show it: a smaller search DetectionItem. */
export const AlertDetection = Schema.Struct({
  ...ReadFields,
  camera: CameraRef.pick("id", "name", "site", "lat", "lon")
})
export type AlertDetection = typeof AlertDetection.Type

export const Alert = Schema.Struct({
  id: Schema.String,
  status: AlertStatus,
  /** the normalised plate read */
  plate: Schema.String,
  /** raised by checking a newly added entry against reads from before it was added */
  retro: Schema.Boolean,
  /** an allow list's gate: the plate is not on the list and was read at one of its cameras */
  not_on_allow_list: Schema.Boolean,
  sightings: Schema.Number,
  first_seen_at: Schema.String,
  last_seen_at: Schema.String,
  created_at: Schema.String,
  updated_at: Schema.String,
  watchlist: Schema.Struct({
    id: Schema.String,
    name: Schema.String,
    category: WatchlistCategory,
    /** 1 is the most urgent */
    priority: Schema.Number,
    colour: Schema.String
  }),
  /** the entry that matched; null for a gate's "not on the list" */
  entry: Schema.NullOr(Schema.Struct({
    id: Schema.String,
    kind: EntryKind,
    value: Schema.String,
    note: Schema.NullOr(Schema.String)
  })),
  /** the latest sighting */
  detection: AlertDetection,
  acknowledged_by: Schema.NullOr(Schema.String),
  acknowledged_at: Schema.NullOr(Schema.String),
  /** a field volunteer said "On my way" */
  en_route_by: Schema.NullOr(Schema.String),
  en_route_at: Schema.NullOr(Schema.String),
  resolved_by: Schema.NullOr(Schema.String),
  resolved_at: Schema.NullOr(Schema.String),
  resolution_note: Schema.NullOr(Schema.String)
})
export type Alert = typeof Alert.Type

/** `open` is every status but `resolved`. */
export const AlertStatusFilter = Schema.Literal("new", "acknowledged", "resolved", "open")
export type AlertStatusFilter = typeof AlertStatusFilter.Type

export const AlertListParams = Schema.Struct({
  status: Schema.optional(AlertStatusFilter),
  watchlist_id: Schema.optional(Schema.UUID),
  /** the plate, normalised like a read's */
  plate: Schema.optional(Schema.String.pipe(Schema.maxLength(32, { message: () => "plate is at most 32 characters" }))),
  /** alerts whose latest sighting is at or after this */
  since: Schema.optional(Schema.Date.annotations({ message: () => "since is ISO 8601, e.g. 2026-11-29T14:00:00Z" })),
  limit: Schema.optionalWith(
    Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 200, { message: () => "limit is 1 to 200" })),
    { default: () => 50 }
  ),
  cursor: Schema.optional(Schema.String.pipe(Schema.maxLength(200)))
})
export type AlertListParams = typeof AlertListParams.Type

export const AlertPage = Schema.Struct({
  /** newest first */
  items: Schema.Array(Alert),
  /** pass as `cursor` for the next page; null on the last */
  next_cursor: Schema.NullOr(Schema.String)
})
export type AlertPage = typeof AlertPage.Type

export const AlertPath = Schema.Struct({ id: BigIntId })

export const ResolveRequest = Schema.Struct({
  note: Schema.optional(Schema.String.pipe(Schema.maxLength(1000, { message: () => "a note is at most 1000 characters" })))
})
export type ResolveRequest = typeof ResolveRequest.Type

/** The alert is not in a state that allows the change (a resolved alert cannot be acknowledged). */
export class AlertStateConflict extends Schema.TaggedError<AlertStateConflict>()(
  "AlertStateConflict",
  { message: Schema.String, status: AlertStatus },
  HttpApiSchema.annotations({ status: 409 })
) {}

// ---------------------------------------------------------------------------------------------------------
// The live feed: `GET /api/v1/live` (WebSocket). Every event has a number that grows in commit order;
// a client that reconnects with `?after=<the last it saw>` gets everything after it, once.

export const LIVE_PATH = "/api/v1/live"

/** The first message: the newest event number when the connection started. */
export const LiveHello = Schema.Struct({
  type: Schema.Literal("hello"),
  last_event_id: Schema.Number
})

/**
 * A read, as it is stored (every read, whether it alerted or not). `replayed`: one of the latest reads
 * sent to a fresh connection before the live ones (it came before the connection: nothing to ring for,
 * nothing to count as new).
 */
export const LiveDetection = Schema.Struct({
  type: Schema.Literal("detection"),
  event_id: Schema.Number,
  detection: AlertDetection,
  replayed: Schema.optional(Schema.Literal(true))
})

/** An alert raised or changed (a new sighting, acknowledged, en route, resolved): its state now. */
export const LiveAlert = Schema.Struct({
  type: Schema.Literal("alert"),
  event_id: Schema.Number,
  alert: Alert
})

/**
 * Events were or would be missed: the client fell too far behind (`overflow`), asked to resume from
 * before what the server keeps (`too_old`) or from an event it never had (`unknown`). Reload the
 * state, then reconnect with `?after=<last_event_id>`. The server closes the connection after it.
 */
export const LiveResync = Schema.Struct({
  type: Schema.Literal("resync"),
  last_event_id: Schema.Number,
  reason: Schema.Literal("overflow", "too_old", "unknown")
})

/** A health alert raised or cleared (issue 19): for admins only. */
export const LiveHealth = Schema.Struct({
  type: Schema.Literal("health"),
  event_id: Schema.Number,
  health: HealthAlert
})

/**
 * The token this connection's plate crops are fetched with (`?view=<token>&event=<event_id>`): the
 * connection's own audited view covers them, so they are not audited one by one. Sent after `hello`
 * when the connection carries reads, and again when it is replaced (the last one given is the one to use).
 */
export const LiveView = Schema.Struct({
  type: Schema.Literal("view"),
  token: Schema.String
})

export const LiveMessage = Schema.Union(LiveHello, LiveDetection, LiveAlert, LiveHealth, LiveResync, LiveView)
export type LiveMessage = typeof LiveMessage.Type

/** The latest reads a fresh connection (no `after`) is sent before the live ones, unless it asks otherwise. */
export const LIVE_REPLAY_DEFAULT = 50
export const LIVE_REPLAY_MAX = 200

const replayMessage = `replay is a number of reads, 0 to ${LIVE_REPLAY_MAX}`

/**
 * `?after=N` resumes after event N; `?only=alerts` leaves out the reads (a phone's alert list needs
 * only the alerts, not 50 reads a second). Event numbers still count every event, so a client that
 * follows only alerts sees gaps in them, and resumes with `after` as any other.
 *
 * `?replay=N` (0 to 200, default 50): a connection without `after` is first sent the latest N reads
 * of the journal (the last day), oldest first, marked `replayed`; a resume gets what it missed
 * instead, and `replay` is ignored there. With `only=alerts` nothing is replayed.
 */
export const LiveParams = Schema.Struct({
  after: Schema.optional(Schema.NumberFromString.pipe(
    Schema.int(),
    Schema.nonNegative({ message: () => "after is an event number (a whole number, 0 or more)" })
  ).annotations({ message: () => ({ message: "after is an event number (a whole number, 0 or more)", override: true }) })),
  only: Schema.optional(Schema.Literal("alerts").annotations({ message: () => "only takes one value: alerts" })),
  replay: Schema.optional(Schema.NumberFromString.pipe(
    Schema.int(),
    Schema.between(0, LIVE_REPLAY_MAX, { message: () => replayMessage })
  ).annotations({ message: () => ({ message: replayMessage, override: true }) }))
})
export type LiveParams = typeof LiveParams.Type
