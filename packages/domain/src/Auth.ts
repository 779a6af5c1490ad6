import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as Context from "effect/Context"
import * as Schema from "effect/Schema"
import { Forbidden, QuotaExceeded, Unauthorized } from "./Errors"

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

/**
 * The same collector API keys as `x-api-key` (ALPR-Database's header), for `POST /api/plate-reads`,
 * so that Blue Iris, which can set a header but not a Bearer token it has no field for, posts to the
 * server as it posted to ALPR-Database.
 */
export class CollectorApiKeyAuth extends HttpApiMiddleware.Tag<CollectorApiKeyAuth>()("CollectorApiKeyAuth", {
  failure: Unauthorized,
  provides: CurrentCollector,
  security: { apiKey: HttpApiSecurity.apiKey({ key: "x-api-key", in: "header" }) }
}) {}

export const Role = Schema.Literal("admin", "operator", "viewer")
export type Role = typeof Role.Type

/** Each role can do what the roles below it can. */
export const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 }
export const roleAtLeast = (role: Role, required: Role) => ROLE_RANK[role] >= ROLE_RANK[required]

export const SESSION_COOKIE = "alpr_session"
/** Between the password and the TOTP code; lives ten minutes. */
export const PREAUTH_COOKIE = "alpr_preauth"

/** The signed-in person behind a request's session cookie; `display` when it is a paired wall display. */
export class CurrentUser extends Context.Tag("@chaverim/domain/CurrentUser")<
  CurrentUser,
  {
    readonly userId: string
    readonly username: string
    readonly role: Role
    readonly sessionHash: string
    readonly display: boolean
  }
>() {}

/**
 * Set on the few endpoints and procedures a paired wall display may call: what the wall shows. A
 * display's session holds a viewer's role for months on a screen nobody watches, so everything else
 * refuses it (403, audited), whatever a viewer may do there. Left out means refused.
 */
export class DisplayAllowed extends Context.Tag("@chaverim/domain/DisplayAllowed")<DisplayAllowed, boolean>() {}

/** Whether an endpoint's or a procedure's annotations admit wall displays. */
export const displayAllowed = (annotations: Context.Context<never>): boolean =>
  Context.getOrElse(annotations, DisplayAllowed, () => false)

const session = HttpApiSecurity.apiKey({ in: "cookie", key: SESSION_COOKIE })
export const sessionSecurity = session

/**
 * Human endpoints declare the least role they need by the middleware they carry: one of these three.
 * A state-changing request must also carry the session's CSRF token in `X-CSRF-Token`. Without a
 * session cookie, a partner organisation's token (`Authorization: Bearer alpr_pt_...`) is taken on the
 * routes of its scopes, within its quotas (429 past them).
 */
export class ViewerAuth extends HttpApiMiddleware.Tag<ViewerAuth>()("ViewerAuth", {
  failure: Schema.Union(Unauthorized, Forbidden, QuotaExceeded),
  provides: CurrentUser,
  security: { session }
}) {}

export class OperatorAuth extends HttpApiMiddleware.Tag<OperatorAuth>()("OperatorAuth", {
  failure: Schema.Union(Unauthorized, Forbidden, QuotaExceeded),
  provides: CurrentUser,
  security: { session }
}) {}

export class AdminAuth extends HttpApiMiddleware.Tag<AdminAuth>()("AdminAuth", {
  failure: Schema.Union(Unauthorized, Forbidden, QuotaExceeded),
  provides: CurrentUser,
  security: { session }
}) {}

/** The middleware that admits a role and the ones above it. */
export const RoleAuth = { viewer: ViewerAuth, operator: OperatorAuth, admin: AdminAuth } as const

/** The person half-way through signing in: password checked, TOTP code still to come. */
export class CurrentPreAuth extends Context.Tag("@chaverim/domain/CurrentPreAuth")<
  CurrentPreAuth,
  { readonly tokenHash: string; readonly userId: string }
>() {}

export class PreAuth extends HttpApiMiddleware.Tag<PreAuth>()("PreAuth", {
  failure: Unauthorized,
  provides: CurrentPreAuth,
  security: { preauth: HttpApiSecurity.apiKey({ in: "cookie", key: PREAUTH_COOKIE }) }
}) {}
