import { CamerasRpcs } from "@chaverim/domain/rpc/Cameras"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import { Audit } from "../audit/Audit"
import { caller, orDieOnSql } from "../rpc/Session"
import { Cameras } from "./Cameras"
import { Collectors } from "./Collectors"

export const CamerasRpcsLayer = CamerasRpcs.toLayer(Effect.gen(function*() {
  const cameras = yield* Cameras
  const collectors = yield* Collectors
  const audit = yield* Audit
  const sql = yield* SqlClient.SqlClient
  const who = yield* caller
  return CamerasRpcs.of({
    "cameras.list": ({ collector_id }) => orDieOnSql(cameras.list(collector_id)),
    "cameras.update": (change, { headers }) =>
      Effect.gen(function*() {
        const { actor, request } = yield* who(headers)
        return yield* sql.withTransaction(Effect.gen(function*() {
          const { after, before } = yield* cameras.update(change)
          const fields = ["name", "site", "lat", "lon", "bearing", "travel_direction", "zone", "expected_per_hour", "min_confidence", "retired_at", "connection"] as const
          const changed = fields.filter((field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]))
          yield* audit.record({
            actor,
            address: request.address,
            action: "camera.update",
            target: `camera:${change.camera_id}`,
            details: {
              from: Object.fromEntries(changed.map((field) => [field, before[field]])),
              to: Object.fromEntries(changed.map((field) => [field, after[field]]))
            },
            outcome: "success"
          })
          return after
        }))
      }).pipe(orDieOnSql),
    "cameras.create": (made, { headers }) =>
      Effect.gen(function*() {
        const { actor, request } = yield* who(headers)
        return yield* sql.withTransaction(Effect.gen(function*() {
          const camera = yield* cameras.create(made)
          yield* audit.record({
            actor,
            address: request.address,
            action: "camera.create",
            target: `camera:${camera.camera_id}`,
            details: { collector_id: made.collector_id, external_id: made.external_id, connection: made.connection },
            outcome: "success"
          })
          return camera
        }))
      }).pipe(orDieOnSql),
    "cameras.push": ({ collector_id }, { headers }) =>
      Effect.gen(function*() {
        const { actor, request } = yield* who(headers)
        return yield* sql.withTransaction(Effect.gen(function*() {
          const list = yield* cameras.pushable(collector_id)
          const commandId = yield* collectors.enqueueCommand(collector_id, "update_cameras", { cameras: list }, actor.username)
          const ids = list.map((camera) => camera.id)
          yield* audit.record({
            actor,
            address: request.address,
            action: "camera.push",
            target: `collector:${collector_id}`,
            details: { command_id: commandId, cameras: ids },
            outcome: "success"
          })
          return { command_id: commandId, collector_id, cameras: ids }
        }))
      }).pipe(orDieOnSql),
    "cameras.collector": ({ collector_id }) => orDieOnSql(cameras.collectorSide(collector_id))
  })
}))
