import {
  ClaimRequest,
  ClaimResponse,
  CommandAck,
  CommandAckResponse,
  Heartbeat,
  HeartbeatResponse,
  KeyRotation
} from "@chaverim/domain/Collector"
import { BatchResult, sniffImageType } from "@chaverim/domain/Detection"
import {
  BadRequest,
  ClaimCodeExpired,
  ClaimCodeUnknown,
  ClaimCodeUsed,
  NotFound,
  PayloadTooLarge,
  Unauthorized,
  UnsupportedMediaType
} from "@chaverim/domain/Errors"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs/promises"
import type { PendingRead } from "../buffer/Buffer"

/**
 * The central server as the collector sees it: claim, heartbeat, command acknowledgements and key
 * rotation, the collectors' endpoints of the shared HttpApi contract (`CollectorsApi` in
 * @chaverim/domain/Api), and batch upload, whose answer headers (`X-Backpressure`, `Retry-After`)
 * matter as much as its body.
 *
 * The collectors' endpoints are called through a small client of their own, with the contract's
 * schemas, not through the client HttpApiClient derives from the whole contract: that one builds
 * every endpoint of the server's API (search, alerts, evidence, ...) and tests each payload with
 * `instanceof FormData`, which loads Node's built-in undici; on a Pi, memory matters more. A test
 * ("calls the collectors' endpoints as the shared contract defines them", edge/test/uploader.test.ts)
 * holds the table below to the contract.
 */

/** The collectors' endpoints: method POST, path, and the status of success. */
export const COLLECTOR_ENDPOINTS = {
  claim: { path: "/api/v1/collectors/claim", status: 201 },
  heartbeat: { path: "/api/v1/collectors/heartbeat", status: 200 },
  ack: { path: "/api/v1/collectors/commands/:id/ack", status: 200 },
  rotateKey: { path: "/api/v1/collectors/keys/rotate", status: 200 }
} as const

/** The failures the contract declares for every endpoint with a body, then each endpoint's own. */
const BodyErrors = [BadRequest, PayloadTooLarge, UnsupportedMediaType] as const
const ClaimErrors = Schema.Union(...BodyErrors, ClaimCodeUnknown, ClaimCodeUsed, ClaimCodeExpired)
const CollectorErrors = Schema.Union(...BodyErrors, Unauthorized, NotFound)

/** The server could not be reached, or answered with a fault worth retrying. */
export class CentralUnavailable extends Schema.TaggedError<CentralUnavailable>()("CentralUnavailable", {
  message: Schema.String,
  /** the server's Retry-After, when it gave one */
  retryAfterMs: Schema.optional(Schema.Number)
}) {}

/** The API key was refused (401): revoked, or never valid. Retrying will not help until it changes. */
export class KeyRefused extends Schema.TaggedError<KeyRefused>()("KeyRefused", {}) {
  override get message() {
    return "the central server refused this collector's API key (revoked?); claim the collector again"
  }
}

/** The batch as a whole was refused as too large (413). */
export class BatchTooLarge extends Schema.TaggedError<BatchTooLarge>()("BatchTooLarge", {
  message: Schema.String
}) {}

export interface UploadAnswer {
  readonly result: typeof BatchResult.Type
  /** the server's load, 0..1 */
  readonly backpressure: number
}

const retryAfterMs = (response: HttpClientResponse.HttpClientResponse) => {
  const header = response.headers["retry-after"]
  if (header === undefined) return undefined
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const at = Date.parse(header)
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now())
}

const describe = (cause: unknown) => cause instanceof Error ? cause.message : String(cause)

/**
 * A read's event as it travels: the Detection as the buffer stored it, with `received_at`, when the
 * collector received it by its own clock (the server measures the camera's clock by it), added at
 * its end unless the camera's payload gave one. Spliced into the stored JSON rather than parsed and
 * written again: the same JSON, without making objects of every read of a drain.
 */
export const eventJson = (read: Pick<PendingRead, "event" | "hasReceivedAt" | "receivedAt">) => {
  if (read.hasReceivedAt) return read.event
  const end = read.event.lastIndexOf("}")
  const receivedAt = `"received_at":${JSON.stringify(new Date(read.receivedAt).toISOString())}`
  const body = read.event.slice(0, end).trimEnd()
  return `${body}${body.endsWith("{") ? "" : ","}${receivedAt}}`
}

const CRLF = Buffer.from("\r\n")

/** A batch as it travels: its bytes and their content type. */
interface BatchBody {
  readonly bytes: Uint8Array
  readonly contentType: string
}

