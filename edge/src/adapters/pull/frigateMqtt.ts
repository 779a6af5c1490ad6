import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import { connect, type IClientOptions, type MqttClient } from "mqtt"
import { randomBytes } from "node:crypto"
import type { CameraContext, CameraImage, CameraRead } from "../CameraRead"
import { readFrigateMessage } from "../frigate"
import { sniffImageType } from "../reads"
import { boundedBody, MAX_PHOTO_BYTES } from "./photoBody"
import type { SourceHooks } from "../Sources"

/**
 * Reads a Frigate NVR through its MQTT broker: Frigate reads the plates itself and publishes every
 * change of a tracked object on `<prefix>/events` and each plate it reads on
 * `<prefix>/tracked_object_update` (`type: lpr`); both are parsed by `frigate.ts`.
 *
 * One tracked object is told many times while it lasts, its plate read improving, so the best read
 * (highest score) of each Frigate event id is held until the object is gone and stored once: at its
 * `end` message, or when no message of it has come for `holdMs` (30 s), so that a lost `end` loses
 * nothing. Before it is stored, its snapshot (`GET <url>/api/events/<id>/snapshot.jpg`, without
 * Frigate's drawn box and timestamp, uncropped: the frame as seen) is fetched as the scene photo;
 * a snapshot that cannot be had (snapshots off in Frigate, 404, a timeout) costs the photo, not the
 * read. Event ids already stored are remembered (and the buffer refuses a detection_id it has), so
 * an update after the end is not a second read.
 *
 * The subscription is QoS 1 on a clean session: what Frigate publishes while the collector is away
 * is not kept for it. A reconnect is the supervisor's (`Sources.ts`), as for every source; reads
 * held for objects still in progress live in this source, not the session, and survive it.
 */

export class FrigateMqttError extends Schema.TaggedError<FrigateMqttError>()("FrigateMqttError", {
  reason: Schema.Literal("config", "unreachable", "unauthorized", "protocol", "closed"),
  message: Schema.String
}) {}

export interface FrigateMqttOptions {
  /** how long an object's best read waits for another message of it before it is stored */
  readonly holdMs?: number
  readonly snapshotTimeoutMs?: number
  readonly connectTimeoutMs?: number
}

const DEFAULTS = {
  holdMs: 30_000,
  snapshotTimeoutMs: 10_000,
  connectTimeoutMs: 15_000
} satisfies Required<FrigateMqttOptions>

/** Where Frigate is and what of it to take. */
export interface FrigateSettings {
  /** Frigate's HTTP API base (e.g. `http://192.168.1.20:5000`), for snapshots */
  readonly url: string
  /** the broker Frigate publishes to (e.g. `mqtt://192.168.1.20:1883`) */
  readonly mqttUrl: string
  /** Frigate's `mqtt.topic_prefix` (`frigate`) */
  readonly topicPrefix?: string | undefined
  /** only this Frigate camera's objects; all when absent */
  readonly frigateCamera?: string | undefined
}

export interface BrokerCredentials {
  readonly username?: string | undefined
  readonly password?: string | undefined
}

const RECENT_LIMIT = 5_000
/**
 * A snapshot larger than this is left out (the read is kept): a batch to the central server is at
 * most 5 MiB (MAX_BATCH_BYTES), and a frame of a 4K camera as JPEG is well under it.
 */
export const MAX_SNAPSHOT_BYTES = MAX_PHOTO_BYTES

/** A tracked object's best read so far, and when it was last heard of. */
interface Held {
  read: CameraRead
  lastAt: number
}

type Input =
  | { readonly _tag: "message"; readonly payload: Uint8Array }
  | { readonly _tag: "lost"; readonly error: FrigateMqttError }

const reasonOf = (cause: unknown) => cause instanceof Error ? cause.message : String(cause)

/**
 * A failed connection as the supervisor weighs it. MQTT 3.1.1 CONNACK codes 4 and 5 (and MQTT 5's
 * 134, 135) refuse the credentials; a socket error is an unreachable broker.
 */
