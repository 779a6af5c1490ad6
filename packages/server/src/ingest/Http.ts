import { type AlprDatabasePush, alprDatabaseAnswer, parseAlprDatabaseJson } from "@chaverim/domain/AlprDatabase"
import { AlprApi } from "@chaverim/domain/Api"
import { CurrentCollector } from "@chaverim/domain/Auth"
import { type BatchResult, jsonBytes, MAX_BATCH_BYTES, MAX_SOURCE_BYTES, sniffImageType } from "@chaverim/domain/Detection"
import { BadRequest } from "@chaverim/domain/Errors"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Metric from "effect/Metric"
import { Collectors } from "../collectors/Collectors"
import { sha256Hex } from "../crypto/Tokens"
import { readBatch, readCapped, type ReceivedBatch, tooLarge } from "./BatchBody"
import { Ingest } from "./Ingest"
import { IngestGate } from "./IngestGate"
import { ingestBatches } from "./Metrics"

const countBatch = (outcome: string) => Metric.increment(Metric.tagged(ingestBatches, "outcome", outcome))

/** What the camera of a Blue Iris read is called when its body names none. */
const UNNAMED = "unknown"

/**
 * An ALPR-Database body as one batch: a Detection per plate, each with the body's `Image` as its
 * scene photo and the body without `Image` as its source. The detection_id is the edge adapters'
 * fingerprint (vendor, camera, time, plate), so a re-sent body is a duplicate; the camera is
 * `blueiris:<camera>` with the MAC the edge gives a camera that reports none.
 */
const plateReadsBatch = (push: AlprDatabasePush): Effect.Effect<ReceivedBatch, BadRequest> =>
  Effect.gen(function*() {
    const contentType = push.image === undefined ? undefined : sniffImageType(push.image)
    if (push.image !== undefined && contentType === undefined) {
      return yield* new BadRequest({ message: "Image is not a JPEG, PNG or WebP image" })
    }
    const camera = {
      id: `blueiris:${push.camera ?? UNNAMED}`,
      mac: UNNAMED,
      ...(push.camera === undefined ? {} : { name: push.camera })
    }
    const events = push.reads.map((read) => ({
      detection_id: `blueiris:${sha256Hex(JSON.stringify(["blueiris", camera.id, push.timestamp, read.plate])).slice(0, 32)}`,
      timestamp: push.timestamp,
      camera,
      plate: { text: read.plate, confidence: read.confidence },
      ...(read.vehicle === undefined ? {} : { vehicle: { type: read.vehicle } }),
      // ALERT_PATH, ALERT_CLIP, the AI dump: kept with each read as its source (in its raw), as the
      // collector sends them; left out when more than a source may hold.
      ...(jsonBytes(push.kept) > MAX_SOURCE_BYTES ? {} : { source: push.kept })
    }))
    const images = new Map(
      push.image === undefined || contentType === undefined
        ? []
        : events.map((e) => [e.detection_id, [{ kind: "scene" as const, contentType, bytes: push.image! }]])
    )
    return { events, images, badImages: new Map() }
  })

/** The body of `/api/plate-reads`, under the batch's limit, read whatever its content type (as ALPR-Database reads it). */
const readPlateReads = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function*() {
    const length = Number(request.headers["content-length"] ?? NaN)
    if (length > MAX_BATCH_BYTES) return yield* tooLarge("the body is larger than allowed")
    const parsed = parseAlprDatabaseJson(yield* readCapped(request), new Date())
    if (Either.isLeft(parsed)) return yield* new BadRequest({ message: parsed.left.message })
    return yield* plateReadsBatch(parsed.right)
  })

export const IngestHttpLayer = HttpApiBuilder.group(AlprApi, "ingest", (handlers) =>
  Effect.gen(function*() {
    const ingest = yield* Ingest
    const gate = yield* IngestGate
    const collectors = yield* Collectors

    /** A batch (as `read` reads it) stored for the signed-in collector through the gate, counted, answered by `answer`. */
    const storeBatch = (
      read: ReturnType<typeof readBatch> | ReturnType<typeof readPlateReads>,
      answer: (result: BatchResult) => Effect.Effect<HttpServerResponse.HttpServerResponse, BadRequest>
    ) =>
      Effect.gen(function*() {
        const { collectorId } = yield* CurrentCollector
        const batch = yield* read
        const result = yield* gate.admit(ingest.store(collectorId, batch))
        // a sign of life, as a heartbeat is (the wall and the admins' list count both)
        yield* collectors.uploaded(collectorId)
        yield* countBatch("stored")
        return yield* answer(result)
      }).pipe(
        Effect.tapError((e) => countBatch(e._tag)),
        // Overloaded is answered here so that it can carry Retry-After.
        Effect.catchTag("Overloaded", (e) =>
          HttpServerResponse.json(
            { _tag: e._tag, message: e.message, retry_after_s: e.retry_after_s },
            { status: 503, headers: { "retry-after": String(e.retry_after_s) } }
          )),
        Effect.catchTags({ SqlError: Effect.die, ObjectStoreError: Effect.die, HttpBodyError: Effect.die })
      )

    return handlers.handleRaw(
      "batch",
      ({ request }) => storeBatch(readBatch(request), (result) => HttpServerResponse.json(result).pipe(Effect.orDie)),
      // A batch that has started is finished even while the server shuts down.
      { uninterruptible: true }
    ).handleRaw(
      "plateReads",
      ({ request }) =>
        storeBatch(readPlateReads(request), (result) => {
          // Nothing stored nor known already: every read was refused, and the first says why.
          if (result.accepted + result.duplicates === 0) {
            return new BadRequest({ message: result.errors[0]?.message ?? "No valid plates found in request" })
          }
          const { body, status } = alprDatabaseAnswer(result.accepted, result.duplicates)
          return HttpServerResponse.json(body, { status }).pipe(Effect.orDie)
        }),
      { uninterruptible: true }
    )
  }))
