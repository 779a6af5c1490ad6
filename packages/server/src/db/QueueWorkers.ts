import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { ItemBackoff } from "./ItemBackoff"
import { PgListener } from "./Listener"

/**
 * What one turn of a worker on a queue held in a table found: work done, or an item that failed (it
 * now backs off, skipped by the claims: look again at once); work done that emptied the queue (as
 * nothing to do: wait for the bell); nothing to do; or no claim at all (the database itself is
 * failing: pause).
 */
export type Turn = "done" | "drained" | "empty" | "failed"

/**
 * Workers on a queue held in a table (alert_work, outbox): each takes turns while there is work, then
 * sleeps until NOTIFY `channel` (carrying `payload`, when given) or a reconnection of the LISTEN
 * connection wakes it (one sleeping worker per notification), the end of the soonest backoff, or the
 * safety poll, for a notification that never came.
 */
export const forkQueueWorkers = (options: {
  readonly channel: string
  readonly payload?: string | undefined
  readonly workers: number
  readonly turn: Effect.Effect<Turn>
  readonly backoff: ItemBackoff
  readonly safetyPoll: Duration.Duration
  /** how long to wait when the database itself fails, so as not to spin on it */
  readonly pause: Duration.Duration
  readonly annotation: string
}): Effect.Effect<{ readonly wake: Effect.Effect<void> }, never, PgListener | Scope.Scope> =>
  Effect.gen(function*() {
    const listener = yield* PgListener
    // A NOTIFY wakes one worker, not all: each would claim at once and all but one find nothing (three
    // round trips each, per NOTIFY). A worker is armed from before it looks for work until it has
    // slept, so a NOTIFY that comes while it looks makes it look once more; with no worker armed, the
    // next one to arm looks again at once. A worker whose turn left work behind wakes another to help.
    const armed: Array<Deferred.Deferred<void>> = []
    let missed = false
    const arm = Effect.map(Deferred.make<void>(), (wake) => {
      if (missed) {
        missed = false
        Deferred.unsafeDone(wake, Exit.void)
      } else {
        armed.push(wake)
      }
      return wake
    })
    const disarm = (wake: Deferred.Deferred<void>) =>
      Effect.sync(() => {
        const at = armed.indexOf(wake)
        if (at >= 0) armed.splice(at, 1)
      })
    const ring = Effect.suspend(() => {
      const wake = armed.shift()
      if (wake !== undefined) return Deferred.succeed(wake, undefined)
      missed = true
      return Effect.void
    }).pipe(Effect.asVoid)

    /** How long an idle worker may sleep: the safety poll, or until the first backoff ends. */
    const idleFor = Effect.map(Clock.currentTimeMillis, (now) => options.backoff.soonest(now, options.safetyPoll))

    const worker = Effect.gen(function*() {
      while (true) {
        const wake = yield* arm
        const turn = yield* options.turn
        if (turn === "done") {
          yield* disarm(wake)
          yield* ring
          continue
        }
        if (turn === "failed") {
          yield* disarm(wake)
          yield* Effect.sleep(options.pause)
          continue
        }
        yield* Deferred.await(wake).pipe(Effect.timeoutOption(yield* idleFor))
        yield* disarm(wake)
      }
    })

    const signals = yield* listener.subscribe(options.channel)
    yield* Stream.fromQueue(signals).pipe(
      Stream.filter((signal) =>
        signal._tag === "Connected" ||
        (signal.channel === options.channel && (options.payload === undefined || signal.payload === options.payload))),
      Stream.runForEach(() => ring),
      Effect.forkScoped
    )
    for (let i = 0; i < Math.max(1, options.workers); i++) {
      yield* Effect.forkScoped(worker.pipe(Effect.annotateLogs({ [options.annotation]: i })))
    }
    return { wake: ring } as const
  })
