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
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Username } from "./Accounts"
import { CurrentUser, Role } from "./Auth"
import { BadRequest, Forbidden, NotFound, Unauthorized } from "./Errors"

export const RPC_PATH = "/rpc"

/** The least role a procedure needs; set on every procedure (see `requiredRole`). */
export class RequiredRole extends Context.Tag("@chaverim/domain/RequiredRole")<RequiredRole, Role>() {}

/** The role a procedure declares, if it declares one. */
export const requiredRole = (rpc: { readonly annotations: Context.Context<never> }): Option.Option<Role> =>
  Context.getOption(rpc.annotations, RequiredRole)

/**
 * The signed-in user behind the connection's session cookie. No, an expired or a revoked session is
 * Unauthorized (checked at every call, so a session revoked while the socket is open stops working);
 * a role below the procedure's is Forbidden.
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
  Rpc.make("users.resetPassword", { payload: UserRef, success: OneTimePassword, error: UserChangeError })
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

/** Everything an admin does over RPC. */
export class AdminRpcs extends UsersRpcs.merge(CollectorsRpcs, CamerasRpcs, AuditRpcs) {}

/**
 * The procedures served at `/rpc`. Operator groups (watchlists, alerts) merge in here, each declaring
 * its own roles; the endpoint, the session and the role check stay the same.
 */
export class AlprRpcs extends AdminRpcs.merge() {}
