import { ocrKey } from "@chaverim/domain/Plate"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { detection, postBatch, type SignedIn, startServer, type TestServer } from "./harness"

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
/** Midnight UTC ten days ago: every planted read is at a fixed offset from it. */
const BASE = Math.floor(Date.now() / DAY) * DAY - 10 * DAY
const at = (day: number, hh: number, mm = 0, ss = 0) => new Date(BASE + day * DAY + hh * HOUR + mm * MINUTE + ss * 1000).toISOString()

const CAMERAS = {
  A: { id: "inv-a", mac: "AA:00:00:00:10:01", name: "Route 59 east", lat: 41.10, lon: -74.05 },
  B: { id: "inv-b", mac: "AA:00:00:00:10:02", name: "Maple Ave", lat: 41.12, lon: -74.05 },
  C: { id: "inv-c", mac: "AA:00:00:00:10:03", name: "College Rd", lat: 41.15, lon: -74.05 },
  D: { id: "inv-d", mac: "AA:00:00:00:10:04", name: "Thruway exit 24", lat: 42.50, lon: -74.05 }
} as const
type CameraKey = keyof typeof CAMERAS

/** The independent check of the server's distances. */
const haversine = (a: { lat: number; lon: number }, b: { lat: number; lon: number }) => {
  const rad = Math.PI / 180
  const h = Math.sin(((b.lat - a.lat) * rad) / 2) ** 2 +
    Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(((b.lon - a.lon) * rad) / 2) ** 2
  return 2 * 6_371_008.8 * Math.asin(Math.sqrt(h))
}

interface Timeline {
  plate: string
  total: number
  capped: boolean
  cap: number
  next_cursor: string | null
  cameras: Array<{
    camera: { id: string; name: string | null; lat: number | null }
    count: number
    first_seen: string
    last_seen: string
    sightings: Array<{ id: string; detected_at: string; location: { lat: number; lon: number } | null }>
  }>
  gaps: Array<{ from: string; to: string; seconds: number; from_camera_id: string; to_camera_id: string }>
  counts: Array<{ start: string; count: number }>
}
interface Leg {
  seconds: number
  distance_m: number | null
  speed_kmh: number | null
  implausible: boolean
}
interface Route {
  total: number
  trips: Array<{
    start: string
    end: string
    distance_m: number
    stops: Array<{ camera: { id: string }; reads: number; first_seen: string; last_seen: string; from_previous: Leg | null }>
  }>
  implausible: Array<{ from_camera_id: string; to_camera_id: string; speed_kmh: number; distance_m: number; at: string }>
}
interface Convoy {
  target_passes: number
  capped: boolean
  cap: number
  candidates: number
  items: Array<{
    plate: string
    score: number
    cameras: number
    occasions: number
    expected: number
    counted_days: number
    possible_misread: boolean
    per_camera: Array<{ camera: { id: string }; joint: number; target_passes: number; plate_passes: number; expected: number }>
    evidence: Array<{
      camera: { id: string; name: string | null }
      target: { id: string; detected_at: string }
      sighting: { id: string; detected_at: string }
      offset_s: number
    }>
  }>
}
interface MultiPlace {
  capped: boolean
  items: Array<{
    plate: string
    places: Array<{ place: number; count: number; sightings: Array<{ detected_at: string; camera: { id: string } }> }>
  }>
}

