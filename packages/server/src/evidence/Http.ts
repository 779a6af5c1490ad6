import { AlprApi } from "@chaverim/domain/Api"
import { CurrentUser } from "@chaverim/domain/Auth"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as FsPromises from "node:fs/promises"
import { requestInfo } from "../http/ClientAddress"
import { Evidence } from "./Exports"

/** A file name for the download from the case number: what any file system takes. */
const fileName = (caseNumber: string, exportId: string) =>
  `evidence-${caseNumber.trim().replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 40)}-${exportId.slice(0, 8)}.zip`

/**
 * A bundle sent from its file, opened and then removed from the folder at once: the open file is
 * freed when the answer has been sent or the client has gone, and nothing is left behind.
 */
const sendBundle = (made: { readonly path: string; readonly bytes: number; readonly export_id: string; readonly sha256: string }, caseNumber: string) =>
  Effect.gen(function*() {
    const file = yield* Effect.promise(() => FsPromises.open(made.path, "r"))
    yield* Effect.promise(() => FsPromises.rm(made.path, { force: true }))
    const body = Stream.fromAsyncIterable(
      file.createReadStream() as AsyncIterable<Uint8Array>,
      (cause) => cause
    ).pipe(Stream.ensuring(Effect.promise(() => file.close().catch(() => undefined))))
    return HttpServerResponse.stream(body, {
      contentType: "application/zip",
      contentLength: made.bytes,
      headers: {
        "content-disposition": `attachment; filename="${fileName(caseNumber, made.export_id)}"`,
        "cache-control": "no-store",
        "x-export-id": made.export_id,
        "x-bundle-sha256": made.sha256
      }
    })
  })

export const EvidenceHttpLayer = HttpApiBuilder.group(AlprApi, "evidence", (handlers) =>
  Effect.gen(function*() {
    const evidence = yield* Evidence
    return handlers
      .handle("key", () => Effect.succeed(evidence.key))
      .handle("export", ({ payload }) =>
        Effect.gen(function*() {
          const user = yield* CurrentUser
          const { address } = yield* requestInfo
          const made = yield* evidence.forDownload(payload, { via: "http", user, address })
          // EXPORT_APPROVAL=required: 202 and the pending request; no bundle leaves.
          if (made._tag === "Pending") return made.request
          return yield* sendBundle(made, payload.case_number)
        }))
      .handle("list", ({ urlParams }) => evidence.list(urlParams).pipe(Effect.catchTags({ SqlError: Effect.die })))
      .handle("requests", ({ urlParams }) =>
        Effect.flatMap(CurrentUser, (user) => evidence.listRequests(urlParams, user)).pipe(Effect.catchTags({ SqlError: Effect.die })))
      .handle("approve", ({ path, payload }) =>
        Effect.gen(function*() {
          const user = yield* CurrentUser
          const { address } = yield* requestInfo
          return yield* evidence.decide(path.id, "approved", payload.note, { via: "http", user, address })
        }).pipe(Effect.catchTags({ BadRequest: Effect.die })))
      .handle("refuse", ({ path, payload }) =>
        Effect.gen(function*() {
          const user = yield* CurrentUser
          const { address } = yield* requestInfo
          return yield* evidence.decide(path.id, "refused", payload.note, { via: "http", user, address })
        }).pipe(Effect.catchTags({ BadRequest: Effect.die })))
      .handle("release", ({ path }) =>
        Effect.gen(function*() {
          const user = yield* CurrentUser
          const { address } = yield* requestInfo
          const made = yield* evidence.releaseForDownload(path.id, { via: "http", user, address })
          return yield* sendBundle(made, made.case_number)
        }))
  }))
