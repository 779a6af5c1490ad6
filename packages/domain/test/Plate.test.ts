import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { isPlateRead, normalizePlate, ocrKey } from "../src/Plate"

describe("normalizePlate", () => {
  it("upper-cases and strips spaces, dashes and dots", () => {
    expect(normalizePlate("abc 123")).toBe("ABC123")
    expect(normalizePlate(" ab-c.12 3 ")).toBe("ABC123")
    expect(normalizePlate("KA–01·AB\t1234")).toBe("KA01AB1234")
  })

  it("folds full-width characters to their plain form", () => {
    expect(normalizePlate("ＡＢＣ１２３")).toBe("ABC123")
  })

  it("keeps letters outside ASCII", () => {
    expect(normalizePlate("m-ün 12")).toBe("MÜN12")
  })
})

describe("ocrKey", () => {
  it("folds every confusable class to one key", () => {
    const classes = [["0", "O", "Q", "D"], ["1", "I", "L"], ["2", "Z"], ["5", "S"], ["6", "G"], ["8", "B"]]
    for (const members of classes) {
      const keys = new Set(members.map((c) => ocrKey(`X${c}Y`)))
      expect(keys.size, `class ${members.join("/")}`).toBe(1)
    }
  })

  it("keeps distinct classes apart", () => {
    const representatives = ["0", "1", "2", "5", "6", "8", "A", "X"]
    const keys = new Set(representatives.map((c) => ocrKey(c)))
    expect(keys.size).toBe(representatives.length)
  })

  it("matches the reads an operator means", () => {
    expect(ocrKey("BOS5")).toBe(ocrKey("B0S5"))
    expect(ocrKey("BOS5")).toBe(ocrKey("8O55"))
    expect(ocrKey("bos-5")).toBe(ocrKey("8 0 S 5"))
    expect(ocrKey("BOS5")).not.toBe(ocrKey("BOS7"))
  })

  it("is case- and separator-insensitive like normalisation", () => {
    expect(ocrKey("ab-12")).toBe(ocrKey("AB12"))
  })
})

// Reads as cameras produce them: letters, digits, separators and the odd stray symbol.
const plateLike = FastCheck.stringMatching(/^[A-Za-z0-9 .\-–·]{0,12}$/)
const anyText = FastCheck.oneof(plateLike, FastCheck.string({ unit: "binary", maxLength: 16 }))

describe("plate rule properties", () => {
  it("the OCR key is idempotent", () => {
    FastCheck.assert(FastCheck.property(anyText, (s) => ocrKey(ocrKey(s)) === ocrKey(s)), { numRuns: 5000 })
  })

  it("normalisation is idempotent", () => {
    FastCheck.assert(
      FastCheck.property(anyText, (s) => normalizePlate(normalizePlate(s)) === normalizePlate(s)),
      { numRuns: 5000 }
    )
  })

  it("never yields an empty plate from a read with letters or digits", () => {
    const withAlnum = FastCheck.tuple(anyText, FastCheck.string({ unit: "binary", minLength: 1, maxLength: 1 }).filter((c) => /[\p{L}\p{N}]/u.test(c)), anyText)
      .map(([a, c, b]) => a + c + b)
    FastCheck.assert(
      FastCheck.property(withAlnum, (s) => normalizePlate(s).length > 0 && isPlateRead(s)),
      { numRuns: 5000 }
    )
  })

  it("reads with letters or digits stay matchable by their OCR key", () => {
    FastCheck.assert(
      FastCheck.property(plateLike.filter((s) => /[A-Za-z0-9]/.test(s)), (s) => ocrKey(s).length > 0),
      { numRuns: 2000 }
    )
  })

  it("keeps reads whose letters decompose under compatibility normalisation", () => {
    // U+FE70 (Arabic presentation form) becomes a space and a combining mark under NFKC.
    for (const text of ["\uFE70", "A\uFE70", "\uFF9E"]) {
      expect(isPlateRead(text), JSON.stringify(text)).toBe(true)
      expect(normalizePlate(text).length).toBeGreaterThan(0)
    }
  })

  it("rejects reads that carry no plate", () => {
    expect(isPlateRead("")).toBe(false)
    expect(isPlateRead(" - . ")).toBe(false)
    expect(isPlateRead("unknown")).toBe(true) // vendor placeholders are the edge's job to drop
  })
})
