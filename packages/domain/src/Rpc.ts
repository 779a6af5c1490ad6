/**
 * The RPC contract served over WebSocket at `/rpc` (session cookie, role-checked per procedure).
 *
 * Every procedure declares the least role it needs with the `RequiredRole` annotation and carries the
 * `RpcSession` middleware; the server refuses a procedure without a role (fail closed). Procedures are
 * named `<group>.<name>`, so a client reads `client.users.list()`. Fields on the wire are snake_case,
 * as in the HTTP API. Clients use `RpcSerialization.layerNdjson`.
 */
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import * as RpcMiddleware from "@effect/rpc/RpcMiddleware"
import * as Context from "effect/Context"
import * as Either from "effect/Either"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Username } from "./Accounts"
import { Alert } from "./Alerts"
import { CurrentUser, DisplayAllowed, Role } from "./Auth"
import { BadRequest, Forbidden, NotFound, Unauthorized } from "./Errors"
import { LinkCode } from "./Telegram"
import { EntryKind, parseEntryValue, WatchlistCategory } from "./Watchlist"
import { MAX_IMPORT_CHUNK_CHARS } from "./WatchlistCsv"

export const RPC_PATH = "/rpc"

/** The least role a procedure needs; set on every procedure (see `requiredRole`). */
export class RequiredRole extends Context.Tag("@chaverim/domain/RequiredRole")<RequiredRole, Role>() {}

/** The role a procedure declares, if it declares one. */
export const requiredRole = (rpc: { readonly annotations: Context.Context<never> }): Option.Option<Role> =>
  Context.getOption(rpc.annotations, RequiredRole)

/**
 * The signed-in user behind the connection's session cookie. No, an expired or a revoked session is
 * Unauthorized (checked at every call, so a session revoked while the socket is open stops working);
 * a role below the procedure's is Forbidden, and so is a wall display calling a procedure without
 * `DisplayAllowed`.
 */
export class RpcSession extends RpcMiddleware.Tag<RpcSession>()("RpcSession", {
  provides: CurrentUser,
  failure: Schema.Union(Unauthorized, Forbidden),
  requiredForClient: false
}) {}

// ---------------------------------------------------------------------------------------------------
// Shared pieces

const uuid = (field: string) => Schema.UUID.annotations({ message: () => `${field} must be a UUID` })
const UserId = uuid("user_id")
const CollectorId = uuid("collector_id")
const CameraId = uuid("camera_id")

/** Up to 200 characters, not blank. */
const Label = (field: string) =>
  Schema.String.pipe(
    Schema.maxLength(200, { message: () => `${field} is at most 200 characters` }),
    Schema.filter((s) => s.trim().length > 0 || `${field} must not be blank`)
  )

export const Latitude = Schema.Number.pipe(
  Schema.between(-90, 90, { message: () => "lat must be between -90 and 90" })
)
export const Longitude = Schema.Number.pipe(
  Schema.between(-180, 180, { message: () => "lon must be between -180 and 180" })
)

/** Any JSON object, at most 64 KiB once serialised. */
export const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown }).pipe(
  Schema.filter((o) => JSON.stringify(o).length <= 65_536 || "payload is at most 64 KiB of JSON")
)

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/

const Timestamp = (field: string) =>
  Schema.String.pipe(
    Schema.filter((s) =>
      ISO_8601.test(s) && !Number.isNaN(Date.parse(s)) ||
      `${field} must be an ISO 8601 time such as 2025-01-31T12:00:00Z`
    )
  )

// ---------------------------------------------------------------------------------------------------
// Users

export const UserSummary = Schema.Struct({
  user_id: Schema.String,
  username: Schema.String,
  role: Role,
  created_at: Schema.String,
  disabled_at: Schema.NullOr(Schema.String),
  totp_enrolled: Schema.Boolean,
  must_change_password: Schema.Boolean,
  active_sessions: Schema.Number
})
export type UserSummary = typeof UserSummary.Type

/** The one-time password is shown once; the user sets their own at the first sign-in. */
export const OneTimePassword = Schema.Struct({
  user_id: Schema.String,
  username: Schema.String,
  password: Schema.String
})

const UserRef = { user_id: UserId }
/** Not found, or a change that would leave the platform without an active admin. */
const UserChangeError = Schema.Union(NotFound, BadRequest)

