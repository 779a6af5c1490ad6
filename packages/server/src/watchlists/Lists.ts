import { BadRequest, NotFound } from "@chaverim/domain/Errors"
import { Watchlist, type WatchlistCreate, type WatchlistUpdate } from "@chaverim/domain/rpc/Watchlists"
import { WatchlistCategory } from "@chaverim/domain/Watchlist"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import type * as Statement from "@effect/sql/Statement"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Count, IsoTime, IsoTimeOrNull, orBug } from "../db/Rows"
import type { WatchlistAudit } from "./Audited"
import { dieOnSql, isUniqueViolation } from "./Failures"
import { type Caller, canManage, mayChange, mayCreate, visibleTo } from "./Permissions"

/** `watchlists`: the lists themselves, as the caller may see and change them. */

/** A row of `watchlists` with its owner's name and the count of its live entries, as the contract names them. */
export const ListRow = Schema.Struct({
  ...Watchlist.omit("can_manage").fields,
  entries: Count,
  created_at: IsoTime,
  updated_at: IsoTime,
  retired_at: IsoTimeOrNull
})
export type ListRow = typeof ListRow.Type

/** The list's row as the caller is shown it. */
const toWatchlist = (caller: Caller) => (row: ListRow): Watchlist => ({
  ...row,
  can_manage: row.retired_at === null && canManage(caller, row)
})

/**
 * `share` holds the list against being retired or changed until the transaction ends (entry changes
 * and imports, which may run side by side); `update` is for changing the list row itself, taken at once
 * rather than upgraded from a share lock, which two concurrent updates would deadlock on.
 */
export type Lock = "none" | "share" | "update"

const LIST_FIELDS = ["name", "category", "priority", "colour", "shared", "camera_ids", "active", "alert_unreviewed"] as const

