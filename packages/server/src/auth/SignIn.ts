import type { LoginResponse } from "@chaverim/domain/Accounts"
import { Role } from "@chaverim/domain/Auth"
import { BadRequest, Unauthorized } from "@chaverim/domain/Errors"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Audit } from "../audit/Audit"
import { sha256Hex, typedNameTag } from "../crypto/Tokens"
import { Int8TextOrNull, orBug } from "../db/Rows"
import type { RequestInfo } from "../http/ClientAddress"
import { decoyHash, hashPassword, verifyPassword } from "./Passwords"
import { makeRecovery } from "./Recovery"
import { type Actor, newToken, type Sessions, SESSION_HOURS } from "./Sessions"
import {
  ACCOUNT_BUDGET,
  accountKey,
  ADDRESS_BUDGET,
  addressKey,
  type AttemptBudget,
  CODE_BUDGET,
  codeKey,
  KNOWN_ADDRESS_DAYS,
  makeThrottle,
  PASSWORD_BUDGET,
  passwordKey
} from "./Throttle"
import { makeTotp, newEnrolment } from "./Totp"

/**
 * Signing in, in two steps: the password (which leaves a pre-auth cookie, `pending_logins`), then a
 * TOTP code or a recovery code (which opens a session); an account on a one-time password sets its
 * own in the second step. Also the change of password by its owner, which is proven the same way.
 * Every outcome is audited; attempts are counted before they are checked (see Throttle).
 */

export const PREAUTH_MINUTES = 10
/** Wrong codes allowed on one pre-auth cookie before the password must be given again. */
const PREAUTH_ATTEMPTS = 5

const WRONG_CREDENTIALS = "wrong username or password"

/** TOTP and recovery codes checked: what the shared code budget bounds (see Throttle). */
export const codeChecks = Metric.counter("alpr_auth_code_checks_total", {
  description: "TOTP and recovery codes checked at sign-in",
  incremental: true
})

/** An enabled account as the password step reads it. */
const Credentials = Schema.Struct({
  id: Schema.String,
  username: Schema.String,
  password_hash: Schema.NullOr(Schema.String),
  totp_secret: Schema.NullOr(Schema.String),
  must_change_password: Schema.Boolean
})

const PendingFields = {
  user_id: Schema.String,
  password_change_required: Schema.Boolean,
  username: Schema.String,
  role: Role,
  password_hash: Schema.String,
  totp_secret: Schema.NullOr(Schema.String),
  totp_last_step: Int8TextOrNull
}

/**
 * A current pre-auth cookie's sign-in with its account, as the second step reads it. At enrolment
 * it carries the candidate secret (a CHECK of `pending_logins` holds it there).
 */
const PendingLogin = Schema.Union(
  Schema.Struct({ ...PendingFields, stage: Schema.Literal("enroll"), pending_secret: Schema.String }),
  Schema.Struct({ ...PendingFields, stage: Schema.Literal("totp"), pending_secret: Schema.NullOr(Schema.String) })
)

type Verdict =
  | { readonly ok: true; readonly enrolled: boolean; readonly username: string }
  | { readonly ok: false; readonly username: string; readonly reason: string; readonly attemptsLeft: number }

