import { AlprApi } from "@chaverim/domain/Api"
import { ServiceUnavailable } from "@chaverim/domain/Errors"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import { ObjectStore } from "../images/ObjectStore"
import { prometheusText } from "./Prometheus"

const check = <E>(name: string, probe: Effect.Effect<unknown, E>) =>
  probe.pipe(
    Effect.timeout("2 seconds"),
    Effect.as([name, "ok"] as const),
    Effect.catchAllCause((cause) =>
      Effect.logWarning(`readiness check failed: ${name}`, cause).pipe(Effect.as([name, "failing"] as const)))
  )

export const SystemHttpLayer = HttpApiBuilder.group(AlprApi, "system", (handlers) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const store = yield* ObjectStore
    return handlers
      .handle("health", () => Effect.succeed({ status: "ok" as const }))
      .handle("ready", () =>
        Effect.gen(function*() {
          const results = yield* Effect.all([check("database", sql`SELECT 1`), check("object_store", store.ping)], {
            concurrency: "unbounded"
          })
          const checks = Object.fromEntries(results)
          const failing = results.filter(([, state]) => state !== "ok").map(([name]) => name)
          if (failing.length > 0) {
            return yield* new ServiceUnavailable({ message: `not ready: ${failing.join(", ")} not answering` })
          }
          return { status: "ready" as const, checks }
        }))
      .handle("metrics", () => prometheusText)
  }))
