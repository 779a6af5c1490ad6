/**
 * The watchlist CSV format, and how a client cuts a file into chunks for `watchlists.importCsv`.
 *
 * A file has a header row; `plate` is required, `kind` (exact, the default; ocr, wildcard, regex), `note`,
 * `reason` and `expires_at` (ISO 8601) are optional, and other columns are ignored, so an export imports
 * back as it is. A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return, after any `'`s,
 * is written with one more `'` in front (a spreadsheet would run it as a formula) and read without it.
 * An RPC message is at most 1 MiB, so a client sends a large file as successive chunks, each carrying
 * the header and the file's line number of its first record: the server then reports bad lines
 * numbered as in the file. Each chunk stands alone and the import upserts, so a chunk sent twice
 * (a retry after a dropped connection) changes nothing the second time.
 */

/** The columns an export writes, in order; an import reads the first five. */
export const CSV_COLUMNS = ["plate", "kind", "note", "reason", "expires_at", "added_by", "created_at"] as const

/** What one `importCsv` call may carry, counted in characters of the CSV text. */
export const MAX_IMPORT_CHUNK_CHARS = 1_000_000

/**
 * What `importChunks` aims at, counted as the text will be once escaped in the JSON message: half the
 * message cap, leaving room for the rest of the request.
 */
export const IMPORT_CHUNK_BUDGET = 512 * 1024

/** At most this many bad lines are reported by one call; the counts are always complete. */
export const MAX_REPORTED_ERRORS = 100

export interface ImportChunk {
  /** the header record followed by whole records of the file */
  readonly csv: string
  /** the file's line number of the chunk's first record after the header */
  readonly first_line: number
  /** the file's line number of the chunk's last line, for showing progress */
  readonly last_line: number
}

// JSON escapes `"` and `\` as two characters, control characters as up to six.
const escapedLength = (text: string) => JSON.stringify(text).length - 2

/**
 * Cuts a CSV file's text into chunks of whole records, each starting with the file's header record.
 * Records end at a line break outside double quotes, so a quoted field that spans lines stays in one
 * chunk. An empty text gives no chunks; a header alone gives one chunk (the server then checks it).
 */
export const importChunks = (text: string, budget: number = IMPORT_CHUNK_BUDGET): ReadonlyArray<ImportChunk> => {
  const records: Array<{ readonly start: number; readonly end: number; readonly line: number }> = []
  let inQuotes = false
  let start = 0
  let line = 1
  let recordLine = 1
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 34 /* " */) {
      inQuotes = !inQuotes
    } else if (c === 10 /* \n */) {
      line++
      if (!inQuotes) {
        records.push({ start, end: i + 1, line: recordLine })
        start = i + 1
        recordLine = line
      }
    }
  }
  if (start < text.length) records.push({ start, end: text.length, line: recordLine })
  if (records.length === 0) return []

  const [header, ...data] = records
  let headerText = text.slice(header!.start, header!.end)
  if (!headerText.endsWith("\n")) headerText += "\n"
  const headerCost = escapedLength(headerText)
  const chunks: Array<ImportChunk> = []
  let pending: Array<string> = []
  let cost = headerCost
  let firstLine = header!.line + 1
  let nextLine = firstLine
  const flush = () => {
    chunks.push({ csv: headerText + pending.join(""), first_line: firstLine, last_line: nextLine - 1 })
    pending = []
    cost = headerCost
    firstLine = nextLine
  }
  for (const record of data) {
    const recordText = text.slice(record.start, record.end)
    const recordCost = escapedLength(recordText)
    if (pending.length > 0 && cost + recordCost > budget) flush()
    pending.push(recordText)
    cost += recordCost
    nextLine = record.line + (recordText.match(/\n/g)?.length ?? 0) + (recordText.endsWith("\n") ? 0 : 1)
  }
  if (pending.length > 0 || chunks.length === 0) flush()
  return chunks
}
