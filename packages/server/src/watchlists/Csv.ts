import { BadRequest } from "@chaverim/domain/Errors"
import { EntryKind } from "@chaverim/domain/Watchlist"
import { CSV_COLUMNS } from "@chaverim/domain/WatchlistCsv"
import { parse } from "csv-parse/sync"
import { stringify } from "csv-stringify/sync"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { neutraliseFormula, restoreFormula } from "../csv/Formulas"
import { iso } from "../db/Rows"
import { checkEntryValue } from "./EntryPattern"

/**
 * The watchlist CSV format on the server: reading an import into checked rows and numbered bad lines,
 * and writing entries for an export. The format itself is described in the domain's WatchlistCsv.ts.
 */

/** One good line, ready for the database: the value canonical, the times ISO 8601 in UTC. */
export interface ImportRow {
  readonly line: number
  readonly kind: EntryKind
  readonly value: string
  readonly note: string | null
  /** the line's own reason, or null when it has none (then the import's reason is used for a new entry) */
  readonly reason: string | null
  readonly expires_at: string | null
}

export interface LineError {
  readonly line: number
  readonly message: string
}

export interface ParsedImport {
  readonly rows: ReadonlyArray<ImportRow>
  /** every bad line, in file order */
  readonly errors: ReadonlyArray<LineError>
  /** which optional columns the header has: a column left out leaves that field of existing entries alone */
  readonly columns: { readonly note: boolean; readonly reason: boolean; readonly expires_at: boolean }
  /** the file's line number of the last line read */
  readonly lastLine: number
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i
const HAS_TIME_ZONE = /(Z|[+-]\d{2}:?\d{2})$/i
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * An ISO 8601 time as an instant. A time without an offset is taken as UTC, not as this server's
 * local time, so the same file means the same on every machine; a date alone is its start, in UTC.
 */
export const toInstant = (text: string): Date | undefined => {
  const trimmed = text.trim()
  if (!ISO_8601.test(trimmed)) return undefined
  const withZone = trimmed.includes("T") && !HAS_TIME_ZONE.test(trimmed) ? `${trimmed}Z` : trimmed
  const at = new Date(withZone)
  return Number.isNaN(at.getTime()) ? undefined : at
}

const KINDS: ReadonlySet<string> = new Set(EntryKind.literals)
const isKind = (s: string): s is EntryKind => KINDS.has(s)

interface Columns {
  readonly plate: number
  readonly kind: number
  readonly note: number
  readonly reason: number
  readonly expires_at: number
}

/**
 * Checks one record on its own: undefined for a blank line, a message for a bad one. Made once an
 * import, so that what all lines share (an expiry written the same on every line) is worked out once.
 */
const recordChecker = (at: Columns, width: number, now: Date, mayHoldUnstorable: boolean) => {
  const expiries = new Map<string, string>()
  const expiry = (text: string): string => {
    let known = expiries.get(text)
    if (known === undefined) {
      const instant = toInstant(text)
      // A message starts with a space, which no ISO 8601 time does.
      known = instant === undefined
        ? ` expires_at must be an ISO 8601 time such as 2025-12-31T23:59:59Z; not "${text.slice(0, 40)}"`
        : instant.getTime() <= now.getTime()
        ? ` expires_at ${text} is in the past`
        : instant.toISOString()
      expiries.set(text, known)
    }
    return known
  }
  return (record: ReadonlyArray<string>): Omit<ImportRow, "line"> | string | undefined => {
    let blank = true
    for (const field of record) {
      if (field.trim() !== "") {
        blank = false
        break
      }
    }
    if (blank) return undefined
    for (let i = width; i < record.length; i++) {
      if (record[i]!.trim() !== "") return `the line has ${record.length} fields; the header names ${width}`
    }
    if (mayHoldUnstorable && record.some((f) => UNSTORABLE.test(f))) {
      return "the line contains a character that is not text (NUL or a broken surrogate)"
    }
    const field = (index: number) => (index < 0 ? "" : (record[index] ?? ""))
    // Trimmed before the export's quote comes off, so a note written as '<tab>x keeps its tab.
    const cell = (index: number) => restoreFormula(field(index).trim())
    const kindText = cell(at.kind).toLowerCase()
    const kind = kindText === "" ? "exact" : kindText
    if (!isKind(kind)) return `kind must be one of exact, ocr, wildcard, regex; not "${cell(at.kind).slice(0, 40)}"`
    const parsed = checkEntryValue(kind, kind === "regex" ? cell(at.plate) : restoreFormula(field(at.plate)))
    if (Either.isLeft(parsed)) return parsed.left
    const note = cell(at.note)
    if (note.length > 500) return "note is at most 500 characters"
    const reason = cell(at.reason)
    if (reason.length > 500) return "reason is at most 500 characters"
    const expiresText = cell(at.expires_at)
    const expiresAt = expiresText === "" ? null : expiry(expiresText)
    if (expiresAt?.startsWith(" ")) return expiresAt.slice(1)
    return {
      kind: parsed.right.kind,
      value: parsed.right.value,
      note: note === "" ? null : note,
      reason: reason === "" ? null : reason,
      expires_at: expiresAt
    }
  }
}

/**
 * Reads an import: the header (case and surrounding spaces do not matter; unknown columns are
 * ignored), then each record, checked on its own. `firstLine` is the file's line number of the first
 * record after the header, so a chunk of a larger file reports lines as numbered in the file. Blank
 * lines are skipped; a repeated entry (same kind and value as an earlier line) is a bad line.
 * Fails with BadRequest when there is no header or no `plate` column: nothing could be imported.
 */
export const parseImport = (
  text: string,
  options: { readonly firstLine?: number | undefined; readonly now?: Date | undefined } = {}
): Effect.Effect<ParsedImport, BadRequest> =>
  Effect.suspend(() => {
    const now = options.now ?? new Date()
    const errors: Array<LineError> = []
    // The line each record starts on, in the chunk: one past where the previous record (or skipped
    // broken record) ended. Blank lines arrive as records too, so none is lost from the count.
    let previousEnd = 0
    const skipped: Array<{ readonly start: number; readonly message: string }> = []
    const records: Array<{ readonly record: Array<string>; readonly info: { readonly lines: number } }> = []
    try {
      parse(text, {
        bom: true,
        relax_column_count: true,
        skip_empty_lines: false,
        skip_records_with_error: true,
        on_skip: (error) => {
          if (error === undefined) return
          // csv-parse numbers lines within the text it was given, which may be a chunk of the file.
          skipped.push({ start: previousEnd + 1, message: error.message.replace(/ at line \d+/g, "") })
          previousEnd = (error as { readonly lines?: number }).lines ?? previousEnd + 1
        },
        // Collected here, with the line each starts on; nothing is left for parse to return.
        on_record: (record, context) => {
          records.push({ record, info: { lines: previousEnd + 1 } })
          previousEnd = context.lines
          return null
        }
      })
    } catch (e) {
      return Effect.fail(new BadRequest({ message: `the CSV cannot be read: ${e instanceof Error ? e.message : String(e)}` }))
    }

    const headerIndex = records.findIndex((r) => r.record.some((field) => field.trim() !== ""))
    if (headerIndex < 0) return Effect.fail(new BadRequest({ message: "the CSV is empty: it needs a header row with a plate column" }))
    const header = records[headerIndex]!
    const names = header.record.map((name) => name.trim().toLowerCase())
    const column = (name: string) => names.indexOf(name)
    const at = { plate: column("plate"), kind: column("kind"), note: column("note"), reason: column("reason"), expires_at: column("expires_at") }
    if (at.plate < 0) {
      return Effect.fail(new BadRequest({
        message: `the CSV has no plate column; its header is: ${header.record.join(",").slice(0, 200)}` +
          ` (expected columns: ${CSV_COLUMNS.slice(0, 5).join(", ")})`
      }))
    }
    const offset = (options.firstLine ?? 2) - (header.info.lines + 1)
    const fileLine = (chunkLine: number) => chunkLine + offset
    for (const s of skipped) {
      if (s.start > header.info.lines) errors.push({ line: fileLine(s.start), message: s.message })
    }

    const rows: Array<ImportRow> = []
    const seen = new Map<string, number>()
    const check = recordChecker(at, names.length, now, UNSTORABLE.test(text))
    let lastLine = fileLine(header.info.lines)
    for (let i = headerIndex + 1; i < records.length; i++) {
      const { info, record } = records[i]!
      const line = fileLine(info.lines)
      lastLine = line
      const checked = check(record)
      if (checked === undefined) continue
      if (typeof checked === "string") {
        errors.push({ line, message: checked })
        continue
      }
      const key = `${checked.kind}\u0000${checked.value}`
      const earlier = seen.get(key)
      if (earlier !== undefined) {
        errors.push({ line, message: `${checked.value} (${checked.kind}) is already on line ${earlier}` })
        continue
      }
      seen.set(key, line)
      rows.push({ line, ...checked })
    }
    // A broken record at the end is reported after the records before it.
    errors.sort((a, b) => a.line - b.line)
    if (skipped.length > 0) lastLine = Math.max(lastLine, fileLine(previousEnd))
    return Effect.succeed({
      rows,
      errors,
      columns: { note: at.note >= 0, reason: at.reason >= 0, expires_at: at.expires_at >= 0 },
      lastLine
    })
  })

/** An entry as an export writes it: the columns of `watchlist_entries` it reads, as the driver gives them. */
export const ExportEntry = Schema.Struct({
  kind: Schema.String,
  value: Schema.String,
  note: Schema.NullOr(Schema.String),
  reason: Schema.NullOr(Schema.String),
  expires_at: Schema.NullOr(Schema.DateFromSelf),
  added_by_name: Schema.String,
  created_at: Schema.DateFromSelf
})
export type ExportEntry = typeof ExportEntry.Type

export const exportHeader = (): string => stringify([[...CSV_COLUMNS]])

/**
 * Records in the order of CSV_COLUMNS; the value goes in `plate`, so the file imports back as it is.
 * Cells a spreadsheet would run as a formula are written as text (see Formulas.ts).
 */
export const exportLines = (entries: ReadonlyArray<ExportEntry>): string =>
  stringify(entries.map((e) =>
    [
      e.value,
      e.kind,
      e.note ?? "",
      e.reason ?? "",
      e.expires_at === null ? "" : iso(e.expires_at),
      e.added_by_name,
      iso(e.created_at)
    ].map(neutraliseFormula)
  ))