export class UsersRpcs extends RpcGroup.make(
  Rpc.make("users.list", { success: Schema.Array(UserSummary) }),
  Rpc.make("users.create", {
    payload: { username: Username, role: Role },
    success: OneTimePassword,
    error: BadRequest
  }),
  Rpc.make("users.disable", { payload: UserRef, error: UserChangeError }),
  Rpc.make("users.enable", { payload: UserRef, error: UserChangeError }),
  Rpc.make("users.setRole", { payload: { ...UserRef, role: Role }, error: UserChangeError }),
  Rpc.make("users.resetTotp", { payload: UserRef, error: UserChangeError }),
  Rpc.make("users.resetPassword", { payload: UserRef, success: OneTimePassword, error: UserChangeError }),
  /** A Telegram link code for someone else (a volunteer who links their chat with the admin's help); theirs replaces any open one. */
  Rpc.make("users.telegramLinkCode", { payload: UserRef, success: LinkCode, error: UserChangeError })
).annotateRpcs(RequiredRole, "admin").middleware(RpcSession) {}

// ---------------------------------------------------------------------------------------------------
// Collectors

export const CollectorSummary = Schema.Struct({
  collector_id: Schema.String,
  name: Schema.String,
  status: Schema.String,
  hostname: Schema.NullOr(Schema.String),
  edge_version: Schema.NullOr(Schema.String),
  last_seen_at: Schema.NullOr(Schema.String),
  queue_depth: Schema.NullOr(Schema.Number),
  cameras_online: Schema.NullOr(Schema.Number),
  disk_full: Schema.NullOr(Schema.Boolean),
  active_keys: Schema.Number
})
export type CollectorSummary = typeof CollectorSummary.Type

export const ClaimCode = Schema.Struct({
  collector_id: Schema.String,
  claim_code: Schema.String,
  expires_at: Schema.String
})

/** `name` makes a new collector; `collector_id` issues a new code for an existing one. */
export const ClaimCodeRequest = Schema.Struct({
  name: Schema.optional(Label("name")),
  collector_id: Schema.optional(CollectorId)
}).pipe(
  Schema.filter((p) =>
    (p.name === undefined) !== (p.collector_id === undefined) ||
    "send either name (a new collector) or collector_id (a new code for an existing one)"
  )
)

/** What an admin may send; `rotate_key` has a procedure of its own. */
export const AdminCommand = Schema.Literal("config_update", "update_cameras", "reboot").annotations({
  message: () => ({ message: "cmd must be one of config_update, update_cameras, reboot", override: true })
})

export const CommandRequest = Schema.Struct({
  collector_id: CollectorId,
  cmd: AdminCommand,
  payload: Schema.optional(JsonObject)
}).pipe(
  Schema.filter((p) =>
    p.cmd !== "update_cameras" || Array.isArray(p.payload?.["cameras"]) ||
    "update_cameras needs a payload {\"cameras\": [...]}"
  )
)

export const CommandQueued = Schema.Struct({
  command_id: Schema.String,
  collector_id: Schema.String,
  cmd: Schema.String
})

export class CollectorsRpcs extends RpcGroup.make(
  Rpc.make("collectors.list", { success: Schema.Array(CollectorSummary) }),
  Rpc.make("collectors.createClaimCode", { payload: ClaimCodeRequest, success: ClaimCode, error: NotFound }),
  Rpc.make("collectors.revokeKeys", {
    payload: { collector_id: CollectorId },
    success: Schema.Struct({ collector_id: Schema.String, revoked_keys: Schema.Number }),
    error: NotFound
  }),
  /** Queues `rotate_key`: the collector fetches a new key at its next heartbeat. */
  Rpc.make("collectors.rotateKey", { payload: { collector_id: CollectorId }, success: CommandQueued, error: NotFound }),
  Rpc.make("collectors.sendCommand", { payload: CommandRequest, success: CommandQueued, error: NotFound })
).annotateRpcs(RequiredRole, "admin").middleware(RpcSession) {}

// ---------------------------------------------------------------------------------------------------
// Wall displays

const DisplayId = uuid("display_id")

/**
 * A wall screen, paired once with a code an admin made, then signed in as its own viewer-level
 * account for DISPLAY_SESSION_DAYS with no one at the keyboard. Revoking ends its session at once.
 */
