import { AlprApi } from "@chaverim/domain/Api"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import { Images } from "./Images"

export const ImagesHttpLive = HttpApiBuilder.group(AlprApi, "images", (handlers) =>
  Effect.gen(function*() {
    const images = yield* Images
    return handlers.handleRaw("image", ({ path }) =>
      images.read(path.id, path.kind).pipe(
        Effect.map(({ bytes, contentType }) =>
          HttpServerResponse.uint8Array(bytes, {
            contentType,
            headers: { "cache-control": "private, max-age=3600", "x-content-type-options": "nosniff" }
          })
        ),
        Effect.catchTags({ SqlError: Effect.die, ObjectStoreError: Effect.die })
      ))
  }))
