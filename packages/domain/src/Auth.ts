import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as Context from "effect/Context"
import * as Schema from "effect/Schema"
import { Unauthorized } from "./Errors"

/** The collector a request's Bearer API key belongs to. */
export class CurrentCollector extends Context.Tag("@chaverim/domain/CurrentCollector")<
  CurrentCollector,
  { readonly collectorId: string; readonly keyId: string }
>() {}

/** Collector endpoints: `Authorization: Bearer <api_key>`. */
export class CollectorAuth extends HttpApiMiddleware.Tag<CollectorAuth>()("CollectorAuth", {
  failure: Unauthorized,
  provides: CurrentCollector,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

export const Role = Schema.Literal("admin", "operator", "viewer")
export type Role = typeof Role.Type

export const SESSION_COOKIE = "alpr_session"

/** The signed-in person behind a request's session cookie. */
export class CurrentUser extends Context.Tag("@chaverim/domain/CurrentUser")<
  CurrentUser,
  { readonly userId: string; readonly username: string; readonly role: Role }
>() {}

/** Human endpoints: the `alpr_session` cookie. */
export class UserAuth extends HttpApiMiddleware.Tag<UserAuth>()("UserAuth", {
  failure: Unauthorized,
  provides: CurrentUser,
  security: { session: HttpApiSecurity.apiKey({ in: "cookie", key: SESSION_COOKIE }) }
}) {}
