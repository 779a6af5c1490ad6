import * as SqlError from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"

/** How database failures end a watchlist call. */

/** A database failure is nobody's input error: it ends the call as a defect (logged by the caller's layer). */
export const dieOnSql = <A, E, R>(effect: Effect.Effect<A, E | SqlError.SqlError, R>): Effect.Effect<A, Exclude<E, SqlError.SqlError>, R> =>
  Effect.catchIf(effect, (e): e is SqlError.SqlError => e instanceof SqlError.SqlError, Effect.die) as Effect.Effect<
    A,
    Exclude<E, SqlError.SqlError>,
    R
  >

/** A unique index refused the row: for a list, its name is taken by a live list (the caller's error, not a defect). */
export const isUniqueViolation = (e: unknown): e is SqlError.SqlError =>
  e instanceof SqlError.SqlError && (e.cause as { readonly code?: string } | undefined)?.code === "23505"
