import { parse } from "csv-parse/sync"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { alprAgainst, describeRun, lastJson } from "./alprCli"
import { detection, fakeJpeg, type SignedIn, startServer, type TestServer } from "./harness"

interface Item {
  id: string
  plate: string
  correction: { action: string; plate: string | null; by: string; note: string | null } | null
}

describe("corrections", () => {
  let server: TestServer
  let apiKey: string
  let operator: SignedIn
  const ids: Record<string, string> = {}
  const photo = fakeJpeg(3_000, 5)

  const search = async (plate: string, mode = "exact") => {
    const response = await fetch(
      `${server.url}/api/v1/detections?${new URLSearchParams({ plate, mode, reason_code: "training", reason: "corrections test" })}`,
      { headers: { cookie: operator.cookie } }
    )
    expect(response.status).toBe(200)
    return ((await response.json()) as { items: Array<Item> }).items
  }
  const correct = (id: string, body: unknown, who: SignedIn = operator) =>
    fetch(`${server.url}/api/v1/detections/${id}/corrections`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: who.cookie, "x-csrf-token": who.csrf },
      body: JSON.stringify(body)
    })

  beforeAll(async () => {
    server = await startServer()
    apiKey = (await server.collector()).apiKey
    operator = await server.signIn("operator")
    const events = ["8ABC123", "KXY4402", "NOISE77"].map((text, i) =>
      detection({ timestamp: new Date(Date.now() - (i + 1) * 120_000).toISOString(), plate: { text, confidence: 0.6 } })
    )
    const form = new FormData()
    form.append("batch", JSON.stringify({ events }))
    form.append(`plate:${events[0]!.detection_id}`, new Blob([photo], { type: "image/jpeg" }))
    const response = await fetch(`${server.url}/api/v1/detections/batch`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}` },
      body: form
    })
    expect(response.status).toBe(200)
    for (const text of ["8ABC123", "KXY4402", "NOISE77"]) ids[text] = (await search(text))[0]!.id
  })
  afterAll(() => server?.close())

  it("records a correction beside the untouched read, and search finds the read by either plate", async () => {
    const response = await correct(ids["8ABC123"]!, { action: "correct", plate: "bab-c123", note: "B read as 8, plate photo is clear" })
    expect(response.status).toBe(201)
    const correction = (await response.json()) as Record<string, unknown>
    expect(correction).toMatchObject({ action: "correct", plate_text: "bab-c123", plate: "BABC123", by: operator.username })

    const byNew = await search("BABC123")
    expect(byNew.map((i) => i.id)).toEqual([ids["8ABC123"]])
    expect(byNew[0]!.plate).toBe("8ABC123")
    expect(byNew[0]!.correction).toMatchObject({ action: "correct", plate: "BABC123" })
    expect((await search("8ABC123")).map((i) => i.id)).toEqual([ids["8ABC123"]])
    expect((await search("BAB*", "partial")).map((i) => i.id)).toEqual([ids["8ABC123"]])

    // The detection itself is evidence: unchanged.
    const { rows } = await server.db.query("SELECT plate, plate_text FROM detections WHERE id = $1", [ids["8ABC123"]])
    expect(rows[0]).toEqual({ plate: "8ABC123", plate_text: "8ABC123" })
    await expect(server.db.query("UPDATE corrections SET plate = 'X'")).rejects.toThrow(/append-only/)
    const audit = await server.db.query(
      "SELECT actor_username, target, reason, details FROM audit_log WHERE action = 'detection.correct'"
    )
    expect(audit.rows[0]).toMatchObject({
      actor_username: operator.username,
      target: `detection:${ids["8ABC123"]}`,
      reason: "B read as 8, plate photo is clear",
      details: { action: "correct", original_plate: "8ABC123", corrected_plate: "BABC123" }
    })
  })

  it("lets a newer correction supersede an older one, keeping the history", async () => {
    const id = ids["KXY4402"]!
    expect((await correct(id, { action: "correct", plate: "KXY4403" })).status).toBe(201)
    expect((await correct(id, { action: "confirm" })).status).toBe(201)
    expect(await search("KXY4403")).toEqual([])
    const [item] = await search("KXY4402")
    expect(item!.correction).toMatchObject({ action: "confirm", plate: null })
    const history = await fetch(`${server.url}/api/v1/detections/${id}/corrections`, { headers: { cookie: operator.cookie } })
    expect(((await history.json()) as Array<{ action: string }>).map((c) => c.action)).toEqual(["confirm", "correct"])

    // In force is the newest by id, not by its text: ids past 9 and 10 still order.
    for (let i = 0; i < 9; i++) expect((await correct(id, { action: i % 2 === 0 ? "reject" : "confirm" })).status).toBe(201)
    expect((await correct(id, { action: "correct", plate: "KXY4409" })).status).toBe(201)
    const [latest] = await search("KXY4409")
    expect(latest!.correction).toMatchObject({ action: "correct", plate: "KXY4409" })
  })

  it("refuses bad corrections clearly, and viewers altogether", async () => {
    const id = ids["NOISE77"]!
    for (const body of [{ action: "correct" }, { action: "correct", plate: " - " }, { action: "reject", plate: "ABC" }, { action: "erase" }]) {
      const response = await correct(id, body)
      expect(response.status, JSON.stringify(body)).toBe(400)
    }
    expect((await correct("999999", { action: "confirm" })).status).toBe(404)
    const viewer = await server.signIn("viewer")
    expect((await correct(id, { action: "reject" }, viewer)).status).toBe(403)
    const noCsrf = await fetch(`${server.url}/api/v1/detections/${id}/corrections`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: operator.cookie },
      body: JSON.stringify({ action: "reject" })
    })
    expect(noCsrf.status).toBe(403)
    expect((await correct(id, { action: "reject", note: "a hedge, no plate" })).status).toBe(201)
  })

  it("exports the corrected reads with their photos for retraining", async () => {
    const out = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-corrections-"))
    try {
      const alpr = alprAgainst(() => server.databaseUrl)
      const refused = await alpr(["corrections", "export", "--out", out], { DATA_DIR: server.dataDir })
      expect(refused.code, describeRun(refused)).not.toBe(0)
      expect(refused.stderr).toMatch(/reason_code is required: say why you export .*one of: .*training/)
      // Words alone do not do: the code is what is required.
      const wordsOnly = await alpr(["corrections", "export", "--out", out, "--reason", "retrain"], { DATA_DIR: server.dataDir })
      expect(wordsOnly.code, describeRun(wordsOnly)).not.toBe(0)
      expect(wordsOnly.stderr).toMatch(/reason_code is required/)
      const unknown = await alpr(["corrections", "export", "--out", out, "--reason-code", "retraining"], { DATA_DIR: server.dataDir })
      expect(unknown.code, describeRun(unknown)).not.toBe(0)
      expect(unknown.stderr).toMatch(/reason_code "retraining" is not a reason code; use one of: .*training/)
      const run = await alpr(
        ["corrections", "export", "--out", out, "--reason-code", "training", "--case", "ML-2026-4", "--reason", "retrain the county model"],
        { DATA_DIR: server.dataDir }
      )
      expect(run.code, describeRun(run)).toBe(0)
      expect(lastJson(run)).toMatchObject({ rows: 2, images: 1, images_failed: 0 })
      const rows = parse(await Fs.readFile(Path.join(out, "corrections.csv")), { columns: true }) as Array<Record<string, string>>
      expect(rows.map((r) => r.corrected_plate)).toEqual(["BABC123", "KXY4409"])
      expect(rows[0]).toMatchObject({
        detection_id: ids["8ABC123"],
        original_plate: "8ABC123",
        corrected_plate: "BABC123",
        action: "correct",
        note: "B read as 8, plate photo is clear",
        plate_image: `images/${ids["8ABC123"]}-plate.jpg`,
        scene_image: ""
      })
      expect(new Uint8Array(await Fs.readFile(Path.join(out, rows[0]!.plate_image!)))).toEqual(photo)

      // A read a person confirmed is a labelled example too, when asked for.
      expect((await correct(ids["NOISE77"]!, { action: "confirm" })).status).toBe(201)
      const withConfirmed = await alpr(["corrections", "export", "--out", out, "--include-confirmed", "--reason-code", "training"], {
        DATA_DIR: server.dataDir
      })
      expect(lastJson(withConfirmed)).toMatchObject({ rows: 3 })
      const audit = await server.db.query("SELECT reason, details FROM audit_log WHERE action = 'export.corrections' ORDER BY id")
      expect(audit.rows.map((r) => [r.reason, r.details.reason_code, r.details.case_number, r.details.rows])).toEqual([
        ["retrain the county model", "training", "ML-2026-4", 2],
        [null, "training", undefined, 3]
      ])
    } finally {
      await Fs.rm(out, { recursive: true, force: true })
    }
  }, 90_000)

  it("writes text a spreadsheet would run as a formula with a leading quote", async () => {
    const event = detection({ plate: { text: "=HYPERLINK(\"http://x.io\")", confidence: 0.5 } })
    const form = new FormData()
    form.append("batch", JSON.stringify({ events: [event] }))
    const response = await fetch(`${server.url}/api/v1/detections/batch`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}` },
      body: form
    })
    expect(await response.json()).toMatchObject({ accepted: 1 })
    const { rows: [read] } = await server.db.query("SELECT id FROM detections WHERE detection_id = $1", [event.detection_id])
    expect((await correct(String(read.id), { action: "correct", plate: "HYP 1", note: "@SUM(A1:A9) -1" })).status).toBe(201)
    const out = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-corrections-"))
    try {
      const alpr = alprAgainst(() => server.databaseUrl)
      const run = await alpr(["corrections", "export", "--out", out, "--reason-code", "audit", "--reason", "formula check"], { DATA_DIR: server.dataDir })
      expect(run.code, describeRun(run)).toBe(0)
      const rows = parse(await Fs.readFile(Path.join(out, "corrections.csv")), { columns: true }) as Array<Record<string, string>>
      for (const row of rows) for (const cell of Object.values(row)) expect(cell).not.toMatch(/^[=+\-@\t\r]/)
      expect(rows.find((r) => r.detection_id === String(read.id))).toMatchObject({
        original_text: "'=HYPERLINK(\"http://x.io\")",
        corrected_plate: "HYP1",
        note: "'@SUM(A1:A9) -1"
      })
    } finally {
      await Fs.rm(out, { recursive: true, force: true })
    }
  }, 60_000)
})