const connectError = (error: unknown, mqttUrl: string): FrigateMqttError => {
  const code = (error as { code?: unknown }).code
  if (code === 4 || code === 5 || code === 134 || code === 135) {
    return new FrigateMqttError({ reason: "unauthorized", message: `the MQTT broker refused the credentials (${reasonOf(error)})` })
  }
  return new FrigateMqttError({ reason: "unreachable", message: `cannot connect to the MQTT broker at ${mqttUrl}: ${reasonOf(error)}` })
}

export interface FrigateMqtt {
  /**
   * One connection to the broker: subscribes, then holds and stores reads until the connection is
   * lost, which ends the session with that error.
   */
  readonly session: <E>(
    credentials: BrokerCredentials,
    hooks: SourceHooks<E>
  ) => Effect.Effect<never, FrigateMqttError | E, HttpClient.HttpClient>
}

export const makeFrigateMqtt = (settings: FrigateSettings, ctx: CameraContext, options: FrigateMqttOptions = {}): FrigateMqtt => {
  const o = { ...DEFAULTS, ...options }
  const base = settings.url.replace(/\/+$/, "")
  const prefix = (settings.topicPrefix ?? "frigate").replace(/\/+$/, "")
  const topics = [`${prefix}/events`, `${prefix}/tracked_object_update`]
  const held = new Map<string, Held>()
  /** event ids stored, oldest first */
  const stored = new Map<string, true>()

  const remember = (eventId: string) => {
    stored.set(eventId, true)
    if (stored.size > RECENT_LIMIT) stored.delete(stored.keys().next().value!)
  }

  /** The object's snapshot as its scene photo; none when Frigate has none to give. */
  const snapshot = (eventId: string): Effect.Effect<CameraImage | undefined, never, HttpClient.HttpClient> =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const url = `${base}/api/events/${encodeURIComponent(eventId)}/snapshot.jpg?bbox=0&timestamp=0&crop=0`
      const response = yield* client.execute(HttpClientRequest.get(url))
      if (response.status !== 200) {
        yield* Effect.ignore(response.text)
        return yield* Effect.fail(`Frigate answered HTTP ${response.status}`)
      }
      const bytes = yield* Effect.mapError(boundedBody(response, MAX_SNAPSHOT_BYTES), (e) =>
        e._tag === "TooLarge" ? `the snapshot is larger than ${MAX_SNAPSHOT_BYTES} bytes` : e.message)
      const contentType = sniffImageType(bytes)
      if (contentType === undefined) return yield* Effect.fail("Frigate's answer is not an image")
      return { kind: "scene" as const, contentType, bytes }
    }).pipe(
      Effect.timeoutFail({ duration: o.snapshotTimeoutMs, onTimeout: () => `no answer within ${o.snapshotTimeoutMs} ms` }),
      Effect.catchAll((error) =>
        Effect.as(
          Effect.logWarning("Frigate snapshot not fetched: the read is kept without it").pipe(
            Effect.annotateLogs({ event: eventId, reason: typeof error === "string" ? error : reasonOf(error) })
          ),
          undefined
        )
      )
    )

  /** Stores an object's best read with its snapshot; it stays held if the store fails, for the next session. */
  const finish = <E>(eventId: string, hooks: SourceHooks<E>) =>
    Effect.gen(function*() {
      const entry = held.get(eventId)
      if (entry === undefined) return
      const scene = yield* snapshot(eventId)
      const read: CameraRead = scene === undefined ? entry.read : { ...entry.read, images: [...entry.read.images, scene] }
      yield* hooks.store({ reads: [read], noPlate: 0 })
      held.delete(eventId)
      remember(eventId)
    }).pipe(Effect.withSpan("FrigateMqtt.store", { attributes: { event: eventId } }))

  const onMessage = <E>(payload: Uint8Array, now: number, hooks: SourceHooks<E>) =>
    Effect.gen(function*() {
      const parsed = readFrigateMessage(payload, ctx)
      if (Either.isLeft(parsed)) return yield* hooks.refused(parsed.left)
      const message = parsed.right
      if (settings.frigateCamera !== undefined && message.camera !== settings.frigateCamera) return
      if (stored.has(message.eventId)) return
      const entry = held.get(message.eventId)
      if (entry !== undefined) entry.lastAt = now
      const read = message.read
      if (read !== undefined) {
        if (entry === undefined) held.set(message.eventId, { read, lastAt: now })
        else if (read.detection.plate.confidence > entry.read.detection.plate.confidence) entry.read = read
      }
      if (message.kind === "end") yield* finish(message.eventId, hooks)
    })

  const expire = <E>(now: number, hooks: SourceHooks<E>) =>
    Effect.forEach(
      [...held].filter(([, entry]) => now - entry.lastAt >= o.holdMs).map(([id]) => id),
      (id) => finish(id, hooks),
      { discard: true }
    )

  /** A connected client whose messages and loss go to `inbox`; ended with the scope. */
  const open = (credentials: BrokerCredentials, inbox: Queue.Queue<Input>) =>
    Effect.acquireRelease(
      Effect.async<MqttClient, FrigateMqttError>((resume) => {
        const clientOptions: IClientOptions = {
          clientId: `chaverim-edge-${randomBytes(6).toString("hex")}`,
          clean: true,
          // the supervisor reconnects, with its backoff and the state it shows
          reconnectPeriod: 0,
          connectTimeout: o.connectTimeoutMs,
          // as for cameras (Sources.ts): a broker on the site's network has no certificate to pin
          rejectUnauthorized: false,
          ...(credentials.username === undefined ? {} : { username: credentials.username }),
          ...(credentials.password === undefined ? {} : { password: credentials.password })
        }
        let client: MqttClient
        try {
          client = connect(settings.mqttUrl, clientOptions)
        } catch (error) {
          resume(Effect.fail(new FrigateMqttError({ reason: "config", message: `mqtt_url ${settings.mqttUrl} is not valid: ${reasonOf(error)}` })))
          return
        }
        let connected = false
        let settled = false
        // a refused connection is told by "error" and again by "close": the first one answers
        const settle = (outcome: Effect.Effect<MqttClient, FrigateMqttError>) => {
          if (settled) return
          settled = true
          resume(outcome)
        }
        const lost = (error: FrigateMqttError) => Queue.unsafeOffer(inbox, { _tag: "lost", error })
        // Both topics' messages are told apart by their shape (frigate.ts), not by the topic.
        client.on("message", (_topic, payload) => Queue.unsafeOffer(inbox, { _tag: "message", payload }))
        client.on("connect", () => {
          connected = true
          settle(Effect.succeed(client))
        })
        client.on("error", (error) => {
          if (connected) lost(new FrigateMqttError({ reason: "closed", message: `MQTT connection failed: ${reasonOf(error)}` }))
          else {
            client.end(true)
            settle(Effect.fail(connectError(error, settings.mqttUrl)))
          }
        })
        client.on("close", () => {
          if (connected) lost(new FrigateMqttError({ reason: "closed", message: "the MQTT broker closed the connection" }))
          else settle(Effect.fail(new FrigateMqttError({ reason: "unreachable", message: `the MQTT broker at ${settings.mqttUrl} closed the connection before accepting it` })))
        })
        return Effect.sync(() => client.end(true))
      }),
      (client) => Effect.promise(() => client.endAsync(true))
    )

  const session = <E>(credentials: BrokerCredentials, hooks: SourceHooks<E>) =>
    Effect.scoped(Effect.gen(function*() {
      const inbox = yield* Queue.unbounded<Input>()
      const client = yield* open(credentials, inbox)
      const granted = yield* Effect.tryPromise({
        try: () => client.subscribeAsync(topics, { qos: 1 }),
        catch: (error) => new FrigateMqttError({ reason: "protocol", message: `cannot subscribe to ${topics.join(", ")}: ${reasonOf(error)}` })
      })
      const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic)
      if (refused.length > 0) {
        return yield* new FrigateMqttError({ reason: "unauthorized", message: `the MQTT broker refused the subscription to ${refused.join(", ")}` })
      }
      yield* hooks.connected
      const tickMs = Math.max(50, Math.min(1_000, Math.floor(o.holdMs / 4)))
      for (;;) {
        const input = yield* Effect.timeoutOption(Queue.take(inbox), tickMs)
        const now = yield* Clock.currentTimeMillis
        if (Option.isSome(input)) {
          if (input.value._tag === "lost") return yield* input.value.error
          yield* onMessage(input.value.payload, now, hooks)
        }
        yield* expire(now, hooks)
      }
    }))

  return { session }
}
