import type * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import { type BufferedRead, type BufferError, type BufferFull, ReadBuffer } from "../buffer/Buffer"
import { type CameraConfig, cameraContext } from "../config/EdgeConfig"
import type { CameraActivity } from "../listener/Listener"
import type { SecretStore } from "../provisioning/Secrets"
import type { Parsed, PayloadError } from "./CameraRead"
import type { FrigateMqttOptions } from "./pull/frigateMqtt"
import type { HikvisionPullOptions } from "./pull/hikvisionPull"
import type { ProtectPollOptions } from "./pull/unifiPoll"

/**
 * The cameras the collector goes to, rather than waits for: `mode: pull` (a Hikvision camera's event
 * stream), `mode: poll` (a UniFi Protect console) and `mode: mqtt` (a Frigate NVR's messages on its
 * MQTT broker). One fiber per camera connects, feeds the reads into the buffer, and on any failure
 * waits and connects again, with the state of each connection kept for the status page. Push cameras
 * are the listener's.
 */

// ---------------------------------------------------------------------------------------------
// What a source tells its supervisor

/** What a camera source reports while a session runs. */
export interface SourceHooks<E> {
  /** the camera answered: the session is live */
  readonly connected: Effect.Effect<void>
  /**
   * Stores what one payload held, durably, before the source goes on. A failure (the buffer is
   * full) ends the session: the camera still has the reads, and the next session fetches them.
   */
  readonly store: (parsed: Parsed) => Effect.Effect<void, E>
  /** a payload the camera sent that could not be read; the session goes on */
  readonly refused: (error: PayloadError) => Effect.Effect<void>
  /**
   * The camera's newest read already buffered, with its reads captured up to `withinMs` before it:
   * where a source started afresh resumes, and what it must not take again.
   */
  readonly buffered: (withinMs: number) => Effect.Effect<ReadonlyArray<BufferedRead>, E>
}

/** A camera whose configuration or secrets do not allow a connection. */
export class SourceConfigError extends Schema.TaggedError<SourceConfigError>()("SourceConfigError", {
  message: Schema.String
}) {}

// ---------------------------------------------------------------------------------------------
// Connection states

export type ConnectionState = "connecting" | "connected" | "error"

/** Where one camera's connection stands, as the status page shows it. */
export interface CameraConnection {
  readonly mode: "pull" | "poll" | "mqtt"
  readonly state: ConnectionState
  /** when it entered this state (ISO 8601) */
  readonly since: string
  /** why it is not connected: the last failure */
  readonly message?: string
  /** when the next attempt is due (ISO 8601) */
  readonly retry_at?: string
}

/** The connection state of every pulled or polled camera, updated by `runCameraSources`. */
export class CameraStates {
  private readonly states = new Map<string, CameraConnection>()

  /** Sets a camera's state; `since` stays as it was while the state does not change (a camera failing again and again). */
  set(
    cameraId: string,
    mode: CameraConnection["mode"],
    state: ConnectionState,
    now: number,
    details: { readonly message?: string; readonly retryAt?: number } = {}
  ) {
    const previous = this.states.get(cameraId)
    this.states.set(cameraId, {
      mode,
      state,
      since: previous?.state === state ? previous.since : new Date(now).toISOString(),
      ...(details.message === undefined ? {} : { message: details.message }),
      ...(details.retryAt === undefined ? {} : { retry_at: new Date(details.retryAt).toISOString() })
    })
  }

  get(cameraId: string): CameraConnection | undefined {
    return this.states.get(cameraId)
  }

  snapshot(): Readonly<Record<string, CameraConnection>> {
    return Object.fromEntries(this.states)
  }
}

// ---------------------------------------------------------------------------------------------
// Reconnecting

export interface ReconnectPolicy {
  /** the first wait (1 s) */
  readonly baseMs: number
  /** the longest wait (60 s) */
  readonly maxMs: number
  /** a connection that lasted this long was healthy: the next failure waits `baseMs` again (60 s) */
  readonly healthyMs: number
}

export const DEFAULT_RECONNECT: ReconnectPolicy = { baseMs: 1_000, maxMs: 60_000, healthyMs: 60_000 }

/**
 * The wait before attempt `attempt` (0 first): `baseMs` doubling up to `maxMs`, scaled by a factor
 * in [0.5, 1) from `random` in [0, 1), so that cameras that dropped together (a switch restarting) do
 * not all come back in the same instant, and no wait is shorter than half its step.
 *
 * Written out rather than as a Schedule: the reset depends on how long the last connection lasted,
 * which `Schedule.resetAfter` cannot tell from the time spent waiting between attempts.
 */
export const reconnectDelay = (attempt: number, random: number, policy: ReconnectPolicy = DEFAULT_RECONNECT): number =>
  Math.round(Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30)) * (0.5 + random / 2))

