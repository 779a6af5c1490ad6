/** The cameras procedures: the cameras collectors report, as an admin names and places them. */
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import * as Schema from "effect/Schema"
import { NotFound } from "../Errors"
import { Label, RequiredRole, RpcSession, uuid } from "./Common"

export const Latitude = Schema.Number.pipe(
  Schema.between(-90, 90, { message: () => "lat must be between -90 and 90" })
)
export const Longitude = Schema.Number.pipe(
  Schema.between(-180, 180, { message: () => "lon must be between -180 and 180" })
)

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
  camera_id: uuid("camera_id"),
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
    payload: { collector_id: Schema.optional(uuid("collector_id")) },
    success: Schema.Array(Camera)
  }),
  Rpc.make("cameras.update", { payload: CameraUpdate, success: Camera, error: NotFound })
).annotateRpcs(RequiredRole, "admin").middleware(RpcSession) {}
