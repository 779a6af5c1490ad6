import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"

/**
 * Backoff for the items of a queue held in a table (alert_work, outbox): a failed item is not retried by
 * a fiber that waits for it but skipped by every claim of this server until its time comes, so one
 * failing item holds up nothing else.
 */

/**
 * The delays of `policy`, one per failure, without sleeping them: a failed item is not retried by a
 * fiber that waits for it but skipped by every worker until its time comes.
 */
const delaysOf = (policy: Schedule.Schedule<unknown>) =>
  Schedule.driver(Schedule.delays(policy).pipe(Schedule.modifyDelay(() => Duration.zero)))

interface Failing {
  readonly attempts: number
  readonly notBefore: number
  readonly next: Effect.Effect<Duration.Duration>
}

/**
 * Failed items by id, each backing off on its own schedule until it succeeds. Held per server: another
 * server may try an item sooner, harmlessly. An item not heard of for `forgetAfter` past its time is
 * forgotten (it was done elsewhere, or will fail again and start over).
 */
export const makeItemBackoff = (policy: Schedule.Schedule<unknown>, forgetAfter: Duration.Duration) =>
  Effect.sync(() => {
    const failing = new Map<string, Failing>()
    const forgetMs = Duration.toMillis(forgetAfter)

    /** Records a failure of `id`; returns how many in a row and how long it now waits. */
    const failed = (id: string) =>
      Effect.gen(function*() {
        const known = failing.get(id)
        const next = known?.next ?? (yield* Effect.map(delaysOf(policy), (driver) => Effect.orDie(driver.next(undefined))))
        const delay = yield* next
        const attempts = (known?.attempts ?? 0) + 1
        failing.set(id, { attempts, notBefore: (yield* Clock.currentTimeMillis) + Duration.toMillis(delay), next })
        return { attempts, delay }
      })

    /** The ids still backing off at `now`. */
    const waiting = (now: number) => {
      for (const [id, f] of failing) if (f.notBefore < now - forgetMs) failing.delete(id)
      return [...failing].filter(([, f]) => f.notBefore > now).map(([id]) => id)
    }

    /**
     * How long until the first backoff ends, at most `atMost`. Items already due do not count: they are
     * claimed like any other, and one done meanwhile by another server must not keep a worker spinning.
     */
    const soonest = (now: number, atMost: Duration.Duration) => {
      let wait = Duration.toMillis(atMost)
      for (const f of failing.values()) if (f.notBefore > now) wait = Math.min(wait, f.notBefore - now)
      return Duration.millis(wait)
    }

    return {
      failed,
      succeeded: (id: string) => Effect.sync(() => failing.delete(id)),
      waiting,
      soonest,
      get size() {
        return failing.size
      }
    } as const
  })

export type ItemBackoff = Effect.Effect.Success<ReturnType<typeof makeItemBackoff>>
