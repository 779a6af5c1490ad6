import * as SqlClient from "@effect/sql/SqlClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { connect, type IClientOptions, type MqttClient } from "mqtt"
import { randomBytes } from "node:crypto"
import { isFor, PgListener } from "../db/Listener"
import { OUTPUT_DELIVERY_CHANNEL } from "../outputs/Deliveries"
import { MQTT_SETTINGS_CHANNEL, type MqttSettings, MqttSettingsStore } from "./Settings"

/**
 * This server's one long-lived MQTT client, made from the settings in force and made again when they
 * change (an admin's change wakes it; it also looks every minute). mqtt.js reconnects by itself; the
 * period doubles after every failed connection from 1 s to at most a minute and starts over once
 * connected. The broker keeps `<prefix>/status` retained: `online` from every connection, `offline`
 * as the last will (the server gone without a word) and at a clean stop.
 */

export const RECONNECT_BASE_MS = 1_000
export const RECONNECT_CAP_MS = 60_000
/** A publish not acknowledged within this has failed (the broker is away or slow). */
const PUBLISH_TIMEOUT = Duration.seconds(10)
const SETTINGS_RECHECK = Duration.seconds(60)

export class MqttPublishError extends Schema.TaggedError<MqttPublishError>()("MqttPublishError", {
  message: Schema.String
}) {}

export interface PublishOptions {
  readonly qos: 0 | 1
  readonly retain?: boolean
}

/** A client and the settings it was made with. */
interface Session {
  readonly key: string
  readonly settings: MqttSettings & { readonly url: string }
  readonly client: MqttClient
}

/** Only what identifies the connection: a change of the other settings does not reconnect. */
const keyOf = (s: MqttSettings) =>
  JSON.stringify([s.url, s.username, s.password === null ? null : Redacted.value(s.password), s.topicPrefix])

const keyOfRest = (s: MqttSettings) => JSON.stringify([s.publishReads, s.discovery, s.discoveryPrefix])

export const statusTopic = (prefix: string) => `${prefix}/status`

const clientOptions = (s: MqttSettings, reconnect: boolean): IClientOptions => ({
  clientId: `chaverim-alpr-${randomBytes(6).toString("hex")}`,
  ...(s.username === null ? {} : { username: s.username }),
  ...(s.password === null ? {} : { password: Redacted.value(s.password) }),
  clean: true,
  connectTimeout: 10_000,
  reconnectPeriod: reconnect ? RECONNECT_BASE_MS : 0,
  // QoS 0 messages are dropped while away rather than queued (reads are best effort)
  queueQoSZero: false,
  will: { topic: statusTopic(s.topicPrefix), payload: Buffer.from("offline"), qos: 1, retain: true }
})

/** A connection error as admins may read it: mqtt.js's message, never the password (it is not in it). */
const describe = (error: unknown) => (error instanceof Error ? error.message : String(error)).slice(0, 300)

const publishWith = (client: MqttClient, topic: string, payload: string, options: PublishOptions) =>
  Effect.tryPromise({
    try: () => client.publishAsync(topic, payload, { qos: options.qos, retain: options.retain ?? false }),
    catch: (error) => new MqttPublishError({ message: describe(error) })
  }).pipe(
    Effect.timeoutFail({
      duration: PUBLISH_TIMEOUT,
      onTimeout: () => new MqttPublishError({ message: `the broker did not acknowledge within ${Duration.format(PUBLISH_TIMEOUT)}` })
    }),
    Effect.asVoid
  )

const endClient = (client: MqttClient, force: boolean) =>
  Effect.promise(() => client.endAsync(force).catch(() => undefined)).pipe(Effect.timeout("5 seconds"), Effect.ignore)

