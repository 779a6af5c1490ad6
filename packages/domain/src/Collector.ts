import * as Schema from "effect/Schema"
import { DeviceCamera } from "./CameraConnection"
import { IsoTimestamp } from "./Detection"

const NonNegativeInt = Schema.Int.pipe(Schema.nonNegative())

export const ClaimRequest = Schema.Struct({
  claim_code: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)),
  hardware_id: Schema.String.pipe(Schema.trimmed(), Schema.minLength(1), Schema.maxLength(200)),
  hostname: Schema.optional(Schema.String.pipe(Schema.maxLength(255))),
  edge_version: Schema.optional(Schema.String.pipe(Schema.maxLength(64)))
})

export const ClaimResponse = Schema.Struct({
  collector_id: Schema.String,
  /** Shown once; the server keeps only its SHA-256. */
  api_key: Schema.String
})

export const CommandName = Schema.Literal("config_update", "update_cameras", "reboot", "rotate_key")
export type CommandName = typeof CommandName.Type

export const PendingCommand = Schema.Struct({
  id: Schema.String,
  cmd: CommandName,
  payload: Schema.Unknown,
  created_at: Schema.String
})
export type PendingCommand = typeof PendingCommand.Type

export const Heartbeat = Schema.Struct({
  uptime_seconds: NonNegativeInt,
  queue_depth: NonNegativeInt,
  cameras_online: NonNegativeInt,
  config_version: Schema.String.pipe(Schema.maxLength(64)),
  edge_version: Schema.String.pipe(Schema.maxLength(64)),
  /**
   * the collector's clock when it sent the heartbeat (ISO 8601 with offset): the server measures the
   * collector's clock skew from it (additive; older collectors omit it)
   */
  device_time: Schema.optional(IsoTimestamp),
  /** how often the collector beats, in seconds: three missed beats make it silent (60 when omitted) */
  heartbeat_seconds: Schema.optional(Schema.Int.pipe(Schema.between(1, 3600))),
  /**
   * the cameras the collector runs, as its layers merge them, and how each connection goes: the admin
   * panel compares them with what it set (additive; older collectors omit it)
   */
  cameras: Schema.optional(Schema.Array(DeviceCamera).pipe(Schema.maxItems(100))),
  /** the buffer's disk: at its quota the collector refuses new reads (additive; older collectors omit it) */
  disk: Schema.optional(Schema.Struct({
    used_bytes: NonNegativeInt,
    quota_bytes: NonNegativeInt,
    full: Schema.Boolean
  }))
})
export type Heartbeat = typeof Heartbeat.Type

export const HeartbeatResponse = Schema.Struct({
  status: Schema.Literal("ok"),
  server_time: Schema.String,
  pending_commands: Schema.Array(PendingCommand)
})

export const CommandAck = Schema.Struct({
  status: Schema.Literal("done", "failed"),
  message: Schema.optional(Schema.String.pipe(Schema.maxLength(2000)))
})

export const CommandAckResponse = Schema.Struct({
  id: Schema.String,
  status: Schema.Literal("done", "failed")
})

export const KeyRotation = Schema.Struct({
  /** The new key, shown once. The old key stops working as soon as this one is first used. */
  api_key: Schema.String
})

export type ClaimRequest = typeof ClaimRequest.Type
export type CommandAck = typeof CommandAck.Type
