import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { type PlateDifference, plateDifferences } from "../src/Search"

/** Levenshtein distance, plainly. */
const distance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1), previous[j]! + 1, current[j - 1]! + 1)
    }
    previous = current
  }
  return previous[b.length]!
}

/** Applies an edit script to `searched`: what the matched plate must be. */
const apply = (searched: string, differences: ReadonlyArray<PlateDifference>): string => {
  const out: Array<string> = []
  let i = 0
  let j = 0
  for (const d of differences) {
    while (j < d.position) out.push(searched[i++]!), j++
    if (d.op === "substitute") (out.push(d.found!), i++, j++)
    else if (d.op === "insert") (out.push(d.found!), j++)
    else i++
  }
  while (i < searched.length) out.push(searched[i++]!)
  return out.join("")
}

const plate = FastCheck.string({ unit: FastCheck.constantFrom("A", "B", "8", "1", "X"), maxLength: 9 })

describe("plateDifferences", () => {
  it("names each difference by its place in the matched plate", () => {
    expect(plateDifferences("XYZ1234", "XYZ1284")).toEqual([{ op: "substitute", position: 5, searched: "3", found: "8" }])
    expect(plateDifferences("ABC123", "ABC1234")).toEqual([{ op: "insert", position: 6, searched: null, found: "4" }])
    expect(plateDifferences("ABC123", "AC123")).toEqual([{ op: "delete", position: 1, searched: "B", found: null }])
    expect(plateDifferences("ABC123", "ABC123")).toEqual([])
  })

  it("is a shortest edit script: as many differences as the edit distance, and it turns one plate into the other", () => {
    FastCheck.assert(
      FastCheck.property(plate, plate, (searched, found) => {
        const differences = plateDifferences(searched, found)
        expect(differences).toHaveLength(distance(searched, found))
        expect(apply(searched, differences)).toBe(found)
      }),
      { numRuns: 2_000 }
    )
  })
})
