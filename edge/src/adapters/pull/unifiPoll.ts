import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { normalizePlate } from "@chaverim/domain/Plate"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import * as Zlib from "node:zlib"
import WebSocket from "ws"
import { type CameraContext, type CameraImage, type CameraRead, type Parsed, PayloadError } from "../CameraRead"
import { normalizeMac, sniffImageType } from "../reads"
import { boundedBody } from "./photoBody"
import type { SourceHooks } from "../Sources"
import { isPlateEvent, ProtectEvent, protectEventHasPlate, protectEventReads } from "../unifi"

/**
 * Reads the UniFi Protect LPR cameras of a console (`mode: poll`) through Protect's own API at
 * `/proxy/protect/api`, the one the Protect web app and the `uiprotect` library use (the public
 * Integration API does not give the plate text of a detection):
 *
 * - authentication: a local account (`POST /api/auth/login` with username and password; the answer's
 *   `TOKEN` cookie and `x-csrf-token` go with every later request; a console that rotates the token
 *   says so in `x-updated-csrf-token`; a 401 logs in again, once), or an API key (`X-API-KEY`) when
 *   the camera has no username configured. API keys are made for the Integration API; consoles on
 *   UniFi OS 5.1 have been reported to refuse them here (pete-builds/mcp-unifi#149), so a refused
 *   key's message points to the account;
 * - `GET bootstrap`: the cameras (to find the configured one by its MAC) and `lastUpdateId`;
 * - the updates websocket `/proxy/protect/ws/updates?lastUpdateId=<id>`: binary packets of an
 *   action frame and a data frame (see `decodeUpdatePacket`). An event of model `event` is added,
 *   then updated several times while it lasts; it is taken once, when it has ended, because Protect
 *   generates its thumbnail only then (uiprotect: "thumbnails do not generate until after the event
 *   ends"). An ended LPR event whose updates did not carry the plate is fetched whole (`GET events/<id>`);
 * - backfill, at the start of every session (start-up and each reconnect): `GET events?start&end&types
 *   =smartDetectZone&types=smartDetectLine&smartDetectTypes=licensePlate`, from `overlapMs` before the
 *   newest event taken (at start-up: the newest read the buffer holds for the camera), else
 *   `startWindowMs` back, never more than `maxLookbackMs` back. Events taken in this process are
 *   skipped by id, those buffered by an earlier run by plate and time; the buffer's detection_id
 *   (`unifi:<event id>`) dedupe is the last guard;
 * - the scene photo: `GET events/<id>/thumbnail` (a JPEG); an event without one is still a read.
 *
 * Which events: those of the configured camera when its MAC is configured, else every LPR event of
 * the console, attributed to the configured camera. Not covered: an event whose end update is lost
 * and that ends before the next reconnect's backfill window is only taken by that backfill.
 */

export class ProtectPollError extends Schema.TaggedError<ProtectPollError>()("ProtectPollError", {
  reason: Schema.Literal("config", "unreachable", "unauthorized", "protocol", "closed"),
  message: Schema.String
}) {}

export interface ProtectPollOptions {
  /** how far back the first backfill after start-up looks when the buffer holds no read of the camera */
  readonly startWindowMs?: number
  /** how far back a backfill looks at most */
  readonly maxLookbackMs?: number
  /** how far before the newest event taken a backfill starts (events listed by start, clocks that differ) */
  readonly overlapMs?: number
  readonly requestTimeoutMs?: number
  /** a websocket that answers no ping within this is taken as dead */
  readonly pingMs?: number
}

/** A local account of the console, or an API key. */
export type ProtectCredentials =
  | { readonly username: string; readonly password: string }
  | { readonly apiKey: string }

const DEFAULTS = {
  startWindowMs: 10 * 60_000,
  maxLookbackMs: 24 * 3_600_000,
  overlapMs: 60_000,
  requestTimeoutMs: 15_000,
  pingMs: 30_000
} satisfies Required<ProtectPollOptions>

const API = "/proxy/protect/api"
/** events followed at once, at most; a console has far fewer in progress */
const MAX_TRACKED = 1_000
const UPDATES = "/proxy/protect/ws/updates"
const VENDOR = "unifi"

// ---------------------------------------------------------------------------------------------
// Update packets

/** What one packet of the updates websocket says: an action on a model, and the changed fields. */
export interface UpdatePacket {
  readonly action: { readonly action: string; readonly newUpdateId?: string | undefined; readonly modelKey: string; readonly id: string }
  readonly data: unknown
}

