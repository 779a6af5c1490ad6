import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { normalizePlate } from "./Plate"

/**
 * Watchlists and their entries, shared by the alert engine and the web app.
 *
 * `allow` is a gate, not a hot list: bound to chosen cameras, it raises a match when a plate that is NOT
 * on it is seen at one of them, and does nothing anywhere else.
 */
export const WatchlistCategory = Schema.Literal("stolen", "bolo", "missing_person", "of_interest", "allow")
export type WatchlistCategory = typeof WatchlistCategory.Type

/**
 * `exact`: the normalised plate. `ocr`: the OCR-aware key (BOS5 finds B0S5). `wildcard`: `*` any run,
 * `?` one character, over the whole plate. `regex`: a regular expression over the whole plate, written
 * as in JavaScript but matched by RE2 on the server, so only what RE2 can run is accepted.
 */
export const EntryKind = Schema.Literal("exact", "ocr", "wildcard", "regex")
export type EntryKind = typeof EntryKind.Type

/** An entry value as stored: checked and in canonical form. */
export interface EntryValue {
  readonly kind: EntryKind
  readonly value: string
}

export const MAX_PLATE_LENGTH = 32
export const MAX_REGEX_LENGTH = 200
// A plate or wildcard typed longer than this is not one; refuse it before normalising.
const MAX_RAW_LENGTH = 200

const HAS_ALNUM = /[\p{L}\p{N}]/u
const codePoints = (s: string) => [...s].length

const plateValue = (kind: "exact" | "ocr", raw: string): Either.Either<EntryValue, string> => {
  const value = normalizePlate(raw)
  if (value === "") return Either.left("the plate is empty")
  if (!HAS_ALNUM.test(value)) return Either.left(`"${value}" has no letters or digits`)
  const length = codePoints(value)
  if (length > MAX_PLATE_LENGTH) {
    return Either.left(`a plate is at most ${MAX_PLATE_LENGTH} characters; "${value}" has ${length}`)
  }
  return Either.right({ kind, value })
}

const wildcardValue = (raw: string): Either.Either<EntryValue, string> => {
  let value = ""
  let literal = 0
  let fixed = 0
  for (const part of raw.split(/([*?])/)) {
    if (part === "*") {
      if (!value.endsWith("*")) value += "*"
    } else if (part === "?") {
      value += "?"
      fixed += 1
    } else {
      const plain = normalizePlate(part)
      literal += codePoints(plain)
      value += plain
    }
  }
  if (literal === 0) return Either.left("a wildcard pattern needs at least one character besides * and ?")
  if (literal + fixed > MAX_PLATE_LENGTH) {
    return Either.left(`"${value}" needs more than ${MAX_PLATE_LENGTH} characters, longer than any plate`)
  }
  return Either.right({ kind: "wildcard", value })
}

const isLowerCase = (c: string) => c !== c.toUpperCase()

/**
 * What JavaScript compiles but a watchlist must not hold: backreferences and lookaround, which RE2 (the
 * server's linear-time engine) cannot run, inline flags (they would change what a literal means), and
 * lower-case letters, which never match because plates are upper case. The server also compiles the
 * expression with RE2 and refuses what it cannot compile (see the server's watchlists/EntryPattern.ts).
 */
const regexProblem = (source: string): string | undefined => {
  // The value compiled, so braces and group names are closed; the fallback only guards the loop.
  const endOf = (c: string, from: number) => {
    const at = source.indexOf(c, from)
    return at < 0 ? source.length : at
  }
  let inClass = false
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!
    if (c === "\\") {
      const next = source[i + 1] ?? ""
      if (/[1-9]/.test(next) || next === "k") return "backreferences (\\1, \\k<name>) are not allowed"
      if (next === "p" || next === "P" || (next === "u" && source[i + 2] === "{")) i = endOf("}", i)
      else if (next === "u") i += 5
      else if (next === "x") i += 3
      else if (next === "c") i += 2
      else i += 1
      continue
    }
    if (inClass) {
      if (c === "]") inClass = false
      else if (isLowerCase(c)) return `plates are upper case: write "${c}" as "${c.toUpperCase()}"`
      continue
    }
    if (c === "[") {
      inClass = true
    } else if (c === "(" && source[i + 1] === "?") {
      const after = source[i + 2] ?? ""
      if (after === "=" || after === "!" || (after === "<" && (source[i + 3] === "=" || source[i + 3] === "!"))) {
        return "lookahead and lookbehind ((?=…), (?!…), (?<=…), (?<!…)) are not allowed: RE2 matches in linear time and has none"
      }
      if (after === "<") {
        i = endOf(">", i) // a group name, not a literal
      } else if (/[a-zA-Z-]/.test(after)) {
        return "inline flags such as (?i:…) are not allowed"
      } else {
        i += 1
      }
    } else if (isLowerCase(c)) {
      return `plates are upper case: write "${c}" as "${c.toUpperCase()}"`
    }
  }
  return undefined
}

const regexValue = (raw: string): Either.Either<EntryValue, string> => {
  if (raw === "") return Either.left("the regular expression is empty")
  if (raw.length > MAX_REGEX_LENGTH) {
    return Either.left(`a regular expression is at most ${MAX_REGEX_LENGTH} characters; this one has ${raw.length}`)
  }
  if (/^\/.*\/[a-z]*$/s.test(raw)) {
    return Either.left("write the regular expression without surrounding slashes or flags, e.g. AB\\d{3}")
  }
  try {
    // Compiled alone first: a value that compiles on its own has balanced groups, so wrapping it cannot
    // unbalance the anchors (`A)|(B` would otherwise become `^(?:A)|(B)$`).
    new RegExp(raw, "u")
  } catch (e) {
    return Either.left(`the regular expression does not compile: ${e instanceof Error ? e.message : String(e)}`)
  }
  const problem = regexProblem(raw)
  if (problem !== undefined) return Either.left(problem)
  return Either.right({ kind: "regex", value: raw })
}

/**
 * Checks a value typed for an entry and gives its canonical stored form: plates normalised; wildcard
 * literals normalised with runs of `*` collapsed; regular expressions as typed. Left is a message for the
 * person who typed it.
 */
export const parseEntryValue = (kind: EntryKind, raw: string): Either.Either<EntryValue, string> => {
  if (kind !== "regex" && raw.length > MAX_RAW_LENGTH) {
    return Either.left(`a value is at most ${MAX_RAW_LENGTH} characters`)
  }
  switch (kind) {
    case "exact":
    case "ocr":
      return plateValue(kind, raw)
    case "wildcard":
      return wildcardValue(raw)
    case "regex":
      return regexValue(raw)
  }
}