/**
 * A multipart part's name, escaped as the WHATWG FormData serialisation escapes it (quotes, CR and
 * LF percent-encoded), so a detection id with those characters cannot end the header early.
 */
const escapePartName = (name: string) => name.replace(/\r/g, "%0D").replace(/\n/g, "%0A").replace(/"/g, "%22")

/**
 * Builds the body of a batch, in the bytes that go on the wire, without FormData, Blob or Response:
 * those are Node's built-in undici, which a process loads whole (with its WebAssembly HTTP parser,
 * compiled at once) the first time any of them is touched, some 20 MB for a collector that needs
 * none of it. Reads without photos go as JSON `{events}`; with photos, as multipart: the `batch`
 * part, then `plate:<id>` / `scene:<id>` photo parts, framed as FormData frames them. The photos are
 * read from their files straight into the body, one buffer for the batch, not a buffer each first.
 */
const batchBody = (reads: ReadonlyArray<PendingRead>) =>
  Effect.tryPromise({
    try: async () => {
      const json = `{"events":[${reads.map(eventJson).join(",")}]}`
      if (reads.every((r) => r.images.length === 0)) {
        return { body: { bytes: Buffer.from(json), contentType: "application/json" } satisfies BatchBody, left: 0 }
      }
      const boundary = `----chaverim-edge-${randomBytes(12).toString("hex")}`
      const header = (name: string, filename: string, type: string) =>
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${escapePartName(name)}"; filename="${escapePartName(filename)}"\r\n` +
            `Content-Type: ${type}\r\n\r\n`
        )
      const files: Array<{ readonly name: string; readonly kind: string; readonly handle: Fs.FileHandle; readonly size: number }> = []
      try {
        const head = Buffer.alloc(12)
        let left = 0
        for (const read of reads) {
          for (const image of read.images) {
            const handle = await Fs.open(image.path, "r")
            files.push({ name: `${image.kind}:${read.detectionId}`, kind: image.kind, handle, size: (await handle.stat()).size })
          }
        }
        // The central server takes JPEG, PNG and WebP only and refuses a read with any other photo
        // (a camera's GIF): the read goes without it rather than not at all.
        const parts: Array<{ readonly header: Buffer; readonly handle: Fs.FileHandle; readonly size: number }> = []
        for (const file of files) {
          const { bytesRead } = await file.handle.read(head, 0, head.length, 0)
          const type = sniffImageType(head.subarray(0, bytesRead))
          if (type === undefined) left++
          else parts.push({ header: header(file.name, file.kind, type), handle: file.handle, size: file.size })
        }
        const first = header("batch", "batch.json", "application/json")
        const last = Buffer.from(`--${boundary}--\r\n`)
        const body = Buffer.allocUnsafe(
          first.length + Buffer.byteLength(json) + CRLF.length +
            parts.reduce((n, p) => n + p.header.length + p.size + CRLF.length, 0) + last.length
        )
        let at = first.copy(body, 0)
        at += body.write(json, at)
        at += CRLF.copy(body, at)
        for (const part of parts) {
          at += part.header.copy(body, at)
          for (let done = 0; done < part.size;) {
            const { bytesRead } = await part.handle.read(body, at + done, part.size - done, done)
            if (bytesRead === 0) throw new Error("a photo file is shorter than when it was opened")
            done += bytesRead
          }
          at += part.size
          at += CRLF.copy(body, at)
        }
        last.copy(body, at)
        return { body: { bytes: body, contentType: `multipart/form-data; boundary=${boundary}` } satisfies BatchBody, left }
      } finally {
        await Promise.all(files.map((f) => f.handle.close()))
      }
    },
    catch: (cause) => new CentralUnavailable({ message: `cannot read buffered photos: ${describe(cause)}` })
  }).pipe(
    Effect.tap(({ left }) =>
      left === 0 ? Effect.void : Effect.logWarning("photos that are not JPEG, PNG or WebP left out of an upload").pipe(
        Effect.annotateLogs({ photos: left })
      )),
    Effect.map(({ body }) => body)
  )

/**
 * The HTTP client for the central server: node:http with a keep-alive agent, certificates verified.
 * Not fetch: undici's parser is WebAssembly, and a collector draining its buffer through fetch holds
 * some 30 MB more than through node:http, a third of what a small Pi can spare.
 */
export const centralHttpClientLayer = NodeHttpClient.layerWithoutAgent.pipe(
  Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive: true }))
)

