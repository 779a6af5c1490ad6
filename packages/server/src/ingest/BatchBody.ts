import { ImageKind, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, sniffImageType } from "@chaverim/domain/Detection"
import { BadRequest, PayloadTooLarge } from "@chaverim/domain/Errors"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Multipasta from "multipasta"
import { multipartProblem } from "../http/RequestBodies"
import type { IncomingImage } from "../images/Images"

/** A batch as received, before any event is validated. */
export interface ReceivedBatch {
  readonly events: ReadonlyArray<unknown>
  /** Images by detection_id. */
  readonly images: ReadonlyMap<string, ReadonlyArray<IncomingImage>>
  /** Why an event's image part was refused, by detection_id: that event is rejected, not the batch. */
  readonly badImages: ReadonlyMap<string, string>
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`
export const tooLarge = (what: string) =>
  new PayloadTooLarge({ message: `${what}; a batch may hold at most ${MAX_BATCH_EVENTS} events and ${mib(MAX_BATCH_BYTES)} in all: split it` })

// A body of unannounced length that runs over the limit is read to its end (and dropped) so the
// client receives the 413 rather than a reset connection; past this much it is cut off.
const DRAIN_LIMIT = 8 * MAX_BATCH_BYTES

/** The body's bytes, held to the batch's limit (MAX_BATCH_BYTES). */
const readCappedBytes = (request: HttpServerRequest.HttpServerRequest) =>
  request.stream.pipe(
    Stream.mapError(() => new BadRequest({ message: "the request body could not be read" })),
    Stream.runFoldEffect({ chunks: [] as Array<Uint8Array>, size: 0 }, (acc, chunk) => {
      acc.size += chunk.byteLength
      if (acc.size > DRAIN_LIMIT) return Effect.fail(tooLarge("the body is larger than allowed"))
      if (acc.size <= MAX_BATCH_BYTES) acc.chunks.push(chunk)
      return Effect.succeed(acc)
    }),
    Effect.filterOrFail(({ size }) => size <= MAX_BATCH_BYTES, () => tooLarge("the body is larger than allowed")),
    Effect.map(({ chunks }) => (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)))
  )

/** The body as text, held to the batch's limit (MAX_BATCH_BYTES). */
export const readCapped = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.map(readCappedBytes(request), (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"))

const parseEvents = (text: string, where: string) =>
  Effect.gen(function*() {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (e) {
      return yield* new BadRequest({ message: `${where} is not valid JSON: ${(e as Error).message}` })
    }
    const events = (parsed as { events?: unknown } | null)?.events
    if (typeof parsed !== "object" || parsed === null || !Array.isArray(events)) {
      return yield* new BadRequest({ message: `${where} must be a JSON object {"events": [...]}` })
    }
    if (events.length > MAX_BATCH_EVENTS) return yield* tooLarge(`the batch has ${events.length} events`)
    return events as ReadonlyArray<unknown>
  })

const PART_NAME = /^(plate|scene):(.+)$/s

const multipartFailure = (error: Multipasta.MultipartError) => {
  if (error._tag === "ReachedLimit") {
    return tooLarge(error.limit === "MaxParts" ? "the body has too many parts" : "the body is larger than allowed")
  }
  return new BadRequest({ message: `the multipart body is malformed: ${multipartProblem(error._tag)}` })
}

/**
 * The parts of a multipart body, in order, each its name and its bytes. The body has arrived whole
 * (a batch is at most MAX_BATCH_BYTES), so it is parsed in one pass, with the parser the platform
 * uses (multipasta) but without its stream of parts: a stream of 5 MiB of photos in 64 KiB chunks
 * cost the server more than hashing and writing them (bench: the Effect runtime 23% of its CPU).
 * A body that ends before its closing boundary, wherever it ends, is malformed.
 */
const partsOf = (headers: Readonly<Record<string, string>>, body: Uint8Array) => {
  const parts: Array<{ readonly key: string; readonly content: Uint8Array }> = []
  let failure: BadRequest | PayloadTooLarge | undefined
  let done = false
  const parser = Multipasta.make({
    headers,
    maxParts: 2 * MAX_BATCH_EVENTS + 1,
    maxTotalSize: MAX_BATCH_BYTES,
    maxFieldSize: MAX_BATCH_BYTES,
    onField: (info, value) => parts.push({ key: info.name, content: value }),
    onFile: (info) => {
      const chunks: Array<Uint8Array> = []
      return (chunk) => {
        if (chunk !== null) chunks.push(chunk)
        else parts.push({ key: info.name, content: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) })
      }
    },
    onError: (error) => {
      failure ??= multipartFailure(error)
    },
    onDone: () => {
      done = true
    }
  })
  parser.write(body)
  parser.end()
  if (failure === undefined && !done) failure = multipartFailure({ _tag: "EndNotReached" })
  return failure === undefined ? Effect.succeed(parts) : Effect.fail(failure)
}

const readMultipart = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function*() {
    const parts = yield* partsOf(request.headers, yield* readCappedBytes(request))
    let batchText: string | undefined
    const images = new Map<string, Array<IncomingImage>>()
    const badImages = new Map<string, string>()
    for (const { content, key } of parts) {
      if (key === "batch") {
        batchText = new TextDecoder().decode(content)
        continue
      }
      const match = PART_NAME.exec(key)
      if (!match) {
        return yield* new BadRequest({
          message: `unexpected part "${key}": expected "batch", "plate:<detection_id>" or "scene:<detection_id>"`
        })
      }
      const kind = match[1] as ImageKind
      const detectionId = match[2]!
      const list = images.get(detectionId) ?? []
      if (list.some((i) => i.kind === kind)) {
        return yield* new BadRequest({ message: `part "${key}" appears more than once` })
      }
      const contentType = sniffImageType(content)
      if (contentType === undefined) {
        badImages.set(detectionId, `${kind} image: its bytes are not a JPEG, PNG or WebP image`)
        continue
      }
      list.push({ kind, contentType, bytes: content })
      images.set(detectionId, list)
    }
    if (batchText === undefined) {
      return yield* new BadRequest({ message: `the multipart body has no "batch" part with the events JSON` })
    }
    const events = yield* parseEvents(batchText, `the "batch" part`)
    const ids = new Set(events.map((e) => (e as { detection_id?: unknown } | null)?.detection_id))
    for (const id of [...images.keys(), ...badImages.keys()]) {
      if (!ids.has(id)) {
        return yield* new BadRequest({ message: `image parts for "${id}" name no event in this batch` })
      }
    }
    return { events, images, badImages } satisfies ReceivedBatch
  })

/**
 * Reads a batch request, JSON or multipart, refusing anything over the limits before it is
 * buffered in full.
 */
export const readBatch = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<ReceivedBatch, BadRequest | PayloadTooLarge> => {
  const length = Number(request.headers["content-length"] ?? NaN)
  if (length > MAX_BATCH_BYTES) return Effect.fail(tooLarge(`the body is ${mib(length)}`))
  const contentType = (request.headers["content-type"] ?? "application/json").toLowerCase()
  if (contentType.startsWith("multipart/form-data")) return readMultipart(request)
  if (contentType.startsWith("application/json")) {
    return Effect.flatMap(readCapped(request), (text) =>
      Effect.map(parseEvents(text, "the body"), (events) => ({ events, images: new Map(), badImages: new Map() })))
  }
  return Effect.fail(new BadRequest({ message: `unsupported content type ${contentType}: send application/json or multipart/form-data` }))
}
