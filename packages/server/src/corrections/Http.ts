import { AlprApi } from "@chaverim/domain/Api"
import { CurrentUser } from "@chaverim/domain/Auth"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Effect from "effect/Effect"
import { requestInfo } from "../http/ClientAddress"
import { Corrections } from "./Corrections"

export const CorrectionsHttpLayer = HttpApiBuilder.group(AlprApi, "corrections", (handlers) =>
  Effect.gen(function*() {
    const corrections = yield* Corrections
    return handlers
      .handle("create", ({ path, payload }) =>
        Effect.gen(function*() {
          return yield* corrections.create(path.id, payload, yield* CurrentUser, yield* requestInfo)
        }).pipe(Effect.catchTags({ SqlError: Effect.die })))
      .handle("list", ({ path }) => corrections.list(path.id).pipe(Effect.catchTags({ SqlError: Effect.die })))
  }))
