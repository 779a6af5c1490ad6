import type { Role } from "@chaverim/domain/Auth"
import { BadRequest, Forbidden, NotFound } from "@chaverim/domain/Errors"
import { normalizePlate } from "@chaverim/domain/Plate"
import type {
  CsvImportResult,
  EntryQuery,
  EntryUpdate,
  NewEntry,
  Watchlist,
  WatchlistCreate,
  WatchlistEntry,
  WatchlistUpdate
} from "@chaverim/domain/Rpc"
import type { EntryKind, WatchlistCategory } from "@chaverim/domain/Watchlist"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlError from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { Audit } from "../audit/Audit"
import { exportHeader, exportLines, type ExportEntry, type ParsedImport, toInstant } from "./Csv"
import { checkEntryValue } from "./EntryPattern"

/**
 * Who asks: a signed-in user (their role decides what they see and change), or the command line, which
 * acts for the organisation: it sees and changes every list, and the lists it makes have no owner.
 */
export type Caller =
  | {
    readonly _tag: "User"
    readonly userId: string
    readonly username: string
    readonly role: Role
    /** the client's address, for the audit log */
    readonly address?: string | undefined
  }
  | { readonly _tag: "Cli" }

export const cliCaller: Caller = { _tag: "Cli" }

/** What an import did; here `errors` holds every bad line (the procedure reports the first 100). */
export type ImportOutcome = CsvImportResult

export interface ImportOptions {
  /** the reason for new entries whose line has none */
  readonly reason: string
  /** ties the chunks of one file together in the audit log */
  readonly importId?: string | undefined
  /** the file's name, when known: for the audit log */
  readonly file?: string | undefined
}

interface ListRow {
  readonly id: string
  readonly name: string
  readonly category: WatchlistCategory
  readonly priority: number
  readonly colour: string
  readonly owner_id: string | null
  readonly owner_username: string | null
  readonly shared: boolean
  readonly camera_ids: ReadonlyArray<string>
  readonly active: boolean
  readonly entries: string
  readonly created_at: Date
  readonly updated_at: Date
  readonly deleted_at: Date | null
}

interface EntryRow {
  readonly id: string
  readonly watchlist_id: string
  readonly kind: EntryKind
  readonly value: string
  readonly note: string | null
  readonly reason: string | null
  readonly added_by_name: string
  readonly expires_at: Date | null
  readonly created_at: Date
  readonly updated_at: Date
  readonly removed_at: Date | null
  readonly removed_by_name: string | null
}

const iso = (d: Date | null) => (d === null ? null : new Date(d).toISOString())

const toEntry = (r: EntryRow): WatchlistEntry => ({
  entry_id: String(r.id),
  watchlist_id: r.watchlist_id,
  kind: r.kind,
  value: r.value,
  note: r.note,
  reason: r.reason,
  added_by_name: r.added_by_name,
  expires_at: iso(r.expires_at),
  created_at: iso(r.created_at)!,
  updated_at: iso(r.updated_at)!,
  removed_at: iso(r.removed_at),
  removed_by_name: r.removed_by_name
})

type Lock = "none" | "share" | "update"

const isAdmin = (caller: Caller) => caller._tag === "Cli" || caller.role === "admin"

/** Operators change the lists they own; admins and the command line every list; viewers none. */
const canManage = (caller: Caller, list: ListRow) =>
  isAdmin(caller) || (caller._tag === "User" && caller.role === "operator" && list.owner_id === caller.userId)

