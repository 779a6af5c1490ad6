import { AlprApi } from "@chaverim/domain/Api"
import { BatchResult, type Detection, sniffImageType } from "@chaverim/domain/Detection"
import type { CommandAck, Heartbeat } from "@chaverim/domain/Collector"
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs/promises"
import type { PendingRead } from "../buffer/Buffer"

/**
 * The central server as the collector sees it: claim, heartbeat and command acknowledgements through
 * the client derived from the shared HttpApi contract, and batch upload, whose answer headers
 * (`X-Backpressure`, `Retry-After`) matter as much as its body.
 */

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

/** Builds the multipart body: the `batch` part, then `plate:<id>` / `scene:<id>` photo parts. */
const batchForm = (reads: ReadonlyArray<PendingRead>) =>
  Effect.tryPromise({
    try: async () => {
      const form = new FormData()
      // When the collector received each read, by its clock: the server measures the camera's clock by it.
      const events: Array<Detection> = reads.map((r) => ({
        ...r.detection,
        received_at: r.detection.received_at ?? new Date(r.receivedAt).toISOString()
      }))
      form.append("batch", new Blob([JSON.stringify({ events })], { type: "application/json" }))
      let left = 0
      for (const read of reads) {
        for (const image of read.images) {
          const bytes = await Fs.readFile(image.path)
          // The central server takes JPEG, PNG and WebP only and refuses a read with any other
          // photo (a camera's GIF): the read goes without it rather than not at all.
          const type = sniffImageType(bytes)
          if (type === undefined) {
            left++
            continue
          }
          form.append(`${image.kind}:${read.detection.detection_id}`, new Blob([bytes], { type }), image.kind)
        }
      }
      return { form, left }
    },
    catch: (cause) => new CentralUnavailable({ message: `cannot read buffered photos: ${describe(cause)}` })
  }).pipe(
    Effect.tap(({ left }) =>
      left === 0 ? Effect.void : Effect.logWarning("photos that are not JPEG, PNG or WebP left out of an upload").pipe(
        Effect.annotateLogs({ photos: left })
      )),
    Effect.map(({ form }) => form)
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
    const api = yield* HttpApiClient.make(AlprApi, { baseUrl }).pipe(
      Effect.provideService(HttpClient.HttpClient, http)
    )
    const url = new URL("/api/v1/detections/batch", baseUrl).toString()

    const upload = (reads: ReadonlyArray<PendingRead>, timeout: Duration.DurationInput = "60 seconds") =>
      Effect.gen(function*() {
        const form = yield* batchForm(reads)
        const response = yield* http.execute(HttpClientRequest.post(url).pipe(HttpClientRequest.bodyFormData(form))).pipe(
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

    return {
      upload,
      heartbeat: (beat: Heartbeat) => mapFailure(api.collectors.heartbeat({ payload: beat })),
      ack: (id: string, ack: CommandAck) => mapFailure(api.collectors.ack({ path: { id }, payload: ack })),
      rotateKey: mapFailure(api.collectors.rotateKey()),
      claim: (payload: Parameters<typeof api.collectors.claim>[0]["payload"]) => api.collectors.claim({ payload })
    } as const
  })

export type Central = Effect.Effect.Success<ReturnType<typeof makeCentral>>
