import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { detection, postBatch, startServer, type TestServer } from "./harness"

interface Item {
  id: string
  plate: string
  detected_at: string
  confidence: number
  direction: string | null
  vehicle_type: string | null
  vehicle_color: string | null
  camera: { id: string; external_id: string; site: string | null }
}
interface Page {
  items: Array<Item>
  next_cursor: string | null
}

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** The read of one event, as the server should give it back. */
interface Sent {
  readonly camera: "cam-a" | "cam-b"
  readonly at: string
  readonly plate: string
  readonly direction: string
  readonly type: string
  readonly color: string
  readonly confidence: number
}

describe("browsing reads without a plate, and one read by id", () => {
  let server: TestServer
  let apiKey: string
  let cookie: string
  const cameraId: Record<string, string> = {}
  // An hour of reads three hours back, at whole seconds (a Date compares them exactly).
  const start = Math.floor((Date.now() - 3 * HOUR) / 1000) * 1000
  const sent: Array<Sent> = []

  const ingest = async (events: ReadonlyArray<Sent>) => {
    const response = await postBatch(server, apiKey, events.map((e) =>
      detection({
        timestamp: e.at,
        camera: { id: e.camera, mac: e.camera === "cam-a" ? "AA:00:00:00:0A:01" : "AA:00:00:00:0B:01", name: e.camera },
        plate: { text: e.plate, confidence: e.confidence },
        vehicle: { direction: e.direction, type: e.type, color: e.color, make: "Ford" }
      })
    ))
    expect(response.status).toBe(200)
    expect(((await response.json()) as { accepted: number }).accepted).toBe(events.length)
  }

  const get = (path: string, params: Record<string, string | number>, headers: Record<string, string> = { cookie }) => {
    const query = new URLSearchParams({
      reason_code: "investigation",
      ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)]))
    })
    return fetch(`${server.url}${path}?${query}`, { headers })
  }
  const browse = async (params: Record<string, string | number>) => {
    const response = await get("/api/v1/detections", params)
    const text = await response.text()
    expect(response.status, text).toBe(200)
    return JSON.parse(text) as Page
  }
  /** Every page after the first, following the cursor. */
  const allPages = async (params: Record<string, string | number>) => {
    const pages: Array<Page> = []
    let cursor: string | null = null
    do {
      const page: Page = await browse({ ...params, ...(cursor === null ? {} : { cursor }) })
      pages.push(page)
      cursor = page.next_cursor
    } while (cursor !== null && pages.length < 50)
    return pages
  }
  const refusal = async (params: Record<string, string | number>) => {
    const response = await get("/api/v1/detections", params)
    const body = (await response.json()) as { message: string }
    expect(response.status, JSON.stringify(body)).toBe(400)
    return body.message
  }
  const iso = (ms: number) => new Date(ms).toISOString()
  /** The reads sent that match, newest first, as their times. */
  const expected = (keep: (e: Sent) => boolean) =>
    sent.filter(keep).map((e) => e.at).sort().reverse()
  const times = (items: ReadonlyArray<Item>) => items.map((i) => new Date(i.detected_at).toISOString())

  beforeAll(async () => {
    server = await startServer()
    apiKey = (await server.collector("Browse site")).apiKey
    cookie = await server.session("operator")
    // Two cameras, a read every 5 minutes for an hour each, offset by a minute; attributes vary with the index.
    for (const camera of ["cam-a", "cam-b"] as const) {
      for (let i = 0; i < 12; i++) {
        sent.push({
          camera,
          at: iso(start + i * 5 * MINUTE + (camera === "cam-b" ? MINUTE : 0)),
          plate: `BRW${camera === "cam-a" ? "A" : "B"}${String(i).padStart(2, "0")}`,
          direction: i % 2 === 0 ? "in" : "OUT",
          type: i % 3 === 0 ? "truck" : "car",
          color: i % 4 === 0 ? "Red" : "white",
          confidence: i % 5 === 0 ? 0.6 : 0.95
        })
      }
    }
    await ingest(sent)
    const { rows } = await server.db.query<{ id: string; external_id: string }>("SELECT id, external_id FROM cameras")
    for (const row of rows) cameraId[row.external_id] = row.id
    await server.db.query("UPDATE cameras SET site = 'Main St' WHERE external_id = 'cam-a'")
  })
  afterAll(() => server?.close())

  it("gives a camera's reads in a window, exactly and newest first, with the camera and its read's fields", async () => {
    const from = start + 10 * MINUTE
    const to = start + 40 * MINUTE
    const page = await browse({ camera: cameraId["cam-a"]!, from: iso(from), to: iso(to) })
    const want = expected((e) => e.camera === "cam-a" && e.at >= iso(from) && e.at < iso(to))
    expect(want).toHaveLength(6) // minutes 10, 15, ..., 35: `to` is not included
    expect(times(page.items)).toEqual(want)
    expect(page.next_cursor).toBeNull()
    expect(page.items.every((i) => i.camera.id === cameraId["cam-a"] && i.camera.site === "Main St")).toBe(true)
    const first = sent.find((e) => e.at === want[0])!
    expect(page.items[0]).toMatchObject({ plate: first.plate, direction: first.direction, vehicle_type: first.type })

    // `camera_id`, the plate search's name for the filter, is the same; a site names its cameras.
    expect(times((await browse({ camera_id: cameraId["cam-a"]!, from: iso(from), to: iso(to) })).items)).toEqual(want)
    expect(times((await browse({ site: "Main St", from: iso(from), to: iso(to) })).items)).toEqual(want)
    expect((await browse({ site: "Nowhere", from: iso(from), to: iso(to) })).items).toEqual([])
  })

  it("pages two cameras' reads with the cursor, newest first, without repeats or gaps", async () => {
    const params = { camera: `${cameraId["cam-a"]},${cameraId["cam-b"]}`, from: iso(start - HOUR), to: iso(start + 2 * HOUR), limit: 5 }
    const pages = await allPages(params)
    expect(pages).toHaveLength(5) // 24 reads, 5 a page
    const seen = pages.flatMap((p) => p.items)
    expect(new Set(seen.map((i) => i.id)).size).toBe(24)
    expect(times(seen)).toEqual(expected(() => true))
    // Cameras interleave in time: a page is the newest of both, not one camera after the other.
    expect(pages[0]!.items.map((i) => i.camera.external_id)).toEqual(["cam-b", "cam-a", "cam-b", "cam-a", "cam-b"])
  })

  it("applies direction, vehicle type and colour (case-blind) and the minimum confidence", async () => {
    const base = { camera: `${cameraId["cam-a"]},${cameraId["cam-b"]}`, from: iso(start), to: iso(start + HOUR), limit: 200 }
    const check = async (params: Record<string, string | number>, keep: (e: Sent) => boolean) => {
      const want = expected(keep)
      expect(want.length, JSON.stringify(params)).toBeGreaterThan(0)
      expect(want.length).toBeLessThan(sent.length)
      expect(times((await browse({ ...base, ...params })).items), JSON.stringify(params)).toEqual(want)
    }
    await check({ direction: "out" }, (e) => e.direction === "OUT")
    await check({ vehicle_type: "TRUCK" }, (e) => e.type === "truck")
    await check({ vehicle_color: "red" }, (e) => e.color === "Red")
    await check({ min_confidence: 0.9 }, (e) => e.confidence >= 0.9)
    await check(
      { direction: "in", vehicle_color: "white", min_confidence: 0.9 },
      (e) => e.direction === "in" && e.color === "white" && e.confidence >= 0.9
    )
  })

  it("refuses a browse without a camera or site, without a range, or over 31 days, saying why", async () => {
    const from = iso(start)
    const to = iso(start + HOUR)
    expect(await refusal({ from, to })).toMatch(/without a plate, name a camera .* or a site/)
    expect(await refusal({ direction: "in" })).toMatch(/without a plate, name a camera/)
    expect(await refusal({ camera: cameraId["cam-a"]!, from })).toMatch(/from and to are required/)
    expect(await refusal({ site: "Main St", to })).toMatch(/from and to are required/)
    expect(await refusal({ camera: cameraId["cam-a"]!, from: iso(start - 32 * DAY), to })).toMatch(/at most 31 days/)
    expect(await refusal({ camera: cameraId["cam-a"]!, from: to, to: from })).toMatch(/to must be after from/)
    expect(await refusal({ camera: "not-a-uuid", from, to })).toMatch(/camera|UUID/i)
    expect(await refusal({ plate: " ", camera: cameraId["cam-a"]!, from, to })).toMatch(/plate is blank/)
    // 31 days exactly is allowed.
    expect((await browse({ camera: cameraId["cam-a"]!, from: iso(start + HOUR - 31 * DAY), to })).items).toHaveLength(12)
  })

  it("is for operators and admins, as plate search is: a viewer is refused, no session is 401", async () => {
    const params = { camera: cameraId["cam-a"]!, from: iso(start), to: iso(start + HOUR) }
    expect((await get("/api/v1/detections", params, { cookie: await server.session("viewer") })).status).toBe(403)
    expect((await get("/api/v1/detections", params, {})).status).toBe(401)
    expect((await get("/api/v1/detections", params, { cookie: await server.session("admin") })).status).toBe(200)
    const id = (await browse(params)).items[0]!.id
    expect((await get(`/api/v1/detections/${id}`, {}, { cookie: await server.session("viewer") })).status).toBe(403)
    expect((await get(`/api/v1/detections/${id}`, {}, {})).status).toBe(401)
  })

  it("audits a browse with the camera or site and the range, and requires the reason code", async () => {
    const searches = async () => (await server.db.query("SELECT count(*)::int AS n FROM audit_log WHERE action = 'search'")).rows[0].n
    const before = await searches()
    const from = iso(start)
    const to = iso(start + 30 * MINUTE)
    const noCode = await fetch(
      `${server.url}/api/v1/detections?${new URLSearchParams({ camera: cameraId["cam-b"]!, from, to })}`,
      { headers: { cookie } }
    )
    expect(noCode.status).toBe(400)
    expect(((await noCode.json()) as { message: string }).message).toMatch(/^reason_code is required/)
    expect(await searches()).toBe(before)

    const page = await browse({ camera: cameraId["cam-b"]!, from, to, reason_code: "stolen_vehicle", case_number: "2026-42", direction: "in" })
    await browse({ site: "Main St", from, to, reason_code: "training" })
    const { rows } = await server.db.query(
      "SELECT action, target, reason, details, outcome FROM audit_log WHERE action = 'search' ORDER BY id DESC LIMIT 2"
    )
    expect(rows[1]).toMatchObject({
      action: "search",
      target: `camera:${cameraId["cam-b"]}`,
      outcome: "success",
      details: {
        mode: "browse",
        reason_code: "stolen_vehicle",
        case_number: "2026-42",
        filters: { camera_id: [cameraId["cam-b"]], from, to, direction: ["in"] },
        page: 1,
        results: page.items.length
      }
    })
    expect(rows[1].details).not.toHaveProperty("plate")
    expect(rows[0]).toMatchObject({ target: "site:Main St", details: { mode: "browse", filters: { site: ["Main St"], from, to } } })
  })

  it("gives one read by id as the search shows it, audited, and 404 for an id there is not", async () => {
    const page = await browse({ camera: cameraId["cam-a"]!, from: iso(start), to: iso(start + HOUR), limit: 3 })
    const item = page.items[1]!
    const response = await get(`/api/v1/detections/${item.id}`, { reason_code: "wanted_person" })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual(item)
    const { rows } = await server.db.query(
      "SELECT target, details FROM audit_log WHERE action = 'search' ORDER BY id DESC LIMIT 1"
    )
    expect(rows[0]).toMatchObject({ target: `detection:${item.id}`, details: { mode: "read", reason_code: "wanted_person", results: 1 } })

    const missing = await get("/api/v1/detections/999999999", {})
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as { message: string }).message).toMatch(/no read 999999999/)
    const noCode = await fetch(`${server.url}/api/v1/detections/${item.id}`, { headers: { cookie } })
    expect(noCode.status).toBe(400)
    expect((await get("/api/v1/detections/abc", {})).status).toBe(400)
  })

  it("finds every read of a range across a month boundary, newest first", async () => {
    const now = new Date()
    const boundary = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)
    const edge: Array<Sent> = [-25, -15, -5, -1, 1, 5, 15].map((minutes, i) => ({
      camera: "cam-b",
      at: iso(boundary + minutes * MINUTE),
      plate: `MBD${i}`,
      direction: "in",
      type: "car",
      color: "grey",
      confidence: 0.9
    }))
    await ingest(edge)
    sent.push(...edge)
    // The reads are in two months' partitions.
    const { rows } = await server.db.query<{ months: number }>(
      "SELECT count(DISTINCT tableoid)::int AS months FROM detections WHERE plate LIKE 'MBD%'"
    )
    expect(rows[0]!.months).toBe(2)
    const params = { camera: cameraId["cam-b"]!, from: iso(boundary - 20 * MINUTE), to: iso(boundary + 10 * MINUTE), limit: 2 }
    const seen = (await allPages(params)).flatMap((p) => p.items)
    expect(times(seen)).toEqual(expected((e) => e.camera === "cam-b" && e.at >= params.from && e.at < params.to))
    expect(seen.map((i) => i.plate)).toEqual(["MBD5", "MBD4", "MBD3", "MBD2", "MBD1"])
  })
})