export const makeSignIn = (sessions: Sessions) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* Audit
    const throttle = yield* makeThrottle
    const totp = yield* makeTotp
    const recovery = yield* makeRecovery
    const decoy = yield* decoyHash()
    const { me, openSession, revokeSessions } = sessions

    /**
     * The budgets a password attempt draws on (see Throttle): its account's from this address, the
     * address's, and the account's shared one unless this address signed in to the account lately.
     */
    const passwordBudgets = (typed: string, userId: string | undefined, address: string) =>
      Effect.map(
        userId === undefined ? Effect.succeed([]) : sql`
          SELECT 1 FROM sessions
           WHERE user_id = ${userId} AND address = ${address}
             AND created_at > now() - make_interval(days => ${KNOWN_ADDRESS_DAYS})
           LIMIT 1`,
        (known): ReadonlyArray<readonly [string, AttemptBudget]> => [
          [passwordKey(typed, address), PASSWORD_BUDGET],
          [addressKey(address), ADDRESS_BUDGET],
          ...(known.length > 0 ? [] : [[accountKey(typed), ACCOUNT_BUDGET] as const])
        ]
      )

    const findCredentials = SqlSchema.findOne({
      Request: Schema.String,
      Result: Credentials,
      execute: (name) =>
        sql`
          SELECT id, username, password_hash, totp_secret, must_change_password
            FROM users WHERE lower(username) = ${name} AND disabled_at IS NULL`
    })

    /** The password step: a pre-auth token (for the cookie) and what the second step needs. */
    const login = (username: string, password: string, request: RequestInfo) =>
      Effect.gen(function*() {
        // PostgreSQL text cannot hold NUL: such a name is nobody's, and is logged without it.
        const typed = username.replace(/\u0000/g, "")
        const user = typed !== username
          ? undefined
          : Option.getOrUndefined(yield* orBug(findCredentials(username.trim().toLowerCase())))
        const attempt = yield* throttle.take(yield* passwordBudgets(typed, user?.id, request.address))
        // The same work whether or not the account exists.
        const good = yield* verifyPassword(user?.password_hash ?? decoy, password)
        if (user === undefined || user.password_hash === null || !good) {
          yield* audit.record({
            actor: user === undefined ? undefined : { userId: user.id, username: user.username },
            address: request.address,
            action: "auth.login",
            // A name that is nobody's is often a password typed into the wrong field: only a tag of
            // it is kept, keyed per process, so repeats can be told apart but the text never stored.
            details: user === undefined
              ? { step: "password", unknown_username: typedNameTag(typed) }
              : { step: "password", username: user.username },
            outcome: "failure"
          })
          return yield* throttle.failedAfter(attempt.attempts, new Unauthorized({ message: WRONG_CREDENTIALS }))
        }
        yield* attempt.giveBack
        const preauth = newToken()
        const enrolment = user.totp_secret === null ? newEnrolment(user.username) : null
        yield* sql`DELETE FROM pending_logins WHERE expires_at < now()`
        yield* sql`
          INSERT INTO pending_logins (token_hash, user_id, stage, totp_secret, password_change_required, address, expires_at)
          VALUES (${sha256Hex(preauth)}, ${user.id}, ${enrolment === null ? "totp" : "enroll"}, ${enrolment?.secret ?? null},
                  ${user.must_change_password}, ${request.address},
                  now() + make_interval(mins => ${PREAUTH_MINUTES}))`
        yield* audit.record({
          actor: { userId: user.id, username: user.username },
          address: request.address,
          action: "auth.login",
          details: { step: "password" },
          outcome: "success"
        })
        const response: LoginResponse = enrolment === null
          ? { status: "totp_required", password_change_required: user.must_change_password }
          : {
            status: "totp_enrollment_required",
            otpauth_url: enrolment.otpauthUrl,
            secret: enrolment.secret,
            password_change_required: user.must_change_password
          }
        return { preauth, response }
      })

    const findPending = SqlSchema.findOne({
      Request: Schema.String,
      Result: Schema.Struct({ user_id: Schema.String }),
      execute: (tokenHash) =>
        sql`
          SELECT user_id FROM pending_logins
           WHERE token_hash = ${tokenHash} AND expires_at > now()`
    })

    /** The pre-auth cookie's pending sign-in, if it is current. */
    const pendingOf = (preauthToken: string) => {
      const tokenHash = sha256Hex(preauthToken)
      return Effect.map(orBug(findPending(tokenHash)), Option.map((row) => ({ tokenHash, userId: row.user_id })))
    }

    const findPendingLogin = SqlSchema.findOne({
      Request: Schema.String,
      Result: PendingLogin,
      execute: (preauthHash) =>
        sql`
          SELECT p.user_id, p.stage, p.totp_secret AS pending_secret, p.password_change_required,
                 u.username, u.role, u.password_hash, u.totp_secret, u.totp_last_step
            FROM pending_logins p JOIN users u ON u.id = p.user_id
           WHERE p.token_hash = ${preauthHash} AND p.expires_at > now() AND u.disabled_at IS NULL`
    })

    const lockPending = SqlSchema.findOne({
      Request: Schema.String,
      Result: Schema.Struct({ attempts: Schema.Number }),
      execute: (preauthHash) => sql`SELECT attempts FROM pending_logins WHERE token_hash = ${preauthHash} FOR UPDATE`
    })

    /** The TOTP step: a session, and at enrolment the recovery codes. */
    const completeLogin = (
      preauthHash: string,
      body: { readonly code?: string | undefined; readonly recovery_code?: string | undefined; readonly new_password?: string | undefined },
      request: RequestInfo
    ) =>
      Effect.gen(function*() {
        if ((body.code === undefined) === (body.recovery_code === undefined)) {
          return yield* new BadRequest({ message: "send either code (six digits) or recovery_code" })
        }
        const found = yield* orBug(findPendingLogin(preauthHash))
        if (Option.isNone(found)) return yield* new Unauthorized({ message: "sign in with your password again" })
        const pending = found.value
        if (pending.stage === "enroll" && body.recovery_code !== undefined) {
          return yield* new BadRequest({ message: "recovery codes are issued at enrolment: send the code your authenticator shows" })
        }
        if (pending.password_change_required) {
          if (body.new_password === undefined) {
            return yield* new BadRequest({ message: "your password is a one-time password: send new_password to set your own" })
          }
          if (body.new_password.toLowerCase().includes(pending.username.toLowerCase())) {
            return yield* new BadRequest({ message: "the new password must not contain the username" })
          }
          if (yield* verifyPassword(pending.password_hash, body.new_password)) {
            return yield* new BadRequest({ message: "the new password must differ from the one-time password" })
          }
        }
        const newHash = pending.password_change_required ? yield* hashPassword(body.new_password!) : null

        // One budget for the account whichever pre-auth cookie or address the code comes with.
        const attempt = yield* throttle.take([[codeKey(pending.user_id), CODE_BUDGET], [addressKey(request.address), ADDRESS_BUDGET]])
        const verdict: Verdict = yield* sql.withTransaction(Effect.gen(function*() {
          // Serialises the attempts on one pre-auth cookie.
          const locked = yield* orBug(lockPending(preauthHash))
          if (Option.isNone(locked)) {
            return { ok: false, username: pending.username, reason: "expired", attemptsLeft: 0 } satisfies Verdict
          }
          let good = false
          yield* Metric.increment(codeChecks)
          if (body.recovery_code !== undefined) {
            good = yield* recovery.use(pending.user_id, body.recovery_code)
          } else {
            const secret = pending.stage === "enroll" ? pending.pending_secret : pending.totp_secret
            if (secret !== null) {
              const last = pending.totp_last_step === null ? undefined : Number(pending.totp_last_step)
              good = yield* totp.check(pending.user_id, secret, body.code!, pending.stage === "totp" ? last : undefined)
            }
          }
          if (!good) {
            const attempts = locked.value.attempts + 1
            if (attempts >= PREAUTH_ATTEMPTS) yield* sql`DELETE FROM pending_logins WHERE token_hash = ${preauthHash}`
            else yield* sql`UPDATE pending_logins SET attempts = ${attempts} WHERE token_hash = ${preauthHash}`
            return {
              ok: false,
              username: pending.username,
              reason: body.recovery_code === undefined ? "wrong or used TOTP code" : "wrong or used recovery code",
              attemptsLeft: PREAUTH_ATTEMPTS - attempts
            } satisfies Verdict
          }
          if (pending.stage === "enroll") yield* totp.enrol(pending.user_id, pending.pending_secret)
          if (newHash !== null) {
            yield* sql`UPDATE users SET password_hash = ${newHash}, must_change_password = false,
                                        password_changed_at = now(), updated_at = now()
                        WHERE id = ${pending.user_id}`
            yield* revokeSessions(pending.user_id)
          }
          yield* sql`DELETE FROM pending_logins WHERE token_hash = ${preauthHash}`
          return { ok: true, enrolled: pending.stage === "enroll", username: pending.username } satisfies Verdict
        }))

        const actor = { userId: pending.user_id, username: pending.username }
        if (!verdict.ok) {
          yield* audit.record({
            actor,
            address: request.address,
            action: "auth.login",
            details: { step: pending.stage === "enroll" ? "totp_enrolment" : "totp", reason: verdict.reason },
            outcome: "failure"
          })
          const message = verdict.attemptsLeft > 0
            ? `${verdict.reason}; ${verdict.attemptsLeft} attempt(s) left`
            : `${verdict.reason}; sign in with your password again`
          return yield* throttle.failedAfter(attempt.attempts, new Unauthorized({ message }))
        }

        // Enrolment issues the recovery codes, replacing any earlier ones.
        const recoveryCodes = verdict.enrolled ? yield* recovery.issue(pending.user_id) : undefined
        const { hash, session } = yield* openSession(pending.user_id, SESSION_HOURS, request)
        const left = yield* recovery.left(pending.user_id)
        yield* attempt.giveBack
        yield* throttle.clear(passwordKey(pending.username, request.address))
        yield* audit.record({
          actor,
          address: request.address,
          action: "auth.login",
          details: {
            step: verdict.enrolled ? "totp_enrolment" : body.recovery_code !== undefined ? "recovery_code" : "totp",
            ...(newHash === null ? {} : { password_changed: true })
          },
          outcome: "success"
        })
        return {
          session,
          response: {
            user: yield* me(hash),
            ...(recoveryCodes === undefined ? {} : { recovery_codes: recoveryCodes }),
            recovery_codes_left: left
          }
        }
      })

    const findPasswordHash = SqlSchema.findOne({
      Request: Schema.String,
      Result: Schema.Struct({ password_hash: Schema.NullOr(Schema.String) }),
      execute: (userId) => sql`SELECT password_hash FROM users WHERE id = ${userId}`
    })

    /** Ends every session of the user, this one included: the new password is proven at the next sign-in. */
    const changePassword = (user: Actor, current: string, next: string, request: RequestInfo) =>
      Effect.gen(function*() {
        const row = Option.getOrUndefined(yield* orBug(findPasswordHash(user.userId)))
        // A wall display's account has no password (it pairs with a code).
        if (row?.password_hash === null) return yield* new BadRequest({ message: "a wall display has no password to change" })
        const attempt = yield* throttle.take([
          [passwordKey(user.username, request.address), PASSWORD_BUDGET],
          [addressKey(request.address), ADDRESS_BUDGET]
        ])
        if (row === undefined || !(yield* verifyPassword(row.password_hash, current))) {
          yield* audit.record({
            actor: user,
            address: request.address,
            action: "auth.password_change",
            details: { reason: "wrong current password" },
            outcome: "failure"
          })
          return yield* throttle.failedAfter(attempt.attempts, new BadRequest({ message: "the current password is wrong" }))
        }
        yield* attempt.giveBack
        if (next.toLowerCase().includes(user.username.toLowerCase())) {
          return yield* new BadRequest({ message: "the new password must not contain the username" })
        }
        if (current === next) return yield* new BadRequest({ message: "the new password must differ from the current one" })
        const hash = yield* hashPassword(next)
        yield* sql.withTransaction(Effect.gen(function*() {
          yield* sql`UPDATE users SET password_hash = ${hash}, must_change_password = false,
                                      password_changed_at = now(), updated_at = now() WHERE id = ${user.userId}`
          yield* revokeSessions(user.userId)
          yield* audit.record({ actor: user, address: request.address, action: "auth.password_change", outcome: "success" })
        }))
      })

    return { login, pendingOf, completeLogin, changePassword } as const
  })
