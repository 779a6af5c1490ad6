import { CSRF_HEADER } from "@chaverim/domain/Accounts"
import {
  AdminAuth,
  CurrentPreAuth,
  CurrentUser,
  OperatorAuth,
  PreAuth,
  type Role,
  roleAtLeast,
  ViewerAuth
} from "@chaverim/domain/Auth"
import { Forbidden, Unauthorized } from "@chaverim/domain/Errors"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { clientAddress } from "../collectors/Http"
import { Accounts, type Actor, safeEqual } from "./Accounts"

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"])

/** What the audit log records of a request: the client's address and its User-Agent. */
export const requestInfo = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  return { address: yield* clientAddress, userAgent: request.headers["user-agent"] }
})

/**
 * Refuses (403, audited as access.denied with the request's method and URL) a user below `required`.
 * The role middlewares check each endpoint's least role with it; a handler whose rule depends on the
 * request (a viewer may see a plate crop, not a scene photo) calls it itself.
 */
export const requireRole = (accounts: Accounts, current: Actor & { readonly role: Role }, required: Role) =>
  Effect.gen(function*() {
    if (roleAtLeast(current.role, required)) return
    const request = yield* HttpServerRequest.HttpServerRequest
    yield* accounts.denied(current, `${request.method} ${request.url}`, yield* requestInfo).pipe(Effect.orDie)
    return yield* new Forbidden({ message: `this needs the ${required} role; you are ${current.role}` })
  })

/**
 * A session cookie checked for a least role: no, an expired or a revoked session is 401; a role
 * below the one required is 403 (and audited); a state-changing request without the session's CSRF
 * token in `X-CSRF-Token` is 403.
 */
const sessionFor = (accounts: Accounts, required: Role) => (token: Redacted.Redacted) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const user = yield* accounts.sessionUser(Redacted.value(token)).pipe(
      Effect.orDie
    )
    if (Option.isNone(user)) return yield* new Unauthorized({ message: "sign in first; your session is missing or has ended" })
    const { csrfToken, ...current } = user.value
    yield* requireRole(accounts, current, required)
    if (!SAFE_METHODS.has(request.method)) {
      const sent = request.headers[CSRF_HEADER]
      if (sent === undefined || csrfToken === "" || !safeEqual(sent, csrfToken)) {
        return yield* new Forbidden({ message: "missing or wrong X-CSRF-Token (it comes with GET /api/v1/auth/me)" })
      }
    }
    return CurrentUser.of(current)
  })

export const ViewerAuthLive = Layer.effect(ViewerAuth, Effect.map(Accounts, (a) => ({ session: sessionFor(a, "viewer") })))
export const OperatorAuthLive = Layer.effect(OperatorAuth, Effect.map(Accounts, (a) => ({ session: sessionFor(a, "operator") })))
export const AdminAuthLive = Layer.effect(AdminAuth, Effect.map(Accounts, (a) => ({ session: sessionFor(a, "admin") })))

/** The pre-auth cookie of a sign-in half done. */
export const PreAuthLive = Layer.effect(
  PreAuth,
  Effect.map(Accounts, (accounts) => ({
    preauth: (token: Redacted.Redacted) =>
      accounts.pendingOf(Redacted.value(token)).pipe(
        Effect.orDie,
        Effect.flatMap(Option.match({
          onNone: () => Effect.fail(new Unauthorized({ message: "sign in with your password first (the first step has expired)" })),
          onSome: (pending) => Effect.succeed(CurrentPreAuth.of(pending))
        }))
      )
  }))
)

export const UserAuthLive = Layer.mergeAll(ViewerAuthLive, OperatorAuthLive, AdminAuthLive, PreAuthLive)
