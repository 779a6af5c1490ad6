import type { ReadsStats, SummaryStats } from "@chaverim/domain/Stats"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { confusionsOf } from "../../../packages/server/src/stats/Stats"
import { detection, postBatch, type SignedIn, startServer, type TestServer } from "./harness"

const DAY = 86_400_000

describe("the confusions a correction shows", () => {
  it("aligns the read with the plate as it is: substitutions, and a character missed or added", () => {
    expect(confusionsOf("AB0123", "ABO123")).toEqual([{ read: "0", actual: "O" }])
    expect(confusionsOf("8XY5", "BXYS")).toEqual([{ read: "8", actual: "B" }, { read: "5", actual: "S" }])
    expect(confusionsOf("AB123", "AB1234")).toEqual([{ read: "", actual: "4" }])
    expect(confusionsOf("ABC1123", "ABC123")).toHaveLength(1)
    expect(confusionsOf("SAME1", "SAME1")).toEqual([])
  })
})

describe("stats for admins and operators", () => {
  let server: TestServer
  let operator: SignedIn
  let admin: SignedIn
  let cameraA: string
  let cameraB: string
  const now = Date.now()
  // Whole days before today (UTC), so that the reads fall in two known days.
  const dayStart = Math.floor(now / DAY) * DAY
  const from = new Date(dayStart - 2 * DAY).toISOString()
  const to = new Date(dayStart).toISOString()

  const get = (path: string, who: SignedIn) => fetch(`${server.url}${path}`, { headers: { cookie: who.cookie } })
  const stats = async <A>(path: string, params: Record<string, string>, who: SignedIn = operator) => {
    const response = await get(`${path}?${new URLSearchParams(params)}`, who)
    expect(response.status, await response.clone().text()).toBe(200)
    return (await response.json()) as A
  }

  beforeAll(async () => {
    server = await startServer()
    operator = await server.signIn("operator")
    admin = await server.signIn("admin")
    const { apiKey } = await server.collector("Stats site")
    const camA = { id: "cam-a", mac: "AA:00:00:00:00:0A", name: "Gate A" }
    const camB = { id: "cam-b", mac: "AA:00:00:00:00:0B", name: "Gate B" }
    const at = (day: number, hour: number) => new Date(dayStart - (2 - day) * DAY + hour * 3_600_000).toISOString()
    // Day 0: camera A reads RPT1 (high), AB0123 (high), LOW1 (0.4); camera B reads RPT1 (0.95).
    // Day 1: camera A reads RPT1 again (a repeat plate) and BAD1 (0.55).
    const events = [
      detection({ camera: camA, timestamp: at(0, 1), plate: { text: "RPT1", confidence: 0.91 } }),
      detection({ camera: camA, timestamp: at(0, 2), plate: { text: "AB0123", confidence: 0.88 } }),
      detection({ camera: camA, timestamp: at(0, 3), plate: { text: "LOW1", confidence: 0.4 } }),
      detection({ camera: camB, timestamp: at(0, 4), plate: { text: "RPT1", confidence: 0.95 } }),
      detection({ camera: camA, timestamp: at(1, 5), plate: { text: "RPT1", confidence: 0.93 } }),
      detection({ camera: camA, timestamp: at(1, 6), plate: { text: "BAD1", confidence: 0.55 } })
    ]
    const response = await postBatch(server, apiKey, events)
    expect(response.status).toBe(200)
    const ids = new Map((await server.db.query<{ plate: string; id: string; camera: string; ext: string }>(
      "SELECT d.plate, d.id::text AS id, d.camera_id::text AS camera, k.external_id AS ext FROM detections d JOIN cameras k ON k.id = d.camera_id"
    )).rows.map((r) => [`${r.plate}@${r.ext}@${r.id}`, r]))
    const idOf = (plate: string) => [...ids.values()].find((r) => r.plate === plate)!.id
    cameraA = [...ids.values()].find((r) => r.ext === "cam-a")!.camera
    cameraB = [...ids.values()].find((r) => r.ext === "cam-b")!.camera
    // People checked three of camera A's reads: AB0123 was ABO123, BAD1 was no plate, LOW1 was right.
    const correct = async (id: string, body: object) => {
      const answer = await fetch(`${server.url}/api/v1/detections/${id}/corrections`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie: operator.cookie, "x-csrf-token": operator.csrf },
        body: JSON.stringify(body)
      })
      expect(answer.status, await answer.clone().text()).toBe(201)
    }
    await correct(idOf("AB0123"), { action: "correct", plate: "ABO123" })
    await correct(idOf("BAD1"), { action: "reject" })
    await correct(idOf("LOW1"), { action: "confirm" })
    // Alerts on two lists: a shared one, and another operator's private one.
    const other = await server.signIn("operator")
    const { rows: lists } = await server.db.query<{ id: string }>(
      `INSERT INTO watchlists (name, category, shared, owner_id) VALUES ('Shared bolo', 'bolo', true, NULL), ('Private list', 'stolen', false, $1)
       RETURNING id::text`, [other.userId])
    const rpt = [...ids.values()].find((r) => r.plate === "RPT1")!.id
    for (const [list, when] of [[lists[0]!.id, at(0, 1)], [lists[0]!.id, at(1, 5)], [lists[1]!.id, at(0, 1)]] as const) {
      await server.db.query(
        `INSERT INTO alerts (watchlist_id, plate, detection_id, last_detection_id, first_seen_at, last_seen_at)
         VALUES ($1, 'RPT1', $2, $2, $3, $3)`, [list, rpt, when])
    }
  }, 60_000)
  afterAll(() => server?.close())

  it("counts reads per camera by day and by hour, with low-confidence reads and unique plates", async () => {
    const days = await stats<ReadsStats>("/api/v1/stats/reads", { from, to, bucket: "day" })
    expect(days.cameras.map((c) => c.name)).toEqual(["Gate A", "Gate B"])
    // Ordered by time, then camera id.
    expect(days.buckets).toHaveLength(3)
    expect(days.buckets).toEqual(expect.arrayContaining([
      { at: from, camera_id: cameraA, reads: 3, low_confidence: 1, unique_plates: 3 },
      { at: from, camera_id: cameraB, reads: 1, low_confidence: 0, unique_plates: 1 },
      { at: new Date(dayStart - DAY).toISOString(), camera_id: cameraA, reads: 2, low_confidence: 1, unique_plates: 2 }
    ]))
    expect(days.buckets.map((b) => b.at)).toEqual([from, from, new Date(dayStart - DAY).toISOString()])
    const hours = await stats<ReadsStats>("/api/v1/stats/reads", { from, to, camera: cameraB })
    expect(hours).toMatchObject({ bucket: "hour", buckets: [{ at: new Date(dayStart - 2 * DAY + 4 * 3_600_000).toISOString(), reads: 1 }] })
  })

  it("sums a range up: plates, repeat visitors, confidence, alerts by list (as the viewer may see them), lag, accuracy and confusions", async () => {
    const summary = await stats<SummaryStats>("/api/v1/stats/summary", { from, to })
    expect(summary).toMatchObject({ reads: 6, unique_plates: 4, repeat_plates: 1 })
    expect(summary.low_confidence_share).toBeCloseTo(2 / 6)
    expect(summary.confidence).toEqual([0, 0, 0, 0, 1, 1, 0, 0, 1, 3])
    // The operator sees the shared list only; an admin sees every list.
    expect(summary.alerts_by_list).toEqual([{ watchlist_id: expect.any(String), name: "Shared bolo", alerts: 2 }])
    const asAdmin = await stats<SummaryStats>("/api/v1/stats/summary", { from, to }, admin)
    expect(asAdmin.alerts_by_list.map((l) => [l.name, l.alerts])).toEqual([["Shared bolo", 2], ["Private list", 1]])
    // The reads were stored today, a day or two after their camera's time.
    expect(summary.ingest_lag_s.p50).toBeGreaterThan(DAY / 1000 - 1)
    expect(summary.accuracy).toEqual([
      { camera: { id: cameraA, name: "Gate A", site: null }, reads: 5, checked: 3, corrected: 1, rejected: 1, share_wrong: 2 / 3 },
      { camera: { id: cameraB, name: "Gate B", site: null }, reads: 1, checked: 0, corrected: 0, rejected: 0, share_wrong: null }
    ])
    expect(summary.confusions).toEqual([{ read: "0", actual: "O", count: 1 }])
    const onlyB = await stats<SummaryStats>("/api/v1/stats/summary", { from, to, camera: cameraB })
    expect(onlyB).toMatchObject({ reads: 1, confusions: [], accuracy: [{ camera: { name: "Gate B" } }] })
  })

  it("is for operators and admins; a range past 31 days, backwards or a bad camera is a 400 with the reason", async () => {
    const viewer = await server.signIn("viewer")
    expect((await get(`/api/v1/stats/summary?${new URLSearchParams({ from, to })}`, viewer)).status).toBe(403)
    const refused = async (params: Record<string, string>) => {
      const response = await get(`/api/v1/stats/summary?${new URLSearchParams(params)}`, operator)
      expect(response.status, JSON.stringify(params)).toBe(400)
      return ((await response.json()) as { message: string }).message
    }
    expect(await refused({ from: new Date(now - 40 * DAY).toISOString(), to })).toMatch(/at most 31 days apart/)
    expect(await refused({ from: to, to: from })).toMatch(/to must be after from/)
    expect(await refused({ from, to, camera: "gate-a" })).toMatch(/camera is a camera's id/)
    expect(await refused({ from: "yesterday", to })).toMatch(/ISO 8601/)
    const reads = await get(`/api/v1/stats/reads?${new URLSearchParams({ from, to, bucket: "week" })}`, operator)
    expect(reads.status).toBe(400)
  })
})
