import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { createHash } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { loggedUrl } from "@chaverim/server/http/RequestLog"
import * as Option from "effect/Option"
import { detection, fakeJpeg, METRICS_TOKEN, postBatch, refuseInserts, startServer, type TestServer } from "./harness"

let server: TestServer
let apiKey: string
let collectorId: string

beforeAll(async () => {
  server = await startServer()
  ;({ apiKey, collectorId } = await server.collector("ingest tests"))
})
afterAll(() => server?.close())

const countRows = async (ids: ReadonlyArray<string>) =>
  Number((await server.db.query(
    "SELECT count(*) FROM detections WHERE collector_id = $1 AND detection_id = ANY($2)",
    [collectorId, ids]
  )).rows[0].count)

/** Stores of batches so far (a group of batches stored together counts once); none before the first. */
const batchesStored = async () =>
  Number(/^alpr_ingest_batch_duration_seconds_count(?:\{[^}]*\})? (\d+)/m.exec(await server.metrics())?.[1] ?? 0)

const multipart = (events: ReadonlyArray<Record<string, unknown>>, images: Record<string, Uint8Array>) => {
  const form = new FormData()
  form.append("batch", JSON.stringify({ events }))
  for (const [name, bytes] of Object.entries(images)) {
    form.append(name, new Blob([bytes], { type: "image/jpeg" }), "image.jpg")
  }
  return fetch(`${server.url}/api/v1/detections/batch`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}` },
    body: form
  })
}

describe("batch ingest", () => {
  it("stores a JSON batch as evidence with normalised plate and OCR key", async () => {
    const event = detection({ plate: { text: "bos 5-ox", confidence: 0.88 } })
    const response = await postBatch(server, apiKey, [event])
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ accepted: 1, duplicates: 0, rejected: 0, errors: [] })
    const { rows } = await server.db.query(
      `SELECT d.plate_text, d.plate, d.plate_ocr, d.confidence, d.direction, d.vehicle_color, d.lat, d.detected_at,
              d.raw, c.external_id, c.mac, c.name
         FROM detections d JOIN cameras c ON c.id = d.camera_id WHERE d.detection_id = $1`,
      [event.detection_id]
    )
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({
      plate_text: "bos 5-ox",
      plate: "BOS5OX",
      plate_ocr: "80550X",
      direction: "in",
      vehicle_color: "blue",
      external_id: "cam-1",
      mac: "AA:BB:CC:DD:EE:01",
      name: "Main St northbound"
    })
    expect(rows[0].confidence).toBeCloseTo(0.88, 5)
    expect(new Date(rows[0].detected_at).toISOString()).toBe(new Date(event.timestamp).toISOString())
    expect(rows[0].raw).toEqual(event)
  })

  it("stores images sent as multipart, with their SHA-256, and serves them to signed-in users", async () => {
    const event = detection()
    const plate = fakeJpeg(20_000, 3)
    const scene = fakeJpeg(60_000, 4)
    const response = await multipart([event], { [`plate:${event.detection_id}`]: plate, [`scene:${event.detection_id}`]: scene })
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ accepted: 1, rejected: 0 })

    const { rows } = await server.db.query(
      `SELECT d.id, i.kind, i.sha256, i.size_bytes, i.object_key, i.content_type
         FROM detections d JOIN detection_images i ON i.detection_id = d.id
        WHERE d.detection_id = $1 ORDER BY i.kind`,
      [event.detection_id]
    )
    expect(rows.map((r) => r.kind)).toEqual(["plate", "scene"])
    expect(rows[0].sha256).toBe(createHash("sha256").update(plate).digest("hex"))
    expect(rows[1].size_bytes).toBe(60_000)
    expect(rows[0].object_key).toMatch(new RegExp(`^detections/\\d{4}/\\d{2}/\\d{2}/${collectorId}/`))

    const imageUrl = `${server.url}/api/v1/detections/${rows[0].id}/images/plate`
    expect((await fetch(imageUrl)).status).toBe(401)
    // A viewer (the wall kiosk) sees the plate crop, no more than the plate text it already has; the
    // scene photo shows the vehicle and its occupants, and is for operators and admins.
    const viewer = await server.session("viewer")
    expect((await fetch(imageUrl, { headers: { cookie: viewer } })).status).toBe(200)
    const sceneUrl = `${server.url}/api/v1/detections/${rows[0].id}/images/scene`
    const refused = await fetch(sceneUrl, { headers: { cookie: viewer } })
    expect(refused.status).toBe(403)
    expect(await refused.json()).toMatchObject({ _tag: "Forbidden" })
    const { rows: views } = await server.db.query(
      "SELECT action, target, outcome FROM audit_log WHERE action IN ('image.view', 'access.denied') AND target LIKE $1 ORDER BY id",
      [`%${rows[0].id}%`]
    )
    expect(views).toEqual([
      { action: "image.view", target: `detection:${rows[0].id}/plate`, outcome: "success" },
      { action: "access.denied", target: `GET /api/v1/detections/${rows[0].id}/images/scene`, outcome: "denied" }
    ])
    const cookie = await server.session("operator")
    const image = await fetch(imageUrl, { headers: { cookie } })
    expect(image.status).toBe(200)
    expect(image.headers.get("content-type")).toBe("image/jpeg")
    expect(new Uint8Array(await image.arrayBuffer())).toEqual(plate)
    // A person opening a scene photo says why, as for a search (see reasonCodes.test.ts).
    expect((await fetch(`${sceneUrl}?reason_code=investigation`, { headers: { cookie } })).status).toBe(200)
  })

  it("refuses to serve an image whose stored bytes no longer match their hash", async () => {
    const event = detection()
    await multipart([event], { [`plate:${event.detection_id}`]: fakeJpeg(5_000, 9) })
    const { rows } = await server.db.query(
      `SELECT d.id, i.object_key FROM detections d JOIN detection_images i ON i.detection_id = d.id WHERE d.detection_id = $1`,
      [event.detection_id]
    )
    await Fs.writeFile(Path.join(server.dataDir, "objects", rows[0].object_key), fakeJpeg(5_000, 10))
    const cookie = await server.session("admin")
    const response = await fetch(`${server.url}/api/v1/detections/${rows[0].id}/images/plate`, { headers: { cookie } })
    expect(response.status).toBe(500)
    expect(await response.json()).toMatchObject({ _tag: "ImageIntegrityError" })
    const missing = await fetch(`${server.url}/api/v1/detections/${rows[0].id}/images/scene?reason_code=audit`, { headers: { cookie } })
    expect(missing.status).toBe(404)
  })

  it("takes photos by their bytes, not their label, and serves them as what they are, inline", async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...fakeJpeg(500, 2).slice(8)])
    const page = new TextEncoder().encode("<html><script>alert(document.cookie)</script></html>")
    const [asPng, asPage, asGif] = [detection(), detection(), detection()]
    const response = await multipart([asPng, asPage, asGif], {
      [`plate:${asPng.detection_id}`]: png,
      [`plate:${asPage.detection_id}`]: page,
      [`scene:${asGif.detection_id}`]: new TextEncoder().encode("GIF89a\x01\x00\x01\x00")
    })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({
      accepted: 1,
      duplicates: 0,
      rejected: 2,
      errors: [
        { index: 1, detection_id: asPage.detection_id, message: "plate image: its bytes are not a JPEG, PNG or WebP image" },
        { index: 2, detection_id: asGif.detection_id, message: "scene image: its bytes are not a JPEG, PNG or WebP image" }
      ]
    })
    expect(await countRows([asPage.detection_id, asGif.detection_id])).toBe(0)
    const { rows } = await server.db.query(
      `SELECT d.id, i.content_type FROM detections d JOIN detection_images i ON i.detection_id = d.id WHERE d.detection_id = $1`,
      [asPng.detection_id]
    )
    expect(rows).toEqual([{ id: expect.anything(), content_type: "image/png" }])
    const cookie = await server.session("operator")
    const served = await fetch(`${server.url}/api/v1/detections/${rows[0].id}/images/plate`, { headers: { cookie } })
    expect(served.headers.get("content-type")).toBe("image/png")
    expect(served.headers.get("content-disposition")).toBe("inline")
    expect(served.headers.get("x-content-type-options")).toBe("nosniff")

    // A row recorded before bytes were checked, naming a type a browser would render as a page.
    const legacy = detection()
    await postBatch(server, apiKey, [legacy])
    const [{ id }] = (await server.db.query("SELECT id FROM detections WHERE detection_id = $1", [legacy.detection_id])).rows
    const key = `legacy/${legacy.detection_id}.html`
    await Fs.mkdir(Path.join(server.dataDir, "objects", "legacy"), { recursive: true })
    await Fs.writeFile(Path.join(server.dataDir, "objects", key), page)
    await server.db.query(
      `INSERT INTO detection_images (detection_id, detected_at, kind, object_key, content_type, size_bytes, sha256)
       SELECT id, detected_at, 'plate', $2, 'text/html', $3, $4 FROM detections WHERE id = $1`,
      [id, key, page.byteLength, createHash("sha256").update(page).digest("hex")]
    )
    const old = await fetch(`${server.url}/api/v1/detections/${id}/images/plate`, { headers: { cookie } })
    expect(old.status).toBe(200)
    expect(old.headers.get("content-type")).toBe("application/octet-stream")
    expect(old.headers.get("content-disposition")).toBe("attachment")
  })

  it("stores the valid events of a mixed batch and says which others were rejected and why", async () => {
    const good1 = detection()
    const good2 = detection({ camera: { id: "cam-2", mac: "AA:BB:CC:DD:EE:02" } })
    const events = [
      good1,
      detection({ plate: { text: "ABC123", confidence: 1.7 } }),
      { detection_id: "no-plate", timestamp: new Date().toISOString(), camera: { id: "cam-1", mac: "x" } },
      detection({ timestamp: "2026-05-01 12:00:00" }),
      good2,
      detection({ plate: { text: " - . ", confidence: 0.5 } }),
      "not an object",
      detection({ timestamp: new Date(Date.now() + 3 * 86_400_000).toISOString() })
    ]
    const response = await postBatch(server, apiKey, events)
    expect(response.status).toBe(200)
    const body = await response.json() as { accepted: number; rejected: number; errors: Array<{ index: number; detection_id?: string; message: string }> }
    expect(body.accepted).toBe(2)
    expect(body.rejected).toBe(6)
    expect(body.errors.map((e) => e.index)).toEqual([1, 2, 3, 5, 6, 7])
    const byIndex = new Map(body.errors.map((e) => [e.index, e]))
    expect(byIndex.get(1)!.message).toMatch(/plate\.confidence.*between 0 and 1/)
    expect(byIndex.get(2)).toMatchObject({ detection_id: "no-plate" })
    expect(byIndex.get(2)!.message).toMatch(/plate/)
    expect(byIndex.get(3)!.message).toMatch(/timestamp.*offset/)
    expect(byIndex.get(5)!.message).toMatch(/no letters or digits/)
    expect(byIndex.get(6)!.detection_id).toBeUndefined()
    expect(byIndex.get(7)!.message).toMatch(/future/)
    expect(await countRows([good1.detection_id, good2.detection_id])).toBe(2)
    expect(await countRows(["no-plate"])).toBe(0)
  })

  it("counts a replayed batch as duplicates and stores nothing twice", async () => {
    const events = Array.from({ length: 20 }, () => detection())
    const first = await (await postBatch(server, apiKey, events)).json()
    expect(first).toMatchObject({ accepted: 20, duplicates: 0 })
    const again = await (await postBatch(server, apiKey, events)).json()
    expect(again).toMatchObject({ accepted: 0, duplicates: 20, rejected: 0 })
    // Half old, half new, and a detection repeated inside one batch.
    const mixed = [...events.slice(0, 10), ...Array.from({ length: 10 }, () => detection())]
    const third = await (await postBatch(server, apiKey, [...mixed, mixed[15]])).json()
    expect(third).toMatchObject({ accepted: 10, duplicates: 11 })
    expect(await countRows([...events, ...mixed].map((e) => e.detection_id as string))).toBe(30)
  })

  it("does not write images again for a re-sent detection", async () => {
    const event = detection()
    const image = { [`plate:${event.detection_id}`]: fakeJpeg(4_000, 5) }
    expect(await (await multipart([event], image)).json()).toMatchObject({ accepted: 1 })
    expect(await (await multipart([event], { [`plate:${event.detection_id}`]: fakeJpeg(4_000, 6) })).json())
      .toMatchObject({ accepted: 0, duplicates: 1 })
    const { rows } = await server.db.query(
      `SELECT i.sha256 FROM detections d JOIN detection_images i ON i.detection_id = d.id WHERE d.detection_id = $1`,
      [event.detection_id]
    )
    expect(rows).toHaveLength(1)
    expect(rows[0].sha256).toBe(createHash("sha256").update(image[`plate:${event.detection_id}`]!).digest("hex"))
  })

  it("links a second read of a plate at a camera within 30 s to the first, and stores both", async () => {
    const t0 = Date.now() - 600_000
    const at = (s: number) => new Date(t0 + s * 1000).toISOString()
    const camera = { id: "gate-cam", mac: "AA:BB:CC:00:00:09" }
    const first = detection({ camera, timestamp: at(0), plate: { text: "DUP 100", confidence: 0.9 } })
    const second = detection({ camera, timestamp: at(12), plate: { text: "dup-100", confidence: 0.8 } })
    const third = detection({ camera, timestamp: at(35), plate: { text: "DUP100", confidence: 0.85 } }) // 23 s after the second
    const later = detection({ camera, timestamp: at(200), plate: { text: "DUP100", confidence: 0.85 } })
    const elsewhere = detection({ camera: { id: "other-cam", mac: "AA:BB:CC:00:00:10" }, timestamp: at(5), plate: { text: "DUP100", confidence: 0.9 } })
    // Sent out of order, across two batches.
    expect(await (await postBatch(server, apiKey, [second, first])).json()).toMatchObject({ accepted: 2 })
    expect(await (await postBatch(server, apiKey, [later, third, elsewhere])).json()).toMatchObject({ accepted: 3 })
    const { rows } = await server.db.query(
      `SELECT detection_id, id, duplicate_of FROM detections WHERE detection_id = ANY($1)`,
      [[first, second, third, later, elsewhere].map((e) => e.detection_id)]
    )
    const byId = new Map(rows.map((r) => [r.detection_id, r]))
    const firstRow = byId.get(first.detection_id)!
    expect(firstRow.duplicate_of).toBeNull()
    expect(byId.get(second.detection_id)!.duplicate_of).toBe(firstRow.id)
    expect(byId.get(third.detection_id)!.duplicate_of).toBe(firstRow.id)
    expect(byId.get(later.detection_id)!.duplicate_of).toBeNull()
    expect(byId.get(elsewhere.detection_id)!.duplicate_of).toBeNull()
  })

  it("links across batches, including a re-sent read inside a run and a retry of a whole run", async () => {
    const t0 = Date.now() - 900_000
    const at = (s: number) => new Date(t0 + s * 1000).toISOString()
    const camera = { id: "lane-cam", mac: "AA:BB:CC:00:00:11" }
    const read = (s: number) => detection({ camera, timestamp: at(s), plate: { text: "RUN 42", confidence: 0.9 } })
    const [a, b, c, d] = [read(0), read(20), read(45), read(200)]
    expect(await (await postBatch(server, apiKey, [b])).json()).toMatchObject({ accepted: 1 })
    // b is re-sent with the rest: it is not stored again, and c continues the run through it.
    expect(await (await postBatch(server, apiKey, [c, b, a, d])).json()).toMatchObject({ accepted: 3, duplicates: 1 })
    expect(await (await postBatch(server, apiKey, [a, b, c, d])).json()).toMatchObject({ accepted: 0, duplicates: 4 })
    const { rows } = await server.db.query(
      `SELECT detection_id, id, duplicate_of FROM detections WHERE detection_id = ANY($1)`,
      [[a, b, c, d].map((e) => e.detection_id)]
    )
    const byId = new Map(rows.map((r) => [r.detection_id, r]))
    // b was stored first, alone, so it starts its run; a came later and cannot be linked back to it.
    expect(byId.get(b.detection_id)!.duplicate_of).toBeNull()
    expect(byId.get(a.detection_id)!.duplicate_of).toBeNull()
    expect(byId.get(c.detection_id)!.duplicate_of).toBe(byId.get(b.detection_id)!.id)
    expect(byId.get(d.detection_id)!.duplicate_of).toBeNull()
  })

  it("links reads of one batch to the read that starts their run in the same batch", async () => {
    const t0 = Date.now() - 1_200_000
    const at = (s: number) => new Date(t0 + s * 1000).toISOString()
    const camera = { id: "lane-cam-2", mac: "AA:BB:CC:00:00:12" }
    const reads = [0, 10, 25, 50, 70].map((s) =>
      detection({ camera, timestamp: at(s), plate: { text: "SAME 1", confidence: 0.9 } })
    )
    expect(await (await postBatch(server, apiKey, [...reads].reverse())).json()).toMatchObject({ accepted: 5 })
    const { rows } = await server.db.query(
      `SELECT id, duplicate_of FROM detections WHERE detection_id = ANY($1) ORDER BY detected_at`,
      [reads.map((e) => e.detection_id)]
    )
    expect(rows[0].duplicate_of).toBeNull()
    expect(rows.slice(1).map((r) => r.duplicate_of)).toEqual([rows[0].id, rows[0].id, rows[0].id, rows[0].id])
  })

  it("refuses an event with a NUL character and stores the rest", async () => {
    const good = detection()
    const bad = detection({ plate: { text: "AB\u0000C", confidence: 0.9 } })
    const body = await (await postBatch(server, apiKey, [good, bad])).json() as Record<string, unknown>
    expect(body).toMatchObject({ accepted: 1, rejected: 1, errors: [{ index: 1, message: expect.stringMatching(/NUL/) }] })
  })

  it("keeps what a read's vendor sent beside it (source) in the stored raw, and refuses a source over 16 KiB", async () => {
    const source = { candidates: [{ plate: "src001", score: 0.9 }, { plate: "5rc001", score: 0.7 }], ALERT_CLIP: "clips/1.bvr" }
    const kept = detection({ plate: { text: "SRC001", confidence: 0.9 }, source })
    const tooBig = detection({ source: { ALERT_PATH: "x".repeat(17 * 1024) } })
    const body = await (await postBatch(server, apiKey, [kept, tooBig])).json() as Record<string, unknown>
    expect(body).toMatchObject({
      accepted: 1,
      rejected: 1,
      errors: [{ index: 1, detection_id: tooBig.detection_id, message: expect.stringMatching(/source is at most 16 KiB of JSON/) }]
    })
    const { rows } = await server.db.query("SELECT raw FROM detections WHERE detection_id = $1", [kept.detection_id])
    expect(rows[0].raw.source).toEqual(source)
    expect(await countRows([tooBig.detection_id])).toBe(0)
  })

  it("stores reads from months long past without giving each month a table of its own", async () => {
    const partitions = async () =>
      Number((await server.db.query("SELECT count(*) FROM pg_inherits WHERE inhparent = 'detections'::regclass")).rows[0].count)
    const before = await partitions()
    // Spread a year apart, 2000 to 2025: each would have been a partition that every query plans against.
    const events = Array.from({ length: 26 }, (_, i) => detection({ timestamp: `${2000 + i}-06-15T12:00:00.000Z` }))
    const response = await postBatch(server, apiKey, events)
    expect(await response.json()).toMatchObject({ accepted: 26, rejected: 0 })
    expect(await partitions()).toBe(before)
    const { rows } = await server.db.query(
      "SELECT DISTINCT tableoid::regclass::text AS month FROM detections WHERE collector_id = $1 AND detection_id = ANY($2)",
      [collectorId, events.map((e) => e.detection_id)]
    )
    expect(rows).toEqual([{ month: "detections_default" }])
  })

  it("places a camera where its reads say it is, until an admin places it", async () => {
    const camera = (id: string) => ({ id, mac: "AA:BB:CC:DD:EE:42", name: `placed ${id}` })
    const position = async (id: string) =>
      (await server.db.query("SELECT lat, lon FROM cameras WHERE collector_id = $1 AND external_id = $2", [collectorId, id])).rows[0]
    const send = async (events: ReadonlyArray<Record<string, unknown>>) =>
      expect(await (await postBatch(server, apiKey, events.map((e) => detection(e)))).json()).toMatchObject({ rejected: 0 })

    // first seen with a position: it takes it
    await send([{ camera: camera("pos-a"), location: { lat: 40.5, lon: -73.9 } }])
    expect(await position("pos-a")).toEqual({ lat: 40.5, lon: -73.9 })
    // a later read elsewhere (a GPS jitter, a moved trailer) does not move a placed camera
    await send([{ camera: camera("pos-a"), location: { lat: 40.6, lon: -73.8 } }])
    expect(await position("pos-a")).toEqual({ lat: 40.5, lon: -73.9 })

    // first seen without one: unplaced, then placed by the first read that carries one
    await send([{ camera: camera("pos-b"), location: undefined }])
    expect(await position("pos-b")).toEqual({ lat: null, lon: null })
    await send([{ camera: camera("pos-b"), location: { lat: 41.25, lon: -74.2 } }])
    expect(await position("pos-b")).toEqual({ lat: 41.25, lon: -74.2 })

    // an admin's position stays whatever the reads say
    await server.db.query("UPDATE cameras SET lat = 42, lon = -75 WHERE collector_id = $1 AND external_id = 'pos-b'", [collectorId])
    await send([{ camera: camera("pos-b"), location: { lat: 41.3, lon: -74.3 } }])
    expect(await position("pos-b")).toEqual({ lat: 42, lon: -75 })
  })
})

describe("batch limits and malformed requests", () => {
  it("refuses more than 100 events with 413 and stores none of them", async () => {
    const events = Array.from({ length: 101 }, () => detection())
    const response = await postBatch(server, apiKey, events)
    expect(response.status).toBe(413)
    expect(((await response.json()) as { message: string }).message).toMatch(/101 events.*at most 100/)
    expect(await countRows(events.map((e) => e.detection_id))).toBe(0)
  })

  it("refuses a body over 5 MiB with 413, JSON or multipart, declared or chunked", async () => {
    const event = detection()
    const big = await multipart([event], { [`plate:${event.detection_id}`]: fakeJpeg(5 * 1024 * 1024 + 10) })
    expect(big.status).toBe(413)
    expect(await countRows([event.detection_id])).toBe(0)

    const padded = JSON.stringify({ events: [detection({ padding: "x".repeat(5 * 1024 * 1024) })] })
    const chunked = await fetch(`${server.url}/api/v1/detections/batch`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
      body: new ReadableStream({
        start(controller) {
          const bytes = new TextEncoder().encode(padded)
          for (let i = 0; i < bytes.length; i += 65536) controller.enqueue(bytes.subarray(i, i + 65536))
          controller.close()
        }
      }),
      duplex: "half"
    } as RequestInit)
    expect(chunked.status).toBe(413)
  })

  it("answers malformed JSON with 400 and a message that says so", async () => {
    const send = (body: string, contentType = "application/json") =>
      fetch(`${server.url}/api/v1/detections/batch`, {
        method: "POST",
        headers: { "content-type": contentType, authorization: `Bearer ${apiKey}` },
        body
      })
    const broken = await send(`{"events": [ {"detection_id": "x",`)
    expect(broken.status).toBe(400)
    expect(((await broken.json()) as { message: string }).message).toMatch(/not valid JSON/)
    const wrongShape = await send(`[1, 2, 3]`)
    expect(wrongShape.status).toBe(400)
    expect(((await wrongShape.json()) as { message: string }).message).toMatch(/\{"events": \[\.\.\.\]\}/)
    const wrongType = await send("plate=ABC", "text/plain")
    expect(wrongType.status).toBe(400)
    expect(((await wrongType.json()) as { message: string }).message).toMatch(/content type/)
  })

  it("answers malformed multipart with 400 and a message that says what is wrong", async () => {
    const raw = (body: string, boundary = "XyZ") =>
      fetch(`${server.url}/api/v1/detections/batch`, {
        method: "POST",
        headers: { "content-type": `multipart/form-data; boundary=${boundary}`, authorization: `Bearer ${apiKey}` },
        body
      })
    const truncated = await raw(`--XyZ\r\nContent-Disposition: form-data; name="batch"\r\n\r\n{"events": []}`)
    expect(truncated.status).toBe(400)
    expect(((await truncated.json()) as { message: string }).message)
      .toBe("the multipart body is malformed: it ends before its closing boundary")
    const noBoundary = await fetch(`${server.url}/api/v1/detections/batch`, {
      method: "POST",
      headers: { "content-type": "multipart/form-data", authorization: `Bearer ${apiKey}` },
      body: "--XyZ--\r\n"
    })
    expect(noBoundary.status).toBe(400)
    expect(((await noBoundary.json()) as { message: string }).message).toBe("the multipart body is malformed: the content type names no boundary")
    // Two photos per event and the batch itself are the most parts a batch can need.
    const parts = Array.from({ length: 202 }, (_, i) => `--XyZ\r\nContent-Disposition: form-data; name="plate:${i}"\r\n\r\nx\r\n`).join("")
    const tooMany = await raw(`${parts}--XyZ--\r\n`)
    expect(tooMany.status).toBe(413)
    expect(((await tooMany.json()) as { message: string }).message).toMatch(/^the body has too many parts/)

    // An empty body, or one that stops after a boundary, leaves the platform's parser waiting for
    // ever; the batch route runs uninterruptibly and must answer all the same.
    for (const body of ["", "--XyZ", "--XyZ\r\n"]) {
      const stuck = await raw(body)
      expect(stuck.status, JSON.stringify(body)).toBe(400)
      expect(((await stuck.json()) as { message: string }).message).toMatch(/multipart/)
    }

    const noBatch = new FormData()
    noBatch.append("other", "x")
    const r1 = await fetch(`${server.url}/api/v1/detections/batch`, { method: "POST", headers: { authorization: `Bearer ${apiKey}` }, body: noBatch })
    expect(r1.status).toBe(400)
    expect(((await r1.json()) as { message: string }).message).toMatch(/unexpected part "other"/)

    const event = detection()
    const orphanImage = await multipart([event], { "plate:someone-else": fakeJpeg(100) })
    expect(orphanImage.status).toBe(400)
    expect(((await orphanImage.json()) as { message: string }).message).toMatch(/someone-else.*no event/)
    expect(await countRows([event.detection_id])).toBe(0)

    const badJson = new FormData()
    badJson.append("batch", "{nope")
    const r2 = await fetch(`${server.url}/api/v1/detections/batch`, { method: "POST", headers: { authorization: `Bearer ${apiKey}` }, body: badJson })
    expect(r2.status).toBe(400)
    expect(((await r2.json()) as { message: string }).message).toMatch(/"batch" part is not valid JSON/)
  })

  it("refuses unknown and revoked keys with 401, and stores nothing", async () => {
    const event = detection()
    expect((await postBatch(server, "alpr_0000000000_nope", [event])).status).toBe(401)
    const noAuth = await fetch(`${server.url}/api/v1/detections/batch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ events: [event] })
    })
    expect(noAuth.status).toBe(401)

    const other = await server.collector("to be revoked")
    expect((await postBatch(server, other.apiKey, [detection()])).status).toBe(200)
    await server.db.query("UPDATE api_keys SET revoked_at = now() WHERE collector_id = $1", [other.collectorId])
    const revoked = await postBatch(server, other.apiKey, [event])
    expect(revoked.status).toBe(401)
    expect(revoked.headers.get("x-backpressure")).toMatch(/^[01]\.\d+$/)
    expect(await countRows([event.detection_id])).toBe(0)
  })
})

