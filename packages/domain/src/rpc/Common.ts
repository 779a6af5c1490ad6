/**
 * What every RPC group shares: the role a procedure declares, the session middleware that checks it,
 * and the field Schemas several groups use.
 *
 * Every procedure declares the least role it needs with the `RequiredRole` annotation and carries the
 * `RpcSession` middleware; the server refuses a procedure without a role (fail closed). Procedures are
 * named `<group>.<name>`, so a client reads `client.users.list()`. Fields on the wire are snake_case,
 * as in the HTTP API. Clients use `RpcSerialization.layerNdjson`.
 */
import * as RpcMiddleware from "@effect/rpc/RpcMiddleware"
import * as Context from "effect/Context"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { CurrentUser, type Role } from "../Auth"
import { Forbidden, Unauthorized } from "../Errors"

/** The least role a procedure needs; set on every procedure (see `requiredRole`). */
export class RequiredRole extends Context.Tag("@chaverim/domain/RequiredRole")<RequiredRole, Role>() {}

/** The role a procedure declares, if it declares one. */
export const requiredRole = (rpc: { readonly annotations: Context.Context<never> }): Option.Option<Role> =>
  Context.getOption(rpc.annotations, RequiredRole)

/**
 * The signed-in user behind the connection's session cookie. No, an expired or a revoked session is
 * Unauthorized (checked at every call, so a session revoked while the socket is open stops working);
 * a role below the procedure's is Forbidden, and so is a wall display calling a procedure without
 * `DisplayAllowed`.
 */
export class RpcSession extends RpcMiddleware.Tag<RpcSession>()("RpcSession", {
  provides: CurrentUser,
  failure: Schema.Union(Unauthorized, Forbidden),
  requiredForClient: false
}) {}

// ---------------------------------------------------------------------------------------------------
// Fields

export const uuid = (field: string) => Schema.UUID.annotations({ message: () => `${field} must be a UUID` })

/** Up to 200 characters, not blank. */
export const Label = (field: string) =>
  Schema.String.pipe(
    Schema.maxLength(200, { message: () => `${field} is at most 200 characters` }),
    Schema.filter((s) => s.trim().length > 0 || `${field} must not be blank`)
  )

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/

export const Timestamp = (field: string) =>
  Schema.String.pipe(
    Schema.filter((s) =>
      ISO_8601.test(s) && !Number.isNaN(Date.parse(s)) ||
      `${field} must be an ISO 8601 time such as 2025-01-31T12:00:00Z`
    )
  )
