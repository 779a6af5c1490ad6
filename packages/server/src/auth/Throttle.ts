import { TooManyAttempts } from "@chaverim/domain/Errors"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { sha256Hex } from "../crypto/Tokens"
import { orBug } from "../db/Rows"
import { throttleScope } from "../http/Proxies"

/**
 * Attempts counted per key in PostgreSQL (so that every server replica sees them).
 *
 * Sign-in takes an attempt from every budget it touches BEFORE the password or code is checked, in
 * one statement per key that refuses once the budget is spent: so parallel requests cannot all pass
 * a check made before any of them has failed. A success gives its attempts back; a failure keeps
 * them. The budgets are chosen so that no address's failures can keep another address out:
 *
 * - `pw:<username>@<address>`: 5 password attempts per account per address in 15 minutes. Another
 *   address signing in to the same account is not touched by them.
 * - `addr:<address>`: 20 attempts (passwords, codes, pairing codes) per address in 15 minutes, for one
 *   address trying many accounts.
 * - `user:<username>`: 50 password attempts per account in an hour, across addresses, for guessing
 *   spread over many addresses. One address cannot spend it alone (it gets at most 20 an hour on one
 *   account), and addresses that signed in to the account within 90 days do not draw on it, so people
 *   at their usual place still get in while it is spent.
 * - `code:<user id>`: 5 TOTP or recovery codes per account in 15 minutes, shared by every pre-auth
 *   cookie and address: whoever gets this far knows the password, and a code has only a million values.
 *
 * Usernames count whether or not the account exists, so a refusal does not tell who has one, and are
 * kept hashed. An address is an IPv4 address or an IPv6 /64 (throttleScope).
 */
export interface AttemptBudget {
  /** attempts within `window` (counted from the first); the next one waits for the window to end */
  readonly limit: number
  readonly window: Duration.DurationInput
}

export const PASSWORD_BUDGET: AttemptBudget = { limit: 5, window: "15 minutes" }
export const ADDRESS_BUDGET: AttemptBudget = { limit: 20, window: "15 minutes" }
export const ACCOUNT_BUDGET: AttemptBudget = { limit: 50, window: "1 hour" }
export const CODE_BUDGET: AttemptBudget = { limit: 5, window: "15 minutes" }
/** How long an address that signed in to an account stays exempt from the account's shared budget. */
export const KNOWN_ADDRESS_DAYS = 90

// A name that is nobody's is often a password typed into the wrong field: keys hold a hash of it.
const username = (typed: string) => sha256Hex(typed.trim().toLowerCase()).slice(0, 32)
export const passwordKey = (typed: string, address: string) => `pw:${username(typed)}@${throttleScope(address)}`
export const accountKey = (typed: string) => `user:${username(typed)}`
export const addressKey = (address: string) => `addr:${throttleScope(address)}`
export const codeKey = (userId: string) => `code:${userId}`

/** For the lock-on-failure counting of `fail` and `check` (Telegram link codes). */
export interface ThrottleRule {
  /** failures within `window` that lock the key */
  readonly limit: number
  readonly window: Duration.DurationInput
  readonly lockout: Duration.DurationInput
}

const seconds = (d: Duration.DurationInput) => Duration.toSeconds(Duration.decode(d))

/** Seconds to wait, rounded up; null when nothing is locked. */
const Wait = Schema.Struct({ wait: Schema.NullOr(Schema.Number) })

/** How long a failed answer is held back after `attempts` recent ones: nothing, then 0.5 s doubling to 4 s. */
export const slowDown = (attempts: number): Duration.Duration =>
  attempts < 2 ? Duration.zero : Duration.millis(Math.min(4_000, 250 * 2 ** (attempts - 1)))

