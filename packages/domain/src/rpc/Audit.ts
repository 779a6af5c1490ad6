/** The audit procedures: the audit log, read a page at a time. */
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import * as Schema from "effect/Schema"
import { RequiredRole, RpcSession, Timestamp } from "./Common"

export const AuditOutcome = Schema.Literal("success", "failure", "denied")

export const AuditEntry = Schema.Struct({
  id: Schema.String,
  at: Schema.String,
  actor_id: Schema.NullOr(Schema.String),
  actor_username: Schema.NullOr(Schema.String),
  address: Schema.NullOr(Schema.String),
  action: Schema.String,
  target: Schema.NullOr(Schema.String),
  reason: Schema.NullOr(Schema.String),
  details: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  outcome: AuditOutcome,
  /** the hash chain, for checking an exported page independently */
  prev_hash: Schema.String,
  hash: Schema.String
})
export type AuditEntry = typeof AuditEntry.Type

export const AuditQuery = Schema.Struct({
  /** the acting user's username */
  actor: Schema.optional(Schema.String.pipe(Schema.maxLength(64))),
  /** a prefix: `user.` matches `user.create`, `user.disable`, ... */
  action: Schema.optional(Schema.String.pipe(Schema.maxLength(100))),
  outcome: Schema.optional(AuditOutcome),
  target: Schema.optional(Schema.String.pipe(Schema.maxLength(200))),
  /** inclusive */
  from: Schema.optional(Timestamp("from")),
  /** exclusive */
  to: Schema.optional(Timestamp("to")),
  /** `next_cursor` of the previous page */
  before: Schema.optional(Schema.String.pipe(
    Schema.pattern(/^\d{1,19}$/, { message: () => "before is the next_cursor of a previous page" })
  )),
  limit: Schema.optional(Schema.Int.pipe(
    Schema.between(1, 500, { message: () => "limit must be between 1 and 500" })
  ))
})

export const AuditPage = Schema.Struct({
  items: Schema.Array(AuditEntry),
  next_cursor: Schema.NullOr(Schema.String)
})

export class AuditRpcs extends RpcGroup.make(
  Rpc.make("audit.list", { payload: AuditQuery, success: AuditPage })
).annotateRpcs(RequiredRole, "admin").middleware(RpcSession) {}