const HEADER_BYTES = 8
/** A frame's payload once inflated, at most (an event or a bootstrap change is a few KiB). */
const MAX_INFLATED_BYTES = 8 * 1024 * 1024
const FORMAT_JSON = 1
const FORMAT_UTF8 = 2
const FORMAT_BUFFER = 3

const ActionFrame = Schema.Struct({
  action: Schema.String,
  newUpdateId: Schema.optional(Schema.String),
  modelKey: Schema.String,
  id: Schema.String
})

const refusal = (message: string) => new PayloadError({ vendor: VENDOR, message: `update packet: ${message}` })

/**
 * One frame at `offset`: an 8-byte header (packet type, payload format 1 JSON / 2 UTF-8 / 3 raw,
 * deflated flag, a reserved byte, payload size as a big-endian int32; uiprotect's `WSPacketFrameHeader`),
 * then the payload, zlib-deflated when the flag says so.
 */
const readFrame = (bytes: Uint8Array, offset: number, which: string): Either.Either<{ value: unknown; next: number }, PayloadError> => {
  if (bytes.length < offset + HEADER_BYTES) return Either.left(refusal(`the ${which} frame's header is cut short`))
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const format = view.getInt8(offset + 1)
  const deflated = view.getInt8(offset + 2) !== 0
  const size = view.getInt32(offset + 4)
  const start = offset + HEADER_BYTES
  if (size < 0 || bytes.length < start + size) return Either.left(refusal(`the ${which} frame announces ${size} bytes, ${bytes.length - start} came`))
  let payload: Uint8Array = bytes.subarray(start, start + size)
  if (deflated) {
    try {
      // bounded: a packet that inflates past this is refused, not held in memory
      payload = Zlib.inflateSync(payload, { maxOutputLength: MAX_INFLATED_BYTES })
    } catch {
      return Either.left(refusal(`the ${which} frame is not valid deflate data, or inflates past ${MAX_INFLATED_BYTES} bytes`))
    }
  }
  if (format === FORMAT_BUFFER) return Either.right({ value: payload, next: start + size })
  const text = new TextDecoder().decode(payload)
  if (format === FORMAT_UTF8) return Either.right({ value: text, next: start + size })
  if (format !== FORMAT_JSON) return Either.left(refusal(`the ${which} frame has an unknown payload format ${format}`))
  try {
    return Either.right({ value: JSON.parse(text) as unknown, next: start + size })
  } catch {
    return Either.left(refusal(`the ${which} frame is not JSON`))
  }
}

/** A packet of the updates websocket: the action frame, then the data frame. */
export const decodeUpdatePacket = (bytes: Uint8Array): Either.Either<UpdatePacket, PayloadError> =>
  Either.gen(function*() {
    const action = yield* readFrame(bytes, 0, "action")
    const decoded = Schema.decodeUnknownEither(ActionFrame)(action.value)
    if (Either.isLeft(decoded)) return yield* Either.left(refusal("the action frame has no action, modelKey and id"))
    const data = yield* readFrame(bytes, action.next, "data")
    return { action: decoded.right, data: data.value }
  })

/** Encodes a packet as the console sends it (both frames JSON, deflated); for fakes of the console. */
export const encodeUpdatePacket = (packet: UpdatePacket): Uint8Array => {
  const frame = (type: number, value: unknown) => {
    const payload = Zlib.deflateSync(Buffer.from(JSON.stringify(value)))
    const header = Buffer.alloc(HEADER_BYTES)
    header.writeInt8(type, 0)
    header.writeInt8(FORMAT_JSON, 1)
    header.writeInt8(1, 2)
    header.writeInt32BE(payload.length, 4)
    return Buffer.concat([header, payload])
  }
  return Buffer.concat([frame(1, packet.action), frame(2, packet.data)])
}

// ---------------------------------------------------------------------------------------------
// HTTP

const reasonOf = (cause: unknown) => cause instanceof Error ? cause.message : String(cause)

const fromHttpError = (error: HttpClientError.HttpClientError, what: string): ProtectPollError =>
  error._tag === "RequestError" && error.reason === "InvalidUrl"
    ? new ProtectPollError({ reason: "config", message: `the console URL is not valid (${error.request.url})` })
    : error._tag === "RequestError"
    ? new ProtectPollError({ reason: "unreachable", message: `cannot reach the console for ${what}: ${reasonOf(error.cause)}` })
    : new ProtectPollError({ reason: "protocol", message: `cannot read the console's answer to ${what}: ${reasonOf(error.cause ?? error.message)}` })

