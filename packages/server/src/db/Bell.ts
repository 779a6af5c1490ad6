import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/**
 * The alert engine's queue (`alert_work`, sql/0009): its workers listen on it (alerts/Engine.ts), and
 * ingest rings it after the commit that stored reads. Here, below both, as ingest may not import alerts.
 */
export const ALERT_WORK_CHANNEL = "alert_work"

/**
 * Rings a NOTIFY channel after commits that queued work, from outside their transactions.
 *
 * A NOTIFY inside a transaction takes PostgreSQL's notify lock, one for the whole cluster, when the
 * transaction commits, and holds it through the commit's WAL flush: every such commit waits for the one
 * before it, so transactions that could have shared a flush (one read per request, many at once) each
 * pay one of their own in turn. The writer commits first and rings here instead. At most one NOTIFY is
 * in flight per server: a ring while one is in flight sends one more after it, so every commit that
 * rang is followed by a NOTIFY sent after it. A NOTIFY that fails is logged and dropped; the listeners'
 * safety polls find the work.
 */
export const makeBell = (channel: string): Effect.Effect<{ readonly ring: Effect.Effect<void> }, never, SqlClient.SqlClient | Scope.Scope> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const scope = yield* Effect.scope
    let state: "idle" | "sending" | "again" = "idle"

    const send: Effect.Effect<void> = sql`SELECT pg_notify(${channel}, '')`.pipe(
      Effect.catchAll((error) => Effect.logWarning("NOTIFY failed; the listeners' safety poll will find the work", error)),
      Effect.annotateLogs({ channel }),
      Effect.zipRight(Effect.suspend(() => {
        if (state === "again") {
          state = "sending"
          return send
        }
        state = "idle"
        return Effect.void
      }))
    )

    const ring = Effect.suspend(() => {
      if (state !== "idle") {
        state = "again"
        return Effect.void
      }
      state = "sending"
      return Effect.asVoid(Effect.forkIn(send, scope))
    })
    return { ring } as const
  })