export const DisplaySummary = Schema.Struct({
  display_id: Schema.String,
  name: Schema.String,
  created_at: Schema.String,
  created_by: Schema.NullOr(Schema.String),
  /** when the screen last paired */
  paired_at: Schema.NullOr(Schema.String),
  /** when the screen's session ends; null when it has none (not paired yet, ended or revoked) */
  session_expires_at: Schema.NullOr(Schema.String),
  /** when the screen last asked for the wall's status (every 15 s while it shows the wall) */
  last_seen_at: Schema.NullOr(Schema.String),
  /** until when an unused pairing code works; null when none is open */
  code_expires_at: Schema.NullOr(Schema.String),
  revoked_at: Schema.NullOr(Schema.String)
})
export type DisplaySummary = typeof DisplaySummary.Type

/** A pairing code, shown once: typed on the wall screen at `/pair`. */
export const DisplayCode = Schema.Struct({
  display_id: Schema.String,
  name: Schema.String,
  code: Schema.String,
  expires_at: Schema.String
})
export type DisplayCode = typeof DisplayCode.Type

const DisplayRef = { display_id: DisplayId }

/** A display's account is named `display:<name>`, and a username is at most 64 characters. */
export const DISPLAY_NAME_MAX = 56

export class DisplaysRpcs extends RpcGroup.make(
  Rpc.make("displays.list", { success: Schema.Array(DisplaySummary) }),
  /** A new display and its first pairing code; a name is used once (BadRequest when taken). */
  Rpc.make("displays.create", {
    payload: {
      name: Label("name").pipe(
        Schema.maxLength(DISPLAY_NAME_MAX, { message: () => `name is at most ${DISPLAY_NAME_MAX} characters` })
      )
    },
    success: DisplayCode,
    error: BadRequest
  }),
  /** A new pairing code (the screen's session goes on until the code is used); the old code stops working. */
  Rpc.make("displays.newCode", { payload: DisplayRef, success: DisplayCode, error: Schema.Union(NotFound, BadRequest) }),
  /** Ends the screen's session and its account; the display cannot pair again. */
  Rpc.make("displays.revoke", { payload: DisplayRef, success: DisplaySummary, error: NotFound })
).annotateRpcs(RequiredRole, "admin").middleware(RpcSession) {}

// ---------------------------------------------------------------------------------------------------
// Cameras

export const Camera = Schema.Struct({
  camera_id: Schema.String,
  collector_id: Schema.String,
  collector_name: Schema.String,
  external_id: Schema.String,
  mac: Schema.String,
  name: Schema.NullOr(Schema.String),
  site: Schema.NullOr(Schema.String),
  lat: Schema.NullOr(Schema.Number),
  lon: Schema.NullOr(Schema.Number),
  updated_at: Schema.String
})
export type Camera = typeof Camera.Type

/** A field left out stays as it is; `null` clears it. A position is set (or cleared) as a pair. */
export const CameraUpdate = Schema.Struct({
  camera_id: CameraId,
  name: Schema.optional(Schema.NullOr(Label("name"))),
  site: Schema.optional(Schema.NullOr(Label("site"))),
  lat: Schema.optional(Schema.NullOr(Latitude)),
  lon: Schema.optional(Schema.NullOr(Longitude))
}).pipe(
  Schema.filter((p) =>
    (p.lat === undefined) === (p.lon === undefined) && (p.lat === null) === (p.lon === null) ||
    "lat and lon are set together (both numbers, or both null to clear the position)"
  ),
  Schema.filter((p) =>
    p.name !== undefined || p.site !== undefined || p.lat !== undefined ||
    "nothing to change: send at least one of name, site, lat and lon"
  )
)
export type CameraUpdate = typeof CameraUpdate.Type

export class CamerasRpcs extends RpcGroup.make(
  Rpc.make("cameras.list", {
    payload: { collector_id: Schema.optional(CollectorId) },
    success: Schema.Array(Camera)
  }),
  Rpc.make("cameras.update", { payload: CameraUpdate, success: Camera, error: NotFound })
).annotateRpcs(RequiredRole, "admin").middleware(RpcSession) {}

// ---------------------------------------------------------------------------------------------------
// Audit log

export const AuditOutcome = Schema.Literal("success", "failure", "denied")

export const AuditEntry = Schema.Struct({
  id: Schema.String,
  at: Schema.String,
  actor_id: Schema.NullOr(Schema.String),
  actor_username: Schema.NullOr(Schema.String),
  address: Schema.NullOr(Schema.String),
  action: Schema.String,
  target: Schema.NullOr(Schema.String),
  reason: Schema.NullOr(Schema.String),
  details: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  outcome: AuditOutcome,
  /** the hash chain, for checking an exported page independently */
  prev_hash: Schema.String,
  hash: Schema.String
})
export type AuditEntry = typeof AuditEntry.Type

