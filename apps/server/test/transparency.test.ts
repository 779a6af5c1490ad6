import { TransparencyReport } from "@chaverim/domain/Transparency"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { detection, fakeJpeg, postBatch, startServer, type TestServer } from "./harness"

/**
 * The public transparency report over real HTTP and PostgreSQL: it counts what happened (reads,
 * lookups by reason code, photo views, exports, holds, alerts), shows the configured retention, needs
 * no session, carries no plate, and is not published when TRANSPARENCY_PAGE is off.
 */

const decode = Schema.decodeUnknownSync(TransparencyReport)

describe("the transparency report", () => {
  let server: TestServer

  beforeAll(async () => {
    server = await startServer({
      retention: {
        sceneImageDays: 90,
        plateImageDays: 180,
        detectionDays: 400,
        nonhitMinutes: Option.some(30),
        intervalMinutes: Option.none()
      }
    })
  })
  afterAll(async () => {
    await server?.close()
  })

  const report = async () => {
    const response = await fetch(`${server.url}/api/v1/transparency`)
    expect(response.status).toBe(200)
    return decode(await response.json())
  }

  it("counts reads, lookups by reason code and photo views, with no session and no plate in it", async () => {
    const { apiKey } = await server.collector("Transparency site")
    const plates = ["TRN001", "TRN002", "TRN003"]
    const events = plates.map((text) => detection({ plate: { text, confidence: 0.9 } }))
    // The first read with a scene photo, as a collector sends it (multipart).
    const form = new FormData()
    form.append("batch", JSON.stringify({ events }))
    form.append(`scene:${events[0]!.detection_id}`, new Blob([fakeJpeg(8_000, 7)], { type: "image/jpeg" }), "scene.jpg")
    const stored = await fetch(`${server.url}/api/v1/detections/batch`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}` },
      body: form
    })
    expect(stored.status).toBe(200)
    const operator = await server.signIn("operator")
    const lookup = (query: string) =>
      fetch(`${server.url}/api/v1/detections?plate=TRN001&${query}`, { headers: { cookie: operator.cookie } })
    expect((await lookup("reason_code=stolen_vehicle&case_number=C-1")).status).toBe(200)
    const found = (await (await lookup("reason_code=stolen_vehicle&case_number=C-1")).json()) as { items: Array<{ id: string }> }
    expect((await lookup("reason_code=training")).status).toBe(200)
    // A refused search (no code) is not a lookup made.
    expect((await lookup("")).status).toBe(400)
    const scene = await fetch(`${server.url}/api/v1/detections/${found.items[0]!.id}/images/scene?reason_code=investigation`, {
      headers: { cookie: operator.cookie }
    })
    expect(scene.status).toBe(200)

    const first = await report()
    expect(first).toMatchObject({
      period_days: 30,
      cameras: 1,
      reads: 3,
      lookups: 3,
      photo_views: 1,
      evidence_exports: 0,
      holds_created: 0,
      holds_active: 0,
      alerts_raised: 0,
      retention: { scene_image_days: 90, plate_image_days: 180, detection_days: 400, nonhit_minutes: 30 }
    })
    expect(first.lookups_by_reason).toEqual([
      { reason_code: "stolen_vehicle", label: "Stolen vehicle", count: 2 },
      { reason_code: "training", label: "Training", count: 1 }
    ])
    expect(first.does_not.length).toBeGreaterThan(0)
    const text = JSON.stringify(first)
    for (const plate of plates) expect(text).not.toContain(plate)
    expect(text).not.toContain("C-1")
    expect(text).not.toContain("Transparency site")
  })

  it("is computed at most every few minutes: a burst of requests is answered from one report", async () => {
    const [a, b] = [await report(), await report()]
    expect(b.generated_at).toBe(a.generated_at)
    // The counts do not move with new activity until the report is computed again.
    const { apiKey } = await server.collector("Transparency site")
    expect((await postBatch(server, apiKey, [detection({ plate: { text: "TRN004", confidence: 0.9 } })])).status).toBe(200)
    expect((await report()).reads).toBe(a.reads)
  })

  it("is a 404 that says why when TRANSPARENCY_PAGE is off", async () => {
    const off = await startServer({ transparencyPage: false })
    try {
      const response = await fetch(`${off.url}/api/v1/transparency`)
      expect(response.status).toBe(404)
      expect(await response.json()).toMatchObject({ message: expect.stringMatching(/TRANSPARENCY_PAGE=off/) })
    } finally {
      await off.close()
    }
  })
})
