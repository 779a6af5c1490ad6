/** The audit procedures: the audit log, read a page at a time, exported, and its hash chain checked. */
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

/** The filter of the list and of the export: every field given narrows it. */
const AuditFilterFields = {
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
  /** words, each to be found somewhere in the action, the username, the target, the reason or the details (any case) */
  text: Schema.optional(Schema.String.pipe(
    Schema.maxLength(200, { message: () => "text is at most 200 characters" }),
    Schema.filter((t) => !t.includes("\u0000") || "text cannot hold a NUL character")
  ))
}

export const AuditQuery = Schema.Struct({
  ...AuditFilterFields,
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

/** An export stops after this many rows, newest first: narrow the filter for older ones. */
export const AUDIT_EXPORT_MAX_ROWS = 100_000

export const AuditExportQuery = Schema.Struct({
  ...AuditFilterFields,
  /** CSV (spreadsheet-safe cells, `details` as JSON text) or JSON lines (one entry a line) */
  format: Schema.Literal("csv", "jsonl")
})
export type AuditExportQuery = typeof AuditExportQuery.Type

/** The columns of a CSV export, in order. */
export const AUDIT_CSV_COLUMNS = [
  "id", "at", "actor_id", "actor_username", "address", "action", "target", "reason", "outcome", "details", "prev_hash", "hash"
] as const

/** The whole chain checked, from the first row to the chain head. */
export const AuditVerification = Schema.Union(
  Schema.Struct({
    ok: Schema.Literal(true),
    /** rows checked */
    rows: Schema.Number,
    head: Schema.Struct({ id: Schema.String, hash: Schema.String })
  }),
  Schema.Struct({
    ok: Schema.Literal(false),
    /** rows found intact before the first broken one */
    rows: Schema.Number,
    first_broken: Schema.Struct({ id: Schema.String, reason: Schema.String })
  })
)
export type AuditVerification = typeof AuditVerification.Type

export class AuditRpcs extends RpcGroup.make(
  Rpc.make("audit.list", { payload: AuditQuery, success: AuditPage }),
  /** The filtered rows as a file, in pieces to concatenate (CSV: the header first); audited as `audit.export`. */
  Rpc.make("audit.export", { payload: AuditExportQuery, success: Schema.String, stream: true }),
  /** Walks the whole chain (seconds on a large log); audited as `audit.verify` with its result. */
  Rpc.make("audit.verify", { success: AuditVerification })
).annotateRpcs(RequiredRole, "admin").middleware(RpcSession) {}
