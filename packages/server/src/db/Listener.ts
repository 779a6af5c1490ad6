import { PgClient } from "@effect/sql-pg"
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import type * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import pg from "pg"

/**
 * `Connected` follows every (re)connection: notifications sent while the connection was down are
 * lost, so whoever listens must then look for what it missed.
 */
export type ListenSignal =
  | { readonly _tag: "Notification"; readonly channel: string; readonly payload: string }
  | { readonly _tag: "Connected" }

/**
 * LISTEN on one dedicated connection per server, shared by every listener in it.
 *
 * Not PgClient.listen: it drops notifications with an empty payload (what the triggers of
 * sql/0009 send) and, when its connection breaks, goes silent for good without saying so. Here a
 * broken connection is replaced (backing off) and every subscriber is told with `Connected`.
 */
export class PgListener extends Effect.Service<PgListener>()("@chaverim/server/PgListener", {
  scoped: Effect.gen(function*() {
    const { config } = yield* PgClient.PgClient
    const hub = yield* PubSub.unbounded<ListenSignal>()
    // Publishing to an unbounded hub never waits, so node-postgres's callbacks can do it at once.
    const publishNow = Runtime.runSync(yield* Effect.runtime<never>())
    const channels = new Set<string>()
    let current: pg.Client | undefined

    // One statement at a time on the connection: node-postgres queues overlapping ones, but that is
    // deprecated (and gone in pg 9), and subscribers start together.
    const oneAtATime = yield* Effect.makeSemaphore(1)
    const listenOn = (client: pg.Client, channel: string) =>
      oneAtATime.withPermits(1)(Effect.tryPromise(() => client.query(`LISTEN ${pg.escapeIdentifier(channel)}`)))

    const connection = Effect.gen(function*() {
      const client = yield* Effect.acquireRelease(
        Effect.tryPromise(async () => {
          // The pool's own settings, on a connection of its own (a pooled one would be handed back).
          const client = new pg.Client({
            connectionString: config.url === undefined ? undefined : Redacted.value(config.url),
            host: config.host,
            port: config.port,
            database: config.database,
            user: config.username,
            password: config.password === undefined ? undefined : Redacted.value(config.password),
            ssl: config.ssl,
            application_name: "chaverim-alpr-listen"
          })
          // An error event without a listener would crash the process; the `closed` wait reports it.
          client.on("error", () => {})
          await client.connect()
          return client
        }),
        (client) => Effect.promise(() => client.end().catch(() => undefined)).pipe(Effect.timeoutOption("1 second"))
      )
      client.on("notification", (message) => {
        try {
          publishNow(PubSub.publish(hub, { _tag: "Notification", channel: message.channel, payload: message.payload ?? "" }))
        } catch {
          // the hub is shut down: the server is stopping and nobody listens any more
        }
      })
      current = client
      // Channels subscribed while this runs are LISTENed by `subscribe` itself (current is set).
      for (const channel of channels) yield* listenOn(client, channel)
      yield* PubSub.publish(hub, { _tag: "Connected" })
      yield* Effect.async<never, Error>((resume) => {
        const closed = (cause?: unknown) => resume(Effect.fail(new Error("the LISTEN connection closed", { cause })))
        client.once("error", closed)
        client.once("end", closed)
      })
    }).pipe(
      Effect.ensuring(Effect.sync(() => {
        current = undefined
      })),
      Effect.scoped,
      Effect.tapError((cause) => Effect.logWarning("LISTEN connection lost; reconnecting", cause)),
      // Capped at 10 s; a connection that lived a minute starts again from a short wait.
      Effect.retry(Schedule.exponential("200 millis").pipe(
        Schedule.jittered,
        Schedule.union(Schedule.spaced("10 seconds")),
        Schedule.resetAfter("1 minute")
      )),
      Effect.orDie
    )
    yield* Effect.forkScoped(connection)

    /**
     * Signals of `channel` (and `Connected`) from now on: once this returns, a notification
     * committed afterwards is delivered, unless the connection is down, which `Connected` reports.
     */
    const subscribe = (channel: string): Effect.Effect<Queue.Dequeue<ListenSignal>, never, Scope.Scope> =>
      Effect.gen(function*() {
        const subscription = yield* PubSub.subscribe(hub)
        const isNew = !channels.has(channel)
        channels.add(channel)
        if (isNew && current !== undefined) {
          // On failure the connection is breaking; its replacement LISTENs and says Connected.
          yield* listenOn(current, channel).pipe(Effect.ignore)
        }
        return subscription
      })

    return { subscribe } as const
  })
}) {}

/** Whether a signal concerns `channel` (a reconnection concerns every channel). */
export const isFor = (channel: string) => (signal: ListenSignal) =>
  signal._tag === "Connected" || signal.channel === channel
