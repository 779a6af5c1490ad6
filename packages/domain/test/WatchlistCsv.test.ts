import { describe, expect, it } from "@effect/vitest"
import { importChunks } from "../src/WatchlistCsv"

/** The data lines of the chunks, with their file line numbers, as the server would number them. */
const numbered = (text: string, budget: number) =>
  importChunks(text, budget).flatMap((chunk) => {
    const [, ...records] = chunk.csv.split(/(?<=\n)/)
    let line = chunk.first_line
    return records.map((record) => {
      const at = line
      line += record.split("\n").length - (record.endsWith("\n") ? 1 : 0)
      return [at, record.replace(/\n$/, "")] as const
    })
  })

describe("importChunks", () => {
  it("repeats the header in every chunk and numbers each chunk's first line as in the file", () => {
    const text = ["plate,note", "A1,x", "A2,y", "A3,z", "A4,w", "A5,v"].join("\n") + "\n"
    const chunks = importChunks(text, 20)
    expect(chunks.length).toBeGreaterThan(1)
    for (const chunk of chunks) expect(chunk.csv.startsWith("plate,note\n")).toBe(true)
    expect(chunks[0]!.first_line).toBe(2)
    expect(chunks.at(-1)!.last_line).toBe(6)
    expect(numbered(text, 20)).toEqual([[2, "A1,x"], [3, "A2,y"], [4, "A3,z"], [5, "A4,w"], [6, "A5,v"]])
    // nothing lost or repeated, whatever the budget
    for (const budget of [1, 15, 40, 1_000]) {
      expect(importChunks(text, budget).map((c) => c.csv.slice("plate,note\n".length)).join("")).toBe(text.slice("plate,note\n".length))
    }
  })

  it("keeps a quoted field that spans lines in one chunk, and counts its lines", () => {
    const text = "plate,note\nA1,\"one\ntwo\nthree\"\nA2,x\nA3,\"a \"\"quoted\"\" word\"\nA4,y"
    // a budget smaller than any record: one record a chunk
    const chunks = importChunks(text, 10)
    expect(chunks.map((c) => [c.first_line, c.last_line, c.csv.slice("plate,note\n".length)])).toEqual([
      [2, 4, "A1,\"one\ntwo\nthree\"\n"],
      [5, 5, "A2,x\n"],
      [6, 6, "A3,\"a \"\"quoted\"\" word\"\n"],
      [7, 7, "A4,y"]
    ])
  })

  it("counts the escaping a JSON message adds against the budget", () => {
    const quoted = "plate,note\n" + Array.from({ length: 10 }, (_, i) => `Q${i},"${"\"\"".repeat(10)}"\n`).join("")
    const plain = "plate,note\n" + Array.from({ length: 10 }, (_, i) => `Q${i},${"x".repeat(22)}\n`).join("")
    expect(importChunks(quoted, 200).length).toBeGreaterThan(importChunks(plain, 200).length)
  })

  it("gives nothing for an empty text and one chunk for a header alone", () => {
    expect(importChunks("")).toEqual([])
    expect(importChunks("plate\n")).toEqual([{ csv: "plate\n", first_line: 2, last_line: 1 }])
    expect(importChunks("plate")).toEqual([{ csv: "plate\n", first_line: 2, last_line: 1 }])
  })
})
