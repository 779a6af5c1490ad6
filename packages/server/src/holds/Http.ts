import { AlprApi } from "@chaverim/domain/Api"
import { CurrentUser } from "@chaverim/domain/Auth"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Effect from "effect/Effect"
import { requestInfo } from "../http/ClientAddress"
import { Holds } from "./Holds"

/** Operators make and list holds, admins release them (the roles are the contract's middlewares). */
export const HoldsHttpLayer = HttpApiBuilder.group(AlprApi, "holds", (handlers) =>
  Effect.gen(function*() {
    const holds = yield* Holds
    return handlers
      .handle("create", ({ payload }) =>
        Effect.gen(function*() {
          const user = yield* CurrentUser
          const { address } = yield* requestInfo
          return yield* holds.create(payload, user, address)
        }).pipe(Effect.catchTags({ SqlError: Effect.die })))
      .handle("list", ({ urlParams }) =>
        holds.list(urlParams).pipe(Effect.map((items) => ({ items })), Effect.catchTags({ SqlError: Effect.die })))
      .handle("release", ({ path, payload }) =>
        Effect.gen(function*() {
          const user = yield* CurrentUser
          const { address } = yield* requestInfo
          return yield* holds.release(path.id, payload.note, user, address)
        }).pipe(Effect.catchTags({ SqlError: Effect.die })))
  }))