const Bootstrap = Schema.Struct({
  lastUpdateId: Schema.String,
  cameras: Schema.Array(Schema.Struct({ id: Schema.String, mac: Schema.String }))
})

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null

/** An update's changed fields laid over what was known of the event; `metadata` is merged one level deep. */
const merge = (known: Record<string, unknown> | undefined, id: string, changed: Record<string, unknown>) => {
  const metadata = isObject(known?.["metadata"]) && isObject(changed["metadata"])
    ? { metadata: { ...known["metadata"], ...changed["metadata"] } }
    : {}
  return { ...known, ...changed, ...metadata, id }
}

const isEnded = (event: Record<string, unknown>) => typeof event["end"] === "number"

const thumbnailId = (event: ProtectEvent) => (event.thumbnail ?? event.id).replace(/^e-/, "")

const plateKey = (plate: string, ms: number) => `${normalizePlate(plate)}@${ms}`

/** Remembered across sessions: the events taken (id to time) and the newest time taken. */
interface PollMemory {
  newest: number | undefined
  readonly taken: Map<string, number>
  /** plate and time of reads an earlier run buffered, to skip them when a backfill lists them again */
  readonly buffered: Set<string>
  resumed: boolean
}

export interface ProtectPoll {
  /**
   * One session with the console: login, bootstrap, the updates websocket and a backfill, then the
   * stream until it breaks, which ends the session with that error.
   */
  readonly session: <E>(credentials: ProtectCredentials, hooks: SourceHooks<E>) => Effect.Effect<never, ProtectPollError | E, HttpClient.HttpClient>
}

