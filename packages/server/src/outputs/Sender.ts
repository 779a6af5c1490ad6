import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Metric from "effect/Metric"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { isFor, PgListener } from "../db/Listener"
import { type ClaimedOutput, OUTPUT_DELIVERY_CHANNEL, OutputDeliveries } from "./Deliveries"

/**
 * The sender every outbound channel of `output_deliveries` runs: woken by `NOTIFY output_delivery`
 * (payload: the channel) when deliveries are owed, by its own timer when a retry comes due, and slowly
 * in any case. The channel says how one delivery goes (`deliver`); this loop claims, leases, records
 * the outcome and retries.
 *
 * Retry policy, per delivery: a failed attempt is tried again after 5 s, doubling to at most 15 min,
 * jittered by ±20 % so that a burst of failures does not come back as a burst; a receiver's own
 * Retry-After is honoured instead (up to the cap). After `OUTPUT_MAX_ATTEMPTS` (about 2.5 hours of
 * trying) the delivery fails for good with its last error, and admins see it (`outputs.deliveries`)
 * and may send it again (`outputs.retry`). The times live in the row: they survive restarts and every
 * server honours them.
 */

export const OUTPUT_MAX_ATTEMPTS = 15
export const OUTPUT_RETRY_BASE_MS = 5_000
export const OUTPUT_RETRY_CAP_MS = 15 * 60_000

/** The delay after the `failures`-th failed attempt (1 for the first). */
export const outputRetryDelayMs = (failures: number, random: number = Math.random()): number => {
  const plain = Math.min(OUTPUT_RETRY_CAP_MS, OUTPUT_RETRY_BASE_MS * 2 ** Math.max(0, failures - 1))
  return Math.round(Math.min(OUTPUT_RETRY_CAP_MS, plain * (0.8 + 0.4 * random)))
}

/** How one attempt went. */
export type Outcome =
  | { readonly _tag: "sent" }
  /** worth trying again (a timeout, a 5xx, the broker away); `afterMs`: the receiver said when */
  | { readonly _tag: "retry"; readonly error: string; readonly afterMs?: number | undefined }
  /** trying again would not help (a 4xx, the target gone); `counts`: false when nothing was attempted */
  | { readonly _tag: "fatal"; readonly error: string; readonly counts?: boolean }

export const Outcome = {
  sent: { _tag: "sent" } as Outcome,
  retry: (error: string, afterMs?: number): Outcome => ({ _tag: "retry", error, afterMs }),
  fatal: (error: string, counts = true): Outcome => ({ _tag: "fatal", error, counts })
}

export interface SenderOptions<R> {
  /** the channel's name in outbound_channels */
  readonly channel: string
  readonly deliver: (delivery: ClaimedOutput) => Effect.Effect<Outcome, never, R>
  /** deliveries under way at once (default 8) */
  readonly concurrency?: number
  /** a claimed row is left alone by other senders this long; longer than one delivery can take (default 120 s) */
  readonly leaseSeconds?: number
  /** one delivery gives up after this and counts as a failed attempt (default 30 s) */
  readonly timeout?: Duration.DurationInput
}

const BATCH = 50
const IDLE_POLL = Duration.seconds(30)

const sentTotal = Metric.counter("alpr_output_sent_total", { description: "Notices delivered by an outbound channel" })
const failedTotal = Metric.counter("alpr_output_failed_total", { description: "Notices an outbound channel gave up on" })
const retriedTotal = Metric.counter("alpr_output_retried_total", { description: "Failed attempts of an outbound channel to be retried" })

/** The outbound channels' counters, tagged with the channel (a sender of its own, like e-mail's, counts in them too). */
export const outputMetrics = (channel: string) => ({
  sent: Metric.tagged(sentTotal, "channel", channel),
  failed: Metric.tagged(failedTotal, "channel", channel),
  retried: Metric.tagged(retriedTotal, "channel", channel)
})

/**
 * Wakes a channel's sender (offers to `wake`) at every `NOTIFY output_delivery` naming the channel, and
 * at every reconnection of the shared LISTEN connection (notifications may have been missed), for as
 * long as the scope. Shared by every sender of `output_deliveries` (e-mail's has a loop of its own).
 */