describe("concurrent batches of one collector", () => {
  const post = (key: string, events: ReadonlyArray<unknown>) =>
    postBatch(server, key, events).then(async (response) => {
      const text = await response.text()
      return { status: response.status, body: (text === "" ? {} : JSON.parse(text)) as Record<string, unknown> }
    })
  const rowsOf = async (collector: string, ids: ReadonlyArray<string>) =>
    Number((await server.db.query(
      "SELECT count(*) FROM detections WHERE collector_id = $1 AND detection_id = ANY($2)",
      [collector, ids]
    )).rows[0].count)

  it("are stored together while a group of them is being stored, each answered for its own reads", async () => {
    const { apiKey: key, collectorId: id } = await server.collector("one read per request")
    const before = await batchesStored()
    const events = Array.from({ length: 30 }, (_, i) => detection({ plate: { text: `GRP${100 + i}`, confidence: 0.9 } }))
    const answers = await Promise.all(events.map((event) => post(key, [event])))
    for (const answer of answers) expect(answer).toEqual({ status: 200, body: { accepted: 1, duplicates: 0, rejected: 0, errors: [] } })
    expect(await rowsOf(id, events.map((e) => e.detection_id))).toBe(30)
    // 30 requests, fewer stores: the ones that came while a group was stored went in together
    expect(await batchesStored() - before).toBeLessThan(30)
  })

  it("keep the same read sent twice at once to one stored row: one answer accepts it, the other counts a duplicate", async () => {
    const { apiKey: key, collectorId: id } = await server.collector("a retry racing its original")
    const twice = detection({ plate: { text: "TWICE1", confidence: 0.9 } })
    const others = Array.from({ length: 8 }, (_, i) => detection({ plate: { text: `ONCE${i}`, confidence: 0.9 } }))
    const answers = await Promise.all([[twice], [twice], ...others.map((e) => [e])].map((events) => post(key, events)))
    const [first, second] = answers.map((a) => a.body as { accepted: number; duplicates: number })
    expect([first!.accepted + second!.accepted, first!.duplicates + second!.duplicates]).toEqual([1, 1])
    expect(answers.slice(2).every((a) => a.status === 200 && a.body.accepted === 1)).toBe(true)
    expect(await rowsOf(id, [twice.detection_id])).toBe(1)
    expect(await rowsOf(id, others.map((e) => e.detection_id))).toBe(8)
  })

  it("answer an invalid event in its own request, at its own index", async () => {
    const { apiKey: key } = await server.collector("one bad event among many requests")
    const good = Array.from({ length: 6 }, (_, i) => detection({ plate: { text: `GOOD${i}`, confidence: 0.9 } }))
    const bad = { ...detection(), plate: { text: "", confidence: 0.9 } }
    const [mixed, ...rest] = await Promise.all([post(key, [good[0], bad]), ...good.slice(1).map((e) => post(key, [e]))])
    expect(mixed!.status).toBe(200)
    expect(mixed!.body).toMatchObject({ accepted: 1, duplicates: 0, rejected: 1, errors: [{ index: 1, detection_id: bad.detection_id }] })
    for (const answer of rest) expect(answer.body).toEqual({ accepted: 1, duplicates: 0, rejected: 0, errors: [] })
  })

  it("store the others when the database refuses one of them", async () => {
    const { apiKey: key, collectorId: id } = await server.collector("a batch the database refuses")
    const allow = await refuseInserts(server.db, "detections", "POISON1")
    try {
      const good = Array.from({ length: 7 }, (_, i) => detection({ plate: { text: `FINE${i}`, confidence: 0.9 } }))
      const poison = detection({ plate: { text: "POISON1", confidence: 0.9 } })
      const answers = await Promise.all([poison, ...good].map((e) => post(key, [e])))
      expect(answers[0]!.status).toBe(500)
      for (const answer of answers.slice(1)) expect(answer).toEqual({ status: 200, body: { accepted: 1, duplicates: 0, rejected: 0, errors: [] } })
      expect(await rowsOf(id, good.map((e) => e.detection_id))).toBe(7)
      expect(await rowsOf(id, [poison.detection_id])).toBe(0)
    } finally {
      await allow()
    }
  })
})

