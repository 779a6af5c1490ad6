import { CurrentUser, displayAllowed, roleAtLeast } from "@chaverim/domain/Auth"
import { Forbidden, Unauthorized } from "@chaverim/domain/Errors"
import { requiredRole, RpcSession } from "@chaverim/domain/rpc/Common"
import type * as Headers from "@effect/platform/Headers"
import * as SqlError from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { Accounts, type Actor } from "../auth/Accounts"
import type { RequestInfo } from "../http/ClientAddress"
import { RpcConnections } from "./Protocol"

/**
 * Every call: the connection's session must be current (401 otherwise), and the user's role at least
 * the one the procedure declares (403 otherwise, and audited). A procedure that declares no role is
 * refused to everybody, and one without DisplayAllowed to wall displays.
 */
export const RpcSessionLayer = Layer.effect(
  RpcSession,
  Effect.gen(function*() {
    const accounts = yield* Accounts
    const connections = yield* RpcConnections
    return RpcSession.of(({ headers, rpc }) =>
      Effect.gen(function*() {
        const connection = connections.of(headers)
        const token = Option.flatMapNullable(connection, (c) => c.sessionToken)
        const user = Option.isNone(token)
          ? Option.none()
          : yield* accounts.sessionUser(token.value).pipe(Effect.orDie)
        if (Option.isNone(user)) {
          return yield* new Unauthorized({ message: "sign in first; your session is missing or has ended" })
        }
        const { csrfToken: _, ...current } = user.value
        const required = requiredRole(rpc)
        const refusal = Option.isNone(required)
          ? `${rpc._tag} declares no role and is refused`
          : current.display && !displayAllowed(rpc.annotations)
          ? `a wall display may call only what the wall shows, not ${rpc._tag}`
          : !roleAtLeast(current.role, required.value)
          ? `${rpc._tag} needs the ${required.value} role; you are ${current.role}`
          : undefined
        if (refusal !== undefined) {
          yield* accounts.denied(current, `rpc:${rpc._tag}`, connections.requestInfo(headers)).pipe(Effect.orDie)
          return yield* new Forbidden({ message: refusal })
        }
        return CurrentUser.of(current)
      }).pipe(Effect.withSpan("RpcSession", { attributes: { rpc: rpc._tag } })))
  })
)

// ---------------------------------------------------------------------------------------------------
// For the procedures' handlers (`<capability>/Rpc.ts`)

/** A failure no caller can act on (the database is down, ...): logged here, a bare defect for the client. */
const unexpected = (error: unknown) =>
  Effect.zipRight(Effect.logError("RPC procedure failed unexpectedly", error), Effect.die(error))

export const orDieOnSql = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.catchIf(effect, (e): e is Extract<E, SqlError.SqlError> => e instanceof SqlError.SqlError, unexpected)

/** Who is calling and from where: what a change records in the audit log. */
export const caller = Effect.gen(function*() {
  const connections = yield* RpcConnections
  return (headers: Headers.Headers) =>
    Effect.map(CurrentUser, (user) => ({
      actor: { userId: user.userId, username: user.username } satisfies Actor,
      request: connections.requestInfo(headers)
    }))
})

/** A change by the caller, for a service that audits it itself when told who made it and from where. */
export const changeByCaller = Effect.map(caller, (who) =>
  <A, E, R>(headers: Headers.Headers, f: (actor: Actor, request: RequestInfo) => Effect.Effect<A, E, R>) =>
    orDieOnSql(Effect.flatMap(who(headers), ({ actor, request }) => f(actor, request))))
