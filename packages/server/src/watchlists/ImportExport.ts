import { BadRequest } from "@chaverim/domain/Errors"
import type { CsvImportResult } from "@chaverim/domain/rpc/Watchlists"
import type { WatchlistCategory } from "@chaverim/domain/Watchlist"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Arr from "effect/Array"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Count, Int8Text, orBug } from "../db/Rows"
import type { WatchlistAudit } from "./Audited"
import { ExportEntry, exportHeader, exportLines, type ParsedImport } from "./Csv"
import { dieOnSql } from "./Failures"
import type { ListRow, Lists } from "./Lists"
import { authorName, type Caller, cliCaller } from "./Permissions"

/** A list's entries in from a CSV file, in chunks or from the command line, and out as CSV. */

/** What an import did; here `errors` holds every bad line (the procedure reports the first 100). */
export type ImportOutcome = CsvImportResult

export interface ImportOptions {
  /** the reason for new entries whose line has none; without it such a line is a bad line */
  readonly reason?: string | undefined
  /** ties the chunks of one file together in the audit log */
  readonly importId?: string | undefined
  /** the file's name, when known: for the audit log */
  readonly file?: string | undefined
}

const UpsertCounts = Schema.Struct({ imported: Count, updated: Count })

/** A live entry as an export writes it, with its id for the next page. */
const ExportRow = Schema.Struct({ ...ExportEntry.fields, id: Int8Text })

const EXPORT_PAGE = 5_000

export const REASON_MISSING = "reason missing: give one on the line or a default reason"

/**
 * Without a default reason, the lines that give none of their own move to the bad lines: every
 * entry says why its plate is watched, and a line cannot be imported without that.
 */
const withReasons = (parsed: ParsedImport, reason: string | undefined): ParsedImport => {
  if (reason !== undefined && reason !== "") return parsed
  const missing = parsed.rows.filter((row) => row.reason === null)
  if (missing.length === 0) return parsed
  return {
    ...parsed,
    rows: parsed.rows.filter((row) => row.reason !== null),
    errors: [...parsed.errors, ...missing.map((row) => ({ line: row.line, message: REASON_MISSING }))]
      .sort((a, b) => a.line - b.line)
  }
}

export const makeImportExport = (
  sql: SqlClient.SqlClient,
  { deniedAudited, record }: WatchlistAudit,
  { insertList, liveByName, manageableList, visibleList }: Lists
) => {
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
      const { imported, updated } = yield* SqlSchema.single({
        Request: Schema.Void,
        Result: UpsertCounts,
        execute: () =>
          sql`
            WITH input AS (
              SELECT * FROM json_to_recordset(${JSON.stringify(parsed.rows)}::json) AS i(
                line integer, kind text, value text, note text, reason text, expires_at timestamptz)
            ), changed AS (
              UPDATE watchlist_entries e
                 SET note = ${note}, expires_at = ${expiresAt}, reason = coalesce(i.reason, e.reason), updated_at = now()
                FROM input i
               WHERE e.watchlist_id = ${list.watchlist_id} AND e.removed_at IS NULL AND e.kind = i.kind AND e.value = i.value
                 AND (${note}, ${expiresAt}, coalesce(i.reason, e.reason)) IS DISTINCT FROM (e.note, e.expires_at, e.reason)
              RETURNING e.id
            ), added AS (
              INSERT INTO watchlist_entries (watchlist_id, kind, value, note, reason, added_by, added_by_name, expires_at)
              SELECT ${list.watchlist_id}::uuid, i.kind, i.value, i.note, coalesce(i.reason, ${options.reason ?? null}),
                     ${caller._tag === "User" ? caller.userId : null}::uuid, ${authorName(caller)}, i.expires_at
                FROM input i
               WHERE NOT EXISTS (SELECT 1 FROM watchlist_entries e
                                  WHERE e.watchlist_id = ${list.watchlist_id} AND e.removed_at IS NULL
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
      })(undefined).pipe(
        orBug,
        Effect.catchTag("NoSuchElementException", () => Effect.dieMessage("the import's upsert gave no row"))
      )
      if (imported > 0) yield* sql`SELECT pg_notify('alert_work', '')`
      return { imported, updated }
    })

  const importInto = (
    caller: Caller,
    list: ListRow,
    given: ParsedImport,
    firstLine: number,
    options: ImportOptions,
    auditFirst: Effect.Effect<void> = Effect.void
  ) =>
    Effect.gen(function*() {
      const parsed = withReasons(given, options.reason)
      const { imported, updated } = yield* upsertRows(caller, list, parsed, options)
      yield* auditFirst
      const outcome: ImportOutcome = {
        watchlist_id: list.watchlist_id,
        imported,
        updated,
        unchanged: parsed.rows.length - imported - updated,
        rejected: parsed.errors.length,
        errors: parsed.errors,
        last_line: parsed.lastLine
      }
      yield* record(caller, "watchlist.import", list.watchlist_id, {
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
      const found = yield* liveByName(name.trim(), "share")
      if (Option.isSome(found)) {
        if (found.value.category !== category) {
          return yield* new BadRequest({
            message: `the watchlist "${name.trim()}" exists in category ${found.value.category}, not ${category}`
          })
        }
        const list = yield* visibleList(caller, found.value.id)
        const outcome = yield* importInto(caller, list, parsed, 2, options)
        return { ...outcome, name: list.name, created: false }
      }
      const made = yield* insertList(caller, { name, category })
      const list = yield* visibleList(caller, made.created.watchlist_id)
      const outcome = yield* importInto(caller, list, parsed, 2, options, made.audit)
      return { ...outcome, name: list.name, created: true }
    }))
  }, dieOnSql)

  const exportPage = SqlSchema.findAll({
    Request: Schema.Struct({ watchlistId: Schema.String, after: Schema.String }),
    Result: ExportRow,
    execute: ({ after, watchlistId }) =>
      sql`
        SELECT id, kind, value, note, reason, expires_at, added_by_name, created_at
          FROM watchlist_entries
         WHERE watchlist_id = ${watchlistId} AND removed_at IS NULL AND id > ${after}::bigint
         ORDER BY id
         LIMIT ${EXPORT_PAGE}`
  })

  /**
   * The live entries of a list the caller may see, as CSV text in pieces (the header first), read a
   * page at a time in id order. The export is audited when it starts: the data leaves from then on.
   */
  const exportCsv = Effect.fn("Watchlists.exportCsv")(function*(caller: Caller, watchlistId: string) {
    const list = yield* visibleList(caller, watchlistId)
    yield* record(caller, "watchlist.export", list.watchlist_id, { name: list.name, entries: list.entries })
    const page = (after: string) =>
      exportPage({ watchlistId: list.watchlist_id, after }).pipe(
        orBug,
        Effect.map((rows) =>
          [
            rows.length === 0 ? Chunk.empty<string>() : Chunk.of(exportLines(rows)),
            rows.length < EXPORT_PAGE ? Option.none<string>() : Option.map(Arr.last(rows), (row) => row.id)
          ] as const
        ),
        Effect.orDie
      )
    return {
      /** live entries when the export started */
      entries: list.entries,
      csv: Stream.concat(Stream.succeed(exportHeader()), Stream.paginateChunkEffect("0", page))
    }
  }, dieOnSql)

  return { importCsv, importByName, exportCsv } as const
}
