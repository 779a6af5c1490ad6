import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { makeItemBackoff } from "../db/ItemBackoff"
import type { PgListener } from "../db/Listener"
import { forkQueueWorkers, type Turn } from "../db/QueueWorkers"
import { Int8Text, orBug } from "../db/Rows"

/**
 * The outbox of outbound channels (sql/0014): publishers write what happened to an alert in their own
 * transaction, naming no channel; every channel (`telegram/`, later webhooks, MQTT, e-mail) takes its
 * own copies and turns them into its own deliveries in the transaction that deletes them.
 */

/** Woken at every commit that published, with the channel's name as the payload (sql/0014's trigger). */
export const OUTBOX_CHANNEL = "outbox"

export const OutboxEvent = Schema.Literal(
  "alert_raised",
  "alert_updated",
  "alert_acknowledged",
  "alert_en_route",
  "alert_resolved"
)
export type OutboxEvent = typeof OutboxEvent.Type

export interface Published {
  readonly event: OutboxEvent
  readonly alertId: string
}

/**
 * Publishes `events` in the caller's transaction: one row for each channel that takes the kind of
 * event (outbound_channels.events), in this order. Nothing is written when no channel takes it.
 */
export const publish = Effect.fn("Outbox.publish")(function*(events: ReadonlyArray<Published>) {
  if (events.length === 0) return
  const sql = yield* SqlClient.SqlClient
  // Two text parameters (kinds and bigint digits) whatever the number of events.
  yield* sql`
    INSERT INTO outbox (channel, event, alert_id)
    SELECT c.name, x.event, x.alert_id::bigint
      FROM unnest(string_to_array(${events.map((e) => e.event).join(",")}, ','),
                  string_to_array(${events.map((e) => e.alertId).join(",")}, ',')) WITH ORDINALITY AS x(event, alert_id, n)
      JOIN outbound_channels c ON x.event = ANY(c.events)
     ORDER BY x.n, c.name`
})

export const OutboxItem = Schema.Struct({ id: Int8Text, event: OutboxEvent, alertId: Int8Text })
export type OutboxItem = typeof OutboxItem.Type

/** A health alert raised or cleared (health/Monitor.ts), for the channels that take them (sql/0032). */
export const HealthEvent = Schema.Literal("health_raised", "health_cleared")
export type HealthEvent = typeof HealthEvent.Type

export interface HealthItem {
  readonly id: string
  readonly event: HealthEvent
  readonly healthAlertId: string
}

/** An outbox row as claimed: an alert's event or a health alert's. */
const ClaimedItem = Schema.Struct({
  id: Int8Text,
  event: Schema.Union(OutboxEvent, HealthEvent),
  alertId: Schema.NullOr(Int8Text),
  healthAlertId: Schema.NullOr(Int8Text)
})

