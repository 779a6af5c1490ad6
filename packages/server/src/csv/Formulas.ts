/**
 * CSV files the system writes are opened in spreadsheets, which run a cell starting with `=`, `+`, `-`
 * or `@` (some also after a leading tab or carriage return) as a formula. A plate from a camera or a
 * typed note could then fetch a URL or run a command on the machine of whoever opens an export. Such a
 * cell is written with a leading `'`, which spreadsheets read as "this is text".
 *
 * Reading strips that `'` again, so an export imports back exactly. A value that itself starts with
 * quotes and then one of those characters (`'=x`) gets one more quote on the way out, so every value
 * written comes back as it was: reading only ever removes the one quote writing added.
 */

// Quotes first, so that `'=x` is written `''=x` and read back as `'=x`.
const WRITTEN_WITH_QUOTE = /^'*[=+\-@\t\r]/
const READ_WITHOUT_QUOTE = /^'+[=+\-@\t\r]/

/** The cell as written to a CSV file. */
export const neutraliseFormula = (cell: string): string => (WRITTEN_WITH_QUOTE.test(cell) ? `'${cell}` : cell)

/** The value of a cell read from a CSV file, as it was before `neutraliseFormula`. */
export const restoreFormula = (cell: string): string => (READ_WITHOUT_QUOTE.test(cell) ? cell.slice(1) : cell)
