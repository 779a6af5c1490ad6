import { AUDIT_CSV_COLUMNS, AUDIT_EXPORT_MAX_ROWS, type AuditExportQuery, AuditRpcs } from "@chaverim/domain/rpc/Audit"
import { stringify } from "csv-stringify/sync"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { neutraliseFormula } from "../csv/Formulas"
import { caller } from "../rpc/Session"
import { Audit, type AuditFilter, type AuditRow } from "./Audit"

/** Rows read per query of an export (the list's largest page). */
const EXPORT_PAGE = 500

const filterOf = ({ from, to, ...rest }: Omit<AuditExportQuery, "format">): AuditFilter => ({
  actor: rest.actor,
  action: rest.action,
  outcome: rest.outcome,
  target: rest.target,
  text: rest.text,
  from: from === undefined ? undefined : new Date(from),
  to: to === undefined ? undefined : new Date(to)
})

/** The filter as the `audit.export` row records it: the fields given. */
const filterDetails = (query: Omit<AuditExportQuery, "format">) =>
  Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined))

const csvLines = (rows: ReadonlyArray<AuditRow>) =>
  stringify(rows.map((row) =>
    [
      row.id,
      row.at,
      row.actor_id ?? "",
      row.actor_username ?? "",
      row.address ?? "",
      row.action,
      row.target ?? "",
      row.reason ?? "",
      row.outcome,
      JSON.stringify(row.details),
      row.prev_hash,
      row.hash
    ].map(neutraliseFormula)
  ))

const jsonLines = (rows: ReadonlyArray<AuditRow>) => rows.map((row) => `${JSON.stringify(row)}\n`).join("")

export const AuditRpcsLayer = AuditRpcs.toLayer(Effect.gen(function*() {
  const audit = yield* Audit
  const who = yield* caller
  return AuditRpcs.of({
    "audit.list": ({ before, from, limit, to, ...filter }) =>
      audit.list(
        { ...filter, from: from === undefined ? undefined : new Date(from), to: to === undefined ? undefined : new Date(to) },
        { before, limit }
      ),

    // Newest first, a page at a time, up to AUDIT_EXPORT_MAX_ROWS. Audited when it starts: the rows
    // leave from then on.
    "audit.export": ({ format, ...query }, { headers }) =>
      Stream.unwrap(Effect.gen(function*() {
        const { actor, request } = yield* who(headers)
        yield* audit.record({
          actor,
          address: request.address,
          action: "audit.export",
          target: `audit_log:${format}`,
          details: { format, filter: filterDetails(query), max_rows: AUDIT_EXPORT_MAX_ROWS },
          outcome: "success"
        })
        const filter = filterOf(query)
        const lines = format === "csv" ? csvLines : jsonLines
        const page = ({ before, sent }: { readonly before: string | undefined; readonly sent: number }) =>
          Effect.map(
            audit.list(filter, { before, limit: Math.min(EXPORT_PAGE, AUDIT_EXPORT_MAX_ROWS - sent) }),
            ({ items, next_cursor }) => {
              const total = sent + items.length
              const next = next_cursor === null || total >= AUDIT_EXPORT_MAX_ROWS
                ? Option.none()
                : Option.some({ before: next_cursor, sent: total })
              return [items.length === 0 ? "" : lines(items), next] as const
            }
          )
        const body = Stream.paginateEffect({ before: undefined as string | undefined, sent: 0 }, page).pipe(
          Stream.filter((text) => text !== "")
        )
        return format === "csv" ? Stream.concat(Stream.succeed(stringify([[...AUDIT_CSV_COLUMNS]])), body) : body
      })),

    // The walk reads the log a page at a time on one pooled connection and holds no lock: other
    // requests go on meanwhile. The result is recorded after it, so the row says what was found.
    "audit.verify": (_, { headers }) =>
      Effect.gen(function*() {
        const { actor, request } = yield* who(headers)
        const started = Date.now()
        const result = yield* audit.verify
        const answer = result.ok
          ? { ok: true as const, rows: result.rows, head: result.head }
          : { ok: false as const, rows: result.rows, first_broken: result.firstBroken }
        yield* audit.record({
          actor,
          address: request.address,
          action: "audit.verify",
          target: "audit_log",
          details: { ...answer, ms: Date.now() - started },
          outcome: "success"
        })
        return answer
      })
  })
}))
