import { BadRequest, NotFound } from "@chaverim/domain/Errors"
import { ReasonCode } from "@chaverim/domain/Reason"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { IsoTime, orBug } from "../db/Rows"
import { Audit, type AuditEntry } from "./Audit"

/** A row of `reason_codes` as the contract carries a code. */
const ReasonCodeRow = Schema.Struct({ ...ReasonCode.fields, created_at: IsoTime, retired_at: Schema.NullOr(IsoTime) })

/** Who changes the list and from where: a person over RPC, or nobody in particular from the CLI. */
export interface ChangedBy {
  readonly actor?: AuditEntry["actor"]
  readonly address?: string | undefined
  /** `rpc` or `cli`, recorded in the audit row */
  readonly via: "rpc" | "cli"
}

/**
 * The reason codes admins keep (`reason_codes`, sql/0015): every change audited in its transaction.
 * A code is never deleted nor renamed, and a retired one stays retired: the audit log names codes,
 * and they keep their meaning (the database holds this too).
 */
export class ReasonCodes extends Effect.Service<ReasonCodes>()("@chaverim/server/ReasonCodes", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* Audit

    const rows = SqlSchema.findAll({
      Request: Schema.Boolean,
      Result: ReasonCodeRow,
      execute: (withRetired) =>
        sql`
          SELECT code, label, created_at, retired_at FROM reason_codes
           ${withRetired ? sql`` : sql`WHERE retired_at IS NULL`}
           ORDER BY retired_at IS NOT NULL, lower(label), code`
    })

    const one = SqlSchema.findOne({
      Request: Schema.String,
      Result: ReasonCodeRow,
      execute: (code) => sql`SELECT code, label, created_at, retired_at FROM reason_codes WHERE code = ${code} FOR UPDATE`
    })

    const found = (code: string) =>
      Effect.flatMap(
        orBug(one(code)),
        Option.match({
          onNone: () => Effect.fail(new NotFound({ message: `there is no reason code ${JSON.stringify(code)}` })),
          onSome: Effect.succeed
        })
      )

    const record = (by: ChangedBy, action: string, code: string, details: Record<string, unknown>) =>
      audit.record({
        actor: by.actor,
        address: by.address,
        action,
        target: `reason_code:${code}`,
        details: { via: by.via, ...details },
        outcome: "success"
      })

    /** The active codes, by label: what is offered when a reason is asked. */
    const list = Effect.fn("ReasonCodes.list")(function*() {
      return yield* orBug(rows(false))
    })

    /** Every code, the active ones first. */
    const listAll = Effect.fn("ReasonCodes.listAll")(function*() {
      return yield* orBug(rows(true))
    })

    const create = Effect.fn("ReasonCodes.create")(function*(code: string, label: string, by: ChangedBy) {
      return yield* sql.withTransaction(Effect.gen(function*() {
        const made = yield* orBug(SqlSchema.findAll({
          Request: Schema.Void,
          Result: ReasonCodeRow,
          execute: () =>
            sql`
              INSERT INTO reason_codes (code, label) VALUES (${code}, ${label.trim()})
              ON CONFLICT (code) DO NOTHING
              RETURNING code, label, created_at, retired_at`
        })(undefined))
        const row = made[0]
        if (row === undefined) {
          const retired = Option.exists(yield* orBug(one(code)), (existing) => existing.retired_at !== null)
          return yield* new BadRequest({
            message: `the reason code ${code} exists already${retired ? " (retired: a code is not used again)" : ""}`
          })
        }
        yield* record(by, "reason_code.create", code, { label: row.label })
        return row
      }))
    })

    const relabel = Effect.fn("ReasonCodes.relabel")(function*(code: string, label: string, by: ChangedBy) {
      return yield* sql.withTransaction(Effect.gen(function*() {
        const before = yield* found(code)
        if (before.retired_at !== null) {
          return yield* new BadRequest({ message: `the reason code ${code} is retired` })
        }
        yield* sql`UPDATE reason_codes SET label = ${label.trim()} WHERE code = ${code}`
        const after = yield* found(code)
        yield* record(by, "reason_code.relabel", code, { from: before.label, to: after.label })
        return after
      }))
    })

    const retire = Effect.fn("ReasonCodes.retire")(function*(code: string, by: ChangedBy) {
      return yield* sql.withTransaction(Effect.gen(function*() {
        const before = yield* found(code)
        if (before.retired_at !== null) {
          return yield* new BadRequest({ message: `the reason code ${code} is retired already` })
        }
        yield* sql`UPDATE reason_codes SET retired_at = now() WHERE code = ${code}`
        const after = yield* found(code)
        yield* record(by, "reason_code.retire", code, { label: after.label })
        return after
      }))
    })

    return { list, listAll, create, relabel, retire } as const
  })
}) {}