export const makeLists = (sql: SqlClient.SqlClient, { deniedAudited, record }: WatchlistAudit) => {
  const selectLists = sql`
    SELECT w.id AS watchlist_id, w.name, w.category, w.priority, w.colour, w.owner_id,
           u.username AS owner_username, w.shared, w.camera_ids, w.active, w.alert_unreviewed, w.created_at, w.updated_at,
           w.deleted_at AS retired_at,
           (SELECT count(*) FROM watchlist_entries e WHERE e.watchlist_id = w.id AND e.removed_at IS NULL) AS entries
      FROM watchlists w LEFT JOIN users u ON u.id = w.owner_id`

  const findVisible = (caller: Caller) =>
    SqlSchema.findOne({
      Request: Schema.String,
      Result: ListRow,
      execute: (id) => sql`${selectLists} WHERE w.id = ${id} AND ${visibleTo(sql, caller)}`
    })

  /**
   * A list the caller may see; a list they may not see is not found, so its existence is not told.
   * `lock`: see Lock.
   */
  const visibleList = (caller: Caller, id: string, lock: Lock = "none") =>
    Effect.gen(function*() {
      if (lock === "share") yield* sql`SELECT 1 FROM watchlists WHERE id = ${id} FOR SHARE`
      if (lock === "update") yield* sql`SELECT 1 FROM watchlists WHERE id = ${id} FOR NO KEY UPDATE`
      const found = yield* orBug(findVisible(caller)(id))
      return Option.isSome(found) ? found.value : yield* new NotFound({ message: `no watchlist ${id}` })
    })

  /** A list the caller may change: visible, theirs to manage, and not retired. */
  const manageableList = (caller: Caller, id: string, lock: Lock = "share") =>
    Effect.flatMap(visibleList(caller, id, lock), (row) => mayChange(caller, row))

  const uuidArray = (ids: ReadonlyArray<string>) =>
    sql`ARRAY(SELECT x::uuid FROM json_array_elements_text(${JSON.stringify(ids)}::json) x)`

  const knownCameras = SqlSchema.findAll({
    Request: Schema.Array(Schema.String),
    Result: Schema.Struct({ id: Schema.String }),
    execute: (ids) => sql`SELECT id FROM cameras WHERE id = ANY(${uuidArray(ids)})`
  })

  const checkCameras = (ids: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      if (ids.length === 0) return
      const known = yield* orBug(knownCameras(ids))
      const unknown = ids.filter((id) => !known.some((k) => k.id === id))
      if (unknown.length > 0) return yield* new BadRequest({ message: `no such camera: ${unknown.join(", ")}` })
    })

  const nameTaken = (name: string) => new BadRequest({ message: `a watchlist named "${name}" already exists` })

  const getList = (caller: Caller, id: string) => Effect.map(visibleList(caller, id), toWatchlist(caller))

  const list = Effect.fn("Watchlists.list")(function*(
    caller: Caller,
    query: { readonly category?: WatchlistCategory | undefined; readonly include_retired?: boolean | undefined } = {}
  ) {
    const rows = yield* orBug(SqlSchema.findAll({
      Request: Schema.Void,
      Result: ListRow,
      execute: () =>
        sql`
          ${selectLists}
           WHERE ${visibleTo(sql, caller)}
             ${query.include_retired ? sql`` : sql`AND w.deleted_at IS NULL`}
             ${query.category === undefined ? sql`` : sql`AND w.category = ${query.category}`}
           ORDER BY w.deleted_at IS NOT NULL, w.priority, lower(w.name)`
    })(undefined))
    return rows.map(toWatchlist(caller))
  }, dieOnSql)

  const get = Effect.fn("Watchlists.get")(function*(caller: Caller, id: string) {
    return yield* getList(caller, id)
  }, dieOnSql)

  const insertRow = (caller: Caller, input: WatchlistCreate, name: string, cameraIds: ReadonlyArray<string>) =>
    SqlSchema.single({
      Request: Schema.Void,
      Result: Schema.Struct({ id: Schema.String }),
      execute: () =>
        sql`
          INSERT INTO watchlists (name, category, priority, colour, owner_id, shared, camera_ids, active, alert_unreviewed)
          VALUES (${name}, ${input.category}, ${input.priority ?? 3}, ${(input.colour ?? "#d32f2f").toLowerCase()},
                  ${caller._tag === "User" ? caller.userId : null}, ${input.shared ?? true}, ${uuidArray(cameraIds)},
                  ${input.active ?? true}, ${input.alert_unreviewed ?? false})
          RETURNING id`
    })(undefined).pipe(
      orBug,
      Effect.catchTag("NoSuchElementException", () => Effect.dieMessage("INSERT INTO watchlists ... RETURNING gave no row"))
    )

  /**
   * Inserts a list in the caller's transaction; `audit` records it, to be run last in that
   * transaction (the audit chain's lock is held from then to the commit).
   */
  const insertList = (caller: Caller, input: WatchlistCreate) =>
    Effect.gen(function*() {
      const name = input.name.trim()
      const cameraIds = input.category === "allow" ? [...new Set(input.camera_ids ?? [])] : []
      yield* checkCameras(cameraIds)
      const row = yield* insertRow(caller, input, name, cameraIds).pipe(
        Effect.catchIf(isUniqueViolation, () => Effect.fail(nameTaken(name)))
      )
      const created = yield* getList(caller, row.id)
      const audit = record(caller, "watchlist.create", created.watchlist_id, {
        name: created.name,
        category: created.category,
        priority: created.priority,
        colour: created.colour,
        shared: created.shared,
        camera_ids: created.camera_ids,
        active: created.active,
        alert_unreviewed: created.alert_unreviewed
      })
      return { created, audit }
    })

  const create = Effect.fn("Watchlists.create")(function*(caller: Caller, input: WatchlistCreate) {
    yield* mayCreate(caller)
    return yield* sql.withTransaction(Effect.gen(function*() {
      const { audit, created } = yield* insertList(caller, input)
      yield* audit
      return created
    }))
  }, dieOnSql)

  const update = Effect.fn("Watchlists.update")(function*(caller: Caller, change: WatchlistUpdate) {
    return yield* deniedAudited(
      caller,
      "watchlist.update",
      () => change.watchlist_id,
      sql.withTransaction(Effect.gen(function*() {
        const before = yield* manageableList(caller, change.watchlist_id, "update")
        const category = change.category ?? before.category
        const cameraIds = change.camera_ids === undefined ? before.camera_ids : [...new Set(change.camera_ids)]
        if (category !== "allow" && cameraIds.length > 0) {
          return yield* new BadRequest({
            message: "camera_ids are the gate of an allow list: clear them (camera_ids: []) to make it another category"
          })
        }
        if (change.camera_ids !== undefined) yield* checkCameras(cameraIds)
        const name = change.name?.trim()
        const set = (column: string, value: Statement.Fragment | string | number | boolean | undefined) =>
          value === undefined ? sql`` : sql`, ${sql(column)} = ${value}`
        yield* sql`
          UPDATE watchlists SET updated_at = now()
                 ${set("name", name)} ${set("category", change.category)} ${set("priority", change.priority)}
                 ${set("colour", change.colour?.toLowerCase())} ${set("shared", change.shared)}
                 ${set("camera_ids", change.camera_ids === undefined ? undefined : uuidArray(cameraIds))}
                 ${set("active", change.active)} ${set("alert_unreviewed", change.alert_unreviewed)}
           WHERE id = ${change.watchlist_id}`.pipe(
          Effect.catchIf(isUniqueViolation, () => Effect.fail(nameTaken(name ?? before.name)))
        )
        const after = yield* getList(caller, change.watchlist_id)
        const changed = LIST_FIELDS.filter((field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]))
        yield* record(caller, "watchlist.update", after.watchlist_id, {
          from: Object.fromEntries(changed.map((field) => [field, before[field]])),
          to: Object.fromEntries(changed.map((field) => [field, after[field]]))
        })
        return after
      }))
    )
  }, dieOnSql)

  const retire = Effect.fn("Watchlists.retire")(function*(caller: Caller, id: string, reason?: string) {
    return yield* deniedAudited(
      caller,
      "watchlist.retire",
      () => id,
      sql.withTransaction(Effect.gen(function*() {
        const row = yield* manageableList(caller, id, "update")
        // Inactive as well, so that whatever reads only `active` stops alerting on it.
        yield* sql`UPDATE watchlists SET deleted_at = now(), active = false, updated_at = now() WHERE id = ${id}`
        const after = yield* getList(caller, id)
        yield* record(caller, "watchlist.retire", id, { name: row.name, entries: row.entries }, {
          reason: reason?.trim() || undefined
        })
        return after
      }))
    )
  }, dieOnSql)

  /** The live list of that name, whatever its case; `share` holds it to the end of the caller's transaction. */
  const liveByName = (name: string, lock: "none" | "share" = "none") =>
    SqlSchema.findOne({
      Request: Schema.String,
      Result: Schema.Struct({ id: Schema.String, category: WatchlistCategory }),
      execute: (name) =>
        sql`SELECT id, category FROM watchlists WHERE lower(name) = lower(${name}) AND deleted_at IS NULL
            ${lock === "share" ? sql`FOR SHARE` : sql``}`
    })(name).pipe(orBug)

  /** The live list of that name, for the command line. */
  const findByName = Effect.fn("Watchlists.findByName")(function*(name: string) {
    const found = yield* liveByName(name.trim())
    return Option.isSome(found) ? found.value.id : yield* new NotFound({ message: `no watchlist named "${name.trim()}"` })
  }, dieOnSql)

  return {
    visibleList,
    manageableList,
    insertList,
    liveByName,
    list,
    get,
    create,
    update,
    retire,
    findByName
  } as const
}

export type Lists = ReturnType<typeof makeLists>
