import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { NodeHttpServerRequest } from "@effect/platform-node"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { alprDatabaseAnswer } from "@chaverim/domain/AlprDatabase"
import type { CameraContext, Parsed, Vendor } from "../adapters/CameraRead"
import { VENDORS } from "../adapters/CameraRead"
import { parsePayload } from "../adapters/parse"
import { ReadBuffer } from "../buffer/Buffer"
import { type CameraConfig, cameraContext } from "../config/EdgeConfig"
import { makePushGuard } from "./PushAuth"

/**
 * The HTTP listener cameras push to. A push must carry a camera's push secret (see PushAuth.ts):
 * `POST /push/<secret>`, or `POST /cameras/<id>` with Basic or Digest; its reads are that camera's,
 * with the vendor and identity of its configuration. One that carries none gets 401, is counted
 * (`unauthorized_pushes`) and logged without its secret, and nothing of it is read or buffered.
 * `POST /vendors/<vendor>` takes any camera's reads without credentials, and is off unless
 * `listen.unauthenticated_vendor_routes` is set. `POST /api/plate-reads` is ALPR-Database's ingest,
 * as Blue Iris posts it: the body is read as vendor `blueiris` whatever the camera's configured vendor,
 * the camera's push secret is the `x-api-key` (found as `/push/<secret>` finds it, refused the same
 * way), and the answer is in ALPR-Database's shape (`alprDatabaseAnswer`).
 *
 * The camera gets its 200 only once the reads are durable in the buffer; a malformed payload gets
 * 400 with the reason (and is counted and logged); a body over MAX_PUSH_BYTES, declared or chunked,
 * gets 413; a full buffer gets 503 with Retry-After, so the camera keeps the read and tries again.
 */

/**
 * The largest push taken. The largest real ones (a Hikvision push with two pictures, a Genetec read
 * with two base64 photos) are a few megabytes; a push is held whole in memory while it is parsed.
 */
export const MAX_PUSH_BYTES = 16 * 1024 * 1024

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

/** A push body over MAX_PUSH_BYTES, found while reading it. */
class PushTooLarge extends Schema.TaggedError<PushTooLarge>()("PushTooLarge", {}) {}

/** The camera went away before its body was read to the end. */
class PushAborted extends Schema.TaggedError<PushAborted>()("PushAborted", { message: Schema.String }) {}

/** Time a camera is given to finish sending a body that was refused as too large, before it is cut off. */
const DRAIN_MS = 10_000

/**
 * The body of a push, at most `maxBytes`, counted as it arrives, so a chunked body (which declares
 * no length) is held to the limit too. Past the limit the chunks held are let go and the rest is read
 * and dropped while the 413 goes out, so the camera can read it (closing at once would reset the
 * connection under its unread answer); a sender still going after DRAIN_MS is cut off.
 */
const readBody = (request: HttpServerRequest.HttpServerRequest, maxBytes: number) =>
  Effect.async<Uint8Array, PushTooLarge | PushAborted>((resume) => {
    const source = NodeHttpServerRequest.toIncomingMessage(request)
    let chunks: Array<Buffer> = []
    let bytes = 0
    let over = false
    let settled = false
    let drain: NodeJS.Timeout | undefined
    const settle = (outcome: Effect.Effect<Uint8Array, PushTooLarge | PushAborted>) => {
      if (settled) return
      settled = true
      resume(outcome)
    }
    const onData = (chunk: Buffer) => {
      if (over) return
      bytes += chunk.byteLength
      if (bytes <= maxBytes) {
        chunks.push(chunk)
        return
      }
      over = true
      chunks = []
      drain = setTimeout(() => source.socket?.destroy(), DRAIN_MS)
      drain.unref()
      settle(Effect.fail(new PushTooLarge()))
    }
    const onEnd = () => {
      clearTimeout(drain)
      // One copy into a buffer of its own (not a slice of Node's shared pool), as the adapters expect.
      const body = new Uint8Array(bytes)
      let offset = 0
      for (const chunk of chunks) {
        body.set(chunk, offset)
        offset += chunk.byteLength
      }
      settle(Effect.succeed(body))
    }
    const onClose = () => {
      clearTimeout(drain)
      settle(Effect.fail(new PushAborted({ message: "the connection closed before the body ended" })))
    }
    const onError = (error: Error) => settle(Effect.fail(new PushAborted({ message: error.message })))
    source.on("data", onData).once("end", onEnd).once("close", onClose).once("error", onError)
    return Effect.sync(() => {
      clearTimeout(drain)
      source.off("data", onData).off("end", onEnd).off("close", onClose).off("error", onError)
    })
  })

