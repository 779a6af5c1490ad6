import { AlprApi } from "@chaverim/domain/Api"
import { CurrentUser } from "@chaverim/domain/Auth"
import { BadRequest, PayloadTooLarge, ServiceUnavailable, UnsupportedMediaType } from "@chaverim/domain/Errors"
import { FOOTAGE_CHUNK_BYTES } from "@chaverim/domain/Footage"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { requestInfo } from "../http/ClientAddress"
import { FootageUploads, type Uploader } from "./Uploads"

const CHUNK_TYPES = ["application/offset+octet-stream", "application/octet-stream"]

/** A chunk's bytes, at most FOOTAGE_CHUNK_BYTES; a longer body is refused with 413. */
const readChunk = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function*() {
    const type = (request.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase()
    if (!CHUNK_TYPES.includes(type)) {
      return yield* new UnsupportedMediaType({ message: "a chunk is sent as application/offset+octet-stream" })
    }
    const tooLarge = new PayloadTooLarge({ message: `a chunk may be at most ${FOOTAGE_CHUNK_BYTES / 1024 / 1024} MiB` })
    if (Number(request.headers["content-length"] ?? 0) > FOOTAGE_CHUNK_BYTES) return yield* tooLarge
    const read = yield* request.stream.pipe(
      Stream.mapError(() => new BadRequest({ message: "the chunk could not be read" })),
      Stream.runFoldEffect({ chunks: [] as Array<Uint8Array>, size: 0 }, (acc, part) => {
        acc.size += part.byteLength
        if (acc.size > FOOTAGE_CHUNK_BYTES) return Effect.fail(tooLarge)
        acc.chunks.push(part)
        return Effect.succeed(acc)
      })
    )
    return new Uint8Array(Buffer.concat(read.chunks))
  })

export const FootageHttpLayer = HttpApiBuilder.group(AlprApi, "footage", (handlers) =>
  Effect.gen(function*() {
    const uploads = yield* FootageUploads
    const uploader = Effect.gen(function*() {
      const user = yield* CurrentUser
      const { address } = yield* requestInfo
      // a partner's token stands in for a session as "partner:<token id>" (auth/Partners.ts)
      const via = user.sessionHash.startsWith("partner:") ? "api" as const : "web" as const
      return { userId: user.userId, username: user.username, role: user.role, address, via } satisfies Uploader
    })
    // The object store or the database failing is the server's trouble, said as such.
    const unavailable = {
      ObjectStoreError: () => new ServiceUnavailable({ message: "the object store cannot take the footage now: try again" }),
      ObjectNotFound: Effect.die,
      SqlError: Effect.die,
      NoSuchElementException: Effect.die
    } as const
    const bug = { SqlError: Effect.die, NoSuchElementException: Effect.die } as const
    return handlers
      .handle("start", ({ payload }) => Effect.flatMap(uploader, (who) => uploads.start(payload, who)).pipe(Effect.catchTags(bug)))
      .handleRaw("chunk", ({ path, headers, request }) =>
        Effect.gen(function*() {
          const who = yield* uploader
          const bytes = yield* readChunk(request)
          const state = yield* uploads.chunk(path.id, headers["upload-offset"], bytes, who)
          return yield* HttpServerResponse.json(state).pipe(Effect.orDie)
        }).pipe(Effect.catchTags(unavailable)), { uninterruptible: true })
      .handle("complete", ({ path }) =>
        // as the last chunk's: once begun, a take-in finishes or releases its claim even if the caller leaves
        Effect.flatMap(uploader, (who) => uploads.complete(path.id, who)).pipe(Effect.catchTags(unavailable), Effect.uninterruptible))
      .handle("status", ({ path }) => Effect.flatMap(uploader, (who) => uploads.status(path.id, who)).pipe(Effect.catchTags({ SqlError: Effect.die })))
      .handle("job", ({ path }) => Effect.flatMap(uploader, (who) => uploads.getJob(path.id, who)).pipe(Effect.catchTags({ SqlError: Effect.die })))
      .handle("cancel", ({ path }) => Effect.flatMap(uploader, (who) => uploads.cancelJob(path.id, who)).pipe(Effect.catchTags({ SqlError: Effect.die })))
  }))
