import { AlprApi } from "@chaverim/domain/Api"
import { CurrentUser } from "@chaverim/domain/Auth"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Effect from "effect/Effect"
import { requestInfo } from "../http/ClientAddress"
import { Alerts } from "./Alerts"

export const AlertsHttpLayer = HttpApiBuilder.group(AlprApi, "alerts", (handlers) =>
  Effect.gen(function*() {
    const alerts = yield* Alerts
    return handlers
      .handle("list", ({ urlParams }) => Effect.flatMap(CurrentUser, (user) => alerts.list(urlParams, user)))
      .handle("get", ({ path }) => Effect.flatMap(CurrentUser, (user) => alerts.get(path.id, user)))
      .handle("acknowledge", ({ path }) =>
        Effect.gen(function*() {
          const user = yield* CurrentUser
          return yield* alerts.acknowledge({ alertId: path.id, actor: user, via: "web", request: yield* requestInfo })
        }))
      .handle("enRoute", ({ path }) =>
        Effect.gen(function*() {
          const user = yield* CurrentUser
          return yield* alerts.enRoute({ alertId: path.id, actor: user, via: "web", request: yield* requestInfo })
        }))
      .handle("resolve", ({ path, payload }) =>
        Effect.gen(function*() {
          const user = yield* CurrentUser
          return yield* alerts.resolve({ alertId: path.id, actor: user, note: payload.note, via: "web", request: yield* requestInfo })
        }))
  }))