describe("batches of many collectors at once", () => {
  const withPhoto = (key: string, event: { detection_id: string }, photo: Uint8Array) => {
    const form = new FormData()
    form.append("batch", JSON.stringify({ events: [event] }))
    form.append(`plate:${event.detection_id}`, new Blob([photo], { type: "image/jpeg" }), "plate.jpg")
    return fetch(`${server.url}/api/v1/detections/batch`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: form })
  }

  it("are stored together, each read under its own collector, its own photo and its own camera's run", async () => {
    const collectors = await Promise.all(Array.from({ length: 10 }, (_, i) => server.collector(`at once ${i}`)))
    // Every collector's camera is "cam-1", every read the same plate at the same moment, every
    // detection id the same: detection ids and cameras are each collector's own.
    const at = new Date(Date.now() - 60_000).toISOString()
    const detectionId = `shared-${Date.now()}`
    const photos = collectors.map((_, i) => fakeJpeg(3_000 + i, 40 + i))
    const before = await batchesStored()
    const answers = await Promise.all(collectors.map(({ apiKey: key }, i) =>
      withPhoto(key, detection({ detection_id: detectionId, timestamp: at, plate: { text: "SAME1", confidence: 0.9 } }), photos[i]!)
        .then(async (r) => ({ status: r.status, body: await r.json() }))))
    for (const answer of answers) expect(answer).toEqual({ status: 200, body: { accepted: 1, duplicates: 0, rejected: 0, errors: [] } })
    // one request from each of 10 collectors, fewer stores: those that came while others were stored went in together
    expect(await batchesStored() - before).toBeLessThan(10)

    const { rows } = await server.db.query<{ collector_id: string; duplicate_of: string | null; camera_collector: string; sha256: string }>(
      `SELECT d.collector_id, d.duplicate_of, c.collector_id AS camera_collector, i.sha256
         FROM detections d JOIN cameras c ON c.id = d.camera_id JOIN detection_images i ON i.detection_id = d.id
        WHERE d.detection_id = $1`,
      [detectionId]
    )
    expect(rows.map((r) => r.collector_id).sort()).toEqual(collectors.map((c) => c.collectorId).sort())
    for (const [i, { collectorId: id }] of collectors.entries()) {
      const row = rows.find((r) => r.collector_id === id)!
      expect(row.camera_collector).toBe(id)
      expect(row.duplicate_of, "a read is not in another collector's camera's run").toBeNull()
      expect(row.sha256).toBe(createHash("sha256").update(photos[i]!).digest("hex"))
    }

    // Sent again, all at once: each a duplicate of its own collector's read, nothing stored twice.
    const again = await Promise.all(collectors.map(({ apiKey: key }) =>
      postBatch(server, key, [detection({ detection_id: detectionId, timestamp: at, plate: { text: "SAME1", confidence: 0.9 } })])
        .then((r) => r.json())))
    for (const answer of again) expect(answer).toEqual({ accepted: 0, duplicates: 1, rejected: 0, errors: [] })
    const { rows: [count] } = await server.db.query("SELECT count(*)::int AS n FROM detections WHERE detection_id = $1", [detectionId])
    expect(count.n).toBe(10)
  })
})