export const makeThrottle = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient

  const lockWait = SqlSchema.findOne({
    Request: Schema.Array(Schema.String),
    Result: Wait,
    execute: (keys) =>
      sql`
        SELECT ceil(max(extract(epoch FROM locked_until - now())))::int AS wait
          FROM auth_throttle WHERE key IN ${sql.in(keys)} AND locked_until > now()`
  })

  /** Fails with TooManyAttempts while any of the keys is locked. */
  const check = (keys: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const row = yield* orBug(lockWait(keys))
      const wait = Option.getOrUndefined(row)?.wait ?? null
      if (wait !== null && wait > 0) {
        return yield* new TooManyAttempts({
          message: `too many failed attempts; try again in ${Math.ceil(wait / 60)} minute(s)`,
          retry_after_s: wait
        })
      }
    })

  const countFailure = SqlSchema.single({
    Request: Schema.Struct({ key: Schema.String, windowSeconds: Schema.Number }),
    Result: Schema.Struct({ failures: Schema.Number }),
    execute: ({ key, windowSeconds }) =>
      sql`
        INSERT INTO auth_throttle (key, failures, window_start)
        VALUES (${key}, 1, now())
        ON CONFLICT (key) DO UPDATE SET
          failures = CASE WHEN auth_throttle.window_start < now() - make_interval(secs => ${windowSeconds})
                          THEN 1 ELSE auth_throttle.failures + 1 END,
          window_start = CASE WHEN auth_throttle.window_start < now() - make_interval(secs => ${windowSeconds})
                              THEN now() ELSE auth_throttle.window_start END
        RETURNING failures`
  })

  /** Counts a failure against the key; returns the failures in the current window. */
  const fail = (key: string, rule: ThrottleRule) =>
    countFailure({ key, windowSeconds: seconds(rule.window) }).pipe(
      orBug,
      Effect.catchTag("NoSuchElementException", () => Effect.dieMessage("an upsert returned no row")),
      Effect.tap(({ failures }) =>
        failures >= rule.limit
          ? sql`UPDATE auth_throttle
                   SET locked_until = now() + make_interval(secs => ${seconds(rule.lockout)}),
                       failures = 0, window_start = now()
                 WHERE key = ${key}`
          : Effect.void
      ),
      Effect.map(({ failures }) => failures)
    )

  const takeAttempt = SqlSchema.findOne({
    Request: Schema.Struct({ key: Schema.String, windowSeconds: Schema.Number, limit: Schema.Number }),
    Result: Schema.Struct({ attempts: Schema.Number }),
    execute: ({ key, limit, windowSeconds }) =>
      sql`
        INSERT INTO auth_throttle AS t (key, failures, window_start)
        VALUES (${key}, 1, now())
        ON CONFLICT (key) DO UPDATE SET
          failures = CASE WHEN t.window_start <= now() - make_interval(secs => ${windowSeconds})
                          THEN 1 ELSE t.failures + 1 END,
          window_start = CASE WHEN t.window_start <= now() - make_interval(secs => ${windowSeconds})
                              THEN now() ELSE t.window_start END
        WHERE t.window_start <= now() - make_interval(secs => ${windowSeconds})
           OR t.failures < ${limit}
        RETURNING failures AS attempts`
  })

  /** The key's attempt, or undefined when its budget is spent. */
  const takeOne = (key: string, budget: AttemptBudget) =>
    Effect.map(
      orBug(takeAttempt({ key, windowSeconds: seconds(budget.window), limit: budget.limit })),
      (row) => Option.getOrUndefined(row)?.attempts
    )

  const giveBack = (keys: ReadonlyArray<string>) =>
    keys.length === 0
      ? Effect.void
      : sql`UPDATE auth_throttle SET failures = greatest(failures - 1, 0) WHERE key IN ${sql.in(keys)}`.pipe(Effect.asVoid)

  const windowWait = SqlSchema.findOne({
    Request: Schema.Struct({ key: Schema.String, windowSeconds: Schema.Number }),
    Result: Wait,
    execute: ({ key, windowSeconds }) =>
      sql`
        SELECT ceil(extract(epoch FROM window_start + make_interval(secs => ${windowSeconds}) - now()))::int AS wait
          FROM auth_throttle WHERE key = ${key}`
  })

  const refusal = (key: string, budget: AttemptBudget) =>
    Effect.flatMap(orBug(windowWait({ key, windowSeconds: seconds(budget.window) })), (row) => {
      const wait = Math.max(1, Option.getOrUndefined(row)?.wait ?? 1)
      return new TooManyAttempts({
        message: `too many failed attempts; try again in ${Math.ceil(wait / 60)} minute(s)`,
        retry_after_s: wait
      })
    })

  /**
   * One attempt from each budget, in order, or none: TooManyAttempts names the wait of the first
   * budget that is spent. `attempts` is the first budget's count with this one (for `failedAfter`);
   * `giveBack` returns them all, for a success.
   */
  const take = (claims: ReadonlyArray<readonly [key: string, budget: AttemptBudget]>) =>
    Effect.gen(function*() {
      const taken: Array<string> = []
      let first = 0
      for (const [key, budget] of claims) {
        const attempts = yield* takeOne(key, budget)
        if (attempts === undefined) {
          yield* giveBack(taken)
          return yield* refusal(key, budget)
        }
        if (taken.length === 0) first = attempts
        taken.push(key)
      }
      return { attempts: first, giveBack: giveBack(taken) } as const
    })

  /** A failed attempt's answer, held back by the slow-down for the attempts counted so far; then `error`. */
  const failedAfter = <E>(attempts: number, error: E) =>
    Effect.zipRight(Effect.sleep(slowDown(attempts)), Effect.fail(error))

  /** Forgets a key's attempts (a full sign-in forgets its address's password attempts on the account). */
  const clear = (key: string) => sql`DELETE FROM auth_throttle WHERE key = ${key}`.pipe(Effect.asVoid)

  return { check, fail, take, failedAfter, clear } as const
})

export type Throttle = Effect.Effect.Success<typeof makeThrottle>
