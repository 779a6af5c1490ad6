import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { CameraContext, Parsed, Vendor } from "../adapters/CameraRead"
import { VENDORS } from "../adapters/CameraRead"
import { parsePayload } from "../adapters/parse"
import { ReadBuffer } from "../buffer/Buffer"
import { type CameraConfig, cameraContext } from "../config/EdgeConfig"

/**
 * The HTTP listener cameras push to. `POST /cameras/:id` for a configured camera (its vendor and
 * identity come from the configuration); `POST /vendors/:vendor` for a camera that is not configured
 * (its identity comes from the payload). The camera gets its 200 only once the reads are durable in
 * the buffer; a malformed payload gets 400 with the reason (and is counted and logged); a full buffer
 * gets 503 with Retry-After, so the camera keeps the read and tries again.
 */

export const MAX_PUSH_BYTES = 32 * 1024 * 1024

/** What the collector knows of each camera's recent activity, for heartbeats and the status page. */
export class CameraActivity {
  private readonly seen = new Map<string, { at: number; reads: number; errors: number; lastError?: string }>()

  record(cameraId: string, outcome: { reads: number } | { error: string }) {
    const entry = this.seen.get(cameraId) ?? { at: 0, reads: 0, errors: 0 }
    entry.at = Date.now()
    if ("error" in outcome) {
      entry.errors++
      entry.lastError = outcome.error
    } else {
      entry.reads += outcome.reads
    }
    this.seen.set(cameraId, entry)
  }

  /** Cameras heard from in the last `withinMs`. */
  online(withinMs = 15 * 60_000) {
    const since = Date.now() - withinMs
    return [...this.seen.values()].filter((e) => e.at >= since).length
  }

  snapshot() {
    return Object.fromEntries([...this.seen].map(([id, e]) => [id, { ...e, last_seen: new Date(e.at).toISOString() }]))
  }
}

export const listenerRoutes = (cameras: ReadonlyArray<CameraConfig>, activity: CameraActivity) =>
  Effect.gen(function*() {
    const buffer = yield* ReadBuffer
    const byId = new Map(cameras.map((c) => [c.id, c]))

    const accept = (source: string, vendor: Vendor, ctx: CameraContext) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const declared = Number(request.headers["content-length"] ?? 0)
        if (declared > MAX_PUSH_BYTES) {
          return yield* HttpServerResponse.json({ error: `payload over ${MAX_PUSH_BYTES} bytes` }, { status: 413 })
        }
        const body = new Uint8Array(yield* request.arrayBuffer)
        const parsed = parsePayload(vendor, body, request.headers["content-type"], ctx)
        if (Either.isLeft(parsed)) {
          activity.record(source, { error: parsed.left.message })
          yield* buffer.count("malformed_payloads")
          yield* Effect.logWarning("camera payload refused").pipe(
            Effect.annotateLogs({ source, vendor, reason: parsed.left.message, bytes: body.byteLength })
          )
          return yield* HttpServerResponse.json({ error: parsed.left.message }, { status: 400 })
        }
        const { reads, noPlate }: Parsed = parsed.right
        if (noPlate > 0) {
          yield* buffer.count("no_plate_reads", noPlate)
          yield* Effect.logInfo("vehicle seen with no plate read").pipe(Effect.annotateLogs({ source, count: noPlate }))
        }
        const stored = yield* buffer.add(reads)
        activity.record(source, { reads: stored.added })
        return yield* HttpServerResponse.json({ stored: stored.added, duplicates: stored.duplicates, no_plate: noPlate })
      }).pipe(
        Effect.catchTags({
          BufferFull: (e) =>
            Effect.zipRight(
              Effect.logError(e.message),
              HttpServerResponse.json({ error: e.message }, { status: 503, headers: { "retry-after": "60" } })
            ),
          BufferError: (e) =>
            Effect.zipRight(
              Effect.logError(e.message),
              HttpServerResponse.json({ error: "the collector could not store the read" }, { status: 503, headers: { "retry-after": "10" } })
            ),
          RequestError: (e) => HttpServerResponse.json({ error: `cannot read the request: ${e.message}` }, { status: 400 })
        })
      )

    return HttpRouter.empty.pipe(
      HttpRouter.post(
        "/cameras/:id",
        Effect.gen(function*() {
          const { id } = yield* HttpRouter.params
          const camera = id === undefined ? undefined : byId.get(id)
          if (camera === undefined) {
            return yield* HttpServerResponse.json({ error: `no camera ${id} is configured on this collector` }, { status: 404 })
          }
          return yield* accept(camera.id, camera.vendor, cameraContext(camera))
        })
      ),
      HttpRouter.post(
        "/vendors/:vendor",
        Effect.gen(function*() {
          const { vendor } = yield* HttpRouter.params
          if (!(VENDORS as ReadonlyArray<string>).includes(vendor ?? "")) {
            return yield* HttpServerResponse.json({ error: `unknown vendor ${vendor}; one of ${VENDORS.join(", ")}` }, { status: 404 })
          }
          return yield* accept(`${vendor}:unconfigured`, vendor as Vendor, {})
        })
      )
    )
  })
