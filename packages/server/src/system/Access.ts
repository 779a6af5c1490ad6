import { SESSION_COOKIE } from "@chaverim/domain/Auth"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { Accounts, safeEqual } from "../auth/Accounts"
import { AppConfig } from "../Config"

/**
 * What the server tells about itself (its metrics: ingest rates, queue depths, sites' activity; the
 * whole API's shape) is for its operators: a scraper with METRICS_TOKEN as a bearer token, or an
 * admin's session. /health and /ready stay open for load balancers and orchestrators.
 */
const OPERATOR_PATHS = ["/metrics", "/api/docs", "/api/openapi.json"]

const isOperatorPath = (path: string) =>
  OPERATOR_PATHS.some((p) => path === p || path.startsWith(`${p}/`))

const refuse = (status: 401 | 403, message: string) =>
  HttpServerResponse.unsafeJson(
    { _tag: status === 401 ? "Unauthorized" : "Forbidden", message },
    { status, headers: status === 401 ? { "www-authenticate": "Bearer" } : {} }
  )

export const operatorPagesMiddleware = HttpMiddleware.make((app) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (!isOperatorPath(request.url.split("?")[0]!)) return yield* app
    const { metricsToken } = yield* AppConfig
    const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? "")?.[1]?.trim()
    if (bearer !== undefined && Option.isSome(metricsToken) && safeEqual(bearer, Redacted.value(metricsToken.value))) {
      return yield* app
    }
    const accounts = yield* Accounts
    const user = yield* accounts.sessionUser(request.cookies[SESSION_COOKIE] ?? "").pipe(
      Effect.catchAll(() => Effect.succeed(Option.none()))
    )
    if (Option.isNone(user)) {
      return refuse(401, "metrics and API docs need METRICS_TOKEN as a bearer token, or an admin's session")
    }
    if (user.value.role !== "admin") return refuse(403, "metrics and API docs are for admins")
    return yield* app
  })
)