/** A reader for the camera described by `ctx` on the Protect console at `url` (e.g. `https://192.168.1.1`). */
export const makeProtectPoll = (url: string, ctx: CameraContext, options: ProtectPollOptions = {}): ProtectPoll => {
  const o = { ...DEFAULTS, ...options }
  const base = url.replace(/\/+$/, "")
  const memory: PollMemory = { newest: undefined, taken: new Map(), buffered: new Set(), resumed: false }

  const session = <E>(credentials: ProtectCredentials, hooks: SourceHooks<E>) =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const auth: { cookie?: string; csrf?: string } = {}
      const refusedWhat = "apiKey" in credentials ? "the API key" : `user "${credentials.username}"`
      const keyHint = "apiKey" in credentials ? "; a console may take API keys only on its Integration API: configure a local account (username)" : ""

      const send = (request: HttpClientRequest.HttpClientRequest, what: string) =>
        client.execute(request).pipe(
          Effect.mapError((e) => fromHttpError(e, what)),
          Effect.timeoutFail({
            duration: o.requestTimeoutMs,
            onTimeout: () => new ProtectPollError({ reason: "unreachable", message: `the console did not answer ${what} within ${o.requestTimeoutMs} ms` })
          })
        )

      const discard = (response: HttpClientResponse.HttpClientResponse) => response.text.pipe(Effect.timeout("2 seconds"), Effect.ignore)

      const login = Effect.gen(function*() {
        if ("apiKey" in credentials) return
        const response = yield* send(
          HttpClientRequest.post(`${base}/api/auth/login`).pipe(
            HttpClientRequest.bodyUnsafeJson({ username: credentials.username, password: credentials.password, rememberMe: false })
          ),
          "the login"
        )
        yield* discard(response)
        if (response.status === 401 || response.status === 403) {
          return yield* new ProtectPollError({ reason: "unauthorized", message: `the console refused ${refusedWhat}: wrong username or password (HTTP ${response.status})` })
        }
        if (response.status !== 200) {
          return yield* new ProtectPollError({ reason: "protocol", message: `the console answered the login with HTTP ${response.status}` })
        }
        // Consoles before UniFi OS 3 named the cookie UOS_TOKEN (uiprotect reads both).
        const token = response.cookies.cookies["TOKEN"] ?? response.cookies.cookies["UOS_TOKEN"]
        if (token === undefined) {
          return yield* new ProtectPollError({ reason: "protocol", message: "the console's login answer set no TOKEN cookie" })
        }
        auth.cookie = `${token.name}=${token.valueEncoded}`
        auth.csrf = response.headers["x-csrf-token"]
      }).pipe(Effect.withSpan("ProtectPoll.login"))

      const headers = (): Record<string, string> =>
        "apiKey" in credentials
          ? { "x-api-key": credentials.apiKey }
          : { ...(auth.cookie === undefined ? {} : { cookie: auth.cookie }), ...(auth.csrf === undefined ? {} : { "x-csrf-token": auth.csrf }) }

      /** A request to the Protect API; a 401 in a login session logs in again and tries once more. */
      const request = (path: string, what: string) => {
        const attempt = Effect.suspend(() => send(HttpClientRequest.get(`${base}${API}/${path}`).pipe(HttpClientRequest.setHeaders(headers())), what)).pipe(
          Effect.tap((response) =>
            Effect.sync(() => {
              const rotated = response.headers["x-updated-csrf-token"]
              if (rotated !== undefined) auth.csrf = rotated
            })
          )
        )
        const refused = (response: HttpClientResponse.HttpClientResponse) =>
          Effect.zipRight(
            discard(response),
            Effect.fail(new ProtectPollError({ reason: "unauthorized", message: `the console refused ${refusedWhat} for ${what} (HTTP ${response.status})${keyHint}` }))
          )
        return Effect.gen(function*() {
          const first = yield* attempt
          if (first.status !== 401) return first
          if ("apiKey" in credentials) return yield* refused(first)
          yield* discard(first)
          yield* Effect.logInfo("Protect session expired, logging in again")
          yield* login
          const second = yield* attempt
          return second.status === 401 ? yield* refused(second) : second
        })
      }

      const ok = (response: HttpClientResponse.HttpClientResponse, what: string) =>
        response.status >= 200 && response.status < 300
          ? Effect.succeed(response)
          : Effect.zipRight(
            discard(response),
            Effect.fail(new ProtectPollError({
              reason: response.status === 403 ? "unauthorized" : "protocol",
              message: `the console answered ${what} with HTTP ${response.status}`
            }))
          )

      const getJson = (path: string, what: string) =>
        request(path, what).pipe(
          Effect.flatMap((r) => ok(r, what)),
          Effect.flatMap((r) => Effect.mapError(r.json, (e) => fromHttpError(e, what)))
        )

      /** The scene photo of an event; one that cannot be had (404, not an image) costs the photo, not the read. */
      const thumbnail = (event: ProtectEvent) =>
        request(`events/${encodeURIComponent(thumbnailId(event))}/thumbnail`, "an event thumbnail").pipe(
          Effect.flatMap((r) => ok(r, "an event thumbnail")),
          Effect.flatMap((r) =>
            Effect.mapError(boundedBody(r), (e) =>
              e._tag === "TooLarge"
                ? new ProtectPollError({ reason: "protocol", message: `an event thumbnail: ${e.message}` })
                : fromHttpError(e, "an event thumbnail"))),
          Effect.map((bytes): CameraImage | undefined => {
            const contentType = sniffImageType(bytes)
            return contentType === undefined ? undefined : { kind: "scene", contentType, bytes }
          }),
          Effect.catchIf((e) => e.reason === "protocol", (e) =>
            Effect.as(Effect.logDebug("event without a usable thumbnail").pipe(Effect.annotateLogs({ event: event.id, reason: e.message })), undefined))
        )

      /** Stores the read of an ended event once; an event of another camera is passed over. */
      const take = (event: ProtectEvent, device: string | undefined) =>
        Effect.gen(function*() {
          if (memory.taken.has(event.id) || (device !== undefined && event.camera !== device)) return
          const parsed = protectEventReads(event, ctx)
          if (Either.isLeft(parsed)) return yield* hooks.refused(parsed.left)
          const fresh = parsed.right.reads.filter((read) => !memory.buffered.has(plateKey(read.detection.plate.text, Date.parse(read.detection.timestamp))))
          const scene = fresh.length === 0 ? undefined : yield* thumbnail(event)
          const reads = fresh.map((read): CameraRead => scene === undefined ? read : { ...read, images: [...read.images, scene] })
          const stored: Parsed = { reads, noPlate: parsed.right.noPlate }
          yield* hooks.store(stored)
          const ms = event.end ?? event.start
          memory.taken.set(event.id, ms)
          if (memory.newest === undefined || ms > memory.newest) memory.newest = ms
        })

      /** Where this session's backfill starts: after the newest event taken, else the newest buffered read. */
      const backfillFrom = Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        if (!memory.resumed) {
          const buffered = yield* hooks.buffered(o.overlapMs).pipe(
            Effect.catchAll((error) =>
              Effect.as(Effect.logWarning("cannot read the newest buffered read of the camera", Cause.fail(error)), [])
            )
          )
          for (const read of buffered) {
            const ms = Date.parse(read.timestamp)
            if (Number.isNaN(ms)) continue
            memory.buffered.add(plateKey(read.plate, ms))
            if (memory.newest === undefined || ms > memory.newest) memory.newest = ms
          }
          memory.resumed = true
        }
        const from = memory.newest === undefined ? now - o.startWindowMs : memory.newest - o.overlapMs
        return { from: Math.max(Math.floor(from), now - o.maxLookbackMs), now }
      })

      /** Events of the console between `from` and now; ended ones are taken, ongoing ones are left to the stream. */
      const backfill = (device: string | undefined, tracked: Map<string, Record<string, unknown>>) =>
        Effect.gen(function*() {
          const { from, now } = yield* backfillFrom
          const query = `start=${from}&end=${now}&types=smartDetectZone&types=smartDetectLine&smartDetectTypes=licensePlate` +
            "&orderDirection=ASC&withoutDescriptions=true"
          const listed = yield* getJson(`events?${query}`, "the event list")
          if (!Array.isArray(listed)) {
            return yield* new ProtectPollError({ reason: "protocol", message: "the console's event list is not a JSON array" })
          }
          for (const item of listed) {
            const decoded = Schema.decodeUnknownEither(ProtectEvent)(item)
            if (Either.isLeft(decoded)) {
              yield* hooks.refused(new PayloadError({ vendor: VENDOR, message: "an event of the event list has no id or start" }))
              continue
            }
            const event = decoded.right
            if (!isPlateEvent(event) || memory.taken.has(event.id)) continue
            if (event.end === undefined || event.end === null) tracked.set(event.id, item as Record<string, unknown>)
            else yield* take(event, device)
          }
          for (const [id, ms] of memory.taken) if (ms < from - o.maxLookbackMs) memory.taken.delete(id)
        }).pipe(Effect.withSpan("ProtectPoll.backfill"))

      /** An event's whole object, for an ended event whose updates did not say it all. */
      const fetchEvent = (id: string) =>
        getJson(`events/${encodeURIComponent(id)}`, "an event").pipe(
          Effect.map((body) => isObject(body) ? body : undefined),
          Effect.catchIf((e) => e.reason === "protocol", () => Effect.succeed(undefined))
        )

      /**
       * One update of the stream. Every event is followed (its updates laid over what is known of it)
       * until it ends; then an LPR event is taken once. An event that ends without having said all
       * (its updates did not carry the plate, or it began before this session) is fetched whole.
       */
      const onPacket = (device: string | undefined, tracked: Map<string, Record<string, unknown>>) => (bytes: Uint8Array) =>
        Effect.gen(function*() {
          const packet = decodeUpdatePacket(bytes)
          if (Either.isLeft(packet)) return yield* hooks.refused(packet.left)
          const { action, data } = packet.right
          if (action.modelKey !== "event" || (action.action !== "add" && action.action !== "update")) return
          if (!isObject(data)) return yield* hooks.refused(refusal(`the data of event ${action.id} is not an object`))
          if (memory.taken.has(action.id)) return
          const event: Record<string, unknown> = merge(action.action === "add" ? undefined : tracked.get(action.id), action.id, data)
          if (!isEnded(event)) {
            tracked.delete(action.id)
            tracked.set(action.id, event)
            // Events whose end never came are forgotten oldest first.
            if (tracked.size > MAX_TRACKED) tracked.delete(tracked.keys().next().value!)
            return
          }
          tracked.delete(action.id)
          const types = event["smartDetectTypes"]
          if (Array.isArray(types) && !types.includes("licensePlate")) return
          let decoded = Schema.decodeUnknownEither(ProtectEvent)(event)
          if (Either.isLeft(decoded) || !protectEventHasPlate(decoded.right)) {
            const whole = yield* fetchEvent(action.id)
            if (whole !== undefined) decoded = Schema.decodeUnknownEither(ProtectEvent)(whole)
            else if (Either.isLeft(decoded)) {
              return yield* Effect.logDebug("an event that began before this session ended, and the console does not give it")
                .pipe(Effect.annotateLogs({ event: action.id }))
            }
          }
          if (Either.isLeft(decoded)) {
            return yield* hooks.refused(new PayloadError({ vendor: VENDOR, message: `event ${action.id} has no id or start time` }))
          }
          if (isPlateEvent(decoded.right)) yield* take(decoded.right, device)
        })

      /** The configured camera's Protect id, found by its MAC; undefined when no MAC is configured. */
      const resolveCamera = (cameras: typeof Bootstrap.Type["cameras"]) =>
        Effect.gen(function*() {
          const mac = normalizeMac(ctx.mac)
          if (mac === undefined) {
            if (cameras.length > 1) {
              yield* Effect.logWarning("no MAC configured for this Protect camera: the plate reads of every camera of the console are taken as its")
                .pipe(Effect.annotateLogs({ console_cameras: cameras.length }))
            }
            return undefined
          }
          const camera = cameras.find((c) => normalizeMac(c.mac) === mac)
          if (camera === undefined) {
            return yield* new ProtectPollError({ reason: "config", message: `the Protect console has no camera with MAC ${mac}` })
          }
          return camera.id
        })

      /**
       * The updates websocket, open, its packets queued (so that none is lost while the backfill
       * runs); a close or error is queued last. A refused handshake (401) in a login session logs
       * in again, once.
       */
      const openUpdates = (lastUpdateId: string) =>
        Effect.gen(function*() {
          const queue = yield* Queue.unbounded<Either.Either<Uint8Array, ProtectPollError>>()
          const wsUrl = `${base.replace(/^http/, "ws")}${UPDATES}?lastUpdateId=${encodeURIComponent(lastUpdateId)}`
          const connect = Effect.acquireRelease(
            Effect.async<WebSocket, ProtectPollError>((resume) => {
              // Consoles present self-signed certificates (see cameraHttpClientLayer).
              const socket = new WebSocket(wsUrl, { headers: headers(), rejectUnauthorized: false, handshakeTimeout: o.requestTimeoutMs })
              socket.binaryType = "nodebuffer"
              socket.once("unexpected-response", (_req, res) => {
                res.resume()
                resume(Effect.fail(new ProtectPollError({
                  reason: res.statusCode === 401 || res.statusCode === 403 ? "unauthorized" : "protocol",
                  message: `the console refused the updates websocket (HTTP ${res.statusCode})`
                })))
              })
              socket.once("open", () => {
                let alive = true
                const timer = setInterval(() => {
                  if (!alive) return socket.terminate()
                  alive = false
                  socket.ping()
                }, o.pingMs)
                socket.on("pong", () => {
                  alive = true
                })
                socket.on("message", (message: Buffer) => Queue.unsafeOffer(queue, Either.right(new Uint8Array(message))))
                socket.once("close", (code) => {
                  clearInterval(timer)
                  Queue.unsafeOffer(queue, Either.left(new ProtectPollError({ reason: "closed", message: `the console closed the updates websocket (code ${code})` })))
                })
                resume(Effect.succeed(socket))
              })
              socket.once("error", (error) =>
                resume(Effect.fail(new ProtectPollError({ reason: "unreachable", message: `cannot open the updates websocket: ${error.message}` }))))
              return Effect.sync(() => socket.terminate())
            }),
            (socket) => Effect.sync(() => socket.terminate())
          )
          yield* connect.pipe(
            Effect.catchIf(
              (e) => e.reason === "unauthorized" && !("apiKey" in credentials),
              () => Effect.zipRight(login, connect)
            ),
            Effect.mapError((e) =>
              e.reason === "unauthorized" ? new ProtectPollError({ reason: "unauthorized", message: `${e.message}: ${refusedWhat} is not allowed to read Protect` }) : e
            )
          )
          return queue
        })

      return yield* Effect.scoped(Effect.gen(function*() {
        yield* login
        const bootstrap = yield* getJson("bootstrap", "the bootstrap").pipe(
          Effect.flatMap((body) =>
            Option.match(Schema.decodeUnknownOption(Bootstrap)(body), {
              onNone: () => Effect.fail(new ProtectPollError({ reason: "protocol", message: "the console's bootstrap has no lastUpdateId or cameras" })),
              onSome: Effect.succeed
            })
          )
        )
        const device = yield* resolveCamera(bootstrap.cameras)
        const updates = yield* openUpdates(bootstrap.lastUpdateId)
        yield* hooks.connected
        const tracked = new Map<string, Record<string, unknown>>()
        yield* backfill(device, tracked)
        const handle = onPacket(device, tracked)
        return yield* Queue.take(updates).pipe(
          Effect.flatMap(Either.match({ onLeft: Effect.fail, onRight: handle })),
          Effect.forever
        )
      }))
    })

  return { session }
}