/** Publishes health alerts' raisings and clearings in the caller's transaction, as `publish` does alerts' events. */
export const publishHealth = Effect.fn("Outbox.publishHealth")(function*(
  events: ReadonlyArray<{ readonly event: HealthEvent; readonly healthAlertId: string }>
) {
  if (events.length === 0) return
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    INSERT INTO outbox (channel, event, health_alert_id)
    SELECT c.name, x.event, x.health_alert_id::bigint
      FROM unnest(string_to_array(${events.map((e) => e.event).join(",")}, ','),
                  string_to_array(${events.map((e) => e.healthAlertId).join(",")}, ',')) WITH ORDINALITY AS x(event, health_alert_id, n)
      JOIN outbound_channels c ON x.event = ANY(c.events)
     ORDER BY x.n, c.name`
})

/** Items a consumer takes in one transaction. */
const BATCH = 100
/** For a notification that never came (the LISTEN connection was down, say). */
const SAFETY_POLL = Duration.seconds(5)

/**
 * A failed item waits before this server takes it again: 1 s, doubling, at most 5 min, jittered by ±25 %.
 * Another server may try it sooner, harmlessly: the transaction that fails leaves it in the outbox.
 */
export const OUTBOX_RETRY_MAX = Duration.minutes(5)
export const outboxRetry = Schedule.exponential(Duration.seconds(1)).pipe(
  Schedule.modifyDelay((_, delay) => Duration.min(delay, OUTBOX_RETRY_MAX)),
  Schedule.jitteredWith({ min: 0.75, max: 1.25 })
)

const taken = Metric.counter("alpr_outbox_taken_total", { description: "Outbox events a channel took (turned into its deliveries)" })
const failedAttempts = Metric.counter("alpr_outbox_failed_total", {
  description: "Attempts of a channel to take outbox events that failed and will be retried"
})

/**
 * Runs a channel's consumer for as long as the scope: `take` gets the channel's events oldest first,
 * a batch at a time, in the transaction that deletes them from the outbox, and writes what the channel
 * owes for them (its subscription rule, its table). The event leaves the outbox only if that commits;
 * SKIP LOCKED keeps two servers from taking the same event.
 *
 * A failing batch is taken again one event at a time, so that only the event that fails backs off
 * (on `outboxRetry`) and the others go on.
 */
export const consumeOutbox = <E, R>(options: {
  readonly channel: string
  readonly take: (items: ReadonlyArray<OutboxItem>) => Effect.Effect<void, E, R>
  /** health alerts' events, for a channel that takes them (without it they are taken and owe nothing) */
  readonly takeHealth?: ((items: ReadonlyArray<HealthItem>) => Effect.Effect<void, unknown, SqlClient.SqlClient>) | undefined
}): Effect.Effect<{ readonly wake: Effect.Effect<void> }, never, SqlClient.SqlClient | PgListener | Scope.Scope | R> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const { channel, take } = options
    const takeHealth = options.takeHealth ?? ((): Effect.Effect<void> => Effect.void)
    const failures = yield* makeItemBackoff(outboxRetry, Duration.times(OUTBOX_RETRY_MAX, 2))
    const takenHere = Metric.tagged(taken, "channel", channel)
    const failedHere = Metric.tagged(failedAttempts, "channel", channel)
    // After a batch failed: how many of its events are still to be taken one at a time.
    let singles = 0

    const claim = SqlSchema.findAll({
      Request: Schema.Struct({ limit: Schema.Number, waiting: Schema.Array(Schema.String) }),
      Result: ClaimedItem,
      execute: ({ limit, waiting }) =>
        sql`
          DELETE FROM outbox
           WHERE id IN (
             SELECT o.id FROM outbox o
              WHERE o.channel = ${channel}
                AND ${waiting.length === 0 ? sql`true` : sql`o.id <> ALL(string_to_array(${waiting.join(",")}, ',')::bigint[])`}
              ORDER BY o.id
              LIMIT ${limit}
                FOR UPDATE SKIP LOCKED)
          RETURNING id, event, alert_id AS "alertId", health_alert_id AS "healthAlertId"`
    })

    const turn: Effect.Effect<Turn, never, R> = Effect.gen(function*() {
      let claimed: ReadonlyArray<string> = []
      const now = yield* Clock.currentTimeMillis
      const exit = yield* sql.withTransaction(Effect.gen(function*() {
        const limit = singles > 0 ? 1 : BATCH
        const items = yield* orBug(claim({ limit, waiting: failures.waiting(now) }))
        claimed = items.map((item) => item.id)
        if (items.length === 0) return "empty" as const
        const sorted = [...items].sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)))
        const alerts = sorted.flatMap((item): Array<OutboxItem> =>
          item.alertId === null || item.event.startsWith("health_") ? [] : [{ id: item.id, event: item.event as OutboxEvent, alertId: item.alertId }]
        )
        const healths = sorted.flatMap((item): Array<HealthItem> =>
          item.healthAlertId === null || !item.event.startsWith("health_") ? [] : [{ id: item.id, event: item.event as HealthEvent, healthAlertId: item.healthAlertId }]
        )
        if (alerts.length > 0) yield* take(alerts)
        if (healths.length > 0) yield* Effect.provideService(takeHealth(healths), SqlClient.SqlClient, sql)
        // Fewer than asked for: the channel's outbox was empty but for these, so no turn looks again at
        // once (one published meanwhile rings the workers' bell by NOTIFY).
        return items.length < limit ? "drained" as const : "done" as const
      })).pipe(Effect.withSpan("Outbox.take", { attributes: { channel } }), Effect.exit)
      if (singles > 0 && claimed.length === 1) singles--
      if (Exit.isSuccess(exit)) {
        for (const id of claimed) yield* failures.succeeded(id)
        yield* Metric.incrementBy(takenHere, claimed.length)
        return exit.value
      }
      if (Cause.isInterruptedOnly(exit.cause)) return yield* Effect.interrupt
      yield* Metric.increment(failedHere)
      const [only] = claimed
      if (only === undefined) {
        yield* Effect.logWarning("outbox events could not be claimed; retrying", exit.cause).pipe(Effect.annotateLogs({ channel }))
        return "failed" as const
      }
      if (claimed.length > 1) {
        singles = claimed.length
        yield* Effect.logWarning("a batch of outbox events failed; taking them one at a time", exit.cause).pipe(
          Effect.annotateLogs({ channel, events: claimed.length })
        )
        return "done" as const
      }
      const { attempts, delay } = yield* failures.failed(only)
      yield* Effect.logWarning("an outbox event failed; it stays in the outbox and is retried", exit.cause).pipe(
        Effect.annotateLogs({ channel, outbox_id: only, attempts, retry_in_ms: Math.round(Duration.toMillis(delay)) })
      )
      // the others go on while it backs off
      return "done" as const
    })

    const context = yield* Effect.context<R>()
    return yield* forkQueueWorkers({
      channel: OUTBOX_CHANNEL,
      payload: channel,
      workers: 1,
      turn: Effect.provide(turn, context),
      backoff: failures,
      safetyPoll: SAFETY_POLL,
      pause: Duration.seconds(1),
      annotation: `outbox_${channel}`
    })
  })
