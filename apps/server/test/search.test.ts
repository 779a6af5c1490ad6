import { parse } from "csv-parse/sync"
import * as Zlib from "node:zlib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { detection, postBatch, startServer, type TestServer } from "./harness"

interface Item {
  id: string
  plate: string
  plate_text: string
  detected_at: string
  confidence: number
  direction: string | null
  camera: { id: string; external_id: string; name: string | null; site: string | null; lat: number | null; lon: number | null }
  location: { lat: number; lon: number } | null
  images: { plate?: string; scene?: string }
  score?: number
  distance?: number
  differences?: Array<{ op: string; position: number; searched: string | null; found: string | null }>
}
interface Page {
  items: Array<Item>
  next_cursor: string | null
}

/**
 * The text a PDF shows, as pdfkit writes it: each content stream inflated, the hex strings of its
 * text operators decoded (standard fonts, one byte a character), the pieces of a line joined.
 */
const pdfText = (pdf: Buffer) => {
  const text: Array<string> = []
  const raw = pdf.toString("latin1")
  for (const match of raw.matchAll(/stream\r?\n/g)) {
    const start = match.index + match[0].length
    const end = raw.indexOf("endstream", start)
    let content: string
    try {
      content = Zlib.inflateSync(pdf.subarray(start, end)).toString("latin1")
    } catch {
      continue
    }
    for (const line of content.split("\n")) {
      const pieces = [...line.matchAll(/<([0-9a-fA-F]+)>/g)].map((m) => Buffer.from(m[1]!, "hex").toString("latin1"))
      if (pieces.length > 0) text.push(pieces.join(""))
    }
  }
  return text.join("\n")
}

const HOUR = 3_600_000
let minute = 0
/** Distinct times in the last day, so that runs (same plate, camera, 30 s) do not link reads. */
const past = (hoursAgo: number) => new Date(Date.now() - hoursAgo * HOUR - (++minute) * 61_000).toISOString()