export const makeCentral = (baseUrl: string, apiKey: () => string | undefined) =>
  Effect.gen(function*() {
    const http = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest((request) => {
        const key = apiKey()
        return key === undefined ? request : HttpClientRequest.bearerToken(request, key)
      })
    )
    const url = new URL("/api/v1/detections/batch", baseUrl).toString()

    /**
     * POSTs to one of the collectors' endpoints as the contract's client would: the payload encoded
     * by its schema as JSON, the answer decoded by the success schema, a failure the contract
     * declares decoded into its error, any other answer a ResponseError.
     */
    const call = <A, I, E, EI>(
      path: string,
      success: { readonly status: number; readonly schema: Schema.Schema<A, I> },
      errors: Schema.Schema<E, EI>,
      body?: unknown
    ) =>
      Effect.gen(function*() {
        let request = HttpClientRequest.post(new URL(path, baseUrl).toString())
        if (body !== undefined) request = HttpClientRequest.bodyUnsafeJson(request, body)
        const response = yield* http.execute(request)
        if (response.status === success.status) return yield* HttpClientResponse.schemaBodyJson(success.schema)(response)
        const error = yield* HttpClientResponse.schemaBodyJson(errors)(response).pipe(
          Effect.mapError(() => new HttpClientError.ResponseError({ reason: "StatusCode", request, response }))
        )
        return yield* Effect.fail(error)
      }).pipe(Effect.scoped)
    const encode = <A, I>(schema: Schema.Schema<A, I>, value: A) => Schema.encode(schema)(value)

    const upload = (reads: ReadonlyArray<PendingRead>, timeout: Duration.DurationInput = "60 seconds") =>
      Effect.gen(function*() {
        const body = yield* batchBody(reads)
        const request = HttpClientRequest.post(url).pipe(HttpClientRequest.bodyUint8Array(body.bytes, body.contentType))
        const response = yield* http.execute(request).pipe(
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () => new CentralUnavailable({ message: "no answer in time" })
          }),
          Effect.catchTag("RequestError", (e) => new CentralUnavailable({ message: e.message }))
        )
        const backpressure = Math.min(1, Math.max(0, Number(response.headers["x-backpressure"] ?? 0) || 0))
        if (response.status === 200) {
          const result = yield* HttpClientResponse.schemaBodyJson(BatchResult)(response).pipe(
            Effect.mapError((e) => new CentralUnavailable({ message: `unreadable answer: ${e.message}` }))
          )
          return { result, backpressure } satisfies UploadAnswer
        }
        const text = yield* response.text.pipe(Effect.orElseSucceed(() => ""))
        if (response.status === 401) return yield* new KeyRefused()
        if (response.status === 413) return yield* new BatchTooLarge({ message: text.slice(0, 500) })
        const retry = retryAfterMs(response)
        return yield* new CentralUnavailable({
          message: `HTTP ${response.status}: ${text.slice(0, 200)}`,
          ...(retry === undefined ? {} : { retryAfterMs: retry })
        })
      }).pipe(Effect.scoped)

    const mapFailure = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      effect.pipe(
        Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new CentralUnavailable({ message: "no answer in time" }) }),
        Effect.catchAll((e): Effect.Effect<never, CentralUnavailable | KeyRefused> => {
          const tag = (e as { _tag?: string })._tag
          if (tag === "Unauthorized") return Effect.fail(new KeyRefused())
          if (tag === "CentralUnavailable") return Effect.fail(e as CentralUnavailable)
          return Effect.fail(new CentralUnavailable({ message: describe(e) }))
        })
      )

    const endpoint = COLLECTOR_ENDPOINTS
    return {
      upload,
      heartbeat: (beat: Heartbeat) =>
        mapFailure(Effect.flatMap(
          encode(Heartbeat, beat),
          (body) => call(endpoint.heartbeat.path, { status: endpoint.heartbeat.status, schema: HeartbeatResponse }, CollectorErrors, body)
        )),
      ack: (id: string, ack: CommandAck) =>
        mapFailure(Effect.flatMap(
          Effect.zip(Schema.decodeUnknown(Schema.UUID)(id), encode(CommandAck, ack)),
          ([uuid, body]) =>
            call(endpoint.ack.path.replace(":id", encodeURIComponent(uuid)), { status: endpoint.ack.status, schema: CommandAckResponse }, CollectorErrors, body)
        )),
      rotateKey: mapFailure(call(endpoint.rotateKey.path, { status: endpoint.rotateKey.status, schema: KeyRotation }, CollectorErrors)),
      claim: (payload: typeof ClaimRequest.Type) =>
        Effect.flatMap(
          encode(ClaimRequest, payload),
          (body) => call(endpoint.claim.path, { status: endpoint.claim.status, schema: ClaimResponse }, ClaimErrors, body)
        )
    } as const
  })

export type Central = Effect.Effect.Success<ReturnType<typeof makeCentral>>
