import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

/**
 * Group commit for batches: while `groups` groups of batches are being stored, the batches that
 * arrive wait, and the next group stores all of them at once (one lookup, one statement, one alert
 * work item), as PostgreSQL shares one WAL flush among the commits that wait for it. Nothing waits for
 * a timer: a batch that finds fewer groups being stored is stored at once, alone.
 *
 * The request whose batch heads the queue stores the group (no fiber of its own), then hands the turn
 * to the next one waiting, so no request waits for more than the group before its own. A group that
 * fails is stored again one batch at a time, so one batch the database refuses fails alone.
 */
export const makeCoalescer = <B, A, E>(options: {
  /** how many groups may be stored at once */
  readonly groups: number
  /** whether `next` may join the group (size, reads not already in the group) */
  readonly fits: (group: ReadonlyArray<B>, next: B) => boolean
  readonly storeOne: (batch: B) => Effect.Effect<A, E>
  /** stores the batches together, answering for each in order */
  readonly storeMany: (batches: ReadonlyArray<B>) => Effect.Effect<ReadonlyArray<A>, E>
}) => {
  interface Waiting {
    readonly batch: B
    readonly turn: Deferred.Deferred<"lead" | "done">
    outcome?: Exit.Exit<A, E>
  }
  /** the batches waiting, oldest first: only while every group's place is taken */
  const waiting: Array<Waiting> = []
  let storing = 0

  const storeGroup = (group: ReadonlyArray<Waiting>): Effect.Effect<ReadonlyArray<Exit.Exit<A, E>>> =>
    group.length === 1
      ? Effect.map(Effect.exit(options.storeOne(group[0]!.batch)), (exit) => [exit])
      : Effect.exit(options.storeMany(group.map((w) => w.batch))).pipe(
        Effect.flatMap((exit) =>
          Exit.isSuccess(exit)
            ? Effect.succeed(exit.value.map((a) => Exit.succeed(a)))
            : Effect.forEach(group, (w) => Effect.exit(options.storeOne(w.batch))))
      )

  // Uninterruptible throughout: a request that leads a group answers for every batch in it, and one
  // that waits may be handed the turn.
  return (batch: B): Effect.Effect<A, E> =>
    Effect.uninterruptible(Effect.gen(function*() {
      const me: Waiting = { batch, turn: yield* Deferred.make<"lead" | "done">() }
      if (storing < options.groups) {
        storing++
        yield* Deferred.succeed(me.turn, "lead")
      } else {
        waiting.push(me)
      }
      if ((yield* Deferred.await(me.turn)) === "lead") {
        // This request's own batch heads the group; it takes those waiting that fit, oldest first.
        const group: Array<Waiting> = [me]
        for (let i = 0; i < waiting.length;) {
          const next = waiting[i]!
          if (options.fits(group.map((w) => w.batch), next.batch)) {
            group.push(next)
            waiting.splice(i, 1)
          } else {
            i++
          }
        }
        const exits = yield* storeGroup(group)
        for (const [i, w] of group.entries()) {
          w.outcome = exits[i]!
          if (w !== me) yield* Deferred.succeed(w.turn, "done")
        }
        // This group's place passes to the oldest batch waiting, if any.
        const next = waiting.shift()
        if (next !== undefined) yield* Deferred.succeed(next.turn, "lead")
        else storing--
      }
      return yield* me.outcome!
    }))
}
