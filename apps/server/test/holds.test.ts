import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { connect } from "../../../test-support/Database"
import { alprAgainst, describeRun, INVOCATION_MS, lastJson, lines } from "./alprCli"
import { startServer, type SignedIn, type TestServer } from "./harness"
import { api, auditOf, daysAgo, ingestWithPhotos, retentionSettings } from "./retentionHarness"
import { outcomeOf, rpcAs, rpcUrlOf } from "./rpcClient"

/** Legal holds over HTTP and the command line, and what admins see of retention. */

let server: TestServer
let apiKey: string
let operator: SignedIn
let admin: SignedIn
let viewer: SignedIn
const alpr = alprAgainst(() => server.databaseUrl)

beforeAll(async () => {
  server = await startServer({ retention: retentionSettings() })
  ;({ apiKey } = await server.collector("holds site"))
  operator = await server.signIn("operator")
  admin = await server.signIn("admin")
  viewer = await server.signIn("viewer")
}, 60_000)
afterAll(() => server?.close())

const create = (user: SignedIn, body: unknown) => api(server, user, "/api/v1/holds", { method: "POST", body })
const why = { case_number: "C-100", reason: "preserve for trial" }

describe("making a hold", () => {
  it("holds a list of reads, or a camera over a time range, and counts the reads it covers", async () => {
    const reads = await ingestWithPhotos(server, apiKey, [
      { plate: "LIST01", at: daysAgo(2), camera: "cam-holds" },
      { plate: "LIST02", at: daysAgo(1), camera: "cam-holds" },
      { plate: "LIST03", at: daysAgo(0.5), camera: "cam-holds" }
    ])
    const listed = await create(operator, { ...why, detections: [reads[0]!.id, reads[1]!.id, reads[0]!.id] })
    expect(listed.status).toBe(201)
    expect(await listed.json()).toMatchObject({ scope: "detections", detection_ids: [reads[0]!.id, reads[1]!.id], detections: 2 })

    const { rows: [camera] } = await server.db.query(
      "SELECT c.id, c.external_id FROM cameras c JOIN detections d ON d.camera_id = c.id WHERE d.id = $1",
      [reads[0]!.id]
    )
    const ranged = await create(operator, { ...why, camera_id: camera.id, from: daysAgo(1.5), to: new Date().toISOString() })
    expect(ranged.status).toBe(201)
    expect(await ranged.json()).toMatchObject({ scope: "camera", camera_id: camera.id, camera_name: "cam-holds", detections: 2 })
  })

  it("refuses what is not exactly one scope, or names reads and cameras that are not there, saying why", async () => {
    const cases: ReadonlyArray<readonly [unknown, number, RegExp]> = [
      [{ ...why }, 400, /exactly one of/],
      [{ ...why, plate: "ABC123", detections: ["1"] }, 400, /exactly one of/],
      [{ ...why, plate: "---" }, 400, /no letters or digits/],
      [{ ...why, plate: "ABC123", from: "2026-01-01T00:00:00Z" }, 400, /from and to go with camera_id/],
      [{ ...why, camera_id: "00000000-0000-4000-8000-000000000000" }, 400, /needs from and to/],
      [{ ...why, camera_id: "00000000-0000-4000-8000-000000000000", from: "2026-02-01T00:00:00Z", to: "2026-01-01T00:00:00Z" }, 400, /from is after to/],
      [{ ...why, camera_id: "00000000-0000-4000-8000-000000000000", from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z" }, 404, /no camera/],
      [{ ...why, detections: ["999999999"] }, 404, /no read 999999999/],
      [{ ...why, detections: ["1; DROP TABLE detections"] }, 400, /a read's id is its number/],
      [{ ...why, detections: [] }, 400, /at least one read/],
      [{ case_number: "", reason: "x", plate: "ABC123" }, 400, /case_number is required/],
      [{ case_number: "C\n1", reason: "x", plate: "ABC123" }, 400, /printable/],
      [{ case_number: "C-1", reason: " ", plate: "ABC123" }, 400, /reason is required/],
      [{ case_number: "C-1", reason: "x".repeat(501), plate: "ABC123" }, 400, /at most 500/]
    ]
    for (const [body, status, message] of cases) {
      const response = await create(operator, body)
      expect(response.status, JSON.stringify(body)).toBe(status)
      expect(await response.text(), JSON.stringify(body)).toMatch(message)
    }
  })

  it("is for operators and admins; releasing is for admins, once", async () => {
    expect((await create(viewer, { ...why, plate: "ROLE01" })).status).toBe(403)
    expect((await api(server, viewer, "/api/v1/holds")).status).toBe(403)
    expect((await fetch(`${server.url}/api/v1/holds`)).status).toBe(401)
    const made = await create(admin, { ...why, plate: "ROLE01" })
    expect(made.status).toBe(201)
    const { id } = await made.json() as { id: string }
    expect((await api(server, viewer, `/api/v1/holds/${id}/release`, { method: "POST", body: {} })).status).toBe(403)
    expect((await api(server, operator, `/api/v1/holds/${id}/release`, { method: "POST", body: {} })).status).toBe(403)
    expect((await api(server, admin, "/api/v1/holds/00000000-0000-4000-8000-000000000000/release", { method: "POST", body: {} })).status).toBe(404)
    expect((await api(server, admin, `/api/v1/holds/${id}/release`, { method: "POST", body: {} })).status).toBe(200)
    expect((await api(server, admin, `/api/v1/holds/${id}/release`, { method: "POST", body: {} })).status).toBe(409)
    // Without the session's CSRF token a state change is refused.
    const forged = await fetch(`${server.url}/api/v1/holds`, {
      method: "POST",
      headers: { cookie: operator.cookie, "content-type": "application/json" },
      body: JSON.stringify({ ...why, plate: "CSRF01" })
    })
    expect(forged.status).toBe(403)
  })

  it("lists active, released or all holds, newest first, by case number", async () => {
    const mine = { case_number: "LIST-CASE-7", reason: "listing" }
    const a = await (await create(operator, { ...mine, plate: "LST001" })).json() as { id: string }
    const b = await (await create(operator, { ...mine, plate: "LST002" })).json() as { id: string }
    await api(server, admin, `/api/v1/holds/${a.id}/release`, { method: "POST", body: {} })
    const ids = async (query: string) =>
      ((await (await api(server, operator, `/api/v1/holds?case_number=LIST-CASE-7${query}`)).json()) as { items: Array<{ id: string }> })
        .items.map((h) => h.id)
    expect(await ids("")).toEqual([b.id])
    expect(await ids("&status=released")).toEqual([a.id])
    expect(await ids("&status=all")).toEqual([b.id, a.id])
    expect((await api(server, operator, "/api/v1/holds?status=everything")).status).toBe(400)
  })
})

describe("holds and retention at the same moment", () => {
  it("a hold waits for the purge batch deleting now, so the reads it reports are still there", async () => {
    const batch = await connect(server.databaseUrl)
    try {
      // A purge batch in flight holds this lock (shared) until it commits.
      await batch.query("BEGIN")
      await batch.query("SELECT pg_advisory_xact_lock_shared(7415017)")
      let answered = false
      const made = create(operator, { ...why, plate: "RACE01" }).then((r) => {
        answered = true
        return r
      })
      await new Promise((resolve) => setTimeout(resolve, 700))
      expect(answered).toBe(false)
      await batch.query("COMMIT")
      expect((await made).status).toBe(201)
    } finally {
      await batch.end()
    }
  })
})

describe("the command line", () => {
  it("creates, lists and releases holds, audited as done from the command line", async () => {
    const [read] = await ingestWithPhotos(server, apiKey, [{ plate: "CLI-HOLD", at: daysAgo(3) }])
    const created = await alpr(["hold", "create", "--detections", `${read!.id}`, "--case", "CLI-9", "--reason", "court order"])
    expect(created.code, describeRun(created)).toBe(0)
    const made = lastJson(created)
    expect(Object.keys(made).sort()).toEqual(["detections", "hold_id"])
    expect(made.detections).toBe(1)

    const listed = await alpr(["hold", "list"])
    expect(listed.code, describeRun(listed)).toBe(0)
    expect(lines(listed.stdout).map((line) => JSON.parse(line).id)).toContain(made.hold_id)

    const released = await alpr(["hold", "release", "--id", made.hold_id, "--note", "done"])
    expect(released.code, describeRun(released)).toBe(0)
    expect(lastJson(released)).toMatchObject({ id: made.hold_id, released_by: "cli", release_note: "done" })

    const bad = await alpr(["hold", "create", "--camera", "not-a-uuid", "--from", "2026-01-01T00:00:00Z", "--to", "2026-01-02T00:00:00Z", "--case", "C", "--reason", "r"])
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/camera_id is a camera's UUID/)

    const audited = (await auditOf(server, ["hold.create", "hold.release"])).filter((row) => row.target === `hold:${made.hold_id}`)
    expect(audited.map((row) => [row.action, row.actor_username, row.details.via])).toEqual([
      ["hold.create", null, "cli"],
      ["hold.release", null, "cli"]
    ])
  }, INVOCATION_MS * 4)
})

describe("retention for admins", () => {
  it("shows the periods, the floors the database enforces, derived lifetimes and recent runs, to admins only", async () => {
    const status = await rpcAs(rpcUrlOf(server), admin.cookie, (client) => client.retention.status())
    expect(status.periods.map((p) => [p.data_class, p.text, p.enforced_minutes])).toEqual([
      ["scene_image", "1 year (365 days)", 365 * 1440],
      ["plate_image", "1 year (365 days)", 365 * 1440],
      ["detection", "7 years (2557 days)", 2557 * 1440],
      ["nonhit", "off", null]
    ])
    expect(status.derived.map((d) => d.table)).toContain("sessions")
    expect(status.interval_minutes).toBeNull()
    expect(status.active_holds).toBeGreaterThan(0)
    const refused = await rpcAs(rpcUrlOf(server), operator.cookie, (client) => client.retention.status().pipe(Effect.exit))
    expect(Exit.isFailure(refused) && outcomeOf(refused)).toMatch(/^Forbidden/)
  })
})
