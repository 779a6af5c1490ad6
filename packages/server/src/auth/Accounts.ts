import type { LoginResponse, Me } from "@chaverim/domain/Accounts"
import { type Role } from "@chaverim/domain/Auth"
import { BadRequest, NotFound, Unauthorized } from "@chaverim/domain/Errors"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import { generateSecret, generateURI, verify as verifyTotp } from "otplib"
import { randomBytes, timingSafeEqual } from "node:crypto"
import { Audit } from "../audit/Audit"
import type { RequestInfo } from "../http/ClientAddress"
import { canonicalCode, newTypableCode, sha256Hex, typedNameTag } from "../crypto/Tokens"
import { decoyHash, hashPassword, oneTimePassword, verifyPassword } from "./Passwords"
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

export const SESSION_HOURS = 24
export const PREAUTH_MINUTES = 10
/** Wrong codes allowed on one pre-auth cookie before the password must be given again. */
const PREAUTH_ATTEMPTS = 5
const RECOVERY_CODES = 10
const ISSUER = "Chaverim ALPR"

/** Who did something, and from where: what the audit log records of a request. */
export interface Actor {
  readonly userId: string
  readonly username: string
}
export type { RequestInfo }

export interface SessionUser {
  readonly userId: string
  readonly username: string
  readonly role: Role
  readonly sessionHash: string
  readonly csrfToken: string
  /** a paired wall display's session: it may call only what the wall shows */
  readonly display: boolean
}

export interface UserSummary {
  readonly user_id: string
  readonly username: string
  readonly role: Role
  readonly created_at: string
  readonly disabled_at: string | null
  readonly totp_enrolled: boolean
  readonly must_change_password: boolean
  readonly active_sessions: number
}

/** `XXXX-XXXX-XXXX-XXXX`: 80 random bits, so a SHA-256 of it is as good as a slow hash. */
const newRecoveryCode = () => newTypableCode(4)

const token = () => randomBytes(32).toString("base64url")

/** Constant-time equality of two strings (false when their lengths differ). */
export const safeEqual = (a: string, b: string) => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

const iso = (d: Date | string) => new Date(d).toISOString()

const WRONG_CREDENTIALS = "wrong username or password"

/** TOTP and recovery codes checked: what the shared code budget bounds (see Throttle). */
export const codeChecks = Metric.counter("alpr_auth_code_checks_total", {
  description: "TOTP and recovery codes checked at sign-in",
  incremental: true
})

/**
 * People and their sign-in: accounts with one-time passwords, a password step and a TOTP step,
 * sessions, recovery codes and the administration of accounts. Every outcome is audited; attempts
 * are counted before they are checked, per account, per address and per both (see Throttle).
 */
