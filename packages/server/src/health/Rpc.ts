import { HealthRpcs } from "@chaverim/domain/rpc/Health"
import * as Effect from "effect/Effect"
import { orDieOnSql } from "../rpc/Session"
import { HealthAlerts } from "./Health"

/** The health alerts' procedure (admins). */
export const HealthRpcsLayer = HealthRpcs.toLayer(Effect.gen(function*() {
  const health = yield* HealthAlerts
  return HealthRpcs.of({
    "health.list": (request) => orDieOnSql(health.list(request))
  })
}))
