import { TooManyAttempts } from "@chaverim/domain/Errors"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

/**
 * Failed attempts counted per key in PostgreSQL (so that every server replica sees them). For sign-in:
 * `user:<lower(username)>`, kept whether or not the account exists, so a lockout does not tell
 * who has one; and `addr:<client address>`, for one address trying many accounts.
 */
export interface ThrottleRule {
  /** failures within `window` that lock the key */
  readonly limit: number
  readonly window: Duration.DurationInput
  readonly lockout: Duration.DurationInput
}

export const ACCOUNT_RULE: ThrottleRule = { limit: 5, window: "15 minutes", lockout: "15 minutes" }
export const ADDRESS_RULE: ThrottleRule = { limit: 20, window: "15 minutes", lockout: "15 minutes" }

export const accountKey = (username: string) => `user:${username.trim().toLowerCase()}`
export const addressKey = (address: string) => `addr:${address}`

const seconds = (d: Duration.DurationInput) => Duration.toSeconds(Duration.decode(d))

/** How long an answer after `failures` recent failures is held back: nothing, then 0.5 s doubling to 4 s. */
export const slowDown = (failures: number): Duration.Duration =>
  failures < 2 ? Duration.zero : Duration.millis(Math.min(4_000, 250 * 2 ** (failures - 1)))

export const makeThrottle = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient

  /** Fails with TooManyAttempts while any of the keys is locked. */
  const check = (keys: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const [row] = yield* sql<{ wait: number | null }>`
        SELECT ceil(max(extract(epoch FROM locked_until - now())))::int AS wait
          FROM auth_throttle WHERE key IN ${sql.in(keys)} AND locked_until > now()`
      const wait = row?.wait ?? null
      if (wait !== null && wait > 0) {
        return yield* new TooManyAttempts({
          message: `too many failed attempts; try again in ${Math.ceil(wait / 60)} minute(s)`,
          retry_after_s: wait
        })
      }
    })

  /** Counts a failure against the key; returns the failures in the current window. */
  const fail = (key: string, rule: ThrottleRule) =>
    Effect.map(
      sql<{ failures: number }>`
        INSERT INTO auth_throttle (key, failures, window_start)
        VALUES (${key}, 1, now())
        ON CONFLICT (key) DO UPDATE SET
          failures = CASE WHEN auth_throttle.window_start < now() - make_interval(secs => ${seconds(rule.window)})
                          THEN 1 ELSE auth_throttle.failures + 1 END,
          window_start = CASE WHEN auth_throttle.window_start < now() - make_interval(secs => ${seconds(rule.window)})
                              THEN now() ELSE auth_throttle.window_start END
        RETURNING failures`.pipe(
        Effect.tap(([row]) =>
          row!.failures >= rule.limit
            ? sql`UPDATE auth_throttle
                     SET locked_until = now() + make_interval(secs => ${seconds(rule.lockout)}),
                         failures = 0, window_start = now()
                   WHERE key = ${key}`
            : Effect.void
        )
      ),
      ([row]) => row!.failures
    )

  /** A failure of the account and of the address, held back by the slow-down; then `error`. */
  const failed = <E>(username: string, address: string, error: E) =>
    Effect.gen(function*() {
      const failures = yield* fail(accountKey(username), ACCOUNT_RULE)
      yield* fail(addressKey(address), ADDRESS_RULE)
      yield* Effect.sleep(slowDown(failures))
      return yield* Effect.fail(error)
    })

  /** A success clears the account's count (not the address's: one good account must not shield guessing at others). */
  const succeeded = (username: string) => sql`DELETE FROM auth_throttle WHERE key = ${accountKey(username)}`.pipe(Effect.asVoid)

  return { check, fail, failed, succeeded } as const
})

export type Throttle = Effect.Effect.Success<typeof makeThrottle>