export const wakeOnDeliveries = (listener: PgListener, channel: string, wake: Queue.Enqueue<void>) =>
  Effect.gen(function*() {
    const signals = yield* listener.subscribe(OUTPUT_DELIVERY_CHANNEL)
    const forUs = isFor(OUTPUT_DELIVERY_CHANNEL)
    yield* Queue.take(signals).pipe(
      Effect.flatMap((signal) =>
        forUs(signal) && (signal._tag === "Connected" || signal.payload === channel) ? Queue.offer(wake, undefined) : Effect.void
      ),
      Effect.forever,
      Effect.forkScoped
    )
  })

/** Runs the channel's sender for as long as the scope. */
export const runOutputSender = <R>(options: SenderOptions<R>): Effect.Effect<void, never, OutputDeliveries | PgListener | Scope.Scope | R> =>
  Effect.gen(function*() {
    const { channel } = options
    const deliveries = yield* OutputDeliveries
    const listener = yield* PgListener
    const wake = yield* Queue.sliding<void>(1)
    const sending = yield* Effect.makeSemaphore(options.concurrency ?? 8)
    const underWay = yield* FiberSet.make()
    const timeout = Duration.decode(options.timeout ?? Duration.seconds(30))
    const tagged = outputMetrics(channel)

    const attempt = (d: ClaimedOutput) =>
      options.deliver(d).pipe(
        Effect.timeoutTo({
          duration: timeout,
          onSuccess: (outcome) => outcome,
          onTimeout: () => Outcome.retry(`no answer within ${Duration.format(timeout)}`)
        })
      )

    const deliver = (d: ClaimedOutput) =>
      Effect.gen(function*() {
        const outcome = yield* sending.withPermits(1)(attempt(d))
        const log = Effect.annotateLogs({
          channel,
          delivery_id: d.id,
          ...(d.alertId === null ? { health_alert_id: d.healthAlertId } : { alert_id: d.alertId }),
          attempt: d.attempts + 1
        })
        switch (outcome._tag) {
          case "sent":
            yield* Metric.increment(tagged.sent)
            return yield* deliveries.sent(d.id)
          case "fatal":
            yield* Metric.increment(tagged.failed)
            yield* Effect.logWarning(`${channel} delivery failed for good: ${outcome.error}`).pipe(log)
            return yield* deliveries.failed(d.id, outcome.error, outcome.counts ?? true)
          case "retry": {
            const delay = Math.min(OUTPUT_RETRY_CAP_MS, outcome.afterMs ?? outputRetryDelayMs(d.attempts + 1))
            const status = yield* deliveries.retryLater(d.id, outcome.error, delay, OUTPUT_MAX_ATTEMPTS)
            // due again sooner, maybe, than the wait the round set: it is looked at again
            yield* Queue.offer(wake, undefined)
            if (status === "failed") {
              yield* Metric.increment(tagged.failed)
              yield* Effect.logError(`${channel} delivery failed after ${OUTPUT_MAX_ATTEMPTS} attempts: ${outcome.error}`).pipe(log)
            } else {
              yield* Metric.increment(tagged.retried)
              yield* Effect.logWarning(`${channel} delivery attempt failed, retrying in ${Math.round(delay / 1000)} s: ${outcome.error}`).pipe(log)
            }
          }
        }
      }).pipe(
        // A bug or a database failure with one row must not stop the others; the lease brings it back.
        Effect.catchAllCause((cause) => Effect.logError(`${channel} delivery ${d.id} could not be processed`, Cause.squash(cause))),
        Effect.withSpan("OutputSender.deliver", { attributes: { channel, delivery_id: d.id } })
      )

    const round = Effect.gen(function*() {
      while (true) {
        const batch = yield* deliveries.claim(channel, BATCH, options.leaseSeconds ?? 120)
        if (batch.length === 0) break
        for (const d of batch) yield* FiberSet.run(underWay, deliver(d))
        // fewer than asked for: none other is due now (a row owed later rings `wake` by NOTIFY)
        if (batch.length < BATCH) break
      }
      const due = yield* deliveries.nextDueInMs(channel)
      const wait = due === undefined ? IDLE_POLL : Duration.min(IDLE_POLL, Duration.millis(due))
      yield* Effect.raceFirst(Effect.sleep(wait), Queue.take(wake))
    }).pipe(
      Effect.catchAllCause((cause) =>
        Effect.logError(`${channel} sender round failed`, Cause.squash(cause)).pipe(Effect.zipRight(Effect.sleep("5 seconds")))
      )
    )

    yield* wakeOnDeliveries(listener, channel, wake)
    yield* Effect.forever(round).pipe(Effect.forkScoped)
  })
