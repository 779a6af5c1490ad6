import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { createHash } from "node:crypto"
import * as Fs from "node:fs"
import { fakeJpeg, startServer, type TestServer } from "./harness"

/**
 * ALPR-Database's ingest on the server (`POST /api/plate-reads`, a collector API key as `x-api-key`),
 * so that Blue Iris changes one URL. The body is ALPR-Database's own test body (MIT; provenance in
 * edge/test/fixtures/blueiris/SOURCES.md): ai_dump with two plates, a WebP `Image`, camera ALPR2.
 */

const PAYLOAD = JSON.parse(
  Fs.readFileSync(new URL("../../../edge/test/fixtures/blueiris/alpr_database_test_payload.json", import.meta.url), "utf8")
) as Record<string, unknown>

let server: TestServer
let apiKey: string
let collectorId: string

beforeAll(async () => {
  server = await startServer()
  ;({ apiKey, collectorId } = await server.collector("blue iris"))
})
afterAll(() => server?.close())

const post = (body: unknown, headers: Record<string, string> = { "x-api-key": apiKey }) =>
  fetch(`${server.url}/api/plate-reads`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body)
  }).then(async (r) => ({ status: r.status, body: await r.json() as Record<string, unknown> }))

const readsOf = async (plates: ReadonlyArray<string>) =>
  (await server.db.query(
    `SELECT d.plate_text, d.confidence, d.detected_at, d.vehicle_type, d.raw, c.external_id, c.name, c.mac,
            i.kind, i.content_type, i.size_bytes, i.sha256
       FROM detections d JOIN cameras c ON c.id = d.camera_id
       LEFT JOIN detection_images i ON i.detection_id = d.id
      WHERE d.collector_id = $1 AND d.plate_text = ANY($2) ORDER BY d.plate_text`,
    [collectorId, plates]
  )).rows

describe("POST /api/plate-reads", () => {
  it("stores each plate of the body with its photo, the body without Image as its source in raw; a re-send is a duplicate (409)", async () => {
    expect(await post(PAYLOAD)).toEqual({
      status: 201,
      body: { processed: 2, duplicates: 0, ignored: 0, message: "Processed 2 plates, 0 duplicates, 0 ignored" }
    })
    const photo = Buffer.from(PAYLOAD["Image"] as string, "base64")
    const { Image: _, ...withoutImage } = PAYLOAD
    const rows = await readsOf(["9RPX658", "HF7499"])
    expect(rows).toEqual([
      // confidence is a real (float4) column
      ["9RPX658", 0.9400946],
      ["HF7499", 0.90813]
    ].map(([plate_text, confidence]) => ({
      plate_text,
      confidence,
      detected_at: new Date("2025-07-15T13:59:04Z"),
      vehicle_type: null,
      raw: expect.objectContaining({ plate: expect.objectContaining({ text: plate_text }), source: withoutImage }),
      external_id: "blueiris:ALPR2",
      name: "ALPR2",
      mac: "unknown",
      kind: "scene",
      content_type: "image/webp",
      size_bytes: 44_994,
      sha256: createHash("sha256").update(photo).digest("hex")
    })))
    expect(rows[0].raw.source).toMatchObject({ ALERT_PATH: "LLLL.LLLL", ALERT_CLIP: "TTTT@TTTT", plate_number: "D333X1" })

    expect(await post(PAYLOAD)).toMatchObject({ status: 409, body: { processed: 0, duplicates: 2 } })
    expect(await readsOf(["9RPX658", "HF7499"])).toHaveLength(2)
  })

  it("takes a memo body with a photo over the 64 KiB of people's requests (the batch's limit applies)", async () => {
    const photo = fakeJpeg(200_000, 7)
    const body = {
      memo: "PRB123:0.91,car:0.88",
      Image: Buffer.from(photo).toString("base64"),
      camera: "Gate",
      timestamp: new Date().toISOString(),
      ALERT_PATH: "Gate.20260501_120000.1234.3-1.jpg",
      ALERT_CLIP: "@123456"
    }
    expect(await post(body)).toMatchObject({ status: 201, body: { processed: 1, duplicates: 0 } })
    const [row] = await readsOf(["PRB123"])
    expect(row).toMatchObject({ confidence: 0.91, vehicle_type: "car", external_id: "blueiris:Gate", size_bytes: 200_000 })
    const { Image: _, ...kept } = body
    expect(row.raw.source).toEqual(kept)
  })

  it("holds one body to a batch's 100 plates, and keeps a source of at most 16 KiB", async () => {
    const many = Array.from({ length: 101 }, (_, i) => `MNY${String(i).padStart(3, "0")}:0.9`).join(",")
    expect(await post({ memo: many, timestamp: new Date().toISOString() })).toMatchObject({
      status: 400,
      body: { message: expect.stringMatching(/memo holds 101 plates; one body may hold at most 100/) }
    })
    expect(await readsOf(["MNY000"])).toEqual([])
    // A large body beside the plate is not copied into every read: the read is stored without it.
    const big = { plate_number: "BIG001", timestamp: new Date().toISOString(), ALERT_PATH: "x".repeat(20_000) }
    expect(await post(big)).toMatchObject({ status: 201, body: { processed: 1 } })
    const [row] = await readsOf(["BIG001"])
    expect(row.raw.source).toBeUndefined()
  })

  it("refuses a bad or missing key with 401 and stores nothing", async () => {
    const body = { plate_number: "KEY401", timestamp: new Date().toISOString() }
    expect(await post(body, { "x-api-key": `${apiKey}x` })).toMatchObject({ status: 401 })
    expect(await post(body, {})).toMatchObject({ status: 401 })
    // The batch route's Bearer header is not this route's credential.
    expect(await post(body, { authorization: `Bearer ${apiKey}` })).toMatchObject({ status: 401 })
    expect(await readsOf(["KEY401"])).toEqual([])
  })

  it("answers 400 with the reason for a body with no plate, bad JSON or a bad time", async () => {
    expect(await post({ camera: "Gate", timestamp: new Date().toISOString() })).toEqual({
      status: 400,
      body: { _tag: "BadRequest", message: "No valid plates found in request: send ai_dump, memo or plate_number" }
    })
    expect(await post({ memo: "car:0.9,person:0.8" }))
      .toMatchObject({ status: 400, body: { message: "No valid plates found in request: memo holds no plate" } })
    const bad = await post("{\"plate_number\": ")
    expect(bad.status).toBe(400)
    expect(String(bad.body["message"])).toMatch(/^the body is not valid JSON \(/)
    expect(await post({ plate_number: "BAD1", timestamp: "&ALERT_TIME" })).toMatchObject({
      status: 400,
      body: { message: `timestamp "&ALERT_TIME" is not an ISO 8601 time such as 2025-07-15T13:59:04Z` }
    })
    expect(await post({ plate_number: "BAD2", timestamp: "2999-01-01T00:00:00Z" })).toMatchObject({
      status: 400,
      body: { message: "timestamp: more than a day in the future; check the camera clock" }
    })
    expect(await readsOf(["BAD1", "BAD2"])).toEqual([])
  })
})
