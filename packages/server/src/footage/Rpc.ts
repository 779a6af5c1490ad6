import { CurrentUser } from "@chaverim/domain/Auth"
import { FootageRpcs } from "@chaverim/domain/rpc/Footage"
import * as Effect from "effect/Effect"
import { orDieOnSql } from "../rpc/Session"
import { FootageViews } from "./Review"

/** Footage jobs and the review queue for operators and admins. */
export const FootageRpcsLayer = FootageRpcs.toLayer(Effect.gen(function*() {
  const views = yield* FootageViews
  return FootageRpcs.of({
    "footage.jobs": ({ limit }) =>
      Effect.flatMap(CurrentUser, (user) => orDieOnSql(views.jobs({ userId: user.userId, username: user.username, role: user.role }, limit ?? 50))),
    "review.queue": ({ limit }) => orDieOnSql(views.queue(limit ?? 50))
  })
}))
