import { AlprApi } from "@chaverim/domain/Api"
import { CurrentUser } from "@chaverim/domain/Auth"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Effect from "effect/Effect"
import { requestInfo } from "../http/ClientAddress"
import { Search } from "./Search"

export const SearchHttpLayer = HttpApiBuilder.group(AlprApi, "search", (handlers) =>
  Effect.gen(function*() {
    const search = yield* Search
    return handlers
      .handle("detections", ({ urlParams }) =>
        Effect.gen(function*() {
          return yield* search.search(urlParams, yield* CurrentUser, yield* requestInfo)
        }).pipe(Effect.catchTags({ SqlError: Effect.die })))
      .handle("detection", ({ path, urlParams }) =>
        Effect.gen(function*() {
          return yield* search.read(path.id, urlParams, yield* CurrentUser, yield* requestInfo)
        }).pipe(Effect.catchTags({ SqlError: Effect.die })))
  }))
