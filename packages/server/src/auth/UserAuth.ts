import { CSRF_HEADER } from "@chaverim/domain/Accounts"
import { AlprApi } from "@chaverim/domain/Api"
import {
  AdminAuth,
  CurrentPreAuth,
  CurrentUser,
  displayAllowed,
  OperatorAuth,
  PreAuth,
  type Role,
  roleAtLeast,
  ViewerAuth
} from "@chaverim/domain/Auth"
import { Forbidden, Unauthorized } from "@chaverim/domain/Errors"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { AppConfig } from "../Config"
import { requestInfo } from "../http/ClientAddress"
import { Accounts, type Actor, safeEqual } from "./Accounts"
import { PARTNER_TOKEN_PREFIX, Partners } from "./Partners"

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"])

/** Refuses the request: 403 with `message`, audited as access.denied with its method and URL. */
export const deny = (accounts: Accounts, current: Actor, message: string) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    yield* accounts.denied(current, `${request.method} ${request.url}`, yield* requestInfo).pipe(Effect.orDie)
    return yield* new Forbidden({ message })
  })

/**
 * Refuses (403, audited) a user below `required`. The role middlewares check each endpoint's least
 * role with it; a handler whose rule depends on the request (a viewer may see a plate crop, not a
 * scene photo) calls it itself.
 */
export const requireRole = (accounts: Accounts, current: Actor & { readonly role: Role }, required: Role) =>
  roleAtLeast(current.role, required)
    ? Effect.void
    : deny(accounts, current, `this needs the ${required} role; you are ${current.role}`)

export const DISPLAY_REFUSED = "a wall display may call only what the wall shows"

/** `METHOD path` of each endpoint the contract opens to wall displays (DisplayAllowed). */
const displayRoutes: ReadonlySet<string> = new Set(
  Object.values(AlprApi.groups).flatMap((group) =>
    Object.values((group as unknown as HttpApiGroup.HttpApiGroup.AnyWithProps).endpoints)
      .filter((endpoint) => displayAllowed(endpoint.annotations))
      .map((endpoint) => `${endpoint.method} ${endpoint.path}`)
  )
)

/** Refuses a wall display on a route the contract does not open to displays. */
const requireDisplayAllowed = (accounts: Accounts, current: Actor & { readonly display: boolean }) =>
  Effect.gen(function*() {
    if (!current.display) return
    const { route } = yield* HttpRouter.RouteContext
    if (!displayRoutes.has(`${route.method} ${route.path}`)) yield* deny(accounts, current, DISPLAY_REFUSED)
  })

/**
 * A session cookie checked for a least role: no, an expired or a revoked session is 401; a role
 * below the one required, or a wall display on an endpoint without DisplayAllowed, is 403 (and
 * audited); a state-changing request without the session's CSRF token in `X-CSRF-Token` is 403.
 */
const sessionFor = (accounts: Accounts, partners: Partners, required: Role) => (token: Redacted.Redacted) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const bearer = (request.headers.authorization ?? "").match(/^Bearer (\S+)$/)?.[1]
    if (Redacted.value(token) === "" && bearer !== undefined && bearer.startsWith(PARTNER_TOKEN_PREFIX)) {
      return yield* partnerFor(accounts, partners, required, bearer)
    }
    const user = yield* accounts.sessionUser(Redacted.value(token)).pipe(
      Effect.orDie
    )
    if (Option.isNone(user)) return yield* new Unauthorized({ message: "sign in first; your session is missing or has ended" })
    const { csrfToken, ...current } = user.value
    yield* requireDisplayAllowed(accounts, current)
    yield* requireRole(accounts, current, required)
    if (!SAFE_METHODS.has(request.method)) {
      const sent = request.headers[CSRF_HEADER]
      if (sent === undefined || csrfToken === "" || !safeEqual(sent, csrfToken)) {
        return yield* new Forbidden({ message: "missing or wrong X-CSRF-Token (it comes with GET /api/v1/auth/me)" })
      }
    }
    return CurrentUser.of(current)
  })

/**
 * A partner organisation's token (no session cookie, `Authorization: Bearer alpr_pt_...`): the route
 * within its scopes and quotas (auth/Partners.ts), and the least role (its account is an operator). No
 * CSRF token: nothing a browser sends by itself carries it. Past a quota, 429 with Retry-After.
 */
const partnerFor = (accounts: Accounts, partners: Partners, required: Role, bearer: string) =>
  Effect.gen(function*() {
    const { route } = yield* HttpRouter.RouteContext
    const current = yield* partners.authenticate(bearer, `${route.method} ${route.path}`, yield* requestInfo).pipe(
      Effect.tapErrorTag("QuotaExceeded", (e) =>
        HttpApp.appendPreResponseHandler((_request, response) =>
          Effect.succeed(HttpServerResponse.setHeader(response, "retry-after", String(e.retry_after_s))))),
      Effect.catchTag("SqlError", Effect.die)
    )
    yield* requireRole(accounts, current, required)
    return CurrentUser.of(current)
  })

/** A role middleware's check; a refusal's audit row needs the client's address, hence AppConfig. */
const sessionCheck = (required: Role) =>
  Effect.gen(function*() {
    const check = sessionFor(yield* Accounts, yield* Partners, required)
    const config = yield* AppConfig
    return { session: (token: Redacted.Redacted) => Effect.provideService(check(token), AppConfig, config) }
  })

export const ViewerAuthLayer = Layer.effect(ViewerAuth, sessionCheck("viewer"))
export const OperatorAuthLayer = Layer.effect(OperatorAuth, sessionCheck("operator"))
export const AdminAuthLayer = Layer.effect(AdminAuth, sessionCheck("admin"))

/** The pre-auth cookie of a sign-in half done. */
export const PreAuthLayer = Layer.effect(
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

export const UserAuthLayer = Layer.mergeAll(ViewerAuthLayer, OperatorAuthLayer, AdminAuthLayer, PreAuthLayer)
