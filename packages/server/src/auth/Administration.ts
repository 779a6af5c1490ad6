import { Role } from "@chaverim/domain/Auth"
import { BadRequest, NotFound } from "@chaverim/domain/Errors"
import { UserSummary } from "@chaverim/domain/rpc/Users"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Audit } from "../audit/Audit"
import { IsoTime, IsoTimeOrNull, orBug } from "../db/Rows"
import type { RequestInfo } from "../http/ClientAddress"
import { hashPassword, oneTimePassword } from "./Passwords"
import { makeRecovery } from "./Recovery"
import type { Actor, Sessions } from "./Sessions"
import { makeTotp } from "./Totp"

/**
 * The administration of accounts (`users`, wall displays' accounts aside): created with a one-time
 * password, listed, disabled, given a role, sent back to enrol or to a new one-time password. Every
 * change is audited, as the CLI's (`via: "cli"`) when no one signed in made it.
 */

/** An account as the admin list shows it. */
const UserRow = Schema.Struct({ ...UserSummary.fields, created_at: IsoTime, disabled_at: IsoTimeOrNull })

/** An account as a change to it needs it. */
const Administered = Schema.Struct({ username: Schema.String, role: Role, disabled: Schema.Boolean })
type Administered = typeof Administered.Type

export const makeAdministration = (sessions: Sessions) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* Audit
    const totp = yield* makeTotp
    const recovery = yield* makeRecovery
    const { revokeSessions } = sessions

    const insert = SqlSchema.findOne({
      Request: Schema.Struct({ username: Schema.String, role: Role, hash: Schema.String }),
      Result: Schema.Struct({ id: Schema.String }),
      execute: ({ hash, role, username }) =>
        sql`
          INSERT INTO users (username, role, password_hash, must_change_password)
          VALUES (${username}, ${role}, ${hash}, true)
          ON CONFLICT DO NOTHING
          RETURNING id`
    })

    const create = Effect.fn("Accounts.create")(function*(username: string, role: Role, by?: Actor, request?: RequestInfo) {
      const password = oneTimePassword()
      const hash = yield* hashPassword(password)
      const inserted = yield* orBug(insert({ username, role, hash }))
      if (Option.isNone(inserted)) return yield* new BadRequest({ message: `the username ${username} is taken` })
      const userId = inserted.value.id
      yield* audit.record({
        actor: by,
        address: request?.address,
        action: "user.create",
        target: `user:${userId}`,
        details: { username, role, ...(by === undefined ? { via: "cli" } : {}) },
        outcome: "success"
      })
      return { user_id: userId, username, password }
    })

    const list = orBug(SqlSchema.findAll({
      Request: Schema.Void,
      Result: UserRow,
      execute: () =>
        sql`
          SELECT u.id AS user_id, u.username, u.role, u.created_at, u.disabled_at,
                 u.totp_secret IS NOT NULL AS totp_enrolled, u.must_change_password,
                 (SELECT count(*)::int FROM sessions s
                   WHERE s.user_id = u.id AND s.revoked_at IS NULL AND s.expires_at > now()) AS active_sessions
            FROM users u WHERE NOT u.display ORDER BY lower(u.username)`
    })(undefined))

    const findId = SqlSchema.findOne({
      Request: Schema.String,
      Result: Schema.Struct({ id: Schema.String }),
      execute: (name) => sql`SELECT id FROM users WHERE lower(username) = ${name} AND NOT display`
    })

    /** The id of an account by its username (case forgiven). */
    const idOf = (username: string) =>
      Effect.flatMap(orBug(findId(username.trim().toLowerCase())), (row) =>
        Option.match(row, {
          onNone: () => Effect.fail(new NotFound({ message: `no user named ${username}` })),
          onSome: ({ id }) => Effect.succeed(id)
        }))

    const findAdministered = SqlSchema.findOne({
      Request: Schema.String,
      Result: Administered,
      execute: (userId) =>
        sql`SELECT username, role, disabled_at IS NOT NULL AS disabled FROM users WHERE id = ${userId} AND NOT display`
    })

    const usernameOf = (userId: string) =>
      Effect.flatMap(orBug(findAdministered(userId)), (row) =>
        Option.match(row, {
          onNone: () => Effect.fail(new NotFound({ message: "no such user" })),
          onSome: (user) => Effect.succeed(user)
        }))

    const countOtherAdmins = SqlSchema.single({
      Request: Schema.String,
      Result: Schema.Struct({ others: Schema.Number }),
      execute: (userId) =>
        sql`
          SELECT count(*)::int AS others FROM users
           WHERE role = 'admin' AND disabled_at IS NULL AND id <> ${userId}`
    })

    /** Refuses to leave the platform without an active admin. */
    const keepAnAdmin = (userId: string) =>
      Effect.gen(function*() {
        const { others } = yield* countOtherAdmins(userId).pipe(
          orBug,
          Effect.catchTag("NoSuchElementException", () => Effect.dieMessage("count(*) returned no row"))
        )
        if (others === 0) {
          return yield* new BadRequest({ message: "this is the last active admin: make another admin first" })
        }
      })

    const administer = <A, E, R>(
      action: string,
      userId: string,
      by: Actor | undefined,
      request: RequestInfo | undefined,
      details: Record<string, unknown>,
      change: (user: Administered) => Effect.Effect<A, E, R>
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
          // Signing oneself out for good, by a slip of the hand, is never what an admin meant to do.
          if (disabled && by !== undefined && by.userId === userId) {
            return yield* new BadRequest({ message: "you cannot disable your own account: ask another admin" })
          }
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
          yield* totp.forget(userId)
          yield* recovery.forget(userId)
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

    return { create, list, idOf, setDisabled, setRole, resetTotp, resetPassword } as const
  })