describe("a batch stored as one", () => {
  it("stores neither its reads nor any photo when the database refuses one photo's row", async () => {
    // a real failure inside the database, as a bug in a trigger would be: a photo of 4,321 bytes is refused
    await server.db.query(`
      CREATE FUNCTION test_refuse_photo() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.size_bytes = 4321 THEN RAISE EXCEPTION 'refused for the test'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER test_refuse_photo BEFORE INSERT ON detection_images FOR EACH ROW EXECUTE FUNCTION test_refuse_photo();`)
    try {
      const fine = detection({ plate: { text: "PHOTO1", confidence: 0.9 } })
      const refused = detection({ plate: { text: "PHOTO2", confidence: 0.9 } })
      const response = await multipart([fine, refused], {
        [`plate:${fine.detection_id}`]: fakeJpeg(5_000, 7),
        [`plate:${refused.detection_id}`]: fakeJpeg(4_321, 8)
      })
      expect(response.status).toBe(500)
      expect(await countRows([fine.detection_id, refused.detection_id])).toBe(0)
    } finally {
      await server.db.query("DROP TRIGGER test_refuse_photo ON detection_images; DROP FUNCTION test_refuse_photo()")
    }
  })
})

describe("operations", () => {
  it("reports health, readiness and ingest metrics", async () => {
    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ status: "ok" })
    const ready = await fetch(`${server.url}/ready`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ status: "ready", checks: { database: "ok", object_store: "ok" } })
    const metrics = await server.metrics()
    expect(metrics).toMatch(/^# TYPE alpr_ingest_detections_total counter$/m)
    expect(metrics).toMatch(/^alpr_ingest_detections_total\{outcome="accepted"\} [1-9]\d*$/m)
    expect(metrics).toMatch(/^alpr_ingest_batch_duration_seconds_bucket\{le="\+Inf"\} [1-9]\d*$/m)
    expect(metrics).toMatch(/^alpr_ingest_backpressure /m)
  })

  it("keeps metrics and the API docs to a scraper's METRICS_TOKEN or an admin's session", async () => {
    for (const path of ["/metrics", "/api/docs", "/api/openapi.json"]) {
      const anonymous = await fetch(`${server.url}${path}`)
      expect(anonymous.status, path).toBe(401)
      expect(anonymous.headers.get("www-authenticate")).toBe("Bearer")
      const wrong = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } })
      expect(wrong.status, path).toBe(401)
      expect((await fetch(`${server.url}${path}`, { headers: { cookie: await server.session("operator") } })).status, path).toBe(403)
      expect((await fetch(`${server.url}${path}`, { headers: { cookie: await server.session("admin") } })).status, path).toBe(200)
      const scraper = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
      expect(scraper.status, path).toBe(200)
    }
    // A server with no METRICS_TOKEN takes no bearer token at all: an empty one is not a match.
    const bare = await startServer({ metricsToken: Option.none() })
    try {
      expect((await fetch(`${bare.url}/metrics`, { headers: { authorization: "Bearer " } })).status).toBe(401)
      expect((await fetch(`${bare.url}/metrics`, { headers: { cookie: await bare.session("admin") } })).status).toBe(200)
      expect((await fetch(`${bare.url}/health`)).status).toBe(200)
    } finally {
      await bare.close()
    }
  })

  it("logs requests without the values of their query strings", () => {
    expect(loggedUrl("/api/v1/detections?plate=AB12CDE&reason=case%2012&mode=ocr")).toBe("/api/v1/detections?plate&reason&mode")
    expect(loggedUrl("/api/v1/live?after=10&after=11")).toBe("/api/v1/live?after")
    expect(loggedUrl("/pair?")).toBe("/pair")
    expect(loggedUrl("/api/v1/plates/AB12CDE/timeline")).toBe("/api/v1/plates/AB12CDE/timeline")
  })

  it("serves the OpenAPI document and its UI", async () => {
    const spec = await (await fetch(`${server.url}/api/openapi.json`, { headers: { cookie: await server.session("admin") } })).json() as { paths: Record<string, unknown> }
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining([
      "/api/v1/detections/batch", "/api/v1/collectors/claim", "/api/v1/collectors/heartbeat"
    ]))
    const docs = await fetch(`${server.url}/api/docs`, { headers: { cookie: await server.session("admin") } })
    expect(docs.status).toBe(200)
    expect(await docs.text()).toMatch(/swagger/i)
  })
})