/** The attempt number whose step is `maxMs`: credentials that were refused are retried no sooner. */
const attemptsToCap = (policy: ReconnectPolicy) => Math.ceil(Math.log2(Math.max(1, policy.maxMs / policy.baseMs)))

// ---------------------------------------------------------------------------------------------
// Running the sources

export interface SourcesOptions {
  readonly reconnect?: ReconnectPolicy
  readonly hikvision?: HikvisionPullOptions
  readonly unifi?: ProtectPollOptions
  readonly frigate?: FrigateMqttOptions
}


/**
 * The secret holding a camera's password (Hikvision, a Protect console's local account) or API key
 * (Protect); for Frigate, the password of its MQTT broker's account.
 */
export const cameraSecretKey = (cameraId: string) => `camera_password:${cameraId}`

/**
 * Cameras and consoles on a site's network present self-signed certificates, and the configuration
 * has nowhere to pin one: TLS to them is encrypted but does not authenticate the camera. The keep-alive
 * agent lets a Hikvision backfill share the connection its challenge came on.
 */
export const cameraHttpClientLayer = NodeHttpClient.layerWithoutAgent.pipe(
  Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive: true, rejectUnauthorized: false }))
)

type SessionError = { readonly _tag: string; readonly message: string; readonly reason?: string }

type Session = Effect.Effect<never, SessionError, HttpClient.HttpClient>

/** Failures that waiting does not cure (wrong password, wrong URL, a full buffer) show as `error`; the rest as `connecting`. */
const isPersistent = (error: SessionError) =>
  error._tag === "SourceConfigError" || error._tag === "BufferFull" || error._tag === "BufferError" ||
  error.reason === "config" || error.reason === "unauthorized" || error.reason === "protocol"

/** The failure that ended a session; a defect (a bug) is told by its message only, the whole cause goes to the log. */
const failureOf = (cause: Cause.Cause<SessionError>): SessionError =>
  Option.getOrElse(Cause.failureOption(cause), () => {
    const defect = Cause.squash(cause)
    return { _tag: "Defect", message: `internal error: ${defect instanceof Error ? defect.message : String(defect)}` }
  })

/**
 * Runs every pulled and polled camera of `cameras` until interrupted: a fiber each, feeding the
 * buffer, recording reads and unreadable payloads in `activity` (connection failures are kept in
 * `states`, not in `activity`, whose "heard from" must mean the camera said something), and
 * keeping `states` current.
 */
