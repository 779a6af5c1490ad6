import { AlprApi } from "@chaverim/domain/Api"
import { CurrentUser } from "@chaverim/domain/Auth"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import { makePhotoViews } from "../audit/PhotoViews"
import { givenReason } from "../audit/Reason"
import { requestInfo } from "../http/ClientAddress"
import { Search } from "./Search"

export const SearchHttpLayer = HttpApiBuilder.group(AlprApi, "search", (handlers) =>
  Effect.gen(function*() {
    const search = yield* Search
    const photoViews = yield* makePhotoViews
    return handlers
      .handle("detections", ({ urlParams }) =>
        Effect.gen(function*() {
          const [user, request] = [yield* CurrentUser, yield* requestInfo]
          // A page's plate crops are audited as one view, its row written before the page is answered.
          const page = yield* search.search(urlParams, user, request)
          return yield* photoViews.cover(page, { actor: user, address: request.address, given: givenReason(urlParams), via: "search" })
        }).pipe(Effect.catchTags({ SqlError: Effect.die })))
      .handle("plates", ({ urlParams }) =>
        Effect.gen(function*() {
          return yield* search.plates(urlParams, yield* CurrentUser, yield* requestInfo)
        }).pipe(Effect.catchTags({ SqlError: Effect.die })))
      .handle("export", ({ urlParams }) =>
        Effect.gen(function*() {
          const file = yield* search.exportReads(urlParams, yield* CurrentUser, yield* requestInfo)
          return HttpServerResponse.uint8Array(file.body, {
            contentType: file.contentType,
            headers: {
              "content-disposition": `attachment; filename="${file.fileName}"`,
              "cache-control": "no-store",
              "x-export-reads": String(file.reads),
              "x-export-truncated": String(file.truncated)
            }
          })
        }).pipe(Effect.catchTags({ SqlError: Effect.die })))
      .handle("suggestions", () => search.suggestions)
      .handle("detection", ({ path, urlParams }) =>
        Effect.gen(function*() {
          return yield* search.read(path.id, urlParams, yield* CurrentUser, yield* requestInfo)
        }).pipe(Effect.catchTags({ SqlError: Effect.die })))
      .handle("detectionDetails", ({ path, urlParams }) =>
        Effect.gen(function*() {
          return yield* search.details(path.id, urlParams, yield* CurrentUser, yield* requestInfo)
        }).pipe(Effect.catchTags({ SqlError: Effect.die })))
  }))
