import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { CameraContext, CameraImage, CameraRead } from "../CameraRead"
import { normalizeMac, sniffImageType } from "../reads"
import type { SourceHooks } from "../Sources"
import { parseUnifi } from "../unifi"

/**
 * Reads a UniFi Protect LPR camera by polling its console with an API key (`X-API-KEY`), every
 * `intervalMs` (10 s): the events since the last poll, those with a `licensePlate` smart detection,
 * each one's smartDetectTrack (the plate reads, parsed by `unifi.ts`, so a read has the same id
 * `unifi:<event id>` as the Alarm Manager webhook of the same event) and its thumbnail as the scene
 * photo.
 *
 * Endpoints, relative to `apiBase` (default `/proxy/protect/integration/v1`):
 *   GET cameras                              the console's cameras (id, mac)
 *   GET events?start=<ms>&end=<ms>           events in a window, a JSON array (or `{data: [...]}`)
 *   GET events/<id>/smartDetectTrack         the tracked frames of an event, with licensePlate
 *   GET events/<id>/thumbnail                a JPEG
 * `cameras` is documented in Protect's public Integration API. The other three are ASSUMPTIONS: the
 * Integration API's published schema (Protect 7.x) has no REST event list, event thumbnail or
 * smartDetectTrack (it streams events over the `subscribe/events` WebSocket instead), while Protect's
 * private API at `/proxy/protect/api` has exactly these paths but authenticates with a UniFi OS
 * login session rather than an API key. Setting `apiBase` to another prefix is one option change;
 * a console that answers 404 here shows that in the camera's status.
 *
 * Which events: those of the configured camera when its MAC is configured (matched to the Protect
 * camera id through `cameras`), else every LPR event of the console, attributed to the configured
 * camera. An event still in progress (no `end`) is left for a later poll until `settleMs` after its
 * start, so the track is complete; the window asked for reaches `overlapMs` before the last poll and
 * events already taken are remembered, so a late-listed event is not missed nor taken twice.
 */

export class ProtectPollError extends Schema.TaggedError<ProtectPollError>()("ProtectPollError", {
  reason: Schema.Literal("config", "unreachable", "unauthorized", "protocol"),
  message: Schema.String
}) {}

export interface ProtectPollOptions {
  readonly intervalMs?: number
  /** path prefix of the API on the console */
  readonly apiBase?: string
  /** how far back the first poll after start-up looks */
  readonly startWindowMs?: number
  /** how far before the last poll each poll looks again (also absorbs that much clock difference with the console) */
  readonly overlapMs?: number
  /** how long an event without an end is waited for */
  readonly settleMs?: number
  readonly requestTimeoutMs?: number
}

const DEFAULTS = {
  intervalMs: 10_000,
  apiBase: "/proxy/protect/integration/v1",
  startWindowMs: 10 * 60_000,
  overlapMs: 60_000,
  settleMs: 30_000,
  requestTimeoutMs: 15_000
} satisfies Required<ProtectPollOptions>

const ProtectEvent = Schema.Struct({
  id: Schema.String,
  start: Schema.Number,
  end: Schema.optional(Schema.NullOr(Schema.Number)),
  /** the camera, as the Integration API names it */
  device: Schema.optional(Schema.String),
  /** the camera, as the private API names it */
  camera: Schema.optional(Schema.String),
  smartDetectTypes: Schema.optional(Schema.Array(Schema.String))
})
type ProtectEvent = typeof ProtectEvent.Type

const ProtectCamera = Schema.Struct({ id: Schema.String, mac: Schema.String })

/** The items of a list answer that have the expected shape; others (other device kinds, other event kinds) are not ours. */
const itemsOf = <A, I>(schema: Schema.Schema<A, I>, body: unknown): ReadonlyArray<A> => {
  const list = Array.isArray(body)
    ? body
    : typeof body === "object" && body !== null && Array.isArray((body as { data?: unknown }).data)
    ? (body as { data: Array<unknown> }).data
    : undefined
  if (list === undefined) return []
  return list.flatMap((item) => Option.toArray(Schema.decodeUnknownOption(schema)(item)))
}

const isPlateEvent = (event: ProtectEvent) => event.smartDetectTypes?.includes("licensePlate") === true

const reasonOf = (cause: unknown) => cause instanceof Error ? cause.message : String(cause)

const fromHttpError = (error: HttpClientError.HttpClientError, what: string): ProtectPollError =>
  error._tag === "RequestError" && error.reason === "InvalidUrl"
    ? new ProtectPollError({ reason: "config", message: `the console URL is not valid (${error.request.url})` })
    : error._tag === "RequestError"
    ? new ProtectPollError({ reason: "unreachable", message: `cannot reach the console for ${what}: ${reasonOf(error.cause)}` })
    : new ProtectPollError({ reason: "protocol", message: `cannot read the console's answer to ${what}: ${reasonOf(error.cause ?? error.message)}` })

const statusError = (status: number, what: string) =>
  status === 401 || status === 403
    ? new ProtectPollError({ reason: "unauthorized", message: `the console refused the API key for ${what} (HTTP ${status})` })
    : new ProtectPollError({
      reason: "protocol",
      message: status === 404
        ? `the console has no ${what} endpoint (HTTP 404); see the endpoint assumptions of the Protect poller`
        : `the console answered ${what} with HTTP ${status}`
    })

/** Remembered across sessions: where the last poll reached, and the events already taken. */
interface PollMemory {
  cursor: number | undefined
  readonly taken: Map<string, number>
}

