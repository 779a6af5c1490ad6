/**
 * The watchlists procedures.
 *
 * Viewers read the lists shared with everybody; operators also read their own, and change only lists
 * they own; admins read and change every list. A list is retired, never deleted (alerts point at it),
 * and an entry is removed by marking it. Every change is audited with the change.
 */
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { BadRequest, Forbidden, NotFound } from "../Errors"
import { EntryKind, parseEntryValue, WatchlistCategory } from "../Watchlist"
import { MAX_IMPORT_CHUNK_CHARS } from "../WatchlistCsv"
import { RequiredRole, RpcSession, Timestamp, uuid } from "./Common"

const CameraId = uuid("camera_id")

const WatchlistId = uuid("watchlist_id")

/** An entry's number (a bigint, in decimal). */
const EntryId = Schema.String.pipe(
  Schema.pattern(/^\d{1,19}$/, { message: () => "entry_id is the number of an entry, e.g. \"42\"" })
)

// PostgreSQL text cannot hold NUL, nor JSON a lone surrogate: refused here rather than failing in the database.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const StorableString = (field: string) =>
  Schema.String.pipe(
    Schema.filter((s) => !UNSTORABLE.test(s) || `${field} contains a character that is not text (NUL or a broken surrogate)`)
  )

/** Free text such as a note: at most 500 characters. */
const Text500 = (field: string) =>
  StorableString(field).pipe(Schema.maxLength(500, { message: () => `${field} is at most 500 characters` }))

/** Why a plate is watched: the evidence behind an entry, kept with it and in the audit log. */
export const EntryReason = Text500("reason").pipe(
  Schema.filter((s) => s.trim().length > 0 || "reason must not be blank: say why the plate is watched (a report number, ...)")
)

export const WatchlistName = StorableString("name").pipe(
  Schema.maxLength(100, { message: () => "name is at most 100 characters" }),
  Schema.filter((s) => s.trim().length > 0 || "name must not be blank")
)

export const ListCategory = WatchlistCategory.annotations({
  message: () => ({ message: "category must be one of stolen, bolo, missing_person, of_interest, allow", override: true })
})

export const ListEntryKind = EntryKind.annotations({
  message: () => ({ message: "kind must be one of exact, ocr, wildcard, regex", override: true })
})

/** 1 is the most urgent. */
export const WatchlistPriority = Schema.Int.pipe(
  Schema.between(1, 5, { message: () => "priority must be a whole number from 1 (most urgent) to 5" })
)

