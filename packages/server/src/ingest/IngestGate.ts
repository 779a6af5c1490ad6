import { Overloaded } from "@chaverim/domain/Errors"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import { AppConfig } from "../Config"
import { ingestBackpressure, ingestInflight, ingestQueueDepth } from "./Metrics"

/** Batch latency the pressure figure treats as "full": beyond it collectors should slow down. */
const LATENCY_BUDGET_MS = 1_000
/** A batch waiting this long for a slot is refused rather than left hanging. */
const MAX_WAIT_MS = 10_000

/**
 * Admission control for ingest. A bounded number of batches are stored at once (each holds a
 * database connection for its transaction); others wait in a bounded queue. The pressure figure
 * (0..1) blends slot use, queue depth and recent latency, and is reported to collectors so they
 * slow down before anything has to be refused.
 */
export class IngestGate extends Effect.Service<IngestGate>()("@chaverim/server/IngestGate", {
  effect: Effect.gen(function*() {
    const { ingestConcurrency: slots, ingestMaxQueue: maxQueue } = yield* AppConfig
    const semaphore = yield* Effect.makeSemaphore(slots)
    let inflight = 0
    let waiting = 0
    let latencyMs = 0 // exponentially weighted

    const pressure = () => {
      const saturation = inflight / slots
      const queue = waiting / maxQueue
      const latency = latencyMs / LATENCY_BUDGET_MS
      return Math.min(1, Math.max(0.5 * saturation + 0.5 * queue, latency, queue))
    }

    const retryAfterSeconds = () => Math.max(1, Math.ceil(((waiting / slots) * Math.max(latencyMs, 50)) / 1000))

    // Suspended: the figures are read each time it runs, not once when it is built.
    const report = Effect.suspend(() =>
      Effect.all([
        Metric.set(ingestQueueDepth, waiting),
        Metric.set(ingestInflight, inflight),
        Metric.set(ingestBackpressure, pressure())
      ], { discard: true })
    )

    const overloaded = (why: string) =>
      new Overloaded({ message: `ingest is overloaded (${why}); nothing of this batch was stored`, retry_after_s: retryAfterSeconds() })

    /** Runs `effect` in a slot; fails with Overloaded, having done nothing, when none comes in time. */
    const admit = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | Overloaded, R> =>
      Effect.uninterruptibleMask((restore) => {
        if (waiting >= maxQueue) return Effect.fail(overloaded("queue full"))
        waiting++
        const release = Effect.suspend(() => {
          inflight--
          return Effect.zipRight(semaphore.release(1), report)
        })
        // The wait for a slot is interruptible even when the caller is not (the ingest route is
        // uninterruptible): otherwise the timeout cannot cancel it, waits until the slot comes
        // anyway, and answers Overloaded with the slot taken and never released.
        return restore(
          Effect.zipRight(report, Effect.interruptible(semaphore.take(1))).pipe(
            Effect.timeoutFail({ duration: MAX_WAIT_MS, onTimeout: () => overloaded("waited too long for a slot") })
          )
        ).pipe(
          Effect.ensuring(Effect.sync(() => waiting--)),
          Effect.zipRight(Effect.suspend(() => {
            inflight++
            const started = performance.now()
            return restore(Effect.zipRight(report, effect)).pipe(
              Effect.ensuring(Effect.sync(() => {
                latencyMs = 0.8 * latencyMs + 0.2 * (performance.now() - started)
              })),
              Effect.ensuring(release)
            )
          }))
        )
      })

    return { admit, pressure: Effect.sync(pressure), retryAfterSeconds: Effect.sync(retryAfterSeconds) }
  })
}) {}