export interface ProtectPoll {
  /**
   * One run against the console: checks the key with the camera list, then polls until a request
   * fails, which ends the session with that error.
   */
  readonly session: <E>(apiKey: string, hooks: SourceHooks<E>) => Effect.Effect<never, ProtectPollError | E, HttpClient.HttpClient>
}

/** A poller for the camera described by `ctx` on the Protect console at `url` (e.g. `https://192.168.1.1`). */
export const makeProtectPoll = (url: string, ctx: CameraContext, options: ProtectPollOptions = {}): ProtectPoll => {
  const o = { ...DEFAULTS, ...options }
  const base = `${url.replace(/\/+$/, "")}/${o.apiBase.replace(/^\/+|\/+$/g, "")}`
  const memory: PollMemory = { cursor: undefined, taken: new Map() }

  const session = <E>(apiKey: string, hooks: SourceHooks<E>) =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient

      const get = (path: string, what: string) =>
        client.execute(HttpClientRequest.get(`${base}/${path}`).pipe(HttpClientRequest.setHeader("x-api-key", apiKey))).pipe(
          Effect.mapError((e) => fromHttpError(e, what)),
          Effect.timeoutFail({
            duration: o.requestTimeoutMs,
            onTimeout: () => new ProtectPollError({ reason: "unreachable", message: `the console did not answer ${what} within ${o.requestTimeoutMs} ms` })
          })
        )

      const ok = (response: HttpClientResponse.HttpClientResponse, what: string) =>
        response.status >= 200 && response.status < 300
          ? Effect.succeed(response)
          : Effect.zipRight(Effect.ignore(response.text), Effect.fail(statusError(response.status, what)))

      const getJson = (path: string, what: string) =>
        get(path, what).pipe(
          Effect.flatMap((r) => ok(r, what)),
          Effect.flatMap((r) => Effect.mapError(r.json, (e) => fromHttpError(e, what)))
        )

      const getBytes = (path: string, what: string) =>
        get(path, what).pipe(
          Effect.flatMap((r) => ok(r, what)),
          Effect.flatMap((r) => Effect.mapError(r.arrayBuffer, (e) => fromHttpError(e, what))),
          Effect.map((buffer) => new Uint8Array(buffer))
        )

      /** The Protect id of the configured camera, found by its MAC; undefined when no MAC is configured. */
      const resolveCamera = Effect.gen(function*() {
        const cameras = itemsOf(ProtectCamera, yield* getJson("cameras", "the camera list"))
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

      /** The scene photo of an event; an event without one (404, or bytes that are no image) is still a read. */
      const thumbnail = (id: string) =>
        getBytes(`events/${encodeURIComponent(id)}/thumbnail`, "an event thumbnail").pipe(
          Effect.map((bytes): CameraImage | undefined => {
            const contentType = sniffImageType(bytes)
            return contentType === undefined ? undefined : { kind: "scene", contentType, bytes }
          }),
          Effect.catchIf((e) => e.reason === "protocol", (e) =>
            Effect.as(Effect.logDebug("event without a usable thumbnail").pipe(Effect.annotateLogs({ event: id, reason: e.message })), undefined))
        )

      /** The reads of one LPR event; none when its track could not be read (which is reported to `hooks`). */
      const eventReads = (event: ProtectEvent) =>
        Effect.gen(function*() {
          const id = encodeURIComponent(event.id)
          const track = yield* getBytes(`events/${id}/smartDetectTrack`, "an event's smartDetectTrack")
          const parsed = parseUnifi(track, ctx)
          if (Either.isLeft(parsed)) {
            yield* hooks.refused(parsed.left)
            return { reads: [], noPlate: 0 }
          }
          const scene = parsed.right.reads.length === 0 ? undefined : yield* thumbnail(event.id)
          const reads = parsed.right.reads.map((read): CameraRead =>
            scene === undefined ? read : { ...read, images: [...read.images.filter((i) => i.kind !== "scene"), scene] }
          )
          return { reads, noPlate: parsed.right.noPlate }
        })

      const poll = (device: string | undefined) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const from = (memory.cursor ?? now - o.startWindowMs) - o.overlapMs
          const listed = itemsOf(ProtectEvent, yield* getJson(`events?start=${Math.floor(from)}&end=${now}`, "the event list"))
          const candidates = listed
            .filter((e) => isPlateEvent(e) && !memory.taken.has(e.id) && (device === undefined || (e.device ?? e.camera) === device))
            .sort((a, b) => a.start - b.start)
          let reachedTo = now
          const reads: Array<CameraRead> = []
          let noPlate = 0
          const taken: Array<ProtectEvent> = []
          for (const event of candidates) {
            const inProgress = (event.end === undefined || event.end === null) && now - event.start < o.settleMs
            if (inProgress) {
              reachedTo = Math.min(reachedTo, event.start)
              continue
            }
            const got = yield* eventReads(event)
            reads.push(...got.reads)
            noPlate += got.noPlate
            taken.push(event)
          }
          yield* hooks.store({ reads, noPlate })
          for (const event of taken) memory.taken.set(event.id, event.start)
          memory.cursor = reachedTo
          for (const [id, start] of memory.taken) if (start < from - 3_600_000) memory.taken.delete(id)
        }).pipe(Effect.withSpan("ProtectPoll.poll"))

      const device = yield* resolveCamera
      yield* hooks.connected
      return yield* poll(device).pipe(Effect.zipRight(Effect.sleep(o.intervalMs)), Effect.forever)
    })

  return { session }
}
