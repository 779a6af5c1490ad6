/**
 * The wall's procedures.
 *
 * What a control-room screen shows besides the live feed, for any signed-in role: the screen is often
 * signed in with a viewer account kept for it, which may not list collectors or cameras in full. These
 * are the only procedures a paired wall display may call.
 */
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import * as Schema from "effect/Schema"
import { Alert } from "../Alerts"
import { DisplayAllowed } from "../Auth"
import { RequiredRole, RpcSession, Timestamp } from "./Common"

/** A collector that has not been heard from for this long is shown offline (it beats every minute). */
export const COLLECTOR_SILENT_SECONDS = 300

/**
 * A collector, the device at a site that takes its cameras' reads and uploads them. "Site" is the place
 * (the label an admin gives cameras); a collector's `sites` are those of its cameras.
 */
export const WallCollector = Schema.Struct({
  collector_id: Schema.String,
  name: Schema.String,
  /** the sites of its cameras, in name order (none until an admin labels a camera) */
  sites: Schema.Array(Schema.String),
  /** active and heard from (a heartbeat or an upload) within COLLECTOR_SILENT_SECONDS */
  online: Schema.Boolean,
  queue_depth: Schema.NullOr(Schema.Number),
  cameras_online: Schema.NullOr(Schema.Number),
  disk_full: Schema.NullOr(Schema.Boolean),
  /** the last sign of life, and which it was */
  last_seen_at: Schema.NullOr(Schema.String),
  seen_by: Schema.NullOr(Schema.Literal("heartbeat", "upload"))
})
export type WallCollector = typeof WallCollector.Type

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
  collectors: Schema.Array(WallCollector),
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

/**
 * An acknowledged alert stays on the wall, saying who took it and when, until it is resolved or this
 * long has passed since it was acknowledged and last seen (the car may still be out there).
 */
export const WALL_ACKNOWLEDGED_HOURS = 2

/** Whether the wall shows `alert` at `now` (ms): every new one, and the acknowledged ones not yet aged out. */
export const onWall = (
  alert: { readonly status: string; readonly acknowledged_at: string | null; readonly last_seen_at: string },
  now: number
): boolean => {
  if (alert.status === "new") return true
  if (alert.status !== "acknowledged") return false
  const latest = Math.max(Date.parse(alert.acknowledged_at ?? alert.last_seen_at), Date.parse(alert.last_seen_at))
  return now - latest < WALL_ACKNOWLEDGED_HOURS * 3_600_000
}

export class WallRpcs extends RpcGroup.make(
  Rpc.make("wall.status", {
    payload: { since: WallSince },
    success: WallStatus
  }),
  /**
   * The alerts the wall shows (`onWall`) of lists the caller may see: the new ones, and those acknowledged
   * within WALL_ACKNOWLEDGED_HOURS, newest first.
   */
  Rpc.make("wall.alerts", { success: Schema.Array(Alert) })
).annotateRpcs(RequiredRole, "viewer").annotateRpcs(DisplayAllowed, true).middleware(RpcSession) {}
