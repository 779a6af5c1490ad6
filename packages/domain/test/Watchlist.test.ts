import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type EntryKind, EntryKind as EntryKindSchema, parseEntryValue, WatchlistCategory } from "../src/Watchlist"

const accepted = (kind: EntryKind, raw: string) => {
  const parsed = parseEntryValue(kind, raw)
  if (Either.isLeft(parsed)) throw new Error(`${kind} ${JSON.stringify(raw)} was refused: ${parsed.left}`)
  expect(parsed.right.kind).toBe(kind)
  return parsed.right.value
}

const refused = (kind: EntryKind, raw: string) => {
  const parsed = parseEntryValue(kind, raw)
  if (Either.isRight(parsed)) throw new Error(`${kind} ${JSON.stringify(raw)} was accepted as ${parsed.right.value}`)
  return parsed.left
}

describe("watchlist literals", () => {
  it("know the five categories and four kinds", () => {
    expect(WatchlistCategory.literals).toEqual(["stolen", "bolo", "missing_person", "of_interest", "allow"])
    expect(EntryKindSchema.literals).toEqual(["exact", "ocr", "wildcard", "regex"])
    expect(Either.isLeft(Schema.decodeUnknownEither(WatchlistCategory)("hot"))).toBe(true)
  })
})

describe("parseEntryValue: plates", () => {
  it("stores exact and OCR values as normalised plates", () => {
    expect(accepted("exact", " ab-c 12.3 ")).toBe("ABC123")
    expect(accepted("ocr", "b0s 5")).toBe("B0S5") // the plate as typed, not its OCR key
    expect(accepted("exact", "ＡＢ１２")).toBe("AB12")
  })

  it("refuses a value with nothing left after normalising, or no letter or digit", () => {
    expect(refused("exact", "")).toBe("the plate is empty")
    expect(refused("ocr", " - . ")).toBe("the plate is empty")
    expect(refused("exact", "//")).toBe(`"//" has no letters or digits`)
  })

  it("allows 32 characters and refuses 33", () => {
    expect(accepted("exact", "A".repeat(32))).toHaveLength(32)
    expect(refused("exact", "A".repeat(33))).toBe(`a plate is at most 32 characters; "${"A".repeat(33)}" has 33`)
    // separators do not count
    expect(accepted("exact", "AB-".repeat(10) + "AB")).toBe("AB".repeat(11))
  })
})

describe("parseEntryValue: wildcards", () => {
  it("normalises the literal parts and collapses runs of *", () => {
    expect(accepted("wildcard", "ab-1*")).toBe("AB1*")
    expect(accepted("wildcard", "**ab***c d?")).toBe("*AB*CD?")
    expect(accepted("wildcard", "*ab*")).toBe("*AB*")
    expect(accepted("wildcard", "?b?")).toBe("?B?")
  })

  it("is idempotent on its canonical form", () => {
    for (const raw of ["ab-1*", "**ab***c d?", "?*x**?"]) {
      const once = accepted("wildcard", raw)
      expect(accepted("wildcard", once)).toBe(once)
    }
  })

  it("needs a literal character", () => {
    const message = "a wildcard pattern needs at least one character besides * and ?"
    expect(refused("wildcard", "*")).toBe(message)
    expect(refused("wildcard", "?*?")).toBe(message)
    expect(refused("wildcard", "* - *")).toBe(message)
    expect(refused("wildcard", "")).toBe(message)
  })

  it("refuses a pattern that needs more characters than a plate has", () => {
    expect(accepted("wildcard", "A".repeat(31) + "?*")).toBe("A".repeat(31) + "?*")
    expect(refused("wildcard", "A".repeat(32) + "?")).toContain("longer than any plate")
  })
})

describe("parseEntryValue: regular expressions", () => {
  it("stores a valid expression as typed", () => {
    expect(accepted("regex", "AB\\d{3}")).toBe("AB\\d{3}")
    expect(accepted("regex", "(?<area>[A-Z]{2})-?\\d+")).toBe("(?<area>[A-Z]{2})-?\\d+")
    expect(accepted("regex", "\\p{Lu}{2}\\d+")).toBe("\\p{Lu}{2}\\d+")
  })

  it("refuses lookahead and lookbehind, which RE2 cannot run", () => {
    for (const source of ["\\p{Lu}{2}(?=\\d)\\d+", "(?!AB)\\w+", "(?<=A)B", "A(?<!B)"]) {
      expect(refused("regex", source), source).toMatch(/^lookahead and lookbehind .* are not allowed/)
    }
    // a named group is neither
    expect(accepted("regex", "(?<lead>A)B")).toBe("(?<lead>A)B")
  })

  it("says why an expression does not compile", () => {
    expect(refused("regex", "AB(")).toMatch(/^the regular expression does not compile: /)
    expect(refused("regex", "A)|(B")).toMatch(/^the regular expression does not compile: /)
    expect(refused("regex", "A{")).toMatch(/does not compile/) // the u flag makes a stray brace an error
  })

  it("refuses backreferences", () => {
    const message = "backreferences (\\1, \\k<name>) are not allowed"
    expect(refused("regex", "(A)\\1")).toBe(message)
    expect(refused("regex", "(?<x>A)\\k<x>")).toBe(message)
    // an escaped backslash followed by a digit is no backreference, but it never matches a plate either
    expect(accepted("regex", "A\\\\1")).toBe("A\\\\1")
  })

  it("refuses slashes and flags around the expression, and inline flags", () => {
    expect(refused("regex", "/AB\\d+/i")).toMatch(/without surrounding slashes or flags/)
    expect(refused("regex", "/AB/")).toMatch(/without surrounding slashes or flags/)
    expect(refused("regex", "(?i:AB)")).toBeTypeOf("string")
  })

  it("refuses lower-case letters, which never match a plate", () => {
    expect(refused("regex", "ab\\d+")).toBe(`plates are upper case: write "a" as "A"`)
    expect(refused("regex", "[a-z]+")).toBe(`plates are upper case: write "a" as "A"`)
    // letters in escapes, property names and group names are syntax, not plate text
    expect(accepted("regex", "\\d\\w\\s\\b\\x41\\u0041\\u{41}\\p{Lu}\\cJ(?<name>X)")).toBeTypeOf("string")
  })

  it("caps the length at 200 characters", () => {
    expect(accepted("regex", "A".repeat(200))).toHaveLength(200)
    expect(refused("regex", "A".repeat(201))).toBe("a regular expression is at most 200 characters; this one has 201")
    expect(refused("wildcard", "*".repeat(201))).toBe("a value is at most 200 characters")
    expect(refused("regex", "")).toBe("the regular expression is empty")
  })
})