export class MqttBroker extends Effect.Service<MqttBroker>()("@chaverim/server/MqttBroker", {
  scoped: Effect.gen(function*() {
    const store = yield* MqttSettingsStore
    const listener = yield* PgListener
    const sql = yield* SqlClient.SqlClient
    const runtime = yield* Effect.runtime<never>()
    const connects = yield* PubSub.unbounded<MqttSettings>()
    let session: Session | undefined
    let lastError: string | null = null

    const open = (settings: MqttSettings & { readonly url: string }): Session => {
      const client = connect(settings.url, clientOptions(settings, true))
      client.on("connect", () => {
        client.options.reconnectPeriod = RECONNECT_BASE_MS
        lastError = null
        Runtime.runFork(runtime)(onConnect(client, settings))
      })
      client.on("close", () => {
        client.options.reconnectPeriod = Math.min(RECONNECT_CAP_MS, (client.options.reconnectPeriod ?? RECONNECT_BASE_MS) * 2)
      })
      client.on("error", (error) => {
        lastError = describe(error)
      })
      return { key: keyOf(settings), settings, client }
    }

    /**
     * Once connected: `online`, then the deliveries that waited for the broker are made due now and
     * the senders woken, and the health and discovery topics are refreshed (Publisher.ts).
     */
    const onConnect = (client: MqttClient, settings: MqttSettings) =>
      Effect.gen(function*() {
        yield* Effect.logInfo("MQTT connected").pipe(Effect.annotateLogs({ broker: settings.url }))
        yield* publishWith(client, statusTopic(settings.topicPrefix), "online", { qos: 1, retain: true })
        yield* sql`
          WITH due AS (
            UPDATE output_deliveries SET next_attempt_at = now()
             WHERE channel = 'mqtt' AND status = 'pending' AND next_attempt_at > now()
            RETURNING 1)
          SELECT pg_notify(${OUTPUT_DELIVERY_CHANNEL}, 'mqtt') FROM (SELECT 1 FROM due LIMIT 1) x`
        yield* PubSub.publish(connects, settings)
      }).pipe(Effect.catchAllCause((cause) => Effect.logWarning("MQTT: after connecting", cause)))

    const close = (old: Session) =>
      Effect.gen(function*() {
        if (old.client.connected) {
          yield* publishWith(old.client, statusTopic(old.settings.topicPrefix), "offline", { qos: 1, retain: true }).pipe(Effect.ignore)
        }
        yield* endClient(old.client, !old.client.connected)
      })

    /** Makes the client agree with the settings in force. */
    const sync = Effect.gen(function*() {
      const settings = yield* store.current
      const key = settings.url === null ? null : keyOf(settings)
      if (session !== undefined && session.key === key) {
        // the other settings (reads, discovery) apply without reconnecting; discovery is published again
        const changed = keyOfRest(session.settings) !== keyOfRest(settings)
        session = { ...session, settings: { ...settings, url: session.settings.url } }
        if (changed && session.client.connected) yield* PubSub.publish(connects, session.settings)
        return
      }
      const old = session
      session = undefined
      lastError = null
      if (old !== undefined) yield* close(old)
      if (settings.url !== null) session = open({ ...settings, url: settings.url })
    }).pipe(Effect.withSpan("MqttBroker.sync"))

    yield* Effect.addFinalizer(() => (session === undefined ? Effect.void : close(session)))

    yield* sync.pipe(Effect.catchAllCause((cause) => Effect.logWarning("MQTT: reading the settings failed", cause)))
    const signals = yield* listener.subscribe(MQTT_SETTINGS_CHANNEL)
    const wake = yield* Queue.sliding<void>(1)
    yield* Stream.fromQueue(signals).pipe(
      Stream.filter(isFor(MQTT_SETTINGS_CHANNEL)),
      Stream.merge(Stream.fromSchedule(Schedule.spaced(SETTINGS_RECHECK))),
      Stream.runForEach(() => Queue.offer(wake, undefined)),
      Effect.forkScoped
    )
    yield* Queue.take(wake).pipe(
      Effect.zipRight(sync),
      Effect.catchAllCause((cause) => Effect.logWarning("MQTT: applying the settings failed", cause)),
      Effect.forever,
      Effect.forkScoped
    )

    /** The client when connected, with the settings in force. */
    const connected = Effect.sync(() =>
      session !== undefined && session.client.connected ? { client: session.client, settings: session.settings } : undefined
    )

    /** Publishes now; fails when MQTT is off, the client is not connected, or the broker does not acknowledge (QoS 1). */
    const publish = (topic: string, payload: string, options: PublishOptions) =>
      Effect.flatMap(connected, (now) =>
        now === undefined
          ? Effect.fail(new MqttPublishError({ message: session === undefined ? "MQTT is not configured" : `not connected to the broker${lastError === null ? "" : `: ${lastError}`}` }))
          : publishWith(now.client, topic, payload, options))

    /**
     * A one-off connection with the settings in force: connects, publishes to `<prefix>/test` with
     * QoS 1 and says what happened. It does not touch the long-lived client.
     */
    const test = Effect.gen(function*() {
      const settings = yield* store.current
      if (settings.url === null) return { ok: false, message: "MQTT is not configured (no broker URL)", topic: null }
      const url = settings.url
      const topic = `${settings.topicPrefix}/test`
      const client = yield* Effect.sync(() => connect(url, { ...clientOptions(settings, false), will: undefined }))
      const outcome = yield* Effect.async<string | null>((resume) => {
        client.once("connect", () => resume(Effect.succeed(null)))
        client.once("error", (error) => resume(Effect.succeed(describe(error))))
        client.once("close", () => resume(Effect.succeed("the connection was closed")))
      }).pipe(
        Effect.timeoutTo({ duration: "10 seconds", onSuccess: (e) => e, onTimeout: () => "no answer from the broker within 10 s" }),
        Effect.flatMap((error) =>
          error !== null
            ? Effect.succeed({ ok: false, message: `could not connect to ${url}: ${error}`, topic })
            : publishWith(client, topic, JSON.stringify({ test: true, sent_at: new Date().toISOString() }), { qos: 1 }).pipe(
              Effect.as({ ok: true, message: `connected to ${url} and published to ${topic}; the broker acknowledged`, topic }),
              Effect.catchAll((e) => Effect.succeed({ ok: false, message: `connected to ${url}, but publishing failed: ${e.message}`, topic }))
            )
        ),
        Effect.ensuring(endClient(client, true))
      )
      return outcome
    }).pipe(Effect.withSpan("MqttBroker.test"))

    /** Every (re)connection, with the settings it was made with: health and discovery are published again. */
    const subscribeConnects: Effect.Effect<Queue.Dequeue<MqttSettings>, never, Scope.Scope> = PubSub.subscribe(connects)

    return {
      publish,
      connected,
      test,
      subscribeConnects,
      /** whether this server's client is connected, and its last error */
      status: Effect.sync(() => ({ connected: session?.client.connected ?? false, lastError })),
      /** the settings the client runs with now (undefined: MQTT off) */
      settings: Effect.sync(() => session?.settings)
    } as const
  })
}) {}