describe("plate search", () => {
  let server: TestServer
  let apiKey: string
  let cookie: string

  const ingest = async (events: ReadonlyArray<Record<string, unknown>>) => {
    const response = await postBatch(server, apiKey, events.map((e) => detection(e)))
    expect(response.status).toBe(200)
    expect(((await response.json()) as { accepted: number }).accepted).toBe(events.length)
  }
  const plate = (text: string, extra: Record<string, unknown> = {}) => ({
    timestamp: past(1),
    plate: { text, confidence: 0.9 },
    ...extra
  })

  const search = async (params: Record<string, string | number>, headers: Record<string, string> = { cookie }) => {
    const query = new URLSearchParams({ reason_code: "investigation", ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])) })
    return fetch(`${server.url}/api/v1/detections?${query}`, { headers })
  }
  const found = async (params: Record<string, string | number>) => {
    const response = await search(params)
    const text = await response.text()
    expect(response.status, text).toBe(200)
    return JSON.parse(text) as Page
  }
  const plates = async (params: Record<string, string | number>) => (await found(params)).items.map((i) => i.plate).sort()

  beforeAll(async () => {
    server = await startServer()
    apiKey = (await server.collector("Search site")).apiKey
    cookie = await server.session("operator")
    await ingest([
      plate("ABC-1234"),
      plate("ABC 1235"),
      plate("BOS5"),
      plate("B0S5"),
      plate("8O55"),
      plate("BOS6"),
      plate("XOS5"),
      plate("AK3X9"),
      plate("K3Z99"),
      plate("K4X9"),
      plate("ABX12"),
      plate("ZABQ123"),
      plate("AB12"),
      plate("XYZ1234"),
      plate("XYZ1284"),
      plate("XVZ1284"),
      plate("XYZ1299"),
      plate("QRS9876")
    ])
  })
  afterAll(() => server?.close())

  it("finds the normalised plate exactly, with its camera, place and photo links", async () => {
    const page = await found({ plate: "abc 1234" })
    expect(page.items.map((i) => i.plate)).toEqual(["ABC1234"])
    const item = page.items[0]!
    expect(item.plate_text).toBe("ABC-1234")
    expect(item.camera).toMatchObject({ external_id: "cam-1", name: "Main St northbound" })
    expect(item.location).toEqual({ lat: 41.1, lon: -74.05 })
    expect(page.next_cursor).toBeNull()
    expect(await plates({ plate: "ABC-123" })).toEqual([])
  })

  it("finds OCR confusions with the ocr mode, and only those", async () => {
    expect(await plates({ plate: "BOS5", mode: "ocr" })).toEqual(["8O55", "B0S5", "BOS5"])
    expect(await plates({ plate: "BOS5", mode: "exact" })).toEqual(["BOS5"])
  })

  it("matches wildcards and substrings with the partial mode", async () => {
    expect(await plates({ plate: "K3*9", mode: "partial" })).toEqual(["AK3X9", "K3Z99"])
    // `?` is exactly one character, anywhere in the plate: AB12 has none between B and 1.
    expect(await plates({ plate: "AB?12", mode: "partial" })).toEqual(["ABC1234", "ABC1235", "ABX12", "ZABQ123"])
    expect(await plates({ plate: "1284", mode: "partial" })).toEqual(["XVZ1284", "XYZ1284"])
    // LIKE's own wildcards are characters like any other in a plate query (and normalised away).
    expect(await plates({ plate: "AB%12", mode: "partial" })).toEqual([])
  })

  it("ranks fuzzy matches by edit distance and says what differed", async () => {
    const page = await found({ plate: "XYZ-1234", mode: "fuzzy" })
    expect(page.items.map((i) => [i.plate, i.distance])).toEqual([["XYZ1234", 0], ["XYZ1284", 1], ["XYZ1299", 2]])
    expect(page.items[0]!.score).toBe(1)
    expect(page.items[1]!.score).toBeLessThan(1)
    expect(page.items[1]!.differences).toEqual([{ op: "substitute", position: 5, searched: "3", found: "8" }])
    expect(page.items[2]!.differences).toEqual([
      { op: "substitute", position: 5, searched: "3", found: "9" },
      { op: "substitute", position: 6, searched: "4", found: "9" }
    ])
    // Candidates share trigrams with the plate searched: two edits far apart share too few.
    expect(page.items.map((i) => i.plate)).not.toContain("XVZ1284")
    expect(page.items.map((i) => i.plate)).not.toContain("QRS9876")
  })

  it("combines filters: time range, camera, site, direction, vehicle type and colour, confidence, in every mode", async () => {
    const collector = await server.collector("Filter site")
    const send = (events: Array<Record<string, unknown>>) =>
      postBatch(server, collector.apiKey, events.map((e) => detection(e))).then((r) => expect(r.status).toBe(200))
    await send([
      {
        timestamp: past(30),
        camera: { id: "gate", mac: "AA:00:00:00:00:01" },
        plate: { text: "FLT100", confidence: 0.95 },
        vehicle: { direction: "in", type: "car", color: "Blue" }
      },
      {
        timestamp: past(2),
        camera: { id: "gate", mac: "AA:00:00:00:00:01" },
        plate: { text: "FLT100", confidence: 0.5 },
        vehicle: { direction: "out", type: "truck", color: "red" }
      },
      {
        timestamp: past(2),
        camera: { id: "road", mac: "AA:00:00:00:00:02" },
        plate: { text: "FLT100", confidence: 0.99 },
        vehicle: { direction: "IN", type: "CAR", color: "blue" }
      }
    ])
    await server.db.query("UPDATE cameras SET site = 'North gate' WHERE external_id = 'gate'")
    // Exact search reads the plate's index; partial and fuzzy go through the plates' months (sql/0023).
    for (const query of [{ plate: "FLT100" }, { plate: "FLT10*", mode: "partial" }, { plate: "FLT100", mode: "fuzzy" }]) {
      const all = await found(query)
      expect(all.items, query.plate).toHaveLength(3)
      const gate = all.items.find((i) => i.camera.external_id === "gate")!.camera.id

      expect((await found({ ...query, camera_id: gate })).items).toHaveLength(2)
      expect((await found({ ...query, site: "North gate" })).items).toHaveLength(2)
      expect((await found({ ...query, direction: "in" })).items).toHaveLength(2)
      expect((await found({ ...query, vehicle_type: "car" })).items).toHaveLength(2)
      expect((await found({ ...query, vehicle_color: "BLUE,green" })).items).toHaveLength(2)
      expect((await found({ ...query, min_confidence: 0.9 })).items).toHaveLength(2)
      expect((await found({ ...query, from: new Date(Date.now() - 24 * HOUR).toISOString() })).items).toHaveLength(2)
      const combined = await found({ ...query, site: "North gate", direction: "in,out", min_confidence: 0.9 })
      expect(combined.items.map((i) => i.confidence)).toEqual([0.95])
      expect((await found({ ...query, to: new Date(Date.now() - 24 * HOUR).toISOString(), direction: "out" })).items).toEqual([])
    }
  })

  it("pages with a cursor, newest first, never skipping or repeating, also through equal times", async () => {
    const same = past(3)
    await ingest(Array.from({ length: 23 }, (_, i) => plate("PAGE42", { timestamp: i < 8 ? same : past(3) })))
    const seen: Array<Item> = []
    let cursor: string | null = null
    let pages = 0
    do {
      const page: Page = await found({ plate: "PAGE42", limit: 10, ...(cursor === null ? {} : { cursor }) })
      seen.push(...page.items)
      cursor = page.next_cursor
      pages++
    } while (cursor !== null && pages < 10)
    expect(pages).toBe(3)
    expect(seen).toHaveLength(23)
    expect(new Set(seen.map((i) => i.id)).size).toBe(23)
    const order = seen.map((i) => [Date.parse(i.detected_at), Number(i.id)] as const)
    for (let k = 1; k < order.length; k++) {
      const [t0, id0] = order[k - 1]!
      const [t1, id1] = order[k]!
      expect(t0 > t1 || (t0 === t1 && id0 > id1)).toBe(true)
    }
  })

  it("pages partial results across many plates, newest first, through equal times", async () => {
    const same = past(4)
    const events = ["PGX101", "PGX202", "PGX303", "QPGX44"].flatMap((text, p) =>
      Array.from({ length: 3 + p }, (_, i) => plate(text, { timestamp: i === 0 ? same : past(4) }))
    )
    await ingest(events)
    const seen: Array<Item> = []
    let cursor: string | null = null
    let pages = 0
    do {
      const page: Page = await found({ plate: "PGX*", mode: "partial", limit: 4, ...(cursor === null ? {} : { cursor }) })
      seen.push(...page.items)
      cursor = page.next_cursor
      pages++
    } while (cursor !== null && pages < 20)
    expect(seen).toHaveLength(events.length)
    expect(new Set(seen.map((i) => i.id)).size).toBe(events.length)
    expect(pages).toBe(Math.ceil(events.length / 4))
    const order = seen.map((i) => [Date.parse(i.detected_at), Number(i.id)] as const)
    for (let k = 1; k < order.length; k++) {
      const [t0, id0] = order[k - 1]!
      const [t1, id1] = order[k]!
      expect(t0 > t1 || (t0 === t1 && id0 > id1)).toBe(true)
    }
  })

  it("pages partial and fuzzy results across months, partitions and the default partition alike", async () => {
    // Reads of months with partitions of their own (this one, one and two back) and of months long
    // past that ingest keeps in the default partition, in no order.
    const DAY = 24
    const events = [
      ["MNT101", 2 * DAY], ["MNT202", 35 * DAY], ["MNT101", 62 * DAY], ["MNT303", 400 * DAY], ["MNT202", 1 * DAY],
      ["MNT404", 3000 * DAY], ["MNT101", 36 * DAY], ["MNT303", 3 * DAY], ["MNT404", 61 * DAY], ["MNT202", 401 * DAY]
    ].map(([text, hours]) => plate(text as string, { timestamp: past(hours as number) }))
    await ingest(events)
    const newestFirst = [...events].sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp)).map((e) => e.timestamp)

    const all = async (params: Record<string, string | number>) => {
      const seen: Array<Item> = []
      let cursor: string | null = null
      do {
        const page: Page = await found({ ...params, limit: 3, ...(cursor === null ? {} : { cursor }) })
        seen.push(...page.items)
        cursor = page.next_cursor
      } while (cursor !== null && seen.length < 100)
      return seen
    }
    const partial = await all({ plate: "MNT*", mode: "partial" })
    expect(partial.map((i) => new Date(i.detected_at).toISOString())).toEqual(newestFirst)

    // A time range leaves out the months outside it, and the edges of the ones it cuts.
    const from = past(63 * DAY)
    const to = past(2 * DAY - 1)
    const ranged = await all({ plate: "MNT*", mode: "partial", from, to })
    expect(ranged.map((i) => new Date(i.detected_at).toISOString())).toEqual(
      newestFirst.filter((t) => t >= from && t < to)
    )

    // One plate's reads, newest first, from three months.
    const fuzzy = await all({ plate: "MNT10", mode: "fuzzy" })
    const mnt101 = fuzzy.filter((i) => i.plate === "MNT101")
    expect(mnt101.map((i) => new Date(i.detected_at).toISOString())).toEqual(
      events.filter((e) => e.plate.text === "MNT101").map((e) => e.timestamp).sort().reverse()
    )
  })

  it("pages fuzzy results in rank order too", async () => {
    await ingest(Array.from({ length: 7 }, () => plate("FUZ7777")).concat(Array.from({ length: 5 }, () => plate("FUZ7778"))))
    const seen: Array<Item> = []
    let cursor: string | null = null
    do {
      const page: Page = await found({ plate: "FUZ7777", mode: "fuzzy", limit: 5, ...(cursor === null ? {} : { cursor }) })
      seen.push(...page.items)
      cursor = page.next_cursor
    } while (cursor !== null && seen.length < 100)
    expect(seen).toHaveLength(12)
    expect(new Set(seen.map((i) => i.id)).size).toBe(12)
    expect(seen.slice(0, 7).every((i) => i.distance === 0)).toBe(true)
    expect(seen.slice(7).every((i) => i.distance === 1)).toBe(true)
  })

  it("audits every search with its query, reason code, case number and reason, and requires the code", async () => {
    const searches = async () => (await server.db.query("SELECT count(*)::int AS n FROM audit_log WHERE action = 'search'")).rows[0].n
    const before = await searches()
    const refused = async (query: string) => {
      const response = await fetch(`${server.url}/api/v1/detections?plate=ABC1234&${query}`, { headers: { cookie } })
      expect(response.status, query).toBe(400)
      return ((await response.json()) as { message: string }).message
    }
    // Free text alone no longer does: the code is what AUDIT_REASON_REQUIRED asks for, and the answer names the codes.
    for (const query of ["", "reason=stolen+car+report+7781", "reason_code=", "reason_code=+"]) {
      expect(await refused(query)).toMatch(/^reason_code is required: say why you search .*one of: .*\bstolen_vehicle\b.*\bwanted_person\b/)
    }
    expect(await refused("reason_code=joyride")).toMatch(/^reason_code "joyride" is not a reason code; use one of: .*\bamber_alert\b/)
    expect(await refused("reason_code=DROP%20TABLE%20x")).toMatch(/^reason_code is not a reason code; use one of: /)
    expect(await refused(`reason_code=stolen_vehicle&case_number=${"9".repeat(65)}`)).toMatch(/case_number is at most 64 printable/)
    expect(await refused("reason_code=stolen_vehicle&case_number=A%0AB")).toMatch(/case_number is at most 64 printable/)
    expect(await refused("reason_code=stolen_vehicle&case_number=A%E2%80%AEB")).toMatch(/case_number/) // a bidi override
    expect(await refused(`reason_code=stolen_vehicle&reason=${"x".repeat(501)}`)).toMatch(/reason is at most 500/)
    expect(await searches()).toBe(before)

    await found({ plate: "abc 1234", reason_code: "stolen_vehicle", case_number: " 2026-7781 ", reason: "stolen car report" })
    await found({ plate: "ABC1235", reason_code: "training" })
    const { rows } = await server.db.query(
      "SELECT action, target, reason, details, outcome FROM audit_log WHERE action = 'search' ORDER BY id DESC LIMIT 2"
    )
    expect(rows[1]).toMatchObject({
      action: "search",
      target: "plate:ABC1234",
      reason: "stolen car report",
      outcome: "success",
      details: { reason_code: "stolen_vehicle", case_number: "2026-7781", mode: "exact", plate: "abc 1234", results: 1 }
    })
    // Free text and the case number are optional.
    expect(rows[0]).toMatchObject({ target: "plate:ABC1235", reason: null, details: { reason_code: "training", results: 1 } })
    expect(rows[0].details).not.toHaveProperty("case_number")
  })

  it("refuses a retired code, naming the active ones", async () => {
    await server.db.query("INSERT INTO reason_codes (code, label, retired_at) VALUES ('old_reason', 'Old reason', now())")
    const response = await search({ plate: "ABC1234", reason_code: "old_reason" })
    expect(response.status).toBe(400)
    const { message } = (await response.json()) as { message: string }
    expect(message).toMatch(/^reason_code "old_reason" is retired; use one of: /)
    expect(message).not.toMatch(/old_reason, |, old_reason/)
  })

  it("answers bad parameters with clear 400s", async () => {
    for (const params of [
      { plate: "ABC", mode: "bogus" },
      { plate: "ABC", limit: 0 },
      { plate: "ABC", limit: "ten" },
      { plate: "ABC", from: "yesterday" },
      { plate: "ABC", cursor: "not-a-cursor" },
      { plate: "ABC", cursor: Buffer.from(JSON.stringify({ t: "2026-01-01'; DROP TABLE x", id: "1" })).toString("base64url") },
      { plate: "*", mode: "partial" },
      { plate: "A?", mode: "partial" },
      { plate: "AB", mode: "fuzzy" },
      { plate: "ABC", min_confidence: 2 },
      { plate: "ABC", camera_id: "not-a-uuid" },
      { plate: " " },
      { plate: "-.-" },
      { plate: "X".repeat(40) }
    ]) {
      const response = await search(params as Record<string, string | number>)
      const body = await response.text()
      expect(response.status, `${JSON.stringify(params)}: ${body}`).toBe(400)
      expect(body).toMatch(/"message"/)
    }
    expect((await fetch(`${server.url}/api/v1/detections?reason=x`, { headers: { cookie } })).status).toBe(400)
  })

  it("is for operators and admins: a viewer is refused, no session is 401", async () => {
    expect((await search({ plate: "ABC1234" }, { cookie: await server.session("viewer") })).status).toBe(403)
    expect((await search({ plate: "ABC1234" }, { cookie: await server.session("admin") })).status).toBe(200)
    expect((await search({ plate: "ABC1234" }, {})).status).toBe(401)
  })

  const get = async (path: string, params: Record<string, string | number>, headers: Record<string, string> = { cookie }) =>
    fetch(`${server.url}${path}?${new URLSearchParams(Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])))}`, { headers })

  interface PlateGroup {
    plate: string
    reads: number
    first_seen: string
    last_seen: string
    cameras: Array<{ external_id: string; name: string | null; site: string | null; reads: number }>
    distance?: number
  }
  const grouped = async (params: Record<string, string | number>) => {
    const response = await get("/api/v1/detections/plates", { reason_code: "investigation", ...params })
    const text = await response.text()
    expect(response.status, text).toBe(200)
    return JSON.parse(text) as { plates: Array<PlateGroup>; truncated: boolean }
  }

  it("lists the distinct plates a search matched, with their reads, first and last seen and cameras, audited", async () => {
    const collector = await server.collector("Plates site")
    const times = [past(50), past(40), past(30), past(3), past(2)]
    const send = (events: Array<Record<string, unknown>>) =>
      postBatch(server, collector.apiKey, events.map((e) => detection(e))).then((r) => expect(r.status).toBe(200))
    await send([
      { timestamp: times[0], camera: { id: "grp-a", mac: "AA:00:00:00:01:01", name: "Grove Rd" }, plate: { text: "GRP-100", confidence: 0.9 } },
      { timestamp: times[2], camera: { id: "grp-a", mac: "AA:00:00:00:01:01", name: "Grove Rd" }, plate: { text: "GRP 100", confidence: 0.9 } },
      {
        timestamp: times[1],
        camera: { id: "grp-b", mac: "AA:00:00:00:01:02", name: "Pine Ave" },
        plate: { text: "GRP100", confidence: 0.9 },
        vehicle: { direction: "out" }
      },
      { timestamp: times[3], camera: { id: "grp-b", mac: "AA:00:00:00:01:02", name: "Pine Ave" }, plate: { text: "GRP200", confidence: 0.9 } },
      { timestamp: times[4], camera: { id: "grp-b", mac: "AA:00:00:00:01:02", name: "Pine Ave" }, plate: { text: "XGRP300", confidence: 0.9 } }
    ])
    await server.db.query("UPDATE cameras SET site = 'Grove' WHERE external_id = 'grp-a'")

    const partial = await grouped({ plate: "GRP*", mode: "partial", case_number: "PL-1" })
    expect(partial.truncated).toBe(false)
    // Last seen first.
    expect(partial.plates.map((p) => [p.plate, p.reads])).toEqual([["XGRP300", 1], ["GRP200", 1], ["GRP100", 3]])
    const grp100 = partial.plates[2]!
    expect(grp100.first_seen).toBe(new Date(times[0]!).toISOString())
    expect(grp100.last_seen).toBe(new Date(times[2]!).toISOString())
    expect(grp100.cameras.map((c) => [c.name, c.site, c.reads])).toEqual([["Grove Rd", "Grove", 2], ["Pine Ave", null, 1]])

    // The filters count too: only the read going out, only the plates read in the range.
    expect((await grouped({ plate: "GRP1*", mode: "partial", direction: "OUT" })).plates.map((p) => [p.plate, p.reads]))
      .toEqual([["GRP100", 1]])
    expect((await grouped({ plate: "GRP", mode: "partial", from: times[3]! })).plates.map((p) => p.plate)).toEqual(["XGRP300", "GRP200"])
    expect((await grouped({ plate: "GRP", mode: "partial", site: "Grove" })).plates.map((p) => [p.plate, p.reads])).toEqual([["GRP100", 2]])
    // Exact: the one plate; fuzzy: closest first, with the distance.
    expect((await grouped({ plate: "grp 100" })).plates.map((p) => [p.plate, p.reads])).toEqual([["GRP100", 3]])
    expect((await grouped({ plate: "XYZ-1234", mode: "fuzzy" })).plates.map((p) => [p.plate, p.distance]))
      .toEqual([["XYZ1234", 0], ["XYZ1284", 1], ["XYZ1299", 2]])
    expect((await grouped({ plate: "BOS5", mode: "ocr" })).plates.map((p) => p.plate).sort()).toEqual(["8O55", "B0S5", "BOS5"])

    const { rows } = await server.db.query(
      "SELECT target, reason, details FROM audit_log WHERE action = 'search' AND details->>'view' = 'plates' ORDER BY id"
    )
    expect(rows[0]).toMatchObject({
      target: "plate:GRP*",
      details: { view: "plates", mode: "partial", plate: "GRP*", reason_code: "investigation", case_number: "PL-1", results: 3, reads: 5 }
    })

    // A reason, a plate and an operator are required.
    const refused = await get("/api/v1/detections/plates", { plate: "GRP*", mode: "partial" })
    expect(refused.status).toBe(400)
    expect(((await refused.json()) as { message: string }).message).toMatch(/^reason_code is required/)
    expect((await get("/api/v1/detections/plates", { reason_code: "investigation", site: "Grove" })).status).toBe(400)
    expect((await get("/api/v1/detections/plates", { plate: "G*", mode: "partial", reason_code: "investigation" })).status).toBe(400)
    expect((await get("/api/v1/detections/plates", { plate: "GRP100", reason_code: "investigation" }, { cookie: await server.session("viewer") })).status)
      .toBe(403)
    expect((await get("/api/v1/detections/plates", { plate: "GRP100", reason_code: "investigation" }, {})).status).toBe(401)
  })

  it("exports a search's reads as CSV, spreadsheet-safe, audited with the reason, format and count", async () => {
    const collector = await server.collector("Export site")
    const times = [past(20), past(10), past(5)]
    await postBatch(server, collector.apiKey, [
      detection({ timestamp: times[0], camera: { id: "exp", mac: "AA:00:00:00:02:01", name: "Export Rd" }, plate: { text: "EXP 001", confidence: 0.8 } }),
      detection({
        timestamp: times[1],
        camera: { id: "exp", mac: "AA:00:00:00:02:01", name: "Export Rd" },
        plate: { text: "-EXP 001", confidence: 0.85 },
        vehicle: { direction: "in", type: "car", color: "grey", make: "=HYPERLINK(\"http://evil.example/\",\"x\")" }
      }),
      detection({ timestamp: times[2], camera: { id: "exp", mac: "AA:00:00:00:02:01", name: "Export Rd" }, plate: { text: "EXP001", confidence: 0.9 } })
    ]).then((r) => expect(r.status).toBe(200))

    const response = await get("/api/v1/detections/export", { plate: "EXP001", format: "csv", reason_code: "investigation", reason: "export test" })
    const text = await response.text()
    expect(response.status, text).toBe(200)
    expect(response.headers.get("content-type")).toMatch(/^text\/csv/)
    expect(response.headers.get("content-disposition")).toMatch(/^attachment; filename="reads-EXP001-\d{8}-\d{4}\.csv"$/)
    expect(response.headers.get("x-export-reads")).toBe("3")
    expect(response.headers.get("x-export-truncated")).toBe("false")
    const [header, ...lines] = parse(text) as Array<Array<string>>
    expect(header!.slice(0, 8)).toEqual(["id", "detected_at", "plate_text", "plate", "corrected_plate", "correction", "confidence", "camera"])
    const column = (name: string) => header!.indexOf(name)
    // Newest first, as the search shows them.
    expect(lines.map((l) => l[column("detected_at")])).toEqual([times[2], times[1], times[0]].map((t) => new Date(t!).toISOString()))
    expect(lines.map((l) => l[column("plate")])).toEqual(["EXP001", "EXP001", "EXP001"])
    expect(lines.map((l) => l[column("camera")])).toEqual(["Export Rd", "Export Rd", "Export Rd"])
    // What a spreadsheet would run as a formula starts with a quote.
    expect(lines[1]![column("plate_text")]).toBe("'-EXP 001")
    expect(lines[1]![column("vehicle_make")]).toBe("'=HYPERLINK(\"http://evil.example/\",\"x\")")
    expect(lines[1]![column("direction")]).toBe("in")

    const { rows } = await server.db.query(
      "SELECT actor_id, target, reason, details FROM audit_log WHERE action = 'search.export' ORDER BY id DESC LIMIT 1"
    )
    expect(rows[0]).toMatchObject({
      target: "plate:EXP001",
      reason: "export test",
      details: { format: "csv", mode: "exact", plate: "EXP001", reason_code: "investigation", results: 3 }
    })

    // Browsing without a plate exports too: a site over a range.
    await server.db.query("UPDATE cameras SET site = 'Export yard' WHERE external_id = 'exp'")
    const browse = await get("/api/v1/detections/export", {
      site: "Export yard", from: past(30), to: new Date().toISOString(), format: "csv", reason_code: "investigation"
    })
    expect(browse.status).toBe(200)
    expect(parse(await browse.text())).toHaveLength(4)

    // A reason, a format and an operator are required; nothing is audited for a refusal.
    const exports = async () => (await server.db.query("SELECT count(*)::int AS n FROM audit_log WHERE action = 'search.export'")).rows[0].n
    const before = await exports()
    const refused = await get("/api/v1/detections/export", { plate: "EXP001", format: "csv" })
    expect(refused.status).toBe(400)
    expect(((await refused.json()) as { message: string }).message).toMatch(/^reason_code is required: say why you export/)
    expect((await get("/api/v1/detections/export", { plate: "EXP001", format: "xls", reason_code: "investigation" })).status).toBe(400)
    expect((await get("/api/v1/detections/export", { plate: "EXP001", reason_code: "investigation" })).status).toBe(400)
    const viewer = await get("/api/v1/detections/export", { plate: "EXP001", format: "csv", reason_code: "investigation" }, {
      cookie: await server.session("viewer")
    })
    expect(viewer.status).toBe(403)
    expect(await exports()).toBe(before)
  })

  it("exports a search's reads as a PDF report with the count", async () => {
    const response = await get("/api/v1/detections/export", { plate: "EXP001", format: "pdf", reason_code: "training", case_number: "PDF-9" })
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("application/pdf")
    expect(response.headers.get("content-disposition")).toMatch(/filename="reads-EXP001-.*\.pdf"/)
    const bytes = Buffer.from(await response.arrayBuffer())
    expect(bytes.subarray(0, 5).toString()).toBe("%PDF-")
    expect(bytes.subarray(-8).toString()).toContain("%%EOF")
    expect(pdfText(bytes)).toMatch(/^Reads: \n3$/m)
    expect(pdfText(bytes)).toContain("training - case PDF-9")
    const { rows } = await server.db.query("SELECT details FROM audit_log WHERE action = 'search.export' ORDER BY id DESC LIMIT 1")
    expect(rows[0].details).toMatchObject({ format: "pdf", results: 3, reason_code: "training", case_number: "PDF-9" })
  })

  it("cuts an export at 10,000 reads and says so", async () => {
    // 10,001 reads of one plate, copied from one read by SQL: the batch endpoint takes 100 at a time.
    await server.db.query(`
      INSERT INTO detections (detection_id, collector_id, camera_id, detected_at, received_at, plate_text, plate, plate_ocr, confidence, raw)
      SELECT 'bulk-' || g, d.collector_id, d.camera_id, d.detected_at - g * interval '1 second', d.received_at, 'MANY1', 'MANY1', 'MANY1', 0.9, d.raw
        FROM (SELECT * FROM detections WHERE plate = 'EXP001' LIMIT 1) d, generate_series(1, 10001) g`)
    const response = await get("/api/v1/detections/export", { plate: "MANY1", format: "csv", reason_code: "investigation" })
    expect(response.status).toBe(200)
    expect(response.headers.get("x-export-reads")).toBe("10000")
    expect(response.headers.get("x-export-truncated")).toBe("true")
    const lines = parse(await response.text()) as Array<Array<string>>
    expect(lines).toHaveLength(10_001)
    expect(new Set(lines.slice(1).map((l) => l[0])).size).toBe(10_000)
    const { rows } = await server.db.query("SELECT details FROM audit_log WHERE action = 'search.export' ORDER BY id DESC LIMIT 1")
    expect(rows[0].details).toMatchObject({ results: 10_000, truncated: true })
  })

  it("suggests the filters' values: the cameras' sites and the reads' directions, types and colours", async () => {
    const response = await get("/api/v1/detections/suggestions", {})
    expect(response.status).toBe(200)
    const values = (await response.json()) as { sites: Array<string>; directions: Array<string>; vehicle_types: Array<string>; vehicle_colors: Array<string> }
    expect(values.sites).toEqual(expect.arrayContaining(["North gate", "Grove", "Export yard"]))
    expect(values.directions).toEqual(expect.arrayContaining(["in", "out"]))
    expect(values.directions).not.toContain("IN") // lower-cased: the filter is case-blind
    expect(values.vehicle_types).toEqual(expect.arrayContaining(["car", "truck"]))
    expect(values.vehicle_colors).toEqual(expect.arrayContaining(["blue", "red", "grey"]))
    expect((await get("/api/v1/detections/suggestions", {}, { cookie: await server.session("viewer") })).status).toBe(403)
    // the reads' values are kept for a while (SUGGESTIONS_TTL): a colour read since is not offered yet; sites are read afresh
    const fresh = await server.collector("Suggestions site")
    expect((await postBatch(server, fresh.apiKey, [detection({ vehicle: { direction: "in", type: "car", color: "chartreuse", make: "Kia" } })])).status).toBe(200)
    await server.db.query("UPDATE cameras SET site = 'Fresh site' WHERE collector_id = (SELECT id FROM collectors WHERE name = 'Suggestions site')")
    const again = (await (await get("/api/v1/detections/suggestions", {})).json()) as typeof values
    expect(again.vehicle_colors).not.toContain("chartreuse")
    expect(again.sites).toContain("Fresh site")
  })
})