export const runCameraSources = (
  cameras: ReadonlyArray<CameraConfig>,
  secrets: SecretStore,
  activity: CameraActivity,
  states: CameraStates = new CameraStates(),
  options: SourcesOptions = {}
): Effect.Effect<never, never, ReadBuffer> =>
  Effect.gen(function*() {
    const buffer = yield* ReadBuffer
    const policy = options.reconnect ?? DEFAULT_RECONNECT

    const hooksFor = (camera: CameraConfig, mode: CameraConnection["mode"]): SourceHooks<BufferFull | BufferError> => ({
      connected: Effect.gen(function*() {
        states.set(camera.id, mode, "connected", yield* Clock.currentTimeMillis)
        yield* Effect.logInfo("camera connected")
      }),
      store: ({ reads, noPlate }) =>
        Effect.gen(function*() {
          if (noPlate > 0) {
            yield* buffer.count("no_plate_reads", noPlate)
            yield* Effect.logInfo("vehicle seen with no plate read").pipe(Effect.annotateLogs({ count: noPlate }))
          }
          const stored = yield* buffer.add(reads)
          activity.record(camera.id, { reads: stored.added })
        }),
      refused: (error) =>
        Effect.gen(function*() {
          activity.record(camera.id, { error: error.message })
          yield* buffer.count("malformed_payloads")
          yield* Effect.logWarning("camera payload refused").pipe(Effect.annotateLogs({ reason: error.message }))
        }),
      buffered: (withinMs) => buffer.newestOf(camera.id, withinMs)
    })

    const secret = (camera: CameraConfig) =>
      secrets.read.pipe(
        Effect.mapError((e) => new SourceConfigError({ message: e.message })),
        Effect.flatMap((stored) => {
          const value = stored[cameraSecretKey(camera.id)]
          return value === undefined || value === ""
            ? Effect.fail(new SourceConfigError({ message: `no password or API key stored for this camera (secret ${cameraSecretKey(camera.id)})` }))
            : Effect.succeed(value)
        })
      )

    /**
     * One session of a camera, reading its secret afresh so that a changed password applies at the
     * next attempt. Each kind of source is loaded when a camera of its kind is configured, not before:
     * Protect's brings a WebSocket client, Frigate's an MQTT client, which a collector of push cameras
     * would otherwise carry in memory for nothing (the production bundle puts each in a file of its own).
     */
    const sessionOf = (camera: CameraConfig) =>
      Effect.gen(function*(): Effect.fn.Return<Session | undefined> {
        const ctx = cameraContext(camera)
        const url = camera.url
        if (url === undefined) return undefined
        if (camera.mode === "pull" && camera.vendor === "hikvision") {
          const { makeHikvisionPull } = yield* Effect.promise(() => import("./pull/hikvisionPull"))
          const puller = makeHikvisionPull(url, ctx, {
            ...options.hikvision,
            ...(camera.channel === undefined ? {} : { channel: camera.channel }),
            ...(camera.backfill_max_hours === undefined ? {} : { maxLookbackMs: camera.backfill_max_hours * 3_600_000 })
          })
          const hooks = hooksFor(camera, "pull")
          return Effect.flatMap(secret(camera), (password) =>
            puller.session({ username: camera.username ?? "admin", password }, hooks))
        }
        if (camera.mode === "poll" && camera.vendor === "unifi") {
          const { makeProtectPoll } = yield* Effect.promise(() => import("./pull/unifiPoll"))
          const poller = makeProtectPoll(url, ctx, options.unifi)
          const hooks = hooksFor(camera, "poll")
          // A username means a local account of the console; without one the secret is an API key.
          const username = camera.username
          return Effect.flatMap(secret(camera), (secretValue) =>
            poller.session(username === undefined ? { apiKey: secretValue } : { username, password: secretValue }, hooks))
        }
        if (camera.mode === "mqtt" && camera.vendor === "frigate" && camera.mqtt_url !== undefined) {
          const { makeFrigateMqtt } = yield* Effect.promise(() => import("./pull/frigateMqtt"))
          const source = makeFrigateMqtt(
            { url, mqttUrl: camera.mqtt_url, topicPrefix: camera.topic_prefix, frigateCamera: camera.frigate_camera },
            ctx,
            { ...options.frigate, ...(camera.hold_seconds === undefined ? {} : { holdMs: camera.hold_seconds * 1000 }) }
          )
          const hooks = hooksFor(camera, "mqtt")
          // A broker without accounts takes no password; with a username, the password is the camera's secret.
          const username = camera.username
          return username === undefined
            ? source.session({}, hooks)
            : Effect.flatMap(secret(camera), (password) => source.session({ username, password }, hooks))
        }
        return undefined
      })

    /** Runs sessions of one camera one after another, waiting between them. */
    const supervise = (camera: CameraConfig, mode: CameraConnection["mode"], session: Session) =>
      Effect.gen(function*() {
        states.set(camera.id, mode, "connecting", yield* Clock.currentTimeMillis)
        let attempt = 0
        for (;;) {
          const started = yield* Clock.currentTimeMillis
          const cause = yield* session.pipe(Effect.sandbox, Effect.flip)
          const error = failureOf(cause)
          if (error._tag === "Defect") yield* Effect.logError("camera source failed", cause)
          const now = yield* Clock.currentTimeMillis
          const wasConnected = states.get(camera.id)?.state === "connected"
          if (wasConnected && now - started >= policy.healthyMs) attempt = 0
          const persistent = isPersistent(error)
          if (error.reason === "unauthorized") attempt = Math.max(attempt, attemptsToCap(policy))
          const delay = reconnectDelay(attempt++, yield* Random.next, policy)
          states.set(camera.id, mode, persistent ? "error" : "connecting", now, { message: error.message, retryAt: now + delay })
          yield* Effect.logWarning(wasConnected ? "camera disconnected" : "camera connection failed").pipe(
            Effect.annotateLogs({ reason: error.message })
          )
          yield* Effect.logInfo(`reconnecting in ${delay} ms`).pipe(Effect.annotateLogs({ retry_in_ms: delay }))
          yield* Effect.sleep(delay)
        }
      }).pipe(Effect.annotateLogs({ camera: camera.id, vendor: camera.vendor, mode }))

    const run = (camera: CameraConfig) =>
      Effect.gen(function*() {
        const mode = camera.mode === "pull" ? "pull" as const : camera.mode === "mqtt" ? "mqtt" as const : "poll" as const
        const session = yield* sessionOf(camera)
        if (session !== undefined) return yield* supervise(camera, mode, session)
        const message = camera.url === undefined
          ? `a ${mode} camera needs a url`
          : mode === "mqtt" && camera.mqtt_url === undefined
          ? "an mqtt camera needs an mqtt_url (the broker Frigate publishes to)"
          : `mode ${mode} is not supported for ${camera.vendor} cameras (pull: hikvision; poll: unifi; mqtt: frigate)`
        states.set(camera.id, mode, "error", yield* Clock.currentTimeMillis, { message })
        yield* Effect.logError("camera not started").pipe(Effect.annotateLogs({ camera: camera.id, reason: message }))
        return yield* Effect.never
      })

    const sources = cameras.filter((c) => c.mode === "pull" || c.mode === "poll" || c.mode === "mqtt")
    yield* Effect.forEach(sources, run, { concurrency: "unbounded", discard: true })
    return yield* Effect.never
  }).pipe(Effect.provide(cameraHttpClientLayer))