/** The name people write the author of a change under: the username, or "import" for the command line. */
const authorName = (caller: Caller) => (caller._tag === "User" ? caller.username : "import")

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`)

const isUniqueViolation = (e: unknown): e is SqlError.SqlError =>
  e instanceof SqlError.SqlError && (e.cause as { readonly code?: string } | undefined)?.code === "23505"

/** A database failure is nobody's input error: it ends the call as a defect (logged by the caller's layer). */
const dieOnSql = <A, E, R>(effect: Effect.Effect<A, E | SqlError.SqlError, R>): Effect.Effect<A, Exclude<E, SqlError.SqlError>, R> =>
  Effect.catchIf(effect, (e): e is SqlError.SqlError => e instanceof SqlError.SqlError, Effect.die) as Effect.Effect<
    A,
    Exclude<E, SqlError.SqlError>,
    R
  >

/** An expiry must lie ahead: an entry that has already expired would never match. */
const futureExpiry = (text: string | null | undefined) => {
  if (text === undefined || text === null) return Effect.succeed(text)
  const at = toInstant(text)
  if (at === undefined) return Effect.fail(new BadRequest({ message: `expires_at must be an ISO 8601 time, not "${text}"` }))
  return at.getTime() <= Date.now()
    ? Effect.fail(new BadRequest({ message: `expires_at ${text} is in the past` }))
    : Effect.succeed(at.toISOString())
}

/**
 * Watchlists and their entries, as people manage them (over RPC) and as the command line imports
 * them. Only the tables are written: triggers stamp each change with a revision and NOTIFY the alert
 * engine's matcher; an added entry also leaves an `alert_work` item, in the same transaction, so the
 * engine checks it against recent reads (a retro-alert). Every change is audited in its transaction.
 */
export class Watchlists extends Effect.Service<Watchlists>()("@chaverim/server/Watchlists", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* Audit

    const record = (
      caller: Caller,
      action: string,
      listId: string,
      details: Record<string, unknown>,
      options: { readonly reason?: string | undefined; readonly outcome?: "success" | "denied" } = {}
    ) =>
      audit.record({
        actor: caller._tag === "User" ? { userId: caller.userId, username: caller.username } : undefined,
        address: caller._tag === "User" ? caller.address : undefined,
        action,
        target: `watchlist:${listId}`,
        reason: options.reason,
        details: caller._tag === "Cli" ? { ...details, via: "cli" } : details,
        outcome: options.outcome ?? "success"
      })

    /** A refusal is on the record too; it is written outside the refused change's transaction. */
    const deniedAudited = <A, E, R>(caller: Caller, action: string, listId: () => string, effect: Effect.Effect<A, E, R>) =>
      Effect.tapError(effect, (e) =>
        (e as { readonly _tag?: string })._tag === "Forbidden"
          ? record(caller, action, listId(), { refused: (e as Forbidden).message }, { outcome: "denied" })
          : Effect.void)

    const toWatchlist = (caller: Caller) => (r: ListRow): Watchlist => ({
      watchlist_id: r.id,
      name: r.name,
      category: r.category,
      priority: Number(r.priority),
      colour: r.colour,
      owner_id: r.owner_id,
      owner_username: r.owner_username,
      shared: r.shared,
      camera_ids: r.camera_ids ?? [],
      active: r.active,
      entries: Number(r.entries),
      created_at: iso(r.created_at)!,
      updated_at: iso(r.updated_at)!,
      retired_at: iso(r.deleted_at),
      can_manage: r.deleted_at === null && canManage(caller, r)
    })

    /** Admins and the command line see every list; others the shared ones and their own. */
    const visibleTo = (caller: Caller) =>
      caller._tag === "User" && caller.role !== "admin" ? sql`(w.shared OR w.owner_id = ${caller.userId})` : sql`true`

    const selectLists = sql`
      SELECT w.id, w.name, w.category, w.priority, w.colour, w.owner_id, u.username AS owner_username, w.shared,
             w.camera_ids, w.active, w.created_at, w.updated_at, w.deleted_at,
             (SELECT count(*) FROM watchlist_entries e WHERE e.watchlist_id = w.id AND e.removed_at IS NULL) AS entries
        FROM watchlists w LEFT JOIN users u ON u.id = w.owner_id`

    /**
     * A list the caller may see; a list they may not see is not found, so its existence is not told.
     * `share` holds the list against being retired or changed until the transaction ends (entry changes
     * and imports, which may run side by side); `update` is for changing the list row itself, taken
     * at once rather than upgraded from a share lock, which two concurrent updates would deadlock on.
     */
    const visibleList = (caller: Caller, id: string, lock: Lock = "none") =>
      Effect.gen(function*() {
        if (lock === "share") yield* sql`SELECT 1 FROM watchlists WHERE id = ${id} FOR SHARE`
        if (lock === "update") yield* sql`SELECT 1 FROM watchlists WHERE id = ${id} FOR NO KEY UPDATE`
        const [row] = yield* sql<ListRow>`${selectLists} WHERE w.id = ${id} AND ${visibleTo(caller)}`
        return row === undefined ? yield* new NotFound({ message: `no watchlist ${id}` }) : row
      })

    /** A list the caller may change: visible, theirs to manage, and not retired. */
    const manageableList = (caller: Caller, id: string, lock: Lock = "share") =>
      Effect.gen(function*() {
        const row = yield* visibleList(caller, id, lock)
        if (!canManage(caller, row)) {
          return yield* new Forbidden({
            message: caller._tag === "User" && caller.role === "viewer"
              ? "viewers cannot change watchlists"
              : `only the owner of "${row.name}" or an admin may change it`
          })
        }
        if (row.deleted_at !== null) {
          return yield* new BadRequest({ message: `"${row.name}" is retired: it and its entries can no longer be changed` })
        }
        return row
      })

    const uuidArray = (ids: ReadonlyArray<string>) =>
      sql`ARRAY(SELECT x::uuid FROM json_array_elements_text(${JSON.stringify(ids)}::json) x)`

    const checkCameras = (ids: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        if (ids.length === 0) return
        const known = yield* sql<{ id: string }>`SELECT id FROM cameras WHERE id = ANY(${uuidArray(ids)})`
        const unknown = ids.filter((id) => !known.some((k) => k.id === id))
        if (unknown.length > 0) return yield* new BadRequest({ message: `no such camera: ${unknown.join(", ")}` })
      })

    const nameTaken = (name: string) => new BadRequest({ message: `a watchlist named "${name}" already exists` })

    const getList = (caller: Caller, id: string) => Effect.map(visibleList(caller, id), toWatchlist(caller))

    const list = Effect.fn("Watchlists.list")(function*(
      caller: Caller,
      query: { readonly category?: WatchlistCategory | undefined; readonly include_retired?: boolean | undefined } = {}
    ) {
      const rows = yield* sql<ListRow>`
        ${selectLists}
         WHERE ${visibleTo(caller)}
           ${query.include_retired ? sql`` : sql`AND w.deleted_at IS NULL`}
           ${query.category === undefined ? sql`` : sql`AND w.category = ${query.category}`}
         ORDER BY w.deleted_at IS NOT NULL, w.priority, lower(w.name)`
      return rows.map(toWatchlist(caller))
    }, dieOnSql)

    const get = Effect.fn("Watchlists.get")(function*(caller: Caller, id: string) {
      return yield* getList(caller, id)
    }, dieOnSql)

    /**
     * Inserts a list in the caller's transaction; `audit` records it, to be run last in that
     * transaction (the audit chain's lock is held from then to the commit).
     */
    const insertList = (caller: Caller, input: WatchlistCreate) =>
      Effect.gen(function*() {
        const name = input.name.trim()
        const cameraIds = input.category === "allow" ? [...new Set(input.camera_ids ?? [])] : []
        yield* checkCameras(cameraIds)
        const [row] = yield* sql<{ id: string }>`
          INSERT INTO watchlists (name, category, priority, colour, owner_id, shared, camera_ids, active)
          VALUES (${name}, ${input.category}, ${input.priority ?? 3}, ${(input.colour ?? "#d32f2f").toLowerCase()},
                  ${caller._tag === "User" ? caller.userId : null}, ${input.shared ?? true}, ${uuidArray(cameraIds)},
                  ${input.active ?? true})
          RETURNING id`.pipe(Effect.catchIf(isUniqueViolation, () => Effect.fail(nameTaken(name))))
        const created = yield* getList(caller, row!.id)
        const audit = record(caller, "watchlist.create", created.watchlist_id, {
          name: created.name,
          category: created.category,
          priority: created.priority,
          colour: created.colour,
          shared: created.shared,
          camera_ids: created.camera_ids,
          active: created.active
        })
        return { created, audit }
      })

    const create = Effect.fn("Watchlists.create")(function*(caller: Caller, input: WatchlistCreate) {
      if (caller._tag === "User" && caller.role === "viewer") {
        return yield* new Forbidden({ message: "viewers cannot make watchlists" })
      }
      return yield* sql.withTransaction(Effect.gen(function*() {
        const { audit, created } = yield* insertList(caller, input)
        yield* audit
        return created
      }))
    }, dieOnSql)

    const LIST_FIELDS = ["name", "category", "priority", "colour", "shared", "camera_ids", "active"] as const

    const update = Effect.fn("Watchlists.update")(function*(caller: Caller, change: WatchlistUpdate) {
      return yield* deniedAudited(
        caller,
        "watchlist.update",
        () => change.watchlist_id,
        sql.withTransaction(Effect.gen(function*() {
          const row = yield* manageableList(caller, change.watchlist_id, "update")
          const before = toWatchlist(caller)(row)
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
                   ${set("active", change.active)}
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
          yield* record(caller, "watchlist.retire", id, { name: row.name, entries: Number(row.entries) }, {
            reason: reason?.trim() || undefined
          })
          return after
        }))
      )
    }, dieOnSql)

    // -------------------------------------------------------------------------------------------------
    // Entries

    const DEFAULT_LIMIT = 100

    const entries = Effect.fn("Watchlists.entries")(function*(caller: Caller, query: EntryQuery) {
      yield* visibleList(caller, query.watchlist_id)
      const limit = query.limit ?? DEFAULT_LIMIT
      const where: Array<Statement.Fragment> = [sql`e.watchlist_id = ${query.watchlist_id}`]
      if (!query.include_removed) where.push(sql`e.removed_at IS NULL`)
      if (query.kind !== undefined) where.push(sql`e.kind = ${query.kind}`)
      if (query.before !== undefined) where.push(sql`e.id < ${query.before}::bigint`)
      const text = query.text?.trim() ?? ""
      if (text !== "") {
        const pattern = `%${escapeLike(text)}%`
        const plate = normalizePlate(text)
        where.push(sql`(e.value ILIKE ${pattern} OR e.note ILIKE ${pattern} OR e.reason ILIKE ${pattern}
                        OR e.added_by_name ILIKE ${pattern}
                        ${plate === "" ? sql`` : sql`OR e.value LIKE ${`%${escapeLike(plate)}%`}`})`)
      }
      // One row more than asked tells whether there is a next page without another query.
      const rows = yield* sql<EntryRow>`
        SELECT e.id, e.watchlist_id, e.kind, e.value, e.note, e.reason, e.added_by_name, e.expires_at, e.created_at,
               e.updated_at, e.removed_at, e.removed_by_name
          FROM watchlist_entries e
         WHERE ${sql.and(where)}
         ORDER BY e.id DESC
         LIMIT ${limit + 1}`
      const items = rows.slice(0, limit).map(toEntry)
      return { items, next_cursor: rows.length > limit ? items[items.length - 1]!.entry_id : null }
    }, dieOnSql)

    const entryColumns = sql`id, watchlist_id, kind, value, note, reason, added_by_name, expires_at, created_at,
                             updated_at, removed_at, removed_by_name`

    const entryById = (id: string) =>
      Effect.flatMap(
        sql<EntryRow>`SELECT ${entryColumns} FROM watchlist_entries WHERE id = ${id}::bigint`,
        ([row]) => (row === undefined ? Effect.fail(new NotFound({ message: `no watchlist entry ${id}` })) : Effect.succeed(row))
      )

    /** The retro check: the engine looks for these new entries among the last RETRO_ALERT_DAYS of reads. */
    const queueRetroCheck = (entryId: string) =>
      Effect.zipRight(
        sql`INSERT INTO alert_work (entry_ids) VALUES (ARRAY[${entryId}::bigint])`,
        sql`SELECT pg_notify('alert_work', '')`
      )

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
          const [row] = yield* sql<EntryRow>`
            INSERT INTO watchlist_entries (watchlist_id, kind, value, note, reason, added_by, added_by_name, expires_at)
            VALUES (${list.id}, ${kind}, ${value}, ${input.note?.trim() || null}, ${reason},
                    ${caller._tag === "User" ? caller.userId : null}, ${authorName(caller)}, ${expiresAt ?? null})
            ON CONFLICT (watchlist_id, kind, value) WHERE removed_at IS NULL DO NOTHING
            RETURNING ${entryColumns}`
          if (row === undefined) {
            const [existing] = yield* sql<{ id: string }>`
              SELECT id FROM watchlist_entries
               WHERE watchlist_id = ${list.id} AND kind = ${kind} AND value = ${value} AND removed_at IS NULL`
            return yield* new BadRequest({
              message: `${value} (${kind}) is already on "${list.name}" as entry ${existing?.id ?? "?"}: update that entry instead`
            })
          }
          const entry = toEntry(row)
          yield* queueRetroCheck(entry.entry_id)
          yield* record(caller, "watchlist.entry.add", list.id, {
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
          Effect.catchIf((e) => e._tag === "NotFound", () => Effect.fail(new NotFound({ message: `no watchlist entry ${entry.id}` })))
        )
        const current = yield* entryById(entry.id)
        if (current.removed_at !== null) {
          return yield* new BadRequest({ message: `entry ${entry.id} was removed; add the value again instead` })
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
          const before = toEntry(yield* manageableEntry(caller, found))
          const note = change.note === undefined ? undefined : (change.note?.trim() || null)
          const set = (column: string, value: string | null | undefined) =>
            value === undefined ? sql`` : sql`, ${sql(column)} = ${value}`
          const [row] = yield* sql<EntryRow>`
            UPDATE watchlist_entries SET updated_at = now()
                   ${set("note", note)} ${set("reason", reason)} ${set("expires_at", expiresAt)}
             WHERE id = ${change.entry_id}::bigint
            RETURNING ${entryColumns}`
          const after = toEntry(row!)
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
          const [row] = yield* sql<EntryRow>`
            UPDATE watchlist_entries SET removed_at = now(), removed_by_name = ${authorName(caller)}, updated_at = now()
             WHERE id = ${entryId}::bigint
            RETURNING ${entryColumns}`
          const after = toEntry(row!)
          yield* record(caller, "watchlist.entry.remove", entry.watchlist_id, {
            entry_id: after.entry_id,
            kind: after.kind,
            value: after.value
          }, { reason: reason?.trim() || undefined })
          return after
        }))
      )
    }, dieOnSql)

    // -------------------------------------------------------------------------------------------------
    // Import and export

    /**
     * Upserts the good lines of an import into a list in the caller's transaction, in one statement:
     * the rows travel as one JSON parameter. A line for an entry already on the list updates its note and
     * expiry (when the file has those columns) and its reason (when the line gives one); a new entry
     * takes the import's reason when its line has none. The new entries get one retro-check work item.
     */
    const upsertRows = (caller: Caller, list: ListRow, parsed: ParsedImport, options: ImportOptions) =>
      Effect.gen(function*() {
        if (parsed.rows.length === 0) return { imported: 0, updated: 0 }
        const note = parsed.columns.note ? sql`i.note` : sql`e.note`
        const expiresAt = parsed.columns.expires_at ? sql`i.expires_at` : sql`e.expires_at`
        const [counts] = yield* sql<{ imported: string; updated: string }>`
          WITH input AS (
            SELECT * FROM json_to_recordset(${JSON.stringify(parsed.rows)}::json) AS i(
              line integer, kind text, value text, note text, reason text, expires_at timestamptz)
          ), changed AS (
            UPDATE watchlist_entries e
               SET note = ${note}, expires_at = ${expiresAt}, reason = coalesce(i.reason, e.reason), updated_at = now()
              FROM input i
             WHERE e.watchlist_id = ${list.id} AND e.removed_at IS NULL AND e.kind = i.kind AND e.value = i.value
               AND (${note}, ${expiresAt}, coalesce(i.reason, e.reason)) IS DISTINCT FROM (e.note, e.expires_at, e.reason)
            RETURNING e.id
          ), added AS (
            INSERT INTO watchlist_entries (watchlist_id, kind, value, note, reason, added_by, added_by_name, expires_at)
            SELECT ${list.id}::uuid, i.kind, i.value, i.note, coalesce(i.reason, ${options.reason}),
                   ${caller._tag === "User" ? caller.userId : null}::uuid, ${authorName(caller)}, i.expires_at
              FROM input i
             WHERE NOT EXISTS (SELECT 1 FROM watchlist_entries e
                                WHERE e.watchlist_id = ${list.id} AND e.removed_at IS NULL
                                  AND e.kind = i.kind AND e.value = i.value)
             ORDER BY i.line
            ON CONFLICT (watchlist_id, kind, value) WHERE removed_at IS NULL DO NOTHING
            RETURNING id
          ), work AS (
            INSERT INTO alert_work (entry_ids)
            SELECT array_agg(id ORDER BY id) FROM added HAVING count(*) > 0
            RETURNING id
          )
          SELECT (SELECT count(*) FROM added) AS imported, (SELECT count(*) FROM changed) AS updated,
                 (SELECT count(*) FROM work) AS work`
        const imported = Number(counts!.imported)
        if (imported > 0) yield* sql`SELECT pg_notify('alert_work', '')`
        return { imported, updated: Number(counts!.updated) }
      })

    const importInto = (
      caller: Caller,
      list: ListRow,
      parsed: ParsedImport,
      firstLine: number,
      options: ImportOptions,
      auditFirst: Effect.Effect<void> = Effect.void
    ) =>
      Effect.gen(function*() {
        const { imported, updated } = yield* upsertRows(caller, list, parsed, options)
        yield* auditFirst
        const outcome: ImportOutcome = {
          watchlist_id: list.id,
          imported,
          updated,
          unchanged: parsed.rows.length - imported - updated,
          rejected: parsed.errors.length,
          errors: parsed.errors,
          last_line: parsed.lastLine
        }
        yield* record(caller, "watchlist.import", list.id, {
          imported,
          updated,
          unchanged: outcome.unchanged,
          rejected: outcome.rejected,
          first_line: firstLine,
          last_line: parsed.lastLine,
          ...(options.importId === undefined ? {} : { import_id: options.importId }),
          ...(options.file === undefined ? {} : { file: options.file })
        }, { reason: options.reason })
        return outcome
      })

    /** One chunk of a CSV file into a list the caller may change (see CsvImportChunk). */
    const importCsv = Effect.fn("Watchlists.importCsv")(function*(
      caller: Caller,
      watchlistId: string,
      parsed: ParsedImport,
      firstLine: number,
      options: ImportOptions
    ) {
      return yield* deniedAudited(
        caller,
        "watchlist.import",
        () => watchlistId,
        sql.withTransaction(Effect.gen(function*() {
          const list = yield* manageableList(caller, watchlistId)
          return yield* importInto(caller, list, parsed, firstLine, options)
        }))
      )
    }, dieOnSql)

    /**
     * The command line's import: into the live list of that name, made (owned by the organisation,
     * shared) when there is none, all in one transaction. A list of that name in another category is
     * refused rather than filled: an allow list and a hot list mean opposite things.
     */
    const importByName = Effect.fn("Watchlists.importByName")(function*(
      name: string,
      category: WatchlistCategory,
      parsed: ParsedImport,
      options: ImportOptions
    ) {
      const caller = cliCaller
      return yield* sql.withTransaction(Effect.gen(function*() {
        const [found] = yield* sql<{ id: string; category: string }>`
          SELECT id, category FROM watchlists WHERE lower(name) = lower(${name.trim()}) AND deleted_at IS NULL FOR SHARE`
        if (found !== undefined && found.category !== category) {
          return yield* new BadRequest({
            message: `the watchlist "${name.trim()}" exists in category ${found.category}, not ${category}`
          })
        }
        const made = found === undefined ? yield* insertList(caller, { name, category }) : undefined
        const list = yield* visibleList(caller, found?.id ?? made!.created.watchlist_id)
        const outcome = yield* importInto(caller, list, parsed, 2, options, made?.audit)
        return { ...outcome, name: list.name, created: found === undefined }
      }))
    }, dieOnSql)

    const EXPORT_PAGE = 5_000

    /**
     * The live entries of a list the caller may see, as CSV text in pieces (the header first), read a
     * page at a time in id order. The export is audited when it starts: the data leaves from then on.
     */
    const exportCsv = Effect.fn("Watchlists.exportCsv")(function*(caller: Caller, watchlistId: string) {
      const list = yield* visibleList(caller, watchlistId)
      yield* record(caller, "watchlist.export", list.id, { name: list.name, entries: Number(list.entries) })
      const page = (after: string) =>
        sql<ExportEntry & { readonly id: string }>`
          SELECT id, kind, value, note, reason, expires_at, added_by_name, created_at
            FROM watchlist_entries
           WHERE watchlist_id = ${list.id} AND removed_at IS NULL AND id > ${after}::bigint
           ORDER BY id
           LIMIT ${EXPORT_PAGE}`.pipe(
          Effect.map((rows) =>
            [
              rows.length === 0 ? Chunk.empty<string>() : Chunk.of(exportLines(rows)),
              rows.length < EXPORT_PAGE ? Option.none<string>() : Option.some(String(rows[rows.length - 1]!.id))
            ] as const
          ),
          Effect.orDie
        )
      return {
        /** live entries when the export started */
        entries: Number(list.entries),
        csv: Stream.concat(Stream.succeed(exportHeader()), Stream.paginateChunkEffect("0", page))
      }
    }, dieOnSql)

    /** The live list of that name, for the command line. */
    const findByName = Effect.fn("Watchlists.findByName")(function*(name: string) {
      const [row] = yield* sql<{ id: string }>`
        SELECT id FROM watchlists WHERE lower(name) = lower(${name.trim()}) AND deleted_at IS NULL`
      return row === undefined ? yield* new NotFound({ message: `no watchlist named "${name.trim()}"` }) : row.id
    }, dieOnSql)

    return {
      list,
      get,
      create,
      update,
      retire,
      entries,
      addEntry,
      updateEntry,
      removeEntry,
      importCsv,
      importByName,
      exportCsv,
      findByName
    } as const
  })
}) {}
