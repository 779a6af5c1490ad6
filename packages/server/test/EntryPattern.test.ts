import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { checkEntryValue, compilePattern } from "../src/watchlists/EntryPattern"

const refused = (raw: string) => Either.match(checkEntryValue("regex", raw), { onLeft: (why) => why, onRight: () => undefined })
const RE2_CANNOT = /^RE2, which matches regular expressions here in linear time, cannot run this one: /

describe("checkEntryValue: what RE2 can run", () => {
  it("accepts nested quantifiers, which RE2 runs in linear time", () => {
    expect(checkEntryValue("regex", "((((((((([A-Z0-9]+)+)+)+)+)+)+)+)+)+[^A-Z0-9]")).toEqual(
      Either.right({ kind: "regex", value: "((((((((([A-Z0-9]+)+)+)+)+)+)+)+)+)+[^A-Z0-9]" })
    )
    expect(Either.isRight(checkEntryValue("regex", "(?<area>[A-Z]{2})-?\\d+\\p{Lu}?"))).toBe(true)
  })

  it("refuses backreferences and lookaround, saying which", () => {
    expect(refused("(A)\\1")).toMatch(/^backreferences/)
    expect(refused("AB(?=\\d)\\d+")).toMatch(/^lookahead and lookbehind/)
    expect(refused("(?<!X)AB")).toMatch(/^lookahead and lookbehind/)
  })

  it("refuses what JavaScript compiles but RE2 does not, with RE2's reason", () => {
    expect(refused("A[^]")).toMatch(RE2_CANNOT)
    expect(refused("A[^]")).toContain("missing ]")
    expect(refused("A{1001}")).toMatch(RE2_CANNOT)
    expect(refused("A{1001}")).toContain("invalid repetition size")
    expect(refused("(?:[\\p{L}\\p{N}]{30}){30}")).toContain("pattern too large")
  })

  it("keeps the domain's other rules", () => {
    expect(refused("ab\\d")).toMatch(/^plates are upper case/)
    expect(refused("/AB/")).toMatch(/without surrounding slashes/)
    expect(refused("A".repeat(201))).toMatch(/at most 200 characters/)
    expect(Either.isLeft(checkEntryValue("exact", " - "))).toBe(true)
    expect(checkEntryValue("wildcard", "ab-1**")).toEqual(Either.right({ kind: "wildcard", value: "AB1*" }))
  })
})

describe("compilePattern", () => {
  it("anchors both kinds to the whole plate", () => {
    const regex = Either.getOrThrow(compilePattern("regex", "AB|CD"))
    expect(["AB", "CD", "ABX", "XCD"].map((p) => regex.test(p))).toEqual([true, true, false, false])
    const wildcard = Either.getOrThrow(compilePattern("wildcard", "A+*?"))
    expect(["A+BC", "A+B", "A+", "AAB"].map((p) => wildcard.test(p))).toEqual([true, true, false, false])
  })
})
