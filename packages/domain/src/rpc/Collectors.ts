/** The collectors procedures: edge collectors an admin claims, re-keys and sends commands to. */
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import * as Schema from "effect/Schema"
import { NotFound } from "../Errors"
import { Label, RequiredRole, RpcSession, uuid } from "./Common"

const CollectorId = uuid("collector_id")

/** Any JSON object, at most 64 KiB once serialised. */
export const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown }).pipe(
  Schema.filter((o) => JSON.stringify(o).length <= 65_536 || "payload is at most 64 KiB of JSON")
)

export const CollectorSummary = Schema.Struct({
  collector_id: Schema.String,
  name: Schema.String,
  status: Schema.String,
  hostname: Schema.NullOr(Schema.String),
  edge_version: Schema.NullOr(Schema.String),
  /** the last sign of life: a heartbeat or an upload of reads, whichever came last */
  last_seen_at: Schema.NullOr(Schema.String),
  /** the last heartbeat */
  last_heartbeat_at: Schema.NullOr(Schema.String),
  /** the last batch of reads it uploaded */
  last_upload_at: Schema.NullOr(Schema.String),
  queue_depth: Schema.NullOr(Schema.Number),
  cameras_online: Schema.NullOr(Schema.Number),
  disk_full: Schema.NullOr(Schema.Boolean),
  active_keys: Schema.Number,
  /** the collector's clock against the server's at its last heartbeat (positive: ahead); null until measured */
  clock_skew_s: Schema.NullOr(Schema.Number)
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
