/**
 * Partner organisations' API tokens (issue 20), for admins: each token is scoped (upload, search,
 * export) and may have quotas per day and per month; every call with it is metered and audited.
 */
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import * as Schema from "effect/Schema"
import { BadRequest, NotFound } from "../Errors"
import { RequiredRole, RpcSession, uuid } from "./Common"

export const PARTNER_SCOPES = ["upload", "search", "export"] as const
export const PartnerScope = Schema.Literal(...PARTNER_SCOPES)
export type PartnerScope = typeof PartnerScope.Type

const Quota = (field: string) =>
  Schema.Int.pipe(Schema.between(1, 10_000_000, { message: () => `${field} is a whole number of calls, 1 to 10,000,000` }))

export const PartnerCreate = Schema.Struct({
  organisation: Schema.Trim.pipe(
    Schema.minLength(1, { message: () => "organisation must not be empty" }),
    Schema.maxLength(200, { message: () => "organisation is at most 200 characters" }),
    Schema.filter((s) => !/[\u0000-\u001f\u007f]/.test(s) || "organisation has no control characters")
  ),
  scopes: Schema.Array(PartnerScope).pipe(
    Schema.minItems(1, { message: () => "scopes: at least one of upload, search, export" }),
    Schema.maxItems(3)
  ),
  /** calls a UTC day (none: no daily limit) */
  daily_quota: Schema.optional(Quota("daily_quota")),
  /** calls a UTC month (none: no monthly limit) */
  monthly_quota: Schema.optional(Quota("monthly_quota"))
})
export type PartnerCreate = typeof PartnerCreate.Type

export const Partner = Schema.Struct({
  partner_id: Schema.String,
  organisation: Schema.String,
  /** the account its calls are made and audited as */
  username: Schema.String,
  /** the token's first characters, to tell tokens apart (the token itself is shown once) */
  token_prefix: Schema.String,
  scopes: Schema.Array(PartnerScope),
  daily_quota: Schema.NullOr(Schema.Number),
  monthly_quota: Schema.NullOr(Schema.Number),
  calls_today: Schema.Number,
  calls_this_month: Schema.Number,
  refused_this_month: Schema.Number,
  last_used_at: Schema.NullOr(Schema.String),
  created_at: Schema.String,
  revoked_at: Schema.NullOr(Schema.String)
})
export type Partner = typeof Partner.Type

export const PartnerCreated = Schema.Struct({
  partner: Partner,
  /** `Authorization: Bearer <token>`; shown this once, stored only as its hash */
  token: Schema.String
})

export class PartnersRpcs extends RpcGroup.make(
  Rpc.make("partners.list", { success: Schema.Array(Partner) }).annotate(RequiredRole, "admin"),
  Rpc.make("partners.create", { payload: PartnerCreate, success: PartnerCreated, error: BadRequest }).annotate(RequiredRole, "admin"),
  Rpc.make("partners.revoke", { payload: Schema.Struct({ partner_id: uuid("partner_id") }), success: Partner, error: NotFound })
    .annotate(RequiredRole, "admin")
).middleware(RpcSession) {}
