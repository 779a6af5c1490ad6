import { AlprApi } from "@chaverim/domain/Api"
import { CurrentUser } from "@chaverim/domain/Auth"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Effect from "effect/Effect"
import { Stats } from "./Stats"

/** The numbers, for operators and admins (the contract's middleware checks the role). */
export const StatsHttpLayer = HttpApiBuilder.group(AlprApi, "stats", (handlers) =>
  Effect.gen(function*() {
    const stats = yield* Stats
    return handlers
      .handle("reads", ({ urlParams }) => stats.reads(urlParams).pipe(Effect.catchTags({ SqlError: Effect.die })))
      .handle("summary", ({ urlParams }) =>
        Effect.flatMap(CurrentUser, (user) => stats.summary(urlParams, { userId: user.userId, role: user.role })).pipe(
          Effect.catchTags({ SqlError: Effect.die })
        ))
  }))
