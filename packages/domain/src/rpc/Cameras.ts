/** The cameras procedures: the cameras collectors report, as an admin names and places them. */
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import * as Schema from "effect/Schema"
import { CameraConnection, DeviceCamera, ExternalCameraId } from "../CameraConnection"
import { BadRequest, NotFound } from "../Errors"
import { Label, RequiredRole, RpcSession, uuid } from "./Common"

export const Latitude = Schema.Number.pipe(
  Schema.between(-90, 90, { message: () => "lat must be between -90 and 90" })
)
export const Longitude = Schema.Number.pipe(
  Schema.between(-180, 180, { message: () => "lon must be between -180 and 180" })
)

const Position = Schema.Tuple(Longitude, Latitude)

/**
 * The area a camera covers: a GeoJSON Polygon (RFC 7946), one outer ring and any holes, each ring closed
 * (its last position its first) with at least four positions, [lon, lat] in degrees; 1,000 at most in all.
 */
export const Zone = Schema.Struct({
  type: Schema.Literal("Polygon").annotations({ message: () => "zone is a GeoJSON Polygon: {type: \"Polygon\", coordinates}" }),
  coordinates: Schema.NonEmptyArray(Schema.Array(Position))
}).pipe(
  Schema.filter((zone) => {
    const open = zone.coordinates.findIndex((ring) => {
      const first = ring[0]
      const last = ring.at(-1)
      return ring.length < 4 || first === undefined || last === undefined || first[0] !== last[0] || first[1] !== last[1]
    })
    if (open >= 0) return `zone: ring ${open + 1} is not closed: at least four positions, the last the same as the first`
    return zone.coordinates.reduce((n, ring) => n + ring.length, 0) <= 1_000 || "zone: at most 1,000 positions"
  })
)
export type Zone = typeof Zone.Type

export const Bearing = Schema.Int.pipe(Schema.between(0, 359, { message: () => "bearing is whole degrees from north, 0 to 359" }))
export const ExpectedPerHour = Schema.Int.pipe(
  Schema.between(1, 100_000, { message: () => "expected_per_hour is a whole number of reads, 1 to 100,000" })
)
export const MinConfidence = Schema.Number.pipe(Schema.between(0, 1, { message: () => "min_confidence is between 0 and 1" }))

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
  /** where it looks, degrees from north */
  bearing: Schema.NullOr(Schema.Number),
  /** the direction of travel it reads, in words ("northbound", "into the car park") */
  travel_direction: Schema.NullOr(Schema.String),
  zone: Schema.NullOr(Zone),
  /** usual reads an hour: the health monitor's figure instead of the camera's learnt history */
  expected_per_hour: Schema.NullOr(Schema.Number),
  /** reads below this confidence are not to be trusted (shown as such) */
  min_confidence: Schema.NullOr(Schema.Number),
  /** retired: kept with its reads, no longer watched by the health monitor */
  retired_at: Schema.NullOr(Schema.String),
  /** how its collector reaches it, set here and pushed to the collector (null: the device's own configuration rules) */
  connection: Schema.NullOr(CameraConnection),
  /** the camera as its collector last reported running it; null when it reports no such camera */
  device: Schema.NullOr(DeviceCamera),
  /** what differs between `connection` and `device`, in phrases; empty when they agree */
  drift: Schema.Array(Schema.String),
  updated_at: Schema.String
})
export type Camera = typeof Camera.Type

