import type { ReadDetails } from "@chaverim/domain/ReadDetails"
import { createHash } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createEntry, createList, drained, latestRevision, matcherAt } from "./alertHarness"
import { detection, fakeJpeg, type SignedIn, startServer, type TestServer } from "./harness"

/** A read's page, `GET /api/v1/detections/{id}/details`: the read, its run, corrections and alerts. */
describe("a read's page", () => {
  let server: TestServer
  let apiKey: string
  let operator: SignedIn
  let owner: SignedIn
  /** the run of RUN100, oldest first */
  let run: Array<string>
  let alone: string
  const crop = fakeJpeg(900, 3)
  const scene = fakeJpeg(4_000, 4)
  const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

  /** `who` null: without a session. */
  const details = (id: string, query = "reason_code=investigation&case_number=PD-7", who: { cookie: string } | null = operator) =>
    fetch(`${server.url}/api/v1/detections/${id}/details?${query}`, { headers: who === null ? {} : { cookie: who.cookie } })
  const ok = async (id: string, who: SignedIn = operator) => {
    const response = await details(id, undefined, who)
    const text = await response.text()
    expect(response.status, text).toBe(200)
    return JSON.parse(text) as ReadDetails
  }

  beforeAll(async () => {
    server = await startServer({ alertCooldownSeconds: 600 })
    apiKey = (await server.collector("Gate collector")).apiKey
    operator = await server.signIn("operator")
    owner = await server.signIn("operator")
    const shared = await createList(server, { name: "Stolen cars", category: "stolen" })
    await createEntry(server, shared.id, "exact", "RUN100", { note: "grey van" })
    // Another operator's own list: its alert is theirs (and admins'), not this operator's.
    const own = await createList(server, { name: "Private list", shared: false, ownerId: owner.userId })
    await createEntry(server, own.id, "exact", "RUN100")
    await matcherAt(server, await latestRevision(server.db))

    // A run of three reads, 10 s apart, at one camera; a read of another plate; photos with the middle one.
    const start = Date.now() - 3_600_000
    const events = [0, 10, 20].map((s, i) =>
      detection({
        timestamp: new Date(start + s * 1000).toISOString(),
        plate: { text: "RUN-100", confidence: 0.8 + i / 100 },
        ...(i === 1 ? { source: { candidates: ["RUN100", "RUN1OO"], vendor_event: "ANPR-17" } } : {})
      }))
    const other = detection({ timestamp: new Date(start + 5_000).toISOString(), plate: { text: "ALONE1", confidence: 0.7 } })
    const form = new FormData()
    form.append("batch", JSON.stringify({ events: [...events, other] }))
    form.append(`plate:${events[1]!.detection_id}`, new Blob([crop], { type: "image/jpeg" }))
    form.append(`scene:${events[1]!.detection_id}`, new Blob([scene], { type: "image/jpeg" }))
    const response = await fetch(`${server.url}/api/v1/detections/batch`, { method: "POST", headers: { authorization: `Bearer ${apiKey}` }, body: form })
    expect(response.status, await response.clone().text()).toBe(200)
    await drained(server.databaseUrl)
    run = (await server.db.query<{ id: string }>("SELECT id::text AS id FROM detections WHERE plate = 'RUN100' ORDER BY detected_at")).rows.map((r) => r.id)
    alone = (await server.db.query<{ id: string }>("SELECT id::text AS id FROM detections WHERE plate = 'ALONE1'")).rows[0]!.id
    expect(run).toHaveLength(3)

    const corrected = await fetch(`${server.url}/api/v1/detections/${run[1]}/corrections`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: operator.cookie, "x-csrf-token": operator.csrf },
      body: JSON.stringify({ action: "confirm", note: "plate clear on the scene photo" })
    })
    expect(corrected.status).toBe(201)
  })
  afterAll(() => server?.close())

  it("gives the read with its collector, photos' hashes, source, corrections, run and the alerts it raised", async () => {
    const page = await ok(run[1]!)
    expect(page.read).toMatchObject({ id: run[1], plate: "RUN100", plate_text: "RUN-100", confidence: expect.closeTo(0.81, 5), duplicate_of: run[0] })
    expect(page.read.camera).toMatchObject({ external_id: "cam-1", name: "Main St northbound" })
    expect(page.collector).toEqual({ id: page.read.camera.collector_id, name: "Gate collector" })
    expect(page.photos.map((p) => [p.kind, p.sha256, p.size_bytes])).toEqual([["plate", sha(crop), 900], ["scene", sha(scene), 4_000]])
    expect(page.source).toEqual({ candidates: ["RUN100", "RUN1OO"], vendor_event: "ANPR-17" })
    expect(page.corrections).toEqual([expect.objectContaining({ action: "confirm", by: operator.username, note: "plate clear on the scene photo" })])
    expect(page.run.first_id).toBe(run[0])
    expect(page.run.total).toBe(3)
    expect(page.run.reads.map((r) => r.id)).toEqual(run)
    expect(page.run.reads[1]!.images.scene).toBe(`/api/v1/detections/${run[1]}/images/scene`)
    expect(page.run.reads[0]!.images).toEqual({})
    // One alert for the run on the shared list (the reads after the first are its sightings); the private list's is not this operator's.
    expect(page.alerts.map((a) => [a.watchlist.name, a.plate, a.entry?.note])).toEqual([["Stolen cars", "RUN100", "grey van"]])
    expect((await ok(run[1]!, owner)).alerts.map((a) => a.watchlist.name).sort()).toEqual(["Private list", "Stolen cars"])

    // The first read of the run gives the same run; a read of another plate is a run of one and raised nothing.
    const first = await ok(run[0]!)
    expect(first.run).toMatchObject({ first_id: run[0], total: 3 })
    expect(first.source).toBeNull()
    const single = await ok(alone)
    expect(single.run).toEqual({ first_id: alone, total: 1, reads: [expect.objectContaining({ id: alone, plate_text: "ALONE1" })] })
    expect(single.alerts).toEqual([])
    expect(single.corrections).toEqual([])
    expect(single.photos).toEqual([])
  })

  it("is audited with its reason, found or not", async () => {
    const last = async () =>
      (await server.db.query("SELECT actor_id, target, reason, details, outcome FROM audit_log WHERE action = 'search' ORDER BY id DESC LIMIT 1")).rows[0]
    const response = await details(run[2]!, "reason_code=stolen_vehicle&case_number=PD-26-9&reason=grey+van+report")
    expect(response.status).toBe(200)
    expect(await last()).toEqual({
      actor_id: operator.userId,
      target: `detection:${run[2]}`,
      reason: "grey van report",
      details: {
        reason_code: "stolen_vehicle",
        case_number: "PD-26-9",
        mode: "read_page",
        detection: run[2],
        results: 1,
        run: 3,
        run_listed: 3,
        alerts: 1,
        corrections: 0
      },
      outcome: "success"
    })
    expect((await details("987654321")).status).toBe(404)
    expect(await last()).toMatchObject({ target: "detection:987654321", details: { mode: "read_page", results: 0, reason_code: "investigation" } })
  })

  it("answers a read that is not there with 404, a bad id or reason with 400, each saying why", async () => {
    const missing = await details("987654321")
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ message: "there is no read 987654321" })
    for (const id of ["abc", "0", "-4", "1.5", "99999999999999999999"]) {
      const response = await details(id)
      const body = await response.text()
      expect(response.status, `${id}: ${body}`).toBe(400)
      expect((JSON.parse(body) as { issues: Array<{ message: string }> }).issues.map((i) => i.message), id).toEqual(["a read's id is a positive integer"])
    }
    const noReason = await details(run[0]!, "")
    expect(noReason.status).toBe(400)
    expect(await noReason.text()).toMatch(/reason_code is required/)
  })

  it("is for operators and admins: a viewer is refused, no session is 401", async () => {
    expect((await details(run[0]!, undefined, await server.signIn("viewer"))).status).toBe(403)
    expect((await details(run[0]!, undefined, null)).status).toBe(401)
    const admin = await ok(run[1]!, await server.signIn("admin"))
    expect(admin.alerts).toHaveLength(2)
  })
})
