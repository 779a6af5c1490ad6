import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

/**
 * Group commit for one key's batches (a collector's): while a group of its batches is being stored,
 * the batches that arrive wait, and the next group stores all of them at once (one lookup, one
 * transaction, one alert work item), as PostgreSQL shares one WAL flush among the commits that wait
 * for it. Nothing waits for a timer: a batch that finds no group being stored is stored at once, alone.
 *
 * The request whose batch heads the queue stores the group (no fiber of its own), then hands the turn
 * to the next one waiting, so no request waits for more than the group before its own. A group that
 * fails is stored again one batch at a time, so one batch the database refuses fails alone.
 */
export const makeCoalescer = <B, A, E>(options: {
  /** whether `next` may join the group (size, ids not already in the group) */
  readonly fits: (group: ReadonlyArray<B>, next: B) => boolean
  readonly storeOne: (key: string, batch: B) => Effect.Effect<A, E>
  /** stores the batches together, answering for each in order */
  readonly storeMany: (key: string, batches: ReadonlyArray<B>) => Effect.Effect<ReadonlyArray<A>, E>
}) => {
  interface Waiting {
    readonly batch: B
    readonly turn: Deferred.Deferred<"lead" | "done">
    outcome?: Exit.Exit<A, E>
  }
  const queues = new Map<string, Array<Waiting>>()

  const storeGroup = (key: string, group: ReadonlyArray<Waiting>): Effect.Effect<ReadonlyArray<Exit.Exit<A, E>>> =>
    group.length === 1
      ? Effect.map(Effect.exit(options.storeOne(key, group[0]!.batch)), (exit) => [exit])
      : Effect.exit(options.storeMany(key, group.map((w) => w.batch))).pipe(
        Effect.flatMap((exit) =>
          Exit.isSuccess(exit)
            ? Effect.succeed(exit.value.map((a) => Exit.succeed(a)))
            : Effect.forEach(group, (w) => Effect.exit(options.storeOne(key, w.batch))))
      )

  // Uninterruptible throughout: a request that leads a group answers for every batch in it, and one
  // that waits may be handed the turn.
  return (key: string, batch: B): Effect.Effect<A, E> =>
    Effect.uninterruptible(Effect.gen(function*() {
      const me: Waiting = { batch, turn: yield* Deferred.make<"lead" | "done">() }
      let queue = queues.get(key)
      if (queue === undefined) {
        queue = []
        queues.set(key, queue)
        yield* Deferred.succeed(me.turn, "lead")
      }
      queue.push(me)
      if ((yield* Deferred.await(me.turn)) === "lead") {
        // The head of the queue is this request's own batch; the group takes who fits after it.
        const group: Array<Waiting> = []
        for (let i = 0; i < queue.length;) {
          const next = queue[i]!
          if (group.length === 0 || options.fits(group.map((w) => w.batch), next.batch)) {
            group.push(next)
            queue.splice(i, 1)
          } else {
            i++
          }
        }
        const exits = yield* storeGroup(key, group)
        for (const [i, w] of group.entries()) {
          w.outcome = exits[i]!
          if (w !== me) yield* Deferred.succeed(w.turn, "done")
        }
        if (queue.length > 0) yield* Deferred.succeed(queue[0]!.turn, "lead")
        else queues.delete(key)
      }
      return yield* me.outcome!
    }))
}
