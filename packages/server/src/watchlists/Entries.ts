import { BadRequest, NotFound } from "@chaverim/domain/Errors"
import { normalizePlate } from "@chaverim/domain/Plate"
import { type EntryQuery, type EntryUpdate, type NewEntry, WatchlistEntry } from "@chaverim/domain/rpc/Watchlists"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import type * as Statement from "@effect/sql/Statement"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Int8Text, IsoTime, IsoTimeOrNull, orBug } from "../db/Rows"
import type { WatchlistAudit } from "./Audited"
import { toInstant } from "./Csv"
import { checkEntryValue } from "./EntryPattern"
import { dieOnSql } from "./Failures"
import type { Lists } from "./Lists"
import { authorName, type Caller } from "./Permissions"

/** `watchlist_entries`: the plates and patterns on a list, added, changed and removed one at a time. */

/** A row of `watchlist_entries` as the contract names it. */
export const EntryRow = Schema.Struct({
  ...WatchlistEntry.fields,
  entry_id: Int8Text,
  expires_at: IsoTimeOrNull,
  created_at: IsoTime,
  updated_at: IsoTime,
  removed_at: IsoTimeOrNull
})
export type EntryRow = typeof EntryRow.Type

const DEFAULT_LIMIT = 100

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`)

/** An expiry must lie ahead: an entry that has already expired would never match. */
const futureExpiry = (text: string | null | undefined) => {
  if (text === undefined || text === null) return Effect.succeed(text)
  const at = toInstant(text)
  if (at === undefined) return Effect.fail(new BadRequest({ message: `expires_at must be an ISO 8601 time, not "${text}"` }))
  return at.getTime() <= Date.now()
    ? Effect.fail(new BadRequest({ message: `expires_at ${text} is in the past` }))
    : Effect.succeed(at.toISOString())
}

export const makeEntries = (
  sql: SqlClient.SqlClient,
  { deniedAudited, record }: WatchlistAudit,
  { manageableList, visibleList }: Lists
) => {
  const entryColumns = sql`id AS entry_id, watchlist_id, kind, value, note, reason, added_by_name, expires_at,
                           created_at, updated_at, removed_at, removed_by_name`

  /** The rows of a statement that gives entries (`entryColumns`). */
  const entryRows = (statement: Statement.Statement<unknown>) =>
    SqlSchema.findAll({ Request: Schema.Void, Result: EntryRow, execute: () => statement })(undefined).pipe(orBug)

  /** The one row of a statement that must give an entry (`entryColumns`): `what` names it if it does not. */
  const entryRow = (what: string, statement: Statement.Statement<unknown>) =>
    SqlSchema.single({ Request: Schema.Void, Result: EntryRow, execute: () => statement })(undefined).pipe(
      orBug,
      Effect.catchTag("NoSuchElementException", () => Effect.dieMessage(`${what} gave no row`))
    )

  const entries = Effect.fn("Watchlists.entries")(function*(caller: Caller, query: EntryQuery) {
    yield* visibleList(caller, query.watchlist_id)
    const limit = query.limit ?? DEFAULT_LIMIT
    const where: Array<Statement.Fragment> = [sql`watchlist_id = ${query.watchlist_id}`]
    if (!query.include_removed) where.push(sql`removed_at IS NULL`)
    if (query.kind !== undefined) where.push(sql`kind = ${query.kind}`)
    if (query.before !== undefined) where.push(sql`id < ${query.before}::bigint`)
    const text = query.text?.trim() ?? ""
    if (text !== "") {
      const pattern = `%${escapeLike(text)}%`
      const plate = normalizePlate(text)
      where.push(sql`(value ILIKE ${pattern} OR note ILIKE ${pattern} OR reason ILIKE ${pattern}
                      OR added_by_name ILIKE ${pattern}
                      ${plate === "" ? sql`` : sql`OR value LIKE ${`%${escapeLike(plate)}%`}`})`)
    }
    // One row more than asked tells whether there is a next page without another query.
    const rows = yield* entryRows(sql`
      SELECT ${entryColumns}
        FROM watchlist_entries
       WHERE ${sql.and(where)}
       ORDER BY id DESC
       LIMIT ${limit + 1}`)
    const items = rows.slice(0, limit)
    return { items, next_cursor: rows.length > limit ? items[items.length - 1]?.entry_id ?? null : null }
  }, dieOnSql)

  const entryById = (id: string) =>
    Effect.flatMap(
      SqlSchema.findOne({
        Request: Schema.String,
        Result: EntryRow,
        execute: (id) => sql`SELECT ${entryColumns} FROM watchlist_entries WHERE id = ${id}::bigint`
      })(id).pipe(orBug),
      Option.match({
        onNone: () => Effect.fail(new NotFound({ message: `no watchlist entry ${id}` })),
        onSome: Effect.succeed
      })
    )

  /** The retro check: the engine looks for these new entries among the last RETRO_ALERT_DAYS of reads. */
  const queueRetroCheck = (entryId: string) =>
    Effect.zipRight(
      sql`INSERT INTO alert_work (entry_ids) VALUES (ARRAY[${entryId}::bigint])`,
      sql`SELECT pg_notify('alert_work', '')`
    )

  const liveEntryId = SqlSchema.findOne({
    Request: Schema.Struct({ watchlistId: Schema.String, kind: Schema.String, value: Schema.String }),
    Result: Schema.Struct({ id: Int8Text }),
    execute: ({ kind, value, watchlistId }) =>
      sql`SELECT id FROM watchlist_entries
           WHERE watchlist_id = ${watchlistId} AND kind = ${kind} AND value = ${value} AND removed_at IS NULL`
  })

  const addEntry = Effect.fn("Watchlists.addEntry")(function*(caller: Caller, input: NewEntry) {
    const kind = input.kind ?? "exact"
    const parsed = checkEntryValue(kind, input.value)
    if (Either.isLeft(parsed)) return yield* new BadRequest({ message: `value: ${parsed.left}` })
    const reason = input.reason.trim()
    if (reason === "") return yield* new BadRequest({ message: "reason is required: say why the plate is watched" })
    const expiresAt = yield* futureExpiry(input.expires_at)
    const { value } = parsed.right
    return yield* deniedAudited(
      caller,
      "watchlist.entry.add",
      () => input.watchlist_id,
      sql.withTransaction(Effect.gen(function*() {
        const list = yield* manageableList(caller, input.watchlist_id)
        const [entry] = yield* entryRows(sql`
          INSERT INTO watchlist_entries (watchlist_id, kind, value, note, reason, added_by, added_by_name, expires_at)
          VALUES (${list.watchlist_id}, ${kind}, ${value}, ${input.note?.trim() || null}, ${reason},
                  ${caller._tag === "User" ? caller.userId : null}, ${authorName(caller)}, ${expiresAt ?? null})
          ON CONFLICT (watchlist_id, kind, value) WHERE removed_at IS NULL DO NOTHING
          RETURNING ${entryColumns}`)
        if (entry === undefined) {
          const existing = yield* orBug(liveEntryId({ watchlistId: list.watchlist_id, kind, value }))
          return yield* new BadRequest({
            message: `${value} (${kind}) is already on "${list.name}" as entry ${
              Option.match(existing, { onNone: () => "?", onSome: ({ id }) => id })
            }: update that entry instead`
          })
        }
        yield* queueRetroCheck(entry.entry_id)
        yield* record(caller, "watchlist.entry.add", list.watchlist_id, {
          entry_id: entry.entry_id,
          kind,
          value,
          note: entry.note,
          expires_at: entry.expires_at
        }, { reason })
        return entry
      }))
    )
  }, dieOnSql)

  /**
   * The entry, live, on a list the caller may change; read again once the list is locked, so what the
   * audit records as "from" is what was changed. An entry on a list the caller cannot see is not found.
   */
  const manageableEntry = (caller: Caller, entry: EntryRow) =>
    Effect.gen(function*() {
      yield* manageableList(caller, entry.watchlist_id).pipe(
        Effect.catchIf(
          (e) => e._tag === "NotFound",
          () => Effect.fail(new NotFound({ message: `no watchlist entry ${entry.entry_id}` }))
        )
      )
      const current = yield* entryById(entry.entry_id)
      if (current.removed_at !== null) {
        return yield* new BadRequest({ message: `entry ${entry.entry_id} was removed; add the value again instead` })
      }
      return current
    })

  const updateEntry = Effect.fn("Watchlists.updateEntry")(function*(caller: Caller, change: EntryUpdate) {
    const expiresAt = yield* futureExpiry(change.expires_at)
    const reason = change.reason?.trim()
    if (reason === "") return yield* new BadRequest({ message: "reason must not be blank" })
    const found = yield* entryById(change.entry_id)
    return yield* deniedAudited(
      caller,
      "watchlist.entry.update",
      () => found.watchlist_id,
      sql.withTransaction(Effect.gen(function*() {
        const before = yield* manageableEntry(caller, found)
        const note = change.note === undefined ? undefined : (change.note?.trim() || null)
        const set = (column: string, value: string | null | undefined) =>
          value === undefined ? sql`` : sql`, ${sql(column)} = ${value}`
        const after = yield* entryRow(
          "UPDATE watchlist_entries (a locked live entry)",
          sql`
            UPDATE watchlist_entries SET updated_at = now()
                   ${set("note", note)} ${set("reason", reason)} ${set("expires_at", expiresAt)}
             WHERE id = ${change.entry_id}::bigint
            RETURNING ${entryColumns}`
        )
        const fields = (["note", "reason", "expires_at"] as const).filter((field) => before[field] !== after[field])
        yield* record(caller, "watchlist.entry.update", after.watchlist_id, {
          entry_id: after.entry_id,
          kind: after.kind,
          value: after.value,
          from: Object.fromEntries(fields.map((field) => [field, before[field]])),
          to: Object.fromEntries(fields.map((field) => [field, after[field]]))
        })
        return after
      }))
    )
  }, dieOnSql)

  const removeEntry = Effect.fn("Watchlists.removeEntry")(function*(caller: Caller, entryId: string, reason?: string) {
    const found = yield* entryById(entryId)
    return yield* deniedAudited(
      caller,
      "watchlist.entry.remove",
      () => found.watchlist_id,
      sql.withTransaction(Effect.gen(function*() {
        const entry = yield* manageableEntry(caller, found)
        const after = yield* entryRow(
          "UPDATE watchlist_entries (a locked live entry)",
          sql`
            UPDATE watchlist_entries SET removed_at = now(), removed_by_name = ${authorName(caller)}, updated_at = now()
             WHERE id = ${entryId}::bigint
            RETURNING ${entryColumns}`
        )
        yield* record(caller, "watchlist.entry.remove", entry.watchlist_id, {
          entry_id: after.entry_id,
          kind: after.kind,
          value: after.value
        }, { reason: reason?.trim() || undefined })
        return after
      }))
    )
  }, dieOnSql)

  return { entries, addEntry, updateEntry, removeEntry } as const
}