export const AuditQuery = Schema.Struct({
  /** the acting user's username */
  actor: Schema.optional(Schema.String.pipe(Schema.maxLength(64))),
  /** a prefix: `user.` matches `user.create`, `user.disable`, ... */
  action: Schema.optional(Schema.String.pipe(Schema.maxLength(100))),
  outcome: Schema.optional(AuditOutcome),
  target: Schema.optional(Schema.String.pipe(Schema.maxLength(200))),
  /** inclusive */
  from: Schema.optional(Timestamp("from")),
  /** exclusive */
  to: Schema.optional(Timestamp("to")),
  /** `next_cursor` of the previous page */
  before: Schema.optional(Schema.String.pipe(
    Schema.pattern(/^\d{1,19}$/, { message: () => "before is the next_cursor of a previous page" })
  )),
  limit: Schema.optional(Schema.Int.pipe(
    Schema.between(1, 500, { message: () => "limit must be between 1 and 500" })
  ))
})

export const AuditPage = Schema.Struct({
  items: Schema.Array(AuditEntry),
  next_cursor: Schema.NullOr(Schema.String)
})

export class AuditRpcs extends RpcGroup.make(
  Rpc.make("audit.list", { payload: AuditQuery, success: AuditPage })
).annotateRpcs(RequiredRole, "admin").middleware(RpcSession) {}

// ---------------------------------------------------------------------------------------------------
// Watchlists
//
// Viewers read the lists shared with everybody; operators also read their own, and change only lists
// they own; admins read and change every list. A list is retired, never deleted (alerts point at it),
// and an entry is removed by marking it. Every change is audited with the change.

const WatchlistId = uuid("watchlist_id")

/** An entry's number (a bigint, in decimal). */
const EntryId = Schema.String.pipe(
  Schema.pattern(/^\d{1,19}$/, { message: () => "entry_id is the number of an entry, e.g. \"42\"" })
)

// PostgreSQL text cannot hold NUL, nor JSON a lone surrogate: refused here rather than failing in the database.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const StorableString = (field: string) =>
  Schema.String.pipe(
    Schema.filter((s) => !UNSTORABLE.test(s) || `${field} contains a character that is not text (NUL or a broken surrogate)`)
  )

/** Free text such as a note: at most 500 characters. */
const Text500 = (field: string) =>
  StorableString(field).pipe(Schema.maxLength(500, { message: () => `${field} is at most 500 characters` }))

/** Why a plate is watched: the evidence behind an entry, kept with it and in the audit log. */
export const EntryReason = Text500("reason").pipe(
  Schema.filter((s) => s.trim().length > 0 || "reason must not be blank: say why the plate is watched (a report number, ...)")
)

export const WatchlistName = StorableString("name").pipe(
  Schema.maxLength(100, { message: () => "name is at most 100 characters" }),
  Schema.filter((s) => s.trim().length > 0 || "name must not be blank")
)

export const ListCategory = WatchlistCategory.annotations({
  message: () => ({ message: "category must be one of stolen, bolo, missing_person, of_interest, allow", override: true })
})

export const ListEntryKind = EntryKind.annotations({
  message: () => ({ message: "kind must be one of exact, ocr, wildcard, regex", override: true })
})

/** 1 is the most urgent. */
export const WatchlistPriority = Schema.Int.pipe(
  Schema.between(1, 5, { message: () => "priority must be a whole number from 1 (most urgent) to 5" })
)