export interface ListenerOptions {
  /** each push camera's secret, by camera id (`ensurePushSecrets`) */
  readonly pushSecrets: ReadonlyMap<string, string>
  /** serve `POST /vendors/<vendor>` (listen.unauthenticated_vendor_routes) */
  readonly vendorRoutes: boolean
}

/** How often refused pushes are added to the buffer's counters and logged: one write for a flood, not one each. */
const REFUSALS_EVERY = "1 second"

export const listenerRoutes = (cameras: ReadonlyArray<CameraConfig>, activity: CameraActivity, options: ListenerOptions) =>
  Effect.gen(function*() {
    const buffer = yield* ReadBuffer
    const guard = makePushGuard(cameras, options.pushSecrets)

    let refusals = 0
    let lastRefusal: { readonly reason: string; readonly from: string } | undefined
    yield* Effect.gen(function*() {
      if (refusals === 0 || lastRefusal === undefined) return
      const count = refusals
      const last = lastRefusal
      refusals = 0
      yield* buffer.count("unauthorized_pushes", count)
      yield* Effect.logWarning("camera pushes refused: no camera credential").pipe(
        Effect.annotateLogs({ count, last_reason: last.reason, last_from: last.from })
      )
    }).pipe(Effect.zipRight(Effect.sleep(REFUSALS_EVERY)), Effect.forever, Effect.forkScoped)

    /** A push that carries no camera's credential: 401 (403 on the /vendors routes when off), counted, and nothing read. */
    const unauthorized = (reason: string, challenges: ReadonlyArray<string> = [], status = 401) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        refusals++
        lastRefusal = { reason, from: Option.getOrElse(request.remoteAddress, () => "unknown") }
        // Several challenges are several headers, which the response's header record cannot hold.
        if (challenges.length > 0) NodeHttpServerRequest.toServerResponse(request).setHeader("www-authenticate", [...challenges])
        return yield* HttpServerResponse.json(
          {
            error: status === 403
              ? "the /vendors routes are off on this collector: push to the URL `edge camera-push` shows for the camera"
              : "this push carries no camera's credentials: push to the URL `edge camera-push` shows for the camera"
          },
          { status }
        )
      })

    const pushRequest = Effect.map(HttpServerRequest.HttpServerRequest, (request) => ({
      method: request.method,
      url: request.url,
      authorization: request.headers["authorization"],
      remoteAddress: Option.getOrUndefined(request.remoteAddress)
    }))

    /** The answer to a push whose reads were buffered; ALPR-Database's route answers in its own shape. */
    type Answer = (outcome: { readonly added: number; readonly duplicates: number; readonly noPlate: number }) => Effect.Effect<
      HttpServerResponse.HttpServerResponse,
      never,
      never
    >

    const collectorAnswer: Answer = ({ added, duplicates, noPlate }) =>
      HttpServerResponse.json({ stored: added, duplicates, no_plate: noPlate }).pipe(Effect.orDie)

    const plateReadsAnswer: Answer = ({ added, duplicates }) => {
      if (added + duplicates === 0) {
        return HttpServerResponse.json({ error: "No valid plates found in request" }, { status: 400 }).pipe(Effect.orDie)
      }
      const { body, status } = alprDatabaseAnswer(added, duplicates)
      return HttpServerResponse.json(body, { status }).pipe(Effect.orDie)
    }

    const accept = (source: string, vendor: Vendor, ctx: CameraContext, answer: Answer = collectorAnswer) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const declared = Number(request.headers["content-length"] ?? 0)
        if (declared > MAX_PUSH_BYTES) return yield* new PushTooLarge()
        const body = yield* readBody(request, MAX_PUSH_BYTES)
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
        return yield* answer({ added: stored.added, duplicates: stored.duplicates, noPlate })
      }).pipe(
        Effect.catchTags({
          PushTooLarge: () =>
            Effect.zipRight(
              Effect.logWarning("camera push over the size limit refused").pipe(Effect.annotateLogs({ source, limit: MAX_PUSH_BYTES })),
              HttpServerResponse.json({ error: `payload over ${MAX_PUSH_BYTES} bytes` }, { status: 413 })
            ),
          PushAborted: (e) => HttpServerResponse.json({ error: `cannot read the request: ${e.message}` }, { status: 400 }),
          BufferFull: (e) =>
            Effect.zipRight(
              Effect.logError(e.message),
              HttpServerResponse.json({ error: e.message }, { status: 503, headers: { "retry-after": "60" } })
            ),
          BufferError: (e) =>
            Effect.zipRight(
              Effect.logError(e.message),
              HttpServerResponse.json({ error: "the collector could not store the read" }, { status: 503, headers: { "retry-after": "10" } })
            )
        })
      )

    const acceptCamera = (camera: CameraConfig) => accept(camera.id, camera.vendor, cameraContext(camera))

    const bySecret = Effect.gen(function*() {
      const { secret } = yield* HttpRouter.params
      const verdict = guard.bySecret(secret ?? "", yield* pushRequest)
      return yield* verdict._tag === "Accepted" ? acceptCamera(verdict.camera) : unauthorized(verdict.reason)
    })

    return HttpRouter.empty.pipe(
      HttpRouter.post("/push/:secret", bySecret),
      // Firmware that appends its own path to the URL it was given (an event name, a channel).
      HttpRouter.post("/push/:secret/*", bySecret),
      HttpRouter.post(
        "/cameras/:id",
        Effect.gen(function*() {
          const { id } = yield* HttpRouter.params
          const now = yield* Clock.currentTimeMillis
          const verdict = guard.byAuthorization(id ?? "", yield* pushRequest, now)
          return yield* verdict._tag === "Accepted"
            ? acceptCamera(verdict.camera)
            : unauthorized(verdict.reason, guard.challenges(now, verdict.stale))
        })
      ),
      HttpRouter.post(
        "/api/plate-reads",
        Effect.gen(function*() {
          const request = yield* HttpServerRequest.HttpServerRequest
          const key = request.headers["x-api-key"]?.trim() ?? ""
          if (key === "") return yield* unauthorized("a push to /api/plate-reads without x-api-key")
          const verdict = guard.bySecret(key, yield* pushRequest)
          return yield* verdict._tag === "Accepted"
            ? accept(verdict.camera.id, "blueiris", cameraContext(verdict.camera), plateReadsAnswer)
            : unauthorized(verdict.reason)
        })
      ),
      HttpRouter.post(
        "/vendors/:vendor",
        Effect.gen(function*() {
          if (!options.vendorRoutes) return yield* unauthorized("a push to /vendors, which is off", [], 403)
          const { vendor } = yield* HttpRouter.params
          if (!(VENDORS as ReadonlyArray<string>).includes(vendor ?? "")) {
            return yield* HttpServerResponse.json({ error: `unknown vendor ${vendor}; one of ${VENDORS.join(", ")}` }, { status: 404 })
          }
          return yield* accept(`${vendor}:unconfigured`, vendor as Vendor, {})
        })
      )
    )
  })
