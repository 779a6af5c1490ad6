import { describe, expect, it } from "@effect/vitest"
import { linkRuns, type NewRead, type StoredPredecessor } from "../src/ingest/Runs"

// one collector's reads: each named by its detection id alone
const read = (detectionId: string, s: number, plate = "AB123", cameraId = "cam-1"): NewRead => ({
  key: detectionId,
  detectionId,
  cameraId,
  plate,
  at: s * 1000
})
const stored = (s: number, root: string): StoredPredecessor => ({ at: s * 1000, root })
const none = new Map<string, StoredPredecessor>()

describe("linkRuns", () => {
  it("links each read within 30 s of the one before to the first read of the run", () => {
    const starts = linkRuns([read("c", 40), read("a", 0), read("b", 20), read("d", 71)], none)
    expect(starts.get("a")).toEqual({ _tag: "First" })
    expect(starts.get("b")).toEqual({ _tag: "New", detectionId: "a" })
    expect(starts.get("c")).toEqual({ _tag: "New", detectionId: "a" })
    expect(starts.get("d")).toEqual({ _tag: "First" }) // 31 s after c
  })

  it("counts exactly 30 s as within the run", () => {
    expect(linkRuns([read("a", 0), read("b", 30)], none).get("b")).toEqual({ _tag: "New", detectionId: "a" })
  })

  it("continues a stored run, pointing at its first read, and carries it through the batch", () => {
    const starts = linkRuns([read("a", 50), read("b", 70)], new Map([["a", stored(35, "7")], ["b", stored(35, "7")]]))
    expect(starts.get("a")).toEqual({ _tag: "Stored", id: "7" })
    expect(starts.get("b")).toEqual({ _tag: "Stored", id: "7" })
  })

  it("lets a stored read between two new reads carry the run", () => {
    // New reads 50 s apart would not link, but a stored read 40 s after the first sits between them.
    const starts = linkRuns([read("a", 0), read("b", 50)], new Map([["b", stored(40, "5")]]))
    expect(starts.get("a")).toEqual({ _tag: "First" })
    expect(starts.get("b")).toEqual({ _tag: "Stored", id: "5" })
  })

  it("prefers the later of a stored and a new predecessor, the new one at the same instant", () => {
    const later = linkRuns([read("a", 0), read("b", 20)], new Map([["b", stored(10, "9")]]))
    expect(later.get("b")).toEqual({ _tag: "Stored", id: "9" })
    const earlier = linkRuns([read("a", 10), read("b", 20)], new Map([["b", stored(5, "9")]]))
    expect(earlier.get("b")).toEqual({ _tag: "New", detectionId: "a" })
    const same = linkRuns([read("a", 10), read("b", 20)], new Map([["b", stored(10, "9")]]))
    expect(same.get("b")).toEqual({ _tag: "New", detectionId: "a" })
  })

  it("keeps plates and cameras apart", () => {
    const starts = linkRuns([read("a", 0), read("b", 5, "AB124"), read("c", 6, "AB123", "cam-2")], none)
    expect([...starts.values()]).toEqual([{ _tag: "First" }, { _tag: "First" }, { _tag: "First" }])
  })
})
