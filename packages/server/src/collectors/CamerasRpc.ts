import { CamerasRpcs } from "@chaverim/domain/rpc/Cameras"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import { Audit } from "../audit/Audit"
import { caller, orDieOnSql } from "../rpc/Session"
import { Cameras } from "./Cameras"

export const CamerasRpcsLayer = CamerasRpcs.toLayer(Effect.gen(function*() {
  const cameras = yield* Cameras
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
          const fields = ["name", "site", "lat", "lon", "bearing", "travel_direction", "zone", "expected_per_hour", "min_confidence", "retired_at"] as const
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
      }).pipe(orDieOnSql)
  })
}))