export const WatchlistColour = Schema.String.pipe(
  Schema.pattern(/^#[0-9a-fA-F]{6}$/, { message: () => "colour must be #rrggbb, e.g. #d32f2f" })
)

export const Watchlist = Schema.Struct({
  watchlist_id: Schema.String,
  name: Schema.String,
  category: WatchlistCategory,
  priority: Schema.Number,
  /** `#rrggbb`, lower case */
  colour: Schema.String,
  /** null: the organisation's (made by the command line); only admins change it */
  owner_id: Schema.NullOr(Schema.String),
  owner_username: Schema.NullOr(Schema.String),
  /** seen by every signed-in user, not only its owner and admins */
  shared: Schema.Boolean,
  /** an allow list's gate: it alerts on a plate not on it seen at one of these cameras */
  camera_ids: Schema.Array(Schema.String),
  /** an inactive list raises no alerts */
  active: Schema.Boolean,
  /** live entries (not removed; expired ones included) */
  entries: Schema.Number,
  created_at: Schema.String,
  updated_at: Schema.String,
  retired_at: Schema.NullOr(Schema.String),
  /** whether the caller may change the list and its entries */
  can_manage: Schema.Boolean
})
export type Watchlist = typeof Watchlist.Type

const gateCameras = (p: { readonly category?: WatchlistCategory | undefined; readonly camera_ids?: ReadonlyArray<string> | undefined }) =>
  p.category === undefined || p.category === "allow" || (p.camera_ids ?? []).length === 0 ||
  "camera_ids are the gate of an allow list; other lists alert at every camera"

export const WatchlistCreate = Schema.Struct({
  name: WatchlistName,
  category: ListCategory,
  /** default 3 */
  priority: Schema.optional(WatchlistPriority),
  /** default #d32f2f */
  colour: Schema.optional(WatchlistColour),
  /** default true */
  shared: Schema.optional(Schema.Boolean),
  camera_ids: Schema.optional(Schema.Array(CameraId).pipe(Schema.maxItems(500))),
  /** default true */
  active: Schema.optional(Schema.Boolean)
}).pipe(Schema.filter(gateCameras))
export type WatchlistCreate = typeof WatchlistCreate.Type

/** A field left out stays as it is. */
export const WatchlistUpdate = Schema.Struct({
  watchlist_id: WatchlistId,
  name: Schema.optional(WatchlistName),
  category: Schema.optional(ListCategory),
  priority: Schema.optional(WatchlistPriority),
  colour: Schema.optional(WatchlistColour),
  shared: Schema.optional(Schema.Boolean),
  camera_ids: Schema.optional(Schema.Array(CameraId).pipe(Schema.maxItems(500))),
  active: Schema.optional(Schema.Boolean)
}).pipe(
  Schema.filter(gateCameras),
  Schema.filter(({ watchlist_id: _, ...change }) =>
    Object.values(change).some((v) => v !== undefined) ||
    "nothing to change: send at least one of name, category, priority, colour, shared, camera_ids, active"
  )
)
export type WatchlistUpdate = typeof WatchlistUpdate.Type

export const WatchlistQuery = Schema.Struct({
  category: Schema.optional(ListCategory),
  /** retired lists too (default false) */
  include_retired: Schema.optional(Schema.Boolean)
})

export const WatchlistEntry = Schema.Struct({
  entry_id: Schema.String,
  watchlist_id: Schema.String,
  kind: EntryKind,
  /** canonical: a normalised plate, a wildcard pattern or a regular expression */
  value: Schema.String,
  note: Schema.NullOr(Schema.String),
  reason: Schema.NullOr(Schema.String),
  /** the username, or "import" for the command line */
  added_by_name: Schema.String,
  expires_at: Schema.NullOr(Schema.String),
  created_at: Schema.String,
  updated_at: Schema.String,
  removed_at: Schema.NullOr(Schema.String),
  removed_by_name: Schema.NullOr(Schema.String)
})
export type WatchlistEntry = typeof WatchlistEntry.Type

export const EntryQuery = Schema.Struct({
  watchlist_id: WatchlistId,
  /** part of the value (as typed or normalised), the note, the reason or who added it; any case */
  text: Schema.optional(Schema.String.pipe(Schema.maxLength(200, { message: () => "text is at most 200 characters" }))),
  kind: Schema.optional(ListEntryKind),
  /** removed entries too (default false) */
  include_removed: Schema.optional(Schema.Boolean),
  /** `next_cursor` of the previous page */
  before: Schema.optional(Schema.String.pipe(
    Schema.pattern(/^\d{1,19}$/, { message: () => "before is the next_cursor of a previous page" })
  )),
  limit: Schema.optional(Schema.Int.pipe(
    Schema.between(1, 500, { message: () => "limit must be between 1 and 500" })
  ))
})
export type EntryQuery = typeof EntryQuery.Type

/** Newest first. */
export const EntryPage = Schema.Struct({
  items: Schema.Array(WatchlistEntry),
  next_cursor: Schema.NullOr(Schema.String)
})

/** The value is checked (and later stored in canonical form) by `parseEntryValue`. */
export const NewEntry = Schema.Struct({
  watchlist_id: WatchlistId,
  /** default exact */
  kind: Schema.optional(ListEntryKind),
  value: Schema.String,
  note: Schema.optional(Schema.NullOr(Text500("note"))),
  reason: EntryReason,
  /** null or left out: until removed */
  expires_at: Schema.optional(Schema.NullOr(Timestamp("expires_at")))
}).pipe(
  Schema.filter((p) =>
    Either.match(parseEntryValue(p.kind ?? "exact", p.value), { onLeft: (problem) => `value: ${problem}`, onRight: () => true })
  )
)
export type NewEntry = typeof NewEntry.Type

/**
 * A field left out stays as it is; `null` clears a note or an expiry. The value is not changed in
 * place: remove the entry and add the new one, so the new value is checked against recent reads.
 */
export const EntryUpdate = Schema.Struct({
  entry_id: EntryId,
  note: Schema.optional(Schema.NullOr(Text500("note"))),
  reason: Schema.optional(EntryReason),
  expires_at: Schema.optional(Schema.NullOr(Timestamp("expires_at")))
}).pipe(
  Schema.filter((p) =>
    p.note !== undefined || p.reason !== undefined || p.expires_at !== undefined ||
    "nothing to change: send at least one of note, reason, expires_at"
  )
)
export type EntryUpdate = typeof EntryUpdate.Type

export const EntryRemoval = Schema.Struct({
  entry_id: EntryId,
  /** why it comes off the list (the vehicle was recovered, ...): audited */
  reason: Schema.optional(Text500("reason"))
})

/**
 * One chunk of a CSV file (see WatchlistCsv.ts: `importChunks` cuts a file into these). Chunks are
 * independent and idempotent; a client sends them one after another and adds up the results.
 */
export const CsvImportChunk = Schema.Struct({
  watchlist_id: WatchlistId,
  /** the header record, then whole records of the file */
  csv: Schema.String.pipe(
    Schema.maxLength(MAX_IMPORT_CHUNK_CHARS, { message: () => `csv is at most ${MAX_IMPORT_CHUNK_CHARS} characters a call: send the file in chunks` })
  ),
  /** the file's line number of the first record after the header: 2 for the first chunk */
  first_line: Schema.Int.pipe(Schema.greaterThanOrEqualTo(2, { message: () => "first_line is at least 2 (line 1 is the header)" })),
  /** the reason for lines without one of their own */
  reason: EntryReason,
  /** the same for every chunk of one file, to tie them together in the audit log */
  import_id: Schema.optional(uuid("import_id"))
})
export type CsvImportChunk = typeof CsvImportChunk.Type

export const ImportLineError = Schema.Struct({
  /** as numbered in the file */
  line: Schema.Number,
  message: Schema.String
})

export const CsvImportResult = Schema.Struct({
  watchlist_id: Schema.String,
  /** new entries */
  imported: Schema.Number,
  /** entries already on the list whose note, reason or expiry changed */
  updated: Schema.Number,
  /** entries already on the list, as the line says */
  unchanged: Schema.Number,
  /** bad lines, none stored */
  rejected: Schema.Number,
  /** the first bad lines (at most 100) */
  errors: Schema.Array(ImportLineError),
  /** the file's line number of the last line read: the next chunk starts after it */
  last_line: Schema.Number
})
export type CsvImportResult = typeof CsvImportResult.Type

const WatchlistRef = { watchlist_id: WatchlistId }
/** Not found (or not visible to the caller), not allowed to change it, or a change that cannot be made. */
const WatchlistError = Schema.Union(NotFound, Forbidden, BadRequest)

export class WatchlistsRpcs extends RpcGroup.make(
  Rpc.make("watchlists.list", { payload: WatchlistQuery, success: Schema.Array(Watchlist) })
    .annotate(RequiredRole, "viewer"),
  Rpc.make("watchlists.get", { payload: WatchlistRef, success: Watchlist, error: WatchlistError })
    .annotate(RequiredRole, "viewer"),
  Rpc.make("watchlists.entries", { payload: EntryQuery, success: EntryPage, error: WatchlistError })
    .annotate(RequiredRole, "viewer"),
  Rpc.make("watchlists.create", { payload: WatchlistCreate, success: Watchlist, error: WatchlistError })
    .annotate(RequiredRole, "operator"),
  Rpc.make("watchlists.update", { payload: WatchlistUpdate, success: Watchlist, error: WatchlistError })
    .annotate(RequiredRole, "operator"),
  Rpc.make("watchlists.retire", {
    payload: { ...WatchlistRef, reason: Schema.optional(Text500("reason")) },
    success: Watchlist,
    error: WatchlistError
  }).annotate(RequiredRole, "operator"),
  Rpc.make("watchlists.addEntry", { payload: NewEntry, success: WatchlistEntry, error: WatchlistError })
    .annotate(RequiredRole, "operator"),
  Rpc.make("watchlists.updateEntry", { payload: EntryUpdate, success: WatchlistEntry, error: WatchlistError })
    .annotate(RequiredRole, "operator"),
  Rpc.make("watchlists.removeEntry", { payload: EntryRemoval, success: WatchlistEntry, error: WatchlistError })
    .annotate(RequiredRole, "operator"),
  Rpc.make("watchlists.importCsv", { payload: CsvImportChunk, success: CsvImportResult, error: WatchlistError })
    .annotate(RequiredRole, "operator"),
  /** The live entries as CSV (the columns of WatchlistCsv.ts), in pieces to concatenate: the header first. */
  Rpc.make("watchlists.exportCsv", { payload: WatchlistRef, success: Schema.String, error: WatchlistError, stream: true })
    .annotate(RequiredRole, "operator")
).middleware(RpcSession) {}

// ---------------------------------------------------------------------------------------------------
// The wall
//
// What a control-room screen shows besides the live feed, for any signed-in role: the screen is often
// signed in with a viewer account kept for it, which may not list collectors or cameras in full. These
// are the only procedures a paired wall display may call.

/** A collector that has not been heard from for this long is shown offline (it beats every minute). */
export const SITE_SILENT_SECONDS = 300

export const WallSite = Schema.Struct({
  collector_id: Schema.String,
  name: Schema.String,
  /** active and heard from within SITE_SILENT_SECONDS */
  online: Schema.Boolean,
  queue_depth: Schema.NullOr(Schema.Number),
  cameras_online: Schema.NullOr(Schema.Number),
  disk_full: Schema.NullOr(Schema.Boolean),
  last_seen_at: Schema.NullOr(Schema.String)
})
export type WallSite = typeof WallSite.Type

/** A placed camera: cameras without a position are not on the wall's map. */
export const WallCamera = Schema.Struct({
  camera_id: Schema.String,
  name: Schema.NullOr(Schema.String),
  site: Schema.NullOr(Schema.String),
  lat: Schema.Number,
  lon: Schema.Number
})
export type WallCamera = typeof WallCamera.Type

export const WallStatus = Schema.Struct({
  sites: Schema.Array(WallSite),
  cameras: Schema.Array(WallCamera),
  /** reads detected at or after `since` */
  reads_since: Schema.Number,
  /** the server's time of the answer */
  as_of: Schema.String
})
export type WallStatus = typeof WallStatus.Type

/** The screen's local midnight, so that "today" is the room's day. */
const WallSince = Timestamp("since").annotations({
  // Random strings would almost never pass the filter: generate times instead.
  arbitrary: () => (fc) => fc.date({ min: new Date("2020-01-01"), max: new Date("2040-01-01"), noInvalidDate: true }).map((d) => d.toISOString())
})

/** At most this many open alerts are loaded when the wall starts; the live feed brings the rest. */
export const WALL_ALERTS_MAX = 100

export class WallRpcs extends RpcGroup.make(
  Rpc.make("wall.status", {
    payload: { since: WallSince },
    success: WallStatus
  }),
  /** The new alerts (nobody has acknowledged them) of lists the caller may see, newest first. */
  Rpc.make("wall.alerts", { success: Schema.Array(Alert) })
).annotateRpcs(RequiredRole, "viewer").annotateRpcs(DisplayAllowed, true).middleware(RpcSession) {}

// ---------------------------------------------------------------------------------------------------

/** Everything an admin does over RPC. */
export class AdminRpcs extends UsersRpcs.merge(CollectorsRpcs, DisplaysRpcs, CamerasRpcs, AuditRpcs) {}

/**
 * The procedures served at `/rpc`. Operator and viewer groups (watchlists, the wall) merge in here, each declaring
 * its own roles; the endpoint, the session and the role check stay the same.
 */
export class AlprRpcs extends AdminRpcs.merge(WatchlistsRpcs, WallRpcs) {}
