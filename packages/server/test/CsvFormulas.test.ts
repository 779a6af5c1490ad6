import { describe, expect, it } from "@effect/vitest"
import { parse } from "csv-parse/sync"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import { neutraliseFormula, restoreFormula } from "../src/csv/Formulas"
import { exportHeader, exportLines, parseImport } from "../src/watchlists/Csv"

// Mostly the characters that matter, so that quotes before a formula character come up often.
const cellText = FastCheck.array(FastCheck.constantFrom("'", "=", "+", "-", "@", "\t", "\r", "\n", " ", "A", "x", "\""), {
  maxLength: 8
}).map((chars) => chars.join(""))
const anyCell = FastCheck.oneof(cellText, FastCheck.string(), FastCheck.fullUnicodeString())

describe("CSV cells a spreadsheet would run", () => {
  it("are never written starting with a formula character, and every value reads back as it was", () => {
    FastCheck.assert(
      FastCheck.property(anyCell, (value) => {
        const written = neutraliseFormula(value)
        expect(written).not.toMatch(/^[=+\-@\t\r]/)
        expect(restoreFormula(written)).toBe(value)
      }),
      { numRuns: 5_000 }
    )
  })

  it("a quote typed by hand in front of a formula is taken off, as a spreadsheet would; other quotes stay", () => {
    expect(restoreFormula("'=1+1")).toBe("=1+1")
    expect(restoreFormula("''=1+1")).toBe("'=1+1")
    expect(restoreFormula("'O'Brien")).toBe("'O'Brien")
    expect(restoreFormula("'")).toBe("'")
  })

  it.effect("a watchlist export's notes and reasons import back exactly", () =>
    Effect.gen(function*() {
      const notes = ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "'=already", "''@two", "'plain", "plain"]
      const created_at = new Date("2026-01-01T00:00:00Z")
      const text = exportHeader() + exportLines(notes.map((note, i) => ({
        kind: "exact",
        value: `AB${i}`,
        note,
        reason: note,
        expires_at: null,
        added_by_name: "=cmd|' /C calc'!A0",
        created_at
      })))
      for (const record of parse(text) as Array<Array<string>>) {
        for (const cell of record) expect(cell).not.toMatch(/^[=+\-@\t\r]/)
      }
      const { errors, rows } = yield* parseImport(text)
      expect(errors).toEqual([])
      expect(rows.map((r) => [r.value, r.note, r.reason])).toEqual(notes.map((note, i) => [`AB${i}`, note, note]))
    }))
})
