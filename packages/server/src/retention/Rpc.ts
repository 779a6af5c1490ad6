import { RetentionRpcs } from "@chaverim/domain/rpc/Retention"
import * as Effect from "effect/Effect"
import { Retention } from "./Retention"

export const RetentionRpcsLayer = RetentionRpcs.toLayer(Effect.gen(function*() {
  const retention = yield* Retention
  return RetentionRpcs.of({
    "retention.status": () => retention.status.pipe(Effect.orDie)
  })
}))