export const WatchlistColour = Schema.String.pipe(
  Schema.pattern(/^#[0-9a-fA-F]{6}$/, { message: () => "colour must be #rrggbb, e.g. #d32f2f" })
)

export const Watchlist = Schema.Struct({
  watchlist_id: Schema.String,
  name: Schema.String,
  category: WatchlistCategory,
  priority: Schema.Number,
  /** `#rrggbb`, lower case */
  colour: Schema.String,
  /** null: the organisation's (made by the command line); only admins change it */
  owner_id: Schema.NullOr(Schema.String),
  owner_username: Schema.NullOr(Schema.String),
  /** seen by every signed-in user, not only its owner and admins */
  shared: Schema.Boolean,
  /** an allow list's gate: it alerts on a plate not on it seen at one of these cameras */
  camera_ids: Schema.Array(Schema.String),
  /** an inactive list raises no alerts */
  active: Schema.Boolean,
  /** alerts on reads still waiting for review (footage's, a doubtful camera's) at once, not after the review */
  alert_unreviewed: Schema.Boolean,
  /** live entries (not removed; expired ones included) */
  entries: Schema.Number,
  created_at: Schema.String,
  updated_at: Schema.String,
  retired_at: Schema.NullOr(Schema.String),
  /** whether the caller may change the list and its entries */
  can_manage: Schema.Boolean
})
export type Watchlist = typeof Watchlist.Type

const gateCameras = (p: { readonly category?: WatchlistCategory | undefined; readonly camera_ids?: ReadonlyArray<string> | undefined }) =>
  p.category === undefined || p.category === "allow" || (p.camera_ids ?? []).length === 0 ||
  "camera_ids are the gate of an allow list; other lists alert at every camera"

export const WatchlistCreate = Schema.Struct({
  name: WatchlistName,
  category: ListCategory,
  /** default 3 */
  priority: Schema.optional(WatchlistPriority),
  /** default #d32f2f */
  colour: Schema.optional(WatchlistColour),
  /** default true */
  shared: Schema.optional(Schema.Boolean),
  camera_ids: Schema.optional(Schema.Array(CameraId).pipe(Schema.maxItems(500))),
  /** default true */
  active: Schema.optional(Schema.Boolean),
  /** default false */
  alert_unreviewed: Schema.optional(Schema.Boolean)
}).pipe(Schema.filter(gateCameras))
export type WatchlistCreate = typeof WatchlistCreate.Type

/** A field left out stays as it is. */
export const WatchlistUpdate = Schema.Struct({
  watchlist_id: WatchlistId,
  name: Schema.optional(WatchlistName),
  category: Schema.optional(ListCategory),
  priority: Schema.optional(WatchlistPriority),
  colour: Schema.optional(WatchlistColour),
  shared: Schema.optional(Schema.Boolean),
  camera_ids: Schema.optional(Schema.Array(CameraId).pipe(Schema.maxItems(500))),
  active: Schema.optional(Schema.Boolean),
  alert_unreviewed: Schema.optional(Schema.Boolean)
}).pipe(
  Schema.filter(gateCameras),
  Schema.filter(({ watchlist_id: _, ...change }) =>
    Object.values(change).some((v) => v !== undefined) ||
    "nothing to change: send at least one of name, category, priority, colour, shared, camera_ids, active, alert_unreviewed"
  )
)
export type WatchlistUpdate = typeof WatchlistUpdate.Type

export const WatchlistQuery = Schema.Struct({
  category: Schema.optional(ListCategory),
  /** retired lists too (default false) */
  include_retired: Schema.optional(Schema.Boolean)
})

export const WatchlistEntry = Schema.Struct({
  entry_id: Schema.String,
  watchlist_id: Schema.String,
  kind: EntryKind,
  /** canonical: a normalised plate, a wildcard pattern or a regular expression */
  value: Schema.String,
  note: Schema.NullOr(Schema.String),
  reason: Schema.NullOr(Schema.String),
  /** the username, or "import" for the command line */
  added_by_name: Schema.String,
  expires_at: Schema.NullOr(Schema.String),
  created_at: Schema.String,
  updated_at: Schema.String,
  removed_at: Schema.NullOr(Schema.String),
  removed_by_name: Schema.NullOr(Schema.String)
})
export type WatchlistEntry = typeof WatchlistEntry.Type

export const EntryQuery = Schema.Struct({
  watchlist_id: WatchlistId,
  /** part of the value (as typed or normalised), the note, the reason or who added it; any case */
  text: Schema.optional(Schema.String.pipe(Schema.maxLength(200, { message: () => "text is at most 200 characters" }))),
  kind: Schema.optional(ListEntryKind),
  /** removed entries too (default false) */
  include_removed: Schema.optional(Schema.Boolean),
  /** `next_cursor` of the previous page */
  before: Schema.optional(Schema.String.pipe(
    Schema.pattern(/^\d{1,19}$/, { message: () => "before is the next_cursor of a previous page" })
  )),
  limit: Schema.optional(Schema.Int.pipe(
    Schema.between(1, 500, { message: () => "limit must be between 1 and 500" })
  ))
})
export type EntryQuery = typeof EntryQuery.Type

/** Newest first. */
export const EntryPage = Schema.Struct({
  items: Schema.Array(WatchlistEntry),
  next_cursor: Schema.NullOr(Schema.String)
})

/** The value is checked (and later stored in canonical form) by `parseEntryValue`. */
export const NewEntry = Schema.Struct({
  watchlist_id: WatchlistId,
  /** default exact */
  kind: Schema.optional(ListEntryKind),
  value: Schema.String,
  note: Schema.optional(Schema.NullOr(Text500("note"))),
  reason: EntryReason,
  /** null or left out: until removed */
  expires_at: Schema.optional(Schema.NullOr(Timestamp("expires_at")))
}).pipe(
  Schema.filter((p) =>
    Either.match(parseEntryValue(p.kind ?? "exact", p.value), { onLeft: (problem) => `value: ${problem}`, onRight: () => true })
  )
)
export type NewEntry = typeof NewEntry.Type

/**
 * A field left out stays as it is; `null` clears a note or an expiry. The value is not changed in
 * place: remove the entry and add the new one, so the new value is checked against recent reads.
 */
export const EntryUpdate = Schema.Struct({
  entry_id: EntryId,
  note: Schema.optional(Schema.NullOr(Text500("note"))),
  reason: Schema.optional(EntryReason),
  expires_at: Schema.optional(Schema.NullOr(Timestamp("expires_at")))
}).pipe(
  Schema.filter((p) =>
    p.note !== undefined || p.reason !== undefined || p.expires_at !== undefined ||
    "nothing to change: send at least one of note, reason, expires_at"
  )
)
export type EntryUpdate = typeof EntryUpdate.Type

export const EntryRemoval = Schema.Struct({
  entry_id: EntryId,
  /** why it comes off the list (the vehicle was recovered, ...): audited */
  reason: Schema.optional(Text500("reason"))
})

/**
 * One chunk of a CSV file (see WatchlistCsv.ts: `importChunks` cuts a file into these). Chunks are
 * independent and idempotent; a client sends them one after another and adds up the results.
 */
export const CsvImportChunk = Schema.Struct({
  watchlist_id: WatchlistId,
  /** the header record, then whole records of the file */
  csv: Schema.String.pipe(
    Schema.maxLength(MAX_IMPORT_CHUNK_CHARS, { message: () => `csv is at most ${MAX_IMPORT_CHUNK_CHARS} characters a call: send the file in chunks` })
  ),
  /** the file's line number of the first record after the header: 2 for the first chunk */
  first_line: Schema.Int.pipe(Schema.greaterThanOrEqualTo(2, { message: () => "first_line is at least 2 (line 1 is the header)" })),
  /**
   * the reason for new entries whose line has none; optional: without it, a line that gives no reason
   * of its own is a bad line of the report
   */
  reason: Schema.optional(EntryReason),
  /** the same for every chunk of one file, to tie them together in the audit log */
  import_id: Schema.optional(uuid("import_id"))
})
export type CsvImportChunk = typeof CsvImportChunk.Type

export const ImportLineError = Schema.Struct({
  /** as numbered in the file */
  line: Schema.Number,
  message: Schema.String
})

export const CsvImportResult = Schema.Struct({
  watchlist_id: Schema.String,
  /** new entries */
  imported: Schema.Number,
  /** entries already on the list whose note, reason or expiry changed */
  updated: Schema.Number,
  /** entries already on the list, as the line says */
  unchanged: Schema.Number,
  /** bad lines, none stored */
  rejected: Schema.Number,
  /** the first bad lines (at most 100) */
  errors: Schema.Array(ImportLineError),
  /** the file's line number of the last line read: the next chunk starts after it */
  last_line: Schema.Number
})
export type CsvImportResult = typeof CsvImportResult.Type

const WatchlistRef = { watchlist_id: WatchlistId }
/** Not found (or not visible to the caller), not allowed to change it, or a change that cannot be made. */
const WatchlistError = Schema.Union(NotFound, Forbidden, BadRequest)

export class WatchlistsRpcs extends RpcGroup.make(
  Rpc.make("watchlists.list", { payload: WatchlistQuery, success: Schema.Array(Watchlist) })
    .annotate(RequiredRole, "viewer"),
  Rpc.make("watchlists.get", { payload: WatchlistRef, success: Watchlist, error: WatchlistError })
    .annotate(RequiredRole, "viewer"),
  Rpc.make("watchlists.entries", { payload: EntryQuery, success: EntryPage, error: WatchlistError })
    .annotate(RequiredRole, "viewer"),
  Rpc.make("watchlists.create", { payload: WatchlistCreate, success: Watchlist, error: WatchlistError })
    .annotate(RequiredRole, "operator"),
  Rpc.make("watchlists.update", { payload: WatchlistUpdate, success: Watchlist, error: WatchlistError })
    .annotate(RequiredRole, "operator"),
  Rpc.make("watchlists.retire", {
    payload: { ...WatchlistRef, reason: Schema.optional(Text500("reason")) },
    success: Watchlist,
    error: WatchlistError
  }).annotate(RequiredRole, "operator"),
  Rpc.make("watchlists.addEntry", { payload: NewEntry, success: WatchlistEntry, error: WatchlistError })
    .annotate(RequiredRole, "operator"),
  Rpc.make("watchlists.updateEntry", { payload: EntryUpdate, success: WatchlistEntry, error: WatchlistError })
    .annotate(RequiredRole, "operator"),
  Rpc.make("watchlists.removeEntry", { payload: EntryRemoval, success: WatchlistEntry, error: WatchlistError })
    .annotate(RequiredRole, "operator"),
  Rpc.make("watchlists.importCsv", { payload: CsvImportChunk, success: CsvImportResult, error: WatchlistError })
    .annotate(RequiredRole, "operator"),
  /** The live entries as CSV (the columns of WatchlistCsv.ts), in pieces to concatenate: the header first. */
  Rpc.make("watchlists.exportCsv", { payload: WatchlistRef, success: Schema.String, error: WatchlistError, stream: true })
    .annotate(RequiredRole, "operator")
).middleware(RpcSession) {}