export class Accounts extends Effect.Service<Accounts>()("@chaverim/server/Accounts", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* Audit
    const throttle = yield* makeThrottle
    const decoy = yield* decoyHash()

    // -------------------------------------------------------------------------------------------
    // Accounts

    const create = Effect.fn("Accounts.create")(function*(username: string, role: Role, by?: Actor, request?: RequestInfo) {
      const password = oneTimePassword()
      const hash = yield* hashPassword(password)
      const rows = yield* sql<{ id: string }>`
        INSERT INTO users (username, role, password_hash, must_change_password)
        VALUES (${username}, ${role}, ${hash}, true)
        ON CONFLICT DO NOTHING
        RETURNING id`
      if (rows.length === 0) return yield* new BadRequest({ message: `the username ${username} is taken` })
      yield* audit.record({
        actor: by,
        address: request?.address,
        action: "user.create",
        target: `user:${rows[0]!.id}`,
        details: { username, role, ...(by === undefined ? { via: "cli" } : {}) },
        outcome: "success"
      })
      return { user_id: rows[0]!.id, username, password }
    })

    const list = sql<{
      id: string
      username: string
      role: Role
      created_at: Date
      disabled_at: Date | null
      totp_enrolled: boolean
      must_change_password: boolean
      active_sessions: number
    }>`
      SELECT u.id, u.username, u.role, u.created_at, u.disabled_at, u.totp_secret IS NOT NULL AS totp_enrolled,
             u.must_change_password,
             (SELECT count(*)::int FROM sessions s
               WHERE s.user_id = u.id AND s.revoked_at IS NULL AND s.expires_at > now()) AS active_sessions
        FROM users u WHERE NOT u.display ORDER BY lower(u.username)`.pipe(
      Effect.map((rows) =>
        rows.map((r): UserSummary => ({
          user_id: r.id,
          username: r.username,
          role: r.role,
          created_at: iso(r.created_at),
          disabled_at: r.disabled_at === null ? null : iso(r.disabled_at),
          totp_enrolled: r.totp_enrolled,
          must_change_password: r.must_change_password,
          active_sessions: r.active_sessions
        }))
      )
    )

    /** The id of an account by its username (case forgiven). */
    const idOf = (username: string) =>
      Effect.flatMap(
        sql<{ id: string }>`SELECT id FROM users WHERE lower(username) = ${username.trim().toLowerCase()} AND NOT display`,
        ([row]) => row === undefined ? new NotFound({ message: `no user named ${username}` }) : Effect.succeed(row.id)
      )

    /** Ends every session of the user (and any sign-in half done); how many were open. */
    const revokeSessions = (userId: string) =>
      sql`UPDATE sessions SET revoked_at = now() WHERE user_id = ${userId} AND revoked_at IS NULL RETURNING 1`.pipe(
        Effect.tap(() => sql`DELETE FROM pending_logins WHERE user_id = ${userId}`),
        Effect.map((ended) => ended.length)
      )

    /** A new session of the user, `hours` long: the token for the cookie, and its SHA-256 (the row's key). */
    const openSession = (userId: string, hours: number, request: RequestInfo) =>
      Effect.gen(function*() {
        const session = token()
        const hash = sha256Hex(session)
        yield* sql`
          INSERT INTO sessions (token_hash, user_id, expires_at, address, csrf_token, user_agent)
          VALUES (${hash}, ${userId}, now() + make_interval(hours => ${hours}),
                  ${request.address}, ${randomBytes(24).toString("base64url")}, ${request.userAgent?.slice(0, 300) ?? null})`
        return { session, hash }
      })

    const usernameOf = (userId: string) =>
      Effect.flatMap(
        sql<{ username: string; role: Role; disabled: boolean }>`
          SELECT username, role, disabled_at IS NOT NULL AS disabled FROM users WHERE id = ${userId} AND NOT display`,
        ([row]) => row === undefined ? new NotFound({ message: "no such user" }) : Effect.succeed(row)
      )

    /** Refuses to leave the platform without an active admin. */
    const keepAnAdmin = (userId: string) =>
      Effect.gen(function*() {
        const [row] = yield* sql<{ others: number }>`
          SELECT count(*)::int AS others FROM users
           WHERE role = 'admin' AND disabled_at IS NULL AND id <> ${userId}`
        if (row!.others === 0) {
          return yield* new BadRequest({ message: "this is the last active admin: make another admin first" })
        }
      })

    const administer = <A, E, R>(
      action: string,
      userId: string,
      by: Actor | undefined,
      request: RequestInfo | undefined,
      details: Record<string, unknown>,
      change: (user: { username: string; role: Role; disabled: boolean }) => Effect.Effect<A, E, R>
    ) =>
      sql.withTransaction(Effect.gen(function*() {
        const user = yield* usernameOf(userId)
        const result = yield* change(user)
        yield* audit.record({
          actor: by,
          address: request?.address,
          action,
          target: `user:${userId}`,
          details: { username: user.username, ...details, ...(by === undefined ? { via: "cli" } : {}) },
          outcome: "success"
        })
        return result
      }))

    const setDisabled = (userId: string, disabled: boolean, by: Actor | undefined, request: RequestInfo | undefined) =>
      administer(disabled ? "user.disable" : "user.enable", userId, by, request, {}, (user) =>
        Effect.gen(function*() {
          if (disabled && user.role === "admin") yield* keepAnAdmin(userId)
          yield* sql`UPDATE users SET disabled_at = ${disabled ? sql`now()` : null}, updated_at = now()
                      WHERE id = ${userId}`
          if (disabled) yield* revokeSessions(userId)
        }))

    const setRole = (userId: string, role: Role, by: Actor | undefined, request: RequestInfo | undefined) =>
      administer("user.role", userId, by, request, { role }, (user) =>
        Effect.gen(function*() {
          if (user.role === "admin" && role !== "admin") yield* keepAnAdmin(userId)
          yield* sql`UPDATE users SET role = ${role}, updated_at = now() WHERE id = ${userId}`
        }))

    /** The user enrols again at the next sign-in; the old authenticator and recovery codes stop working. */
    const resetTotp = (userId: string, by: Actor | undefined, request: RequestInfo | undefined) =>
      administer("user.reset_totp", userId, by, request, {}, () =>
        Effect.gen(function*() {
          yield* sql`UPDATE users SET totp_secret = NULL, totp_enrolled_at = NULL, totp_last_step = NULL,
                                      updated_at = now() WHERE id = ${userId}`
          yield* sql`DELETE FROM recovery_codes WHERE user_id = ${userId}`
          yield* revokeSessions(userId)
        }))

    /** A new one-time password, to be changed at the next sign-in; every session ends. */
    const resetPassword = (userId: string, by: Actor | undefined, request: RequestInfo | undefined) =>
      Effect.gen(function*() {
        const password = oneTimePassword()
        const hash = yield* hashPassword(password)
        return yield* administer("user.reset_password", userId, by, request, {}, (user) =>
          Effect.gen(function*() {
            yield* sql`UPDATE users SET password_hash = ${hash}, must_change_password = true, updated_at = now()
                        WHERE id = ${userId}`
            yield* revokeSessions(userId)
            return { user_id: userId, username: user.username, password }
          }))
      })

    // -------------------------------------------------------------------------------------------
    // Signing in

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

    /** The password step: a pre-auth token (for the cookie) and what the second step needs. */
    const login = (username: string, password: string, request: RequestInfo) =>
      Effect.gen(function*() {
        // PostgreSQL text cannot hold NUL: such a name is nobody's, and is logged without it.
        const typed = username.replace(/\u0000/g, "")
        const [user] = typed !== username ? [] : yield* sql<{
          id: string
          username: string
          password_hash: string | null
          totp_secret: string | null
          must_change_password: boolean
        }>`
          SELECT id, username, password_hash, totp_secret, must_change_password
            FROM users WHERE lower(username) = ${username.trim().toLowerCase()} AND disabled_at IS NULL`
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
        const preauth = token()
        const enrolling = user.totp_secret === null
        const secret = enrolling ? generateSecret() : null
        yield* sql`DELETE FROM pending_logins WHERE expires_at < now()`
        yield* sql`
          INSERT INTO pending_logins (token_hash, user_id, stage, totp_secret, password_change_required, address, expires_at)
          VALUES (${sha256Hex(preauth)}, ${user.id}, ${enrolling ? "enroll" : "totp"}, ${secret},
                  ${user.must_change_password}, ${request.address},
                  now() + make_interval(mins => ${PREAUTH_MINUTES}))`
        yield* audit.record({
          actor: { userId: user.id, username: user.username },
          address: request.address,
          action: "auth.login",
          details: { step: "password" },
          outcome: "success"
        })
        const response: LoginResponse = secret === null
          ? { status: "totp_required", password_change_required: user.must_change_password }
          : {
            status: "totp_enrollment_required",
            otpauth_url: generateURI({ issuer: ISSUER, label: user.username, secret }),
            secret,
            password_change_required: user.must_change_password
          }
        return { preauth, response }
      })

    /** The pre-auth cookie's pending sign-in, if it is current. */
    const pendingOf = (preauthToken: string) =>
      Effect.map(
        sql<{ user_id: string }>`
          SELECT user_id FROM pending_logins
           WHERE token_hash = ${sha256Hex(preauthToken)} AND expires_at > now()`,
        ([row]) => Option.fromNullable(row).pipe(Option.map((r) => ({ tokenHash: sha256Hex(preauthToken), userId: r.user_id })))
      )

    type Verdict =
      | { readonly ok: true; readonly enrolled: boolean; readonly username: string }
      | { readonly ok: false; readonly username: string; readonly reason: string; readonly attemptsLeft: number }

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
        const [pending] = yield* sql<{
          user_id: string
          stage: "totp" | "enroll"
          pending_secret: string | null
          password_change_required: boolean
          username: string
          role: Role
          password_hash: string
          totp_secret: string | null
          totp_last_step: string | null
        }>`
          SELECT p.user_id, p.stage, p.totp_secret AS pending_secret, p.password_change_required,
                 u.username, u.role, u.password_hash, u.totp_secret, u.totp_last_step
            FROM pending_logins p JOIN users u ON u.id = p.user_id
           WHERE p.token_hash = ${preauthHash} AND p.expires_at > now() AND u.disabled_at IS NULL`
        if (pending === undefined) return yield* new Unauthorized({ message: "sign in with your password again" })
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
          const [locked] = yield* sql<{ attempts: number }>`
            SELECT attempts FROM pending_logins WHERE token_hash = ${preauthHash} FOR UPDATE`
          if (locked === undefined) {
            return { ok: false, username: pending.username, reason: "expired", attemptsLeft: 0 } satisfies Verdict
          }
          let good = false
          yield* Metric.increment(codeChecks)
          if (body.recovery_code !== undefined) {
            const used = yield* sql`
              UPDATE recovery_codes SET used_at = now()
               WHERE user_id = ${pending.user_id} AND used_at IS NULL
                 AND code_hash = ${sha256Hex(canonicalCode(body.recovery_code))}
              RETURNING 1`
            good = used.length === 1
          } else {
            const secret = pending.stage === "enroll" ? pending.pending_secret! : pending.totp_secret
            if (secret !== null) {
              const last = pending.totp_last_step === null ? undefined : Number(pending.totp_last_step)
              const result = yield* Effect.promise(() =>
                verifyTotp({
                  secret,
                  token: body.code!,
                  epochTolerance: 30,
                  ...(pending.stage === "totp" && last !== undefined ? { afterTimeStep: last } : {})
                }).catch(() => ({ valid: false as const }))
              )
              if (result.valid && "timeStep" in result) {
                // A code is good once, even when two requests carry it at the same moment.
                const claimed = yield* sql`
                  UPDATE users SET totp_last_step = ${result.timeStep}
                   WHERE id = ${pending.user_id} AND (totp_last_step IS NULL OR totp_last_step < ${result.timeStep})
                  RETURNING 1`
                good = claimed.length === 1
              }
            }
          }
          if (!good) {
            const attempts = locked.attempts + 1
            if (attempts >= PREAUTH_ATTEMPTS) yield* sql`DELETE FROM pending_logins WHERE token_hash = ${preauthHash}`
            else yield* sql`UPDATE pending_logins SET attempts = ${attempts} WHERE token_hash = ${preauthHash}`
            return {
              ok: false,
              username: pending.username,
              reason: body.recovery_code === undefined ? "wrong or used TOTP code" : "wrong or used recovery code",
              attemptsLeft: PREAUTH_ATTEMPTS - attempts
            } satisfies Verdict
          }
          if (pending.stage === "enroll") {
            yield* sql`UPDATE users SET totp_secret = ${pending.pending_secret}, totp_enrolled_at = now(), updated_at = now()
                        WHERE id = ${pending.user_id}`
          }
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
        let recoveryCodes: Array<string> | undefined
        if (verdict.enrolled) {
          recoveryCodes = Array.from({ length: RECOVERY_CODES }, newRecoveryCode)
          const hashes = recoveryCodes.map((c) => sha256Hex(canonicalCode(c)))
          yield* sql.withTransaction(Effect.zipRight(
            sql`DELETE FROM recovery_codes WHERE user_id = ${pending.user_id}`,
            sql`INSERT INTO recovery_codes (user_id, code_hash)
                SELECT ${pending.user_id}::uuid, unnest(${hashes}::text[])`
          ))
        }
        const { hash, session } = yield* openSession(pending.user_id, SESSION_HOURS, request)
        const [left] = yield* sql<{ n: number }>`
          SELECT count(*)::int AS n FROM recovery_codes WHERE user_id = ${pending.user_id} AND used_at IS NULL`
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
            recovery_codes_left: left!.n
          }
        }
      })

    // -------------------------------------------------------------------------------------------
    // Sessions

    /** The user behind a session token: current, not revoked, the account enabled. */
    const sessionUser = (sessionToken: string) =>
      Effect.gen(function*() {
        if (sessionToken.length === 0 || sessionToken.length > 200) return Option.none<SessionUser>()
        const hash = sha256Hex(sessionToken)
        const [row] = yield* sql<{ user_id: string; username: string; role: Role; csrf_token: string | null; display: boolean }>`
          SELECT s.user_id, u.username, u.role, s.csrf_token, u.display
            FROM sessions s JOIN users u ON u.id = s.user_id
           WHERE s.token_hash = ${hash} AND s.revoked_at IS NULL
             AND s.expires_at > now() AND u.disabled_at IS NULL`
        return Option.fromNullable(row).pipe(Option.map((r): SessionUser => ({
          userId: r.user_id,
          username: r.username,
          role: r.role,
          sessionHash: hash,
          csrfToken: r.csrf_token ?? "",
          display: r.display
        })))
      })

    const me = (sessionHash: string) =>
      Effect.flatMap(
        sql<{ user_id: string; username: string; role: Role; csrf_token: string | null; expires_at: Date; display: boolean }>`
          SELECT s.user_id, u.username, u.role, s.csrf_token, s.expires_at, u.display
            FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ${sessionHash}`,
        ([row]) =>
          row === undefined
            ? new Unauthorized({ message: "your session has ended; sign in again" })
            : Effect.succeed<Me>({
              user_id: row.user_id,
              username: row.username,
              role: row.role,
              csrf_token: row.csrf_token ?? "",
              expires_at: iso(row.expires_at),
              display: row.display
            })
      )

    const logout = (user: Actor & { readonly sessionHash: string }, request: RequestInfo) =>
      Effect.zipRight(
        sql`UPDATE sessions SET revoked_at = now() WHERE token_hash = ${user.sessionHash} AND revoked_at IS NULL`,
        audit.record({ actor: user, address: request.address, action: "auth.logout", outcome: "success" })
      )

    /** Ends every session of the user, this one included: the new password is proven at the next sign-in. */
    const changePassword = (user: Actor, current: string, next: string, request: RequestInfo) =>
      Effect.gen(function*() {
        const [row] = yield* sql<{ password_hash: string | null }>`SELECT password_hash FROM users WHERE id = ${user.userId}`
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

    /** Signed in, but not allowed: recorded, since a pattern of these is worth an admin's look. */
    const denied = (user: Actor, what: string, request: RequestInfo) =>
      audit.record({ actor: user, address: request.address, action: "access.denied", target: what, outcome: "denied" })

    return {
      create,
      list,
      idOf,
      setDisabled,
      setRole,
      resetTotp,
      resetPassword,
      login,
      pendingOf,
      completeLogin,
      sessionUser,
      openSession,
      revokeSessions,
      me,
      logout,
      changePassword,
      denied
    } as const
  })
}) {}

