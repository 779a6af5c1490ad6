import { type EntryKind, type EntryValue, parseEntryValue } from "@chaverim/domain/Watchlist"
import * as Either from "effect/Either"
import RE2 from "re2"

/**
 * Wildcard and regular-expression entries are matched by RE2 (Google's engine, the `re2` package), never
 * by V8's RegExp: V8 backtracks, so one entry such as `((([A-Z0-9]+)+)+)+[^A-Z0-9]` held the event loop
 * for seconds per plate. RE2 runs in time linear in the plate's length (times the compiled pattern's
 * size, which RE2 itself caps), whatever the pattern. What it cannot run (backreferences, lookaround) it
 * refuses to compile, and so a watchlist refuses it when it is entered.
 */

/** A compiled wildcard or regular expression, anchored to the whole plate. */
export interface PlatePattern {
  readonly test: (plate: string) => boolean
}

const escapeRegExp = (s: string) => s.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&")

/** The anchored source RE2 compiles for a canonical wildcard (`*` any run, `?` one character). */
const wildcardSource = (value: string) =>
  `^${value.split(/([*?])/).map((p) => (p === "*" ? ".*" : p === "?" ? "." : escapeRegExp(p))).join("")}$`

/**
 * Compiles a canonical (as `parseEntryValue` gives it) wildcard or regular expression, or says why RE2
 * cannot run it. The regular expression was compiled alone by the domain's check, so its groups are
 * balanced and the anchoring group cannot be unbalanced.
 */
export const compilePattern = (kind: "wildcard" | "regex", value: string): Either.Either<PlatePattern, string> => {
  try {
    // `s`: a wildcard's `?` and `*` take any character; `u`: the plate is matched by code point.
    return Either.right(kind === "wildcard" ? new RE2(wildcardSource(value), "su") : new RE2(`^(?:${value})$`, "u"))
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e)
    return Either.left(`RE2, which matches regular expressions here in linear time, cannot run this one: ${why}`)
  }
}

/**
 * The domain's check of a typed value (`parseEntryValue`), and for a regular expression also RE2's: what
 * passes is stored and matched. Left is a message for the person who typed it.
 */
export const checkEntryValue = (kind: EntryKind, raw: string): Either.Either<EntryValue, string> =>
  Either.flatMap(parseEntryValue(kind, raw), (parsed) =>
    parsed.kind === "regex"
      ? Either.map(compilePattern("regex", parsed.value), () => parsed)
      : Either.right(parsed))
