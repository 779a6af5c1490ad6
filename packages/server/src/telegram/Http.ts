import { AlprApi } from "@chaverim/domain/Api"
import { CurrentUser } from "@chaverim/domain/Auth"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Effect from "effect/Effect"
import { requestInfo } from "../http/ClientAddress"
import { TelegramDeliveries } from "./Deliveries"
import { TelegramLinks } from "./Links"

/** The Telegram endpoints: each person's own link code, link and subscriptions; failed messages for admins. */
export const TelegramHttpLayer = HttpApiBuilder.group(AlprApi, "telegram", (handlers) =>
  Effect.gen(function*() {
    const links = yield* TelegramLinks
    const deliveries = yield* TelegramDeliveries
    return handlers
      .handle("linkCode", () =>
        Effect.gen(function*() {
          const user = yield* CurrentUser
          return yield* links.newCode(user.userId, user, yield* requestInfo)
        }).pipe(Effect.catchTags({ SqlError: Effect.die, NotFound: Effect.die, Forbidden: Effect.die })))
      .handle("subscriptions", () =>
        Effect.flatMap(CurrentUser, (user) => links.subscriptions(user.userId)).pipe(Effect.catchTags({ SqlError: Effect.die })))
      .handle("setSubscriptions", ({ payload }) =>
        Effect.gen(function*() {
          return yield* links.setSubscriptions(yield* CurrentUser, payload, yield* requestInfo)
        }).pipe(Effect.catchTags({ SqlError: Effect.die })))
      .handle("unlink", () =>
        Effect.gen(function*() {
          yield* links.unlink(yield* CurrentUser, "http", yield* requestInfo)
        }).pipe(Effect.catchTags({ SqlError: Effect.die })))
      .handle("deliveries", ({ urlParams }) => deliveries.list(urlParams).pipe(Effect.catchTags({ SqlError: Effect.die })))
  }))