/** A field left out stays as it is; `null` clears it. A position is set (or cleared) as a pair. */
export const CameraUpdate = Schema.Struct({
  camera_id: uuid("camera_id"),
  name: Schema.optional(Schema.NullOr(Label("name"))),
  site: Schema.optional(Schema.NullOr(Label("site"))),
  lat: Schema.optional(Schema.NullOr(Latitude)),
  lon: Schema.optional(Schema.NullOr(Longitude)),
  bearing: Schema.optional(Schema.NullOr(Bearing)),
  travel_direction: Schema.optional(Schema.NullOr(Label("travel_direction"))),
  zone: Schema.optional(Schema.NullOr(Zone)),
  expected_per_hour: Schema.optional(Schema.NullOr(ExpectedPerHour)),
  min_confidence: Schema.optional(Schema.NullOr(MinConfidence)),
  /** true retires the camera, false brings it back */
  retired: Schema.optional(Schema.Boolean),
  /** how the collector reaches it; null: no longer set centrally (the next push leaves it out) */
  connection: Schema.optional(Schema.NullOr(CameraConnection))
}).pipe(
  Schema.filter((p) =>
    (p.lat === undefined) === (p.lon === undefined) && (p.lat === null) === (p.lon === null) ||
    "lat and lon are set together (both numbers, or both null to clear the position)"
  ),
  Schema.filter((p) =>
    Object.keys(p).some((key) => key !== "camera_id") ||
    "nothing to change: send at least one of name, site, lat and lon, bearing, travel_direction, zone, expected_per_hour, min_confidence, retired, connection"
  )
)
export type CameraUpdate = typeof CameraUpdate.Type

/** A camera made in the panel before it has sent a read: its id on the collector and how the collector reaches it. */
export const CameraCreate = Schema.Struct({
  collector_id: uuid("collector_id"),
  external_id: ExternalCameraId,
  name: Schema.optional(Label("name")),
  site: Schema.optional(Label("site")),
  lat: Schema.optional(Latitude),
  lon: Schema.optional(Longitude),
  connection: CameraConnection
}).pipe(
  Schema.filter((p) => (p.lat === undefined) === (p.lon === undefined) || "lat and lon are set together")
)
export type CameraCreate = typeof CameraCreate.Type

/** What a push queued: the `update_cameras` command and the cameras it carries. */
export const CamerasPushed = Schema.Struct({
  command_id: Schema.String,
  collector_id: Schema.String,
  cameras: Schema.Array(Schema.String)
})

/** A collector's side of its cameras: what it reports running that no camera here sets, and how the last push went. */
export const CollectorCameras = Schema.Struct({
  collector_id: Schema.String,
  /** its last heartbeat with a camera report; null when none came yet */
  reported_at: Schema.NullOr(Schema.String),
  /** cameras the collector runs that no camera here sets the connection of (its own configuration's) */
  device_only: Schema.Array(DeviceCamera),
  /** the last `update_cameras` sent to it: pending until it answers, then done or failed with each camera's login test */
  last_push: Schema.NullOr(Schema.Struct({
    command_id: Schema.String,
    status: Schema.Literal("pending", "done", "failed"),
    message: Schema.NullOr(Schema.String),
    created_at: Schema.String,
    acked_at: Schema.NullOr(Schema.String)
  }))
})
export type CollectorCameras = typeof CollectorCameras.Type

export class CamerasRpcs extends RpcGroup.make(
  Rpc.make("cameras.list", {
    payload: { collector_id: Schema.optional(uuid("collector_id")) },
    success: Schema.Array(Camera)
  }),
  Rpc.make("cameras.update", { payload: CameraUpdate, success: Camera, error: NotFound }),
  Rpc.make("cameras.create", { payload: CameraCreate, success: Camera, error: Schema.Union(NotFound, BadRequest) }),
  /**
   * Queues `update_cameras` for the collector with every camera in service that has a connection set:
   * the collector checks the list, tests each camera's login and applies it, and says how it went in its
   * answer to the command and in its heartbeats
   */
  Rpc.make("cameras.push", { payload: { collector_id: uuid("collector_id") }, success: CamerasPushed, error: Schema.Union(NotFound, BadRequest) }),
  Rpc.make("cameras.collector", { payload: { collector_id: uuid("collector_id") }, success: CollectorCameras, error: NotFound })
).annotateRpcs(RequiredRole, "admin").middleware(RpcSession) {}
