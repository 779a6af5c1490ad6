import { Me } from "@chaverim/domain/Accounts"
import { Role } from "@chaverim/domain/Auth"
import { Unauthorized } from "@chaverim/domain/Errors"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { randomBytes, timingSafeEqual } from "node:crypto"
import { Audit } from "../audit/Audit"
import { sha256Hex } from "../crypto/Tokens"
import { IsoTime, orBug } from "../db/Rows"
import type { RequestInfo } from "../http/ClientAddress"

/**
 * Sessions (`sessions`): opened at the end of a sign-in (or a display's pairing), found again by the
 * SHA-256 of the cookie's token, ended by signing out or by an administrator.
 */

export const SESSION_HOURS = 24

/** Who did something, and from where: what the audit log records of a request. */
export interface Actor {
  readonly userId: string
  readonly username: string
}

/** A current session's user, as a row of `sessions` joined with its account gives it. */
const SessionRow = Schema.Struct({
  userId: Schema.String,
  username: Schema.String,
  role: Role,
  csrfToken: Schema.String,
  /** a paired wall display's session: it may call only what the wall shows */
  display: Schema.Boolean
})

export interface SessionUser extends Schema.Schema.Type<typeof SessionRow> {
  readonly sessionHash: string
}

/** A session as `GET /api/v1/auth/me` shows it. */
const MeRow = Schema.Struct({ ...Me.fields, expires_at: IsoTime })

/** A random token for a cookie (a session's or a pre-auth one); only its SHA-256 is stored. */
export const newToken = () => randomBytes(32).toString("base64url")

/** Constant-time equality of two strings (false when their lengths differ). */
export const safeEqual = (a: string, b: string) => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

export const makeSessions = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const audit = yield* Audit

  /** Ends every session of the user (and any sign-in half done); how many were open. */
  const revokeSessions = (userId: string) =>
    sql`UPDATE sessions SET revoked_at = now() WHERE user_id = ${userId} AND revoked_at IS NULL RETURNING 1`.pipe(
      Effect.tap(() => sql`DELETE FROM pending_logins WHERE user_id = ${userId}`),
      Effect.map((ended) => ended.length)
    )

  /** A new session of the user, `hours` long: the token for the cookie, and its SHA-256 (the row's key). */
  const openSession = (userId: string, hours: number, request: RequestInfo) =>
    Effect.gen(function*() {
      const session = newToken()
      const hash = sha256Hex(session)
      yield* sql`
        INSERT INTO sessions (token_hash, user_id, expires_at, address, csrf_token, user_agent)
        VALUES (${hash}, ${userId}, now() + make_interval(hours => ${hours}),
                ${request.address}, ${randomBytes(24).toString("base64url")}, ${request.userAgent?.slice(0, 300) ?? null})`
      return { session, hash }
    })

  const findCurrent = SqlSchema.findOne({
    Request: Schema.String,
    Result: SessionRow,
    execute: (hash) =>
      sql`
        SELECT s.user_id AS "userId", u.username, u.role, coalesce(s.csrf_token, '') AS "csrfToken", u.display
          FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = ${hash} AND s.revoked_at IS NULL
           AND s.expires_at > now() AND u.disabled_at IS NULL`
  })

  /** The user behind a session token: current, not revoked, the account enabled. */
  const sessionUser = (sessionToken: string) =>
    Effect.gen(function*() {
      if (sessionToken.length === 0 || sessionToken.length > 200) return Option.none<SessionUser>()
      const hash = sha256Hex(sessionToken)
      const row = yield* orBug(findCurrent(hash))
      return Option.map(row, (user): SessionUser => ({ ...user, sessionHash: hash }))
    })

  const findMe = SqlSchema.findOne({
    Request: Schema.String,
    Result: MeRow,
    execute: (sessionHash) =>
      sql`
        SELECT s.user_id, u.username, u.role, coalesce(s.csrf_token, '') AS csrf_token, s.expires_at, u.display
          FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ${sessionHash}`
  })

  const me = (sessionHash: string) =>
    Effect.flatMap(orBug(findMe(sessionHash)), (row) =>
      Option.match(row, {
        onNone: () => Effect.fail(new Unauthorized({ message: "your session has ended; sign in again" })),
        onSome: (user): Effect.Effect<Me> => Effect.succeed(user)
      }))

  const logout = (user: Actor & { readonly sessionHash: string }, request: RequestInfo) =>
    Effect.zipRight(
      sql`UPDATE sessions SET revoked_at = now() WHERE token_hash = ${user.sessionHash} AND revoked_at IS NULL`,
      audit.record({ actor: user, address: request.address, action: "auth.logout", outcome: "success" })
    )

  /** Signed in, but not allowed: recorded, since a pattern of these is worth an admin's look. */
  const denied = (user: Actor, what: string, request: RequestInfo) =>
    audit.record({ actor: user, address: request.address, action: "access.denied", target: what, outcome: "denied" })

  return { revokeSessions, openSession, sessionUser, me, logout, denied } as const
})

export type Sessions = Effect.Effect.Success<typeof makeSessions>