describe("investigating a plate", () => {
  let server: TestServer
  let apiKey: string
  let operator: SignedIn
  const camera: Record<CameraKey, string> = { A: "", B: "", C: "", D: "" }

  /** A read at a camera; its own location is left out so that the camera's counts. */
  const read = (text: string, cam: CameraKey, timestamp: string) => {
    const { lat: _lat, lon: _lon, ...ref } = CAMERAS[cam]
    const event: Record<string, unknown> = detection({ timestamp, camera: ref, plate: { text, confidence: 0.9 } })
    delete event.location
    return event
  }
  const ingest = async (events: ReadonlyArray<Record<string, unknown>>) => {
    for (let i = 0; i < events.length; i += 100) {
      const response = await postBatch(server, apiKey, events.slice(i, i + 100))
      const body = (await response.json()) as { accepted: number; errors: unknown }
      expect(response.status, JSON.stringify(body)).toBe(200)
      expect(body.accepted, JSON.stringify(body.errors)).toBe(Math.min(100, events.length - i))
    }
  }
  const get = (path: string, params: Record<string, string | number>, headers: Record<string, string> = { cookie: operator.cookie }) =>
    fetch(
      `${server.url}${path}?${new URLSearchParams({ reason_code: "investigation", reason: "case 2026-311", ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])) })}`,
      { headers }
    )
  const ok = async <A>(path: string, params: Record<string, string | number>): Promise<A> => {
    const response = await get(path, params)
    const text = await response.text()
    expect(response.status, text).toBe(200)
    return JSON.parse(text) as A
  }
  const multiPlace = (body: unknown, who: SignedIn = operator, csrf = true) =>
    fetch(`${server.url}/api/v1/investigations/multi-place`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: who.cookie, ...(csrf ? { "x-csrf-token": who.csrf } : {}) },
      body: JSON.stringify(body)
    })
  const idsOf = async (plate: string) =>
    (await server.db.query<{ id: string; detected_at: Date }>(
      "SELECT id::text AS id, detected_at FROM detections WHERE plate = $1 ORDER BY detected_at, id",
      [plate]
    )).rows

  beforeAll(async () => {
    server = await startServer()
    apiKey = (await server.collector("Investigation site")).apiKey
    operator = await server.signIn("operator")
    await ingest((Object.keys(CAMERAS) as Array<CameraKey>).map((k) => read("SETUP0", k, at(-20, 0))))
    for (const k of Object.keys(CAMERAS) as Array<CameraKey>) {
      const { rows } = await server.db.query<{ id: string }>(
        "UPDATE cameras SET lat = $1, lon = $2 WHERE external_id = $3 RETURNING id",
        [CAMERAS[k].lat, CAMERAS[k].lon, CAMERAS[k].id]
      )
      camera[k] = rows[0]!.id
    }
  })
  afterAll(() => server?.close())

  describe("timeline", () => {
    beforeAll(async () => {
      await ingest([
        read("TL-N 100", "A", at(0, 10)),
        read("TL-N 100", "B", at(0, 10, 10)),
        read("TL-N 100", "C", at(0, 10, 20)),
        read("TL-N 100", "A", at(0, 14)),
        read("TL-N 100", "B", at(1, 9)),
        read("TL-N 100", "C", at(2, 9)),
        read("TL-N 100", "C", at(2, 9, 0, 20)),
        // outside the range asked for, and another plate
        read("TL-N 100", "D", at(3, 0, 0, 1)),
        read("TL-N 100", "D", at(-1, 23, 59)),
        read("TLN101", "A", at(0, 12, 30))
      ])
    })

    it("lists every read in the range by camera, with exact gaps and counts per day and hour", async () => {
      const timeline = await ok<Timeline>("/api/v1/plates/tl-n%20100/timeline", { from: at(0, 0), to: at(3, 0) })
      expect(timeline.plate).toBe("TLN100")
      expect(timeline.total).toBe(7)
      expect(timeline.capped).toBe(false)
      expect(timeline.cameras.map((c) => [c.camera.id, c.count, c.first_seen, c.last_seen])).toEqual([
        [camera.A, 2, at(0, 10), at(0, 14)],
        [camera.B, 2, at(0, 10, 10), at(1, 9)],
        [camera.C, 3, at(0, 10, 20), at(2, 9, 0, 20)]
      ])
      expect(timeline.cameras[2]!.sightings.map((s) => s.detected_at)).toEqual([at(0, 10, 20), at(2, 9), at(2, 9, 0, 20)])
      expect(timeline.cameras[0]!.sightings[0]!.location).toEqual({ lat: CAMERAS.A.lat, lon: CAMERAS.A.lon })
      expect(timeline.gaps).toEqual([
        { from: at(1, 9), to: at(2, 9), seconds: 86_400, from_camera_id: camera.B, to_camera_id: camera.C },
        { from: at(0, 14), to: at(1, 9), seconds: 68_400, from_camera_id: camera.A, to_camera_id: camera.B },
        { from: at(0, 10, 20), to: at(0, 14), seconds: 13_200, from_camera_id: camera.C, to_camera_id: camera.A }
      ])
      expect(timeline.counts).toEqual([
        { start: at(0, 0), count: 4 },
        { start: at(1, 0), count: 1 },
        { start: at(2, 0), count: 2 }
      ])

      const hourly = await ok<Timeline>("/api/v1/plates/TLN100/timeline", {
        from: at(0, 0),
        to: at(3, 0),
        bucket: "hour",
        min_gap_minutes: 20 * 60
      })
      expect(hourly.counts).toEqual([
        { start: at(0, 10), count: 3 },
        { start: at(0, 14), count: 1 },
        { start: at(1, 9), count: 1 },
        { start: at(2, 9), count: 2 }
      ])
      expect(hourly.gaps.map((g) => g.seconds)).toEqual([86_400])
    })

    it("is audited with the plate, the parameters, the reason code, the case number and the reason", async () => {
      await ok("/api/v1/plates/TLN100/timeline", {
        from: at(0, 0),
        to: at(3, 0),
        reason_code: "stolen_vehicle",
        case_number: "PD-2026-0311",
        reason: "burglary 14 Elm St"
      })
      const { rows } = await server.db.query(
        "SELECT actor_username, action, target, reason, details FROM audit_log WHERE action = 'investigate.timeline' ORDER BY id DESC LIMIT 1"
      )
      expect(rows[0]).toMatchObject({
        actor_username: operator.username,
        target: "plate:TLN100",
        reason: "burglary 14 Elm St",
        details: {
          reason_code: "stolen_vehicle",
          case_number: "PD-2026-0311",
          plate: "TLN100",
          from: at(0, 0),
          to: at(3, 0),
          bucket: "day",
          results: 7
        }
      })
    })

    it("gives cameras and per-camera sightings for the map", async () => {
      const map = await ok<{ total: number; cameras: Array<{ camera: { id: string }; location: unknown; count: number; first_seen: string | null; last_seen: string | null }> }>(
        "/api/v1/plates/TLN100/map",
        { from: at(0, 0), to: at(3, 0) }
      )
      expect(map.total).toBe(7)
      expect(map.cameras.map((c) => [c.camera.id, c.count, c.first_seen, c.last_seen])).toEqual([
        [camera.C, 3, at(0, 10, 20), at(2, 9, 0, 20)],
        // equal counts by camera name: Maple Ave, Route 59 east
        [camera.B, 2, at(0, 10, 10), at(1, 9)],
        [camera.A, 2, at(0, 10), at(0, 14)],
        [camera.D, 0, null, null]
      ])
      expect(map.cameras[0]!.location).toEqual({ lat: CAMERAS.C.lat, lon: CAMERAS.C.lon })
      const { rows } = await server.db.query("SELECT count(*)::int AS n FROM audit_log WHERE action = 'investigate.map' AND target = 'plate:TLN100'")
      expect(rows[0]!.n).toBe(1)
    })

    it("pages the list of a busy plate but counts every read, and answers fast", async () => {
      // 5,200 reads over 25 days, written directly: the ingest path is not what is measured here.
      await server.db.query(
        `INSERT INTO detections (collector_id, detection_id, camera_id, detected_at, plate_text, plate, plate_ocr, confidence, raw)
         SELECT c.collector_id, 'busy-' || g, c.id, $1::timestamptz + g * interval '7 minutes', 'BUSY 1', 'BUSY1', $2, 0.9, '{}'::jsonb
           FROM generate_series(1, 5200) g
           JOIN cameras c ON c.id = ($3::uuid[])[1 + g % 3]`,
        [at(-30, 0), ocrKey("BUSY1"), [camera.A, camera.B, camera.C]]
      )
      await server.db.query("ANALYZE detections")
      const params = { from: at(-31, 0), to: at(0, 0), bucket: "hour" }
      const first = await ok<Timeline>("/api/v1/plates/BUSY1/timeline", params)
      expect([first.cap, first.capped]).toEqual([500, true])
      expect(first.cameras.reduce((n, c) => n + c.sightings.length, 0)).toBe(500)
      const started = performance.now()
      const timeline = await ok<Timeline>("/api/v1/plates/BUSY1/timeline", { ...params, limit: "5000" })
      const elapsed = performance.now() - started
      expect(timeline.total).toBe(5_200)
      expect(timeline.capped).toBe(true)
      expect(timeline.cameras.reduce((n, c) => n + c.sightings.length, 0)).toBe(5_000)
      // The older ones follow on the next page, none twice; the figures are over all reads on every page.
      const rest = await ok<Timeline>("/api/v1/plates/BUSY1/timeline", { ...params, limit: "5000", cursor: timeline.next_cursor! })
      expect([rest.capped, rest.next_cursor, rest.total]).toEqual([false, null, 5_200])
      const ids = [timeline, rest].flatMap((t) => t.cameras.flatMap((c) => c.sightings.map((s) => s.id)))
      expect(new Set(ids).size).toBe(5_200)
      expect(timeline.cameras.reduce((n, c) => n + c.count, 0)).toBe(5_200)
      expect(timeline.counts.reduce((n, b) => n + b.count, 0)).toBe(5_200)
      // The newest are listed.
      expect(timeline.cameras.flatMap((c) => c.sightings).map((s) => s.detected_at).sort()[0]).toBe(
        new Date(Date.parse(at(-30, 0)) + 201 * 7 * MINUTE).toISOString()
      )
      console.log(`timeline of a plate with 5,200 reads: ${elapsed.toFixed(1)} ms over HTTP`)
      expect(elapsed).toBeLessThan(1_000)
    })
  })

  describe("route", () => {
    beforeAll(async () => {
      await ingest([
        read("RTE200", "A", at(0, 8)),
        read("RTE200", "A", at(0, 8, 0, 10)),
        read("RTE200", "B", at(0, 8, 3)),
        read("RTE200", "C", at(0, 8, 8)),
        // two hours later: a new trip, starting where the last one ended
        read("RTE200", "C", at(0, 10, 8)),
        read("RTE200", "A", at(0, 10, 15)),
        // 155 km in ten minutes: not one car
        read("RTE200", "D", at(0, 10, 25))
      ])
    })

    it("collapses reads at one camera, splits trips at the gap, and flags an impossible jump", async () => {
      const route = await ok<Route>("/api/v1/plates/RTE200/route", { from: at(0, 0), to: at(1, 0) })
      expect(route.total).toBe(7)
      expect(route.trips.map((t) => t.stops.map((s) => [s.camera.id, s.reads]))).toEqual([
        [[camera.A, 2], [camera.B, 1], [camera.C, 1]],
        [[camera.C, 1], [camera.A, 1], [camera.D, 1]]
      ])
      const [first, second] = route.trips
      expect([first!.start, first!.end, second!.start, second!.end]).toEqual([at(0, 8), at(0, 8, 8), at(0, 10, 8), at(0, 10, 25)])

      const ab = haversine(CAMERAS.A, CAMERAS.B)
      const bc = haversine(CAMERAS.B, CAMERAS.C)
      const ca = haversine(CAMERAS.C, CAMERAS.A)
      const ad = haversine(CAMERAS.A, CAMERAS.D)
      expect(first!.stops[0]!.from_previous).toBeNull()
      // From the last read at A (08:00:10) to B (08:03:00).
      expect(first!.stops[1]!.from_previous).toMatchObject({ seconds: 170, distance_m: Math.round(ab), implausible: false })
      expect(first!.stops[1]!.from_previous!.speed_kmh).toBeCloseTo((ab / 170) * 3.6, 1)
      expect(first!.stops[2]!.from_previous!.speed_kmh).toBeCloseTo((bc / 300) * 3.6, 1)
      expect(first!.distance_m).toBe(Math.round(ab + bc))
      // The leg between the trips is judged too.
      expect(second!.stops[0]!.from_previous).toMatchObject({ seconds: 7_200, distance_m: 0, speed_kmh: 0, implausible: false })
      expect(second!.stops[1]!.from_previous!.speed_kmh).toBeCloseTo((ca / 420) * 3.6, 1)
      expect(second!.stops[2]!.from_previous).toMatchObject({ seconds: 600, distance_m: Math.round(ad), implausible: true })
      expect(second!.stops[2]!.from_previous!.speed_kmh).toBeCloseTo((ad / 600) * 3.6, 1)
      expect(route.implausible).toEqual([
        expect.objectContaining({ from_camera_id: camera.A, to_camera_id: camera.D, at: at(0, 10, 25), distance_m: Math.round(ad) })
      ])
    })

    it("follows trip_gap_minutes and max_speed_kmh", async () => {
      const oneTrip = await ok<Route>("/api/v1/plates/RTE200/route", { from: at(0, 0), to: at(1, 0), trip_gap_minutes: 180 })
      expect(oneTrip.trips).toHaveLength(1)
      // Reads at C two hours apart with nothing between are one stop when the gap allows it.
      expect(oneTrip.trips[0]!.stops.map((s) => [s.camera.id, s.reads])).toEqual([
        [camera.A, 2], [camera.B, 1], [camera.C, 2], [camera.A, 1], [camera.D, 1]
      ])
      const fast = await ok<Route>("/api/v1/plates/RTE200/route", { from: at(0, 0), to: at(1, 0), max_speed_kmh: 1_000 })
      expect(fast.implausible).toEqual([])
      const { rows } = await server.db.query(
        "SELECT details FROM audit_log WHERE action = 'investigate.route' ORDER BY id DESC LIMIT 1"
      )
      expect(rows[0]!.details).toMatchObject({ plate: "RTE200", max_speed_kmh: 1_000, trip_gap_minutes: 30, trips: 2, implausible: 0 })
    })
  })

  describe("convoy", () => {
    const TARGET = "CNV300"
    beforeAll(async () => {
      const events: Array<Record<string, unknown>> = [
        // The target: through A, B and C on the first day, then past A (its home street) each day.
        read(TARGET, "A", at(0, 12)),
        read(TARGET, "B", at(0, 12, 20)),
        read(TARGET, "C", at(0, 12, 40)),
        read(TARGET, "A", at(1, 12)),
        read(TARGET, "A", at(2, 12)),
        // Travels with it: seen only with it, at three cameras.
        read("FOL777", "A", at(0, 12, 0, 20)),
        read("FOL777", "B", at(0, 12, 20, 15)),
        read("FOL777", "C", at(0, 12, 39, 50)),
        // With it at two cameras.
        read("FOL222", "A", at(0, 11, 59, 15)),
        read("FOL222", "B", at(0, 12, 20, 50)),
        // A misread of the target itself (same OCR key) is not a companion.
        read("CNV3OO", "A", at(0, 12, 0, 1)),
        read("CNV3OO", "B", at(0, 12, 20, 1)),
        // Near, but outside the window.
        read("FAR999", "A", at(0, 12, 2)),
        read("FAR999", "B", at(0, 12, 22))
      ]
      for (let k = 0; k < 3 * 24 * 6; k++) {
        const minute = k * 10
        // Local cars, read every ten minutes all day at one camera, within the window of the target there.
        events.push(read("LOCALA1", "A", new Date(BASE + minute * MINUTE + 25_000).toISOString()))
        events.push(read("LOCALB1", "B", new Date(BASE + minute * MINUTE + 45_000).toISOString()))
      }
      for (let k = 0; k < 3 * 24 * 2; k++) {
        // A shuttle past A, B and C every half hour, each time the target passed too.
        const t = BASE + k * 30 * MINUTE
        events.push(read("SHUTL1", "A", new Date(t + 40_000).toISOString()))
        events.push(read("SHUTL1", "B", new Date(t + 20 * MINUTE + 40_000).toISOString()))
        events.push(read("SHUTL1", "C", new Date(t + 40 * MINUTE + 10_000).toISOString()))
      }
      await ingest(events)
    })
    const range = { from: at(0, 0), to: at(3, 0) }

    it("ranks the plate that travels with the target first, above frequent local plates", async () => {
      const convoy = await ok<Convoy>(`/api/v1/plates/${TARGET}/convoy`, { ...range, min_cameras: 1 })
      expect(convoy.target_passes).toBe(5)
      const plates = convoy.items.map((i) => i.plate)
      expect(plates[0]).toBe("FOL777")
      expect(plates).toEqual(["FOL777", "FOL222", "SHUTL1", "LOCALA1", "LOCALB1"])
      expect(plates).not.toContain("CNV3OO")
      expect(plates).not.toContain("FAR999")

      const [follower] = convoy.items
      expect(follower).toMatchObject({ cameras: 3, occasions: 3, possible_misread: false, counted_days: 3 })
      // Seen once at each camera in three days: at each of the target's five passes the chance of it passing
      // within +/- 60 s is 1 - exp(-(1 + 0.5) / 3 days * 120 s); three joint sightings when 0.00347 were due.
      expect(follower!.expected).toBeCloseTo(0.003471, 6)
      expect(follower!.score).toBeCloseTo(18.784, 2)
      const targets = await idsOf(TARGET)
      const theirs = await idsOf("FOL777")
      expect(follower!.evidence.map((e) => [e.camera.id, e.target.id, e.target.detected_at, e.sighting.id, e.sighting.detected_at, e.offset_s])).toEqual([
        [camera.A, targets[0]!.id, at(0, 12), theirs[0]!.id, at(0, 12, 0, 20), 20],
        [camera.B, targets[1]!.id, at(0, 12, 20), theirs[1]!.id, at(0, 12, 20, 15), 15],
        [camera.C, targets[2]!.id, at(0, 12, 40), theirs[2]!.id, at(0, 12, 39, 50), -10]
      ])
      // The local car was with the target every time it passed A: three of three, but it is there all day.
      const local = convoy.items.find((i) => i.plate === "LOCALA1")!
      expect(local.per_camera).toEqual([expect.objectContaining({ camera: expect.objectContaining({ id: camera.A }), joint: 3, target_passes: 3, plate_passes: 100 })])
      // Read more than 100 times: its rate is counted over its newest 100 reads, 999 minutes 35 seconds.
      expect(local.counted_days).toBeCloseTo(0.694, 3)
      const shuttle = convoy.items.find((i) => i.plate === "SHUTL1")!
      expect(shuttle).toMatchObject({ cameras: 3, occasions: 5 })
      expect(follower!.score).toBeGreaterThan(shuttle.score)
      expect(shuttle.score).toBeGreaterThan(local.score)
    })

    it("keeps to min_cameras, the window and the limit", async () => {
      const two = await ok<Convoy>(`/api/v1/plates/${TARGET}/convoy`, range)
      expect(two.items.map((i) => i.plate)).toEqual(["FOL777", "FOL222", "SHUTL1"])
      const three = await ok<Convoy>(`/api/v1/plates/${TARGET}/convoy`, { ...range, min_cameras: 3, limit: 1 })
      expect(three.candidates).toBe(2)
      expect(three.items.map((i) => i.plate)).toEqual(["FOL777"])
      const wide = await ok<Convoy>(`/api/v1/plates/${TARGET}/convoy`, { ...range, window_s: 150 })
      expect(wide.items.map((i) => i.plate)).toContain("FAR999")
      const { rows } = await server.db.query(
        "SELECT target, reason, details FROM audit_log WHERE action = 'investigate.convoy' ORDER BY id DESC LIMIT 1"
      )
      expect(rows[0]).toMatchObject({ target: `plate:${TARGET}`, reason: "case 2026-311", details: { window_s: 150, min_cameras: 2 } })
    })

    it("flags a plate one character from the target as a possible misread", async () => {
      await ingest([read("CNV301", "A", at(0, 12, 0, 2)), read("CNV301", "B", at(0, 12, 20, 2))])
      const convoy = await ok<Convoy>(`/api/v1/plates/${TARGET}/convoy`, range)
      expect(convoy.items.find((i) => i.plate === "CNV301")).toMatchObject({ possible_misread: true, cameras: 2 })
    })

    it("searches around the newest 2,000 reads of a busy target, and says so", async () => {
      const convoy = await ok<Convoy>("/api/v1/plates/BUSY1/convoy", { from: at(-30, 0), to: at(0, 0), min_cameras: 1 })
      expect(convoy).toMatchObject({ target_passes: 2_000, capped: true, cap: 2_000 })
    })
  })

  describe("multi-place", () => {
    const places = () => [
      { camera_ids: [camera.A], from: at(5, 1), to: at(5, 2) },
      { camera_ids: [camera.B, camera.C], from: at(6, 3), to: at(6, 4) },
      { camera_ids: [camera.D], from: at(7, 5), to: at(7, 6) }
    ]
    beforeAll(async () => {
      await ingest([
        read("MPX111", "A", at(5, 1, 10)),
        read("MPX111", "C", at(6, 3, 30)),
        read("MPX111", "D", at(7, 5, 5)),
        read("MPX111", "D", at(7, 5, 50)),
        read("MPY222", "A", at(5, 1, 20)),
        read("MPY222", "B", at(6, 3, 40)),
        read("MPZ333", "A", at(5, 2, 30)),
        read("MPZ333", "B", at(6, 3, 45)),
        read("MPZ333", "D", at(7, 5, 15))
      ])
    })

    it("finds the plate seen at every incident, and not those at some", async () => {
      const response = await multiPlace({ places: places(), reason_code: "wanted_person", case_number: "2026-77", reason: "three break-ins" })
      const text = await response.text()
      expect(response.status, text).toBe(200)
      const result = JSON.parse(text) as MultiPlace
      expect(result.capped).toBe(false)
      expect(result.items.map((i) => i.plate)).toEqual(["MPX111"])
      expect(result.items[0]!.places.map((p) => [p.place, p.count, p.sightings.map((s) => [s.camera.id, s.detected_at])])).toEqual([
        [0, 1, [[camera.A, at(5, 1, 10)]]],
        [1, 1, [[camera.C, at(6, 3, 30)]]],
        [2, 2, [[camera.D, at(7, 5, 5)], [camera.D, at(7, 5, 50)]]]
      ])

      const two = (await (await multiPlace({ places: places().slice(0, 2), reason_code: "investigation", reason: "two of them" })).json()) as MultiPlace
      expect(two.items.map((i) => i.plate)).toEqual(["MPX111", "MPY222"])
      const { rows } = await server.db.query(
        "SELECT reason, details FROM audit_log WHERE action = 'investigate.multi_place' ORDER BY id LIMIT 1"
      )
      expect(rows[0]).toMatchObject({
        reason: "three break-ins",
        details: { reason_code: "wanted_person", case_number: "2026-77", results: 1, plates: ["MPX111"] }
      })
      expect(rows[0]!.details.places).toHaveLength(3)
    })

    it("refuses bad requests clearly, a missing CSRF token and viewers", async () => {
      for (const body of [
        { places: places().slice(0, 1), reason_code: "investigation", reason: "x" },
        { places: places() },
        { places: [...places(), { camera_ids: [], from: at(5, 1), to: at(5, 2) }], reason_code: "investigation", reason: "x" },
        { places: [...places(), { camera_ids: ["not-a-uuid"], from: at(5, 1), to: at(5, 2) }], reason_code: "investigation", reason: "x" },
        { places: [...places(), { camera_ids: ["00000000-0000-4000-8000-000000000009"], from: at(5, 1), to: at(5, 2) }], reason_code: "investigation", reason: "x" },
        { places: [...places(), { camera_ids: [camera.A], from: at(5, 2), to: at(5, 1) }], reason_code: "investigation", reason: "x" },
        { places: [...places(), { camera_ids: [camera.A], from: at(0, 0), to: at(9, 0) }], reason_code: "investigation", reason: "x" },
        { places: [...places(), { camera_ids: [camera.A], from: "yesterday", to: at(5, 1) }], reason_code: "investigation", reason: "x" },
        { places: Array.from({ length: 11 }, () => places()[0]), reason_code: "investigation", reason: "x" }
      ]) {
        const response = await multiPlace(body)
        const text = await response.text()
        expect(response.status, `${JSON.stringify(body)}: ${text}`).toBe(400)
        expect(text).toMatch(/"message"/)
      }
      const unknown = await multiPlace({ places: [...places(), { camera_ids: ["00000000-0000-4000-8000-000000000009"], from: at(5, 1), to: at(5, 2) }], reason_code: "investigation", reason: "x" })
      expect(((await unknown.json()) as { message: string }).message).toMatch(/no such camera: 00000000-0000-4000-8000-000000000009/)
      expect((await multiPlace({ places: places(), reason_code: "investigation", reason: "x" }, operator, false)).status).toBe(403)
      expect((await multiPlace({ places: places(), reason_code: "investigation", reason: "x" }, await server.signIn("viewer"))).status).toBe(403)
    })
  })

  it("answers bad parameters with clear 400s", async () => {
    const cases: Array<[string, Record<string, string | number>, RegExp]> = [
      ["/api/v1/plates/TLN100/timeline", { bucket: "week" }, /bucket/],
      ["/api/v1/plates/TLN100/timeline", { from: "yesterday" }, /ISO 8601/],
      ["/api/v1/plates/TLN100/timeline", { from: at(2, 0), to: at(1, 0) }, /from must be before to/],
      ["/api/v1/plates/TLN100/timeline", { from: at(-400, 0), to: at(1, 0) }, /366 days/],
      ["/api/v1/plates/TLN100/timeline", { min_gap_minutes: 0 }, /min_gap_minutes/],
      ["/api/v1/plates/TLN100/map", { to: "soon" }, /ISO 8601/],
      ["/api/v1/plates/RTE200/route", { trip_gap_minutes: -1 }, /trip_gap_minutes/],
      ["/api/v1/plates/RTE200/route", { max_speed_kmh: "fast" }, /max_speed_kmh/],
      ["/api/v1/plates/CNV300/convoy", { window_s: 0 }, /window_s/],
      ["/api/v1/plates/CNV300/convoy", { window_s: 2.5 }, /window_s/],
      ["/api/v1/plates/CNV300/convoy", { min_cameras: 0 }, /min_cameras/],
      ["/api/v1/plates/CNV300/convoy", { limit: 1_000 }, /limit/],
      ["/api/v1/plates/CNV300/convoy", { from: at(-40, 0), to: at(0, 0) }, /31 days/],
      ["/api/v1/plates/-.-/timeline", {}, /letters or digits/],
      [`/api/v1/plates/${"X".repeat(40)}/route`, {}, /32 characters/],
      ["/api/v1/plates/TLN100/timeline", { reason_code: "" }, /reason_code is required: say why you investigate .*one of: .*stolen_vehicle/],
      ["/api/v1/plates/TLN100/map", { reason_code: " " }, /reason_code is required/],
      ["/api/v1/plates/RTE200/route", { reason_code: "hunch" }, /reason_code \\"hunch\\" is not a reason code; use one of: .*missing_person/],
      ["/api/v1/plates/CNV300/convoy", { reason_code: "audit", case_number: "a\tb" }, /case_number is at most 64 printable/]
    ]
    for (const [path, params, message] of cases) {
      const response = await get(path, params)
      const body = await response.text()
      expect(response.status, `${path} ${JSON.stringify(params)}: ${body}`).toBe(400)
      expect(body, `${path} ${JSON.stringify(params)}`).toMatch(message)
    }
  })

  it("is for operators and admins: a viewer is refused, no session is 401", async () => {
    const viewer = await server.signIn("viewer")
    const admin = await server.signIn("admin")
    for (const kind of ["timeline", "map", "route", "convoy"]) {
      const path = `/api/v1/plates/TLN100/${kind}`
      expect((await get(path, {}, { cookie: viewer.cookie })).status, kind).toBe(403)
      expect((await get(path, {}, {})).status, kind).toBe(401)
      expect((await get(path, {}, { cookie: admin.cookie })).status, kind).toBe(200)
    }
  })
})
