import { CurrentUser, displayAllowed, roleAtLeast } from "@chaverim/domain/Auth"
import { Forbidden, Unauthorized } from "@chaverim/domain/Errors"
import { requiredRole, RpcSession } from "@chaverim/domain/Rpc"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { Accounts } from "../auth/Accounts"
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
