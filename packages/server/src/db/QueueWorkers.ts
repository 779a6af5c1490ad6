import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
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
 * connection, the end of the soonest backoff, or the safety poll, for a notification that never came.
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
    // A wake-up is a Deferred swapped for a fresh one: a worker holding the old one before it looked
    // for work cannot miss a notification that came while it looked.
    const bell = yield* Ref.make(yield* Deferred.make<void>())
    const ring = Effect.flatMap(Deferred.make<void>(), (fresh) => Ref.getAndSet(bell, fresh)).pipe(
      Effect.flatMap((rung) => Deferred.succeed(rung, undefined)),
      Effect.asVoid
    )

    /** How long an idle worker may sleep: the safety poll, or until the first backoff ends. */
    const idleFor = Effect.map(Clock.currentTimeMillis, (now) => options.backoff.soonest(now, options.safetyPoll))

    const worker = Effect.gen(function*() {
      while (true) {
        const wake = yield* Ref.get(bell)
        const turn = yield* options.turn
        if (turn === "done") continue
        if (turn === "failed") {
          yield* Effect.sleep(options.pause)
          continue
        }
        yield* Deferred.await(wake).pipe(Effect.timeoutOption(yield* idleFor))
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
