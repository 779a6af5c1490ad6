import { derivedServingUrl } from "@chaverim/server/db/ServingRole"
import { createHash } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect } from "../../../test-support/Database"
import { alprAgainst, describeRun, lastJson } from "./alprCli"
import { detection, fakeJpeg, type SignedIn, startServer, type TestServer } from "./harness"
import { bundleFile, verifyAsRecipient } from "./recipient"

// EXPORT_APPROVAL=required: an export is released only once an admin other than its requester approved it.


const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

/** Reads with a plate photo each, through the real ingest endpoint; their ids in order. */
const ingest = async (server: TestServer, apiKey: string, plates: ReadonlyArray<string>) => {
  const events = plates.map((plate, i) =>
    detection({ timestamp: new Date(Date.now() - (plates.length - i) * 60_000).toISOString(), plate: { text: plate, confidence: 0.9 } })
  )
  const form = new FormData()
  form.append("batch", JSON.stringify({ events }))
  events.forEach((event, i) =>
    form.append(`plate:${event.detection_id}`, new Blob([fakeJpeg(400, i + plates.length * 7) as Uint8Array<ArrayBuffer>], { type: "image/jpeg" }))
  )
  const response = await fetch(`${server.url}/api/v1/detections/batch`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}` },
    body: form
  })
  expect(response.status).toBe(200)
  const { rows } = await server.db.query<{ id: string; detection_id: string }>(
    "SELECT id::text, detection_id FROM detections WHERE detection_id = ANY($1)",
    [events.map((e) => e.detection_id)]
  )
  return events.map((e) => rows.find((r) => r.detection_id === e.detection_id)!.id)
}

const post = (server: TestServer, who: SignedIn | undefined, path: string, body?: unknown) =>
  fetch(`${server.url}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(who === undefined ? {} : { cookie: who.cookie, "x-csrf-token": who.csrf })
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })

const get = (server: TestServer, who: SignedIn, path: string) => fetch(`${server.url}${path}`, { headers: { cookie: who.cookie } })

/** The verifier as a recipient runs it: one file in an empty folder, plain `node`. */

const exportJson = async (zip: Buffer): Promise<any> => JSON.parse((await bundleFile(zip, "export.json")).toString("utf8"))

const auditRows = async (server: TestServer, action: string, target: string) =>
  (await server.db.query(
    "SELECT actor_username, outcome, details, reason FROM audit_log WHERE action = $1 AND target = $2 ORDER BY id",
    [action, target]
  )).rows

describe("evidence exports with EXPORT_APPROVAL=required", () => {
  let server: TestServer
  let apiKey: string
  let operator: SignedIn
  let otherOperator: SignedIn
  let viewer: SignedIn
  let approver: SignedIn
  let requestingAdmin: SignedIn
  let fingerprint: string
  let ids: Array<string>
  const plate = "APR1234"
  const body = { plate, case_number: "CASE-77", reason_code: "stolen_vehicle", reason: "reported stolen" }

  beforeAll(async () => {
    server = await startServer({ exportApproval: "required" })
    ;({ apiKey } = await server.collector())
    operator = await server.signIn("operator")
    otherOperator = await server.signIn("operator")
    viewer = await server.signIn("viewer")
    approver = await server.signIn("admin")
    requestingAdmin = await server.signIn("admin")
    ids = await ingest(server, apiKey, [plate, plate, "OTHER01"])
    fingerprint = ((await (await fetch(`${server.url}/api/v1/evidence/key`)).json()) as { fingerprint: string }).fingerprint
  })
  afterAll(() => server?.close())

  const ask = async (who: SignedIn, payload: unknown = body) => {
    const response = await post(server, who, "/api/v1/evidence/exports", payload)
    expect(response.status).toBe(202)
    expect(response.headers.get("content-type")).toMatch(/^application\/json/)
    return (await response.json()) as Record<string, any>
  }

  it("records an export asked for as pending, audited, and releases no bundle", async () => {
    const pending = await ask(operator)
    expect(pending).toMatchObject({
      state: "pending",
      requested_by: operator.username,
      requested_via: "http",
      case_number: "CASE-77",
      reason_code: "stolen_vehicle",
      reason: "reported stolen",
      selection: { kind: "plate", plate },
      detections: 2,
      images: 2,
      decided_by: null,
      released: 0
    })
    // No bundle was made or recorded.
    const { rows: made } = await server.db.query("SELECT count(*)::int AS n FROM evidence_exports")
    expect(made[0].n).toBe(0)
    const staged = await Fs.readdir(Path.join(server.dataDir, "tmp", "evidence")).catch(() => [])
    expect(staged).toEqual([])
    const [audited] = await auditRows(server, "evidence.request", `evidence_request:${pending.id}`)
    expect(audited).toMatchObject({
      actor_username: operator.username,
      outcome: "success",
      reason: "reported stolen",
      details: { case_number: "CASE-77", detections: 2, detection_ids: [ids[0], ids[1]], state: "pending" }
    })
    // Asking for its bundle now is refused, and audited.
    const early = await post(server, operator, `/api/v1/evidence/requests/${pending.id}/bundle`)
    expect(early.status).toBe(409)
    expect(await early.text()).toMatch(/awaits an admin's approval/)
    const { rows: refused } = await server.db.query(
      "SELECT count(*)::int AS n FROM audit_log WHERE action = 'evidence.export' AND outcome = 'failure' AND details->>'request_id' = $1",
      [pending.id]
    )
    expect(refused[0].n).toBe(1)
  })

  it("never lets the requester approve their own: not over HTTP, not in SQL as the serving role", async () => {
    const own = await ask(requestingAdmin, { ...body, case_number: "CASE-OWN" })
    const self = await post(server, requestingAdmin, `/api/v1/evidence/requests/${own.id}/approve`, {})
    expect(self.status).toBe(403)
    expect(await self.text()).toMatch(/another admin must approve/)
    const [denied] = await auditRows(server, "evidence.approve", `evidence_request:${own.id}`)
    expect(denied).toMatchObject({ actor_username: requestingAdmin.username, outcome: "denied" })

    // The serving role, the server's own database login, is refused by the database itself.
    const { rows: [{ database }] } = await server.db.query("SELECT current_database() AS database")
    const serving = await connect(derivedServingUrl(server.databaseUrl, database))
    try {
      await expect(serving.query(
        `UPDATE evidence_export_requests
            SET state = 'approved', decided_at = now(), decided_by = $2, decided_by_name = $3, decided_via = 'http'
          WHERE id = $1`,
        [own.id, requestingAdmin.userId, requestingAdmin.username]
      )).rejects.toThrow(/evidence_export_requests_second_person/)
      // Nor by an operator, nor twice, nor removed; and no bundle of an unapproved request is recorded.
      await expect(serving.query(
        `UPDATE evidence_export_requests
            SET state = 'approved', decided_at = now(), decided_by = $2, decided_by_name = 'x', decided_via = 'http'
          WHERE id = $1`,
        [own.id, otherOperator.userId]
      )).rejects.toThrow(/decided by an enabled admin/)
      await expect(serving.query("DELETE FROM evidence_export_requests WHERE id = $1", [own.id])).rejects.toThrow(/never removed/)
      await expect(serving.query(
        `INSERT INTO evidence_exports (id, user_id, username, via, case_number, reason_code, selection, detections, images,
                                       images_not_matching, bytes, sha256, key_fingerprint, request_id)
         VALUES (gen_random_uuid(), $2, 'x', 'http', 'CASE-OWN', 'stolen_vehicle', $3, 2, 2, 0, 10, $4, $4, $1)`,
        [own.id, requestingAdmin.userId, JSON.stringify(own.selection), "a".repeat(64)]
      )).rejects.toThrow(/is not approved/)
    } finally {
      await serving.end()
    }
    const { rows } = await server.db.query("SELECT state FROM evidence_export_requests WHERE id = $1", [own.id])
    expect(rows[0].state).toBe("pending")
  })

  it("releases the approved reads, to the requester or an admin, in a bundle that verifies and names the approver", async () => {
    const pending = (await (await get(server, operator, "/api/v1/evidence/requests?state=pending")).json() as { items: Array<any> }).items
    const request = pending.find((r) => r.case_number === "CASE-77")!
    // A read of the plate that arrives after the request is not in what was approved.
    await ingest(server, apiKey, [plate])

    // Operators do not approve; an admin who did not ask does, once.
    expect((await post(server, otherOperator, `/api/v1/evidence/requests/${request.id}/approve`, {})).status).toBe(403)
    const approved = await post(server, approver, `/api/v1/evidence/requests/${request.id}/approve`, { note: "court order 12" })
    expect(approved.status).toBe(200)
    expect(await approved.json()).toMatchObject({ state: "approved", decided_by: approver.username, decided_via: "http", decision_note: "court order 12" })
    const again = await post(server, approver, `/api/v1/evidence/requests/${request.id}/refuse`, { note: "changed my mind" })
    expect(again.status).toBe(409)
    expect(await again.text()).toMatch(/a decision is final/)
    const [audited] = await auditRows(server, "evidence.approve", `evidence_request:${request.id}`)
    expect(audited).toMatchObject({
      actor_username: approver.username,
      outcome: "success",
      reason: "court order 12",
      details: { decided_by: approver.username, requested_by: operator.username, case_number: "CASE-77" }
    })

    // Nobody else's operator, no viewer.
    expect((await post(server, otherOperator, `/api/v1/evidence/requests/${request.id}/bundle`)).status).toBe(403)
    expect((await post(server, viewer, `/api/v1/evidence/requests/${request.id}/bundle`)).status).toBe(403)

    const response = await post(server, operator, `/api/v1/evidence/requests/${request.id}/bundle`)
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("application/zip")
    const zip = Buffer.from(await response.arrayBuffer())
    const exportId = response.headers.get("x-export-id")!
    expect(response.headers.get("x-bundle-sha256")).toBe(sha256(zip))

    const run = await verifyAsRecipient(zip, fingerprint)
    expect(run.code, run.stdout).toBe(0)
    expect(run.stdout).toContain(`approved by ${approver.username} at `)
    expect(run.stdout).toContain(`asked for by ${operator.username}`)
    expect(run.stdout).toContain("2 reads, 2 photos")
    const meta = await exportJson(zip)
    expect(meta).toMatchObject({
      export_id: exportId,
      read_ids: [ids[0], ids[1]],
      exported_by: { via: "http", username: operator.username },
      approval: {
        request_id: request.id,
        requested_by: operator.username,
        approved_by: approver.username,
        approved_via: "http",
        note: "court order 12"
      }
    })
    expect(Date.parse(meta.approval.approved_at)).toBeGreaterThan(Date.parse(meta.approval.requested_at))

    const { rows: record } = await server.db.query("SELECT request_id::text, username, sha256 FROM evidence_exports WHERE id = $1", [exportId])
    expect(record).toEqual([{ request_id: request.id, username: operator.username, sha256: sha256(zip) }])
    const [exported] = await auditRows(server, "evidence.export", `evidence_export:${exportId}`)
    expect(exported).toMatchObject({ outcome: "success", details: { request_id: request.id, approved_by: approver.username } })

    // An admin may download it too; each bundle is its own record.
    const byAdmin = await post(server, requestingAdmin, `/api/v1/evidence/requests/${request.id}/bundle`)
    expect(byAdmin.status).toBe(200)
    await byAdmin.arrayBuffer()
    const list = (await (await get(server, operator, "/api/v1/evidence/requests")).json()) as { items: Array<any> }
    expect(list.items.find((r) => r.id === request.id)).toMatchObject({ state: "approved", released: 2 })
  })

  it("refuses with a note: a refused export is never released", async () => {
    const request = await ask(operator, { ...body, case_number: "CASE-NO" })
    const blank = await post(server, approver, `/api/v1/evidence/requests/${request.id}/refuse`, { note: "  " })
    expect(blank.status).toBe(400)
    const refused = await post(server, approver, `/api/v1/evidence/requests/${request.id}/refuse`, { note: "no case open under this number" })
    expect(refused.status).toBe(200)
    expect(await refused.json()).toMatchObject({ state: "refused", decided_by: approver.username })
    const [audited] = await auditRows(server, "evidence.refuse", `evidence_request:${request.id}`)
    expect(audited).toMatchObject({ actor_username: approver.username, outcome: "success", reason: "no case open under this number" })
    for (const who of [operator, approver]) {
      const download = await post(server, who, `/api/v1/evidence/requests/${request.id}/bundle`)
      expect(download.status).toBe(409)
      expect(await download.text()).toMatch(/refused by .*: no case open under this number/)
    }
    expect((await post(server, approver, `/api/v1/evidence/requests/${request.id}/approve`, {})).status).toBe(409)
    const { rows } = await server.db.query("SELECT count(*)::int AS n FROM evidence_exports WHERE request_id = $1", [request.id])
    expect(rows[0].n).toBe(0)
  })

  it("lists requests to admins (all) and operators (their own); refuses viewers, strangers and bad ids", async () => {
    const mine = (await (await get(server, operator, "/api/v1/evidence/requests")).json()) as { items: Array<any> }
    expect(mine.items.length).toBeGreaterThan(0)
    expect(mine.items.every((r) => r.requested_by === operator.username)).toBe(true)
    const theirs = (await (await get(server, otherOperator, "/api/v1/evidence/requests")).json()) as { items: Array<any> }
    expect(theirs.items).toEqual([])
    const all = (await (await get(server, approver, "/api/v1/evidence/requests")).json()) as { items: Array<any> }
    expect(new Set(all.items.map((r) => r.requested_by))).toEqual(new Set([operator.username, requestingAdmin.username]))
    const pending = (await (await get(server, approver, "/api/v1/evidence/requests?state=pending")).json()) as { items: Array<any> }
    expect(pending.items.map((r) => r.case_number)).toEqual(["CASE-OWN"])
    expect((await get(server, viewer, "/api/v1/evidence/requests")).status).toBe(403)
    expect((await post(server, viewer, "/api/v1/evidence/exports", body)).status).toBe(403)
    expect((await post(server, undefined, `/api/v1/evidence/requests/${pending.items[0].id}/approve`, {})).status).toBe(401)
    expect((await post(server, approver, "/api/v1/evidence/requests/not-a-uuid/approve", {})).status).toBe(400)
    const unknown = await post(server, approver, "/api/v1/evidence/requests/6f1c2b8e-0000-4000-8000-000000000000/approve", {})
    expect(unknown.status).toBe(404)
    expect((await get(server, approver, "/api/v1/evidence/requests?state=maybe")).status).toBe(400)
    // A bad request is still a 400 that says why, audited as a refused request.
    const bad = await post(server, operator, "/api/v1/evidence/exports", { ...body, plate: "NOSUCH9" })
    expect(bad.status).toBe(404)
    const { rows } = await server.db.query(
      "SELECT count(*)::int AS n FROM audit_log WHERE action = 'evidence.request' AND outcome = 'failure' AND actor_username = $1",
      [operator.username]
    )
    expect(rows[0].n).toBe(1)
  })

  it("works from the command line: export prints the pending id, approve needs another admin by name, fetch writes the bundle", async () => {
    const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-approval-cli-"))
    const alpr = alprAgainst(() => server.databaseUrl)
    const env = { DATA_DIR: server.dataDir, EXPORT_APPROVAL: "required" }
    try {
      const out = Path.join(dir, "case.zip")
      const asked = await alpr(["evidence", "export", "--plate", plate, "--case", "CLI-9", "--reason-code", "investigation", "--out", out], env)
      expect(asked.code, describeRun(asked)).toBe(0)
      const pending = lastJson(asked)
      expect(pending).toEqual({ export_id: expect.any(String), state: "pending", detections: 3, images: 3 })
      expect(asked.stderr).toContain(`alpr evidence fetch --id ${pending.export_id}`)
      expect(await Fs.readdir(dir)).toEqual([])

      const early = await alpr(["evidence", "fetch", "--id", pending.export_id, "--out", out], env)
      expect(early.code).not.toBe(0)
      expect(early.stderr).toMatch(/awaits an admin's approval/)
      // The command line decides only in an admin's name, and never a request made at the command line.
      const asOperator = await alpr(["evidence", "approve", "--id", pending.export_id, "--as", operator.username], env)
      expect(asOperator.code).not.toBe(0)
      expect(asOperator.stderr).toMatch(/not an enabled admin/)
      const cliTwice = await alpr(["evidence", "approve", "--id", pending.export_id, "--as", approver.username], env)
      expect(cliTwice.code).not.toBe(0)
      expect(cliTwice.stderr).toMatch(/asked for at the command line: an admin approves or refuses it in the web app/)

      expect((await post(server, approver, `/api/v1/evidence/requests/${pending.export_id}/approve`, {})).status).toBe(200)
      const fetched = await alpr(["evidence", "fetch", "--id", pending.export_id, "--out", out], env)
      expect(fetched.code, describeRun(fetched)).toBe(0)
      const zip = await Fs.readFile(out)
      expect(lastJson(fetched)).toEqual({ export_id: expect.any(String), detections: 3, images: 3, sha256: sha256(zip) })
      const run = await verifyAsRecipient(zip, fingerprint)
      expect(run.code, run.stdout).toBe(0)
      expect(run.stdout).toContain(`approved by ${approver.username}`)
      expect((await exportJson(zip)).approval).toMatchObject({ requested_by: null, requested_via: "cli", approved_by: approver.username })

      // A web request is approved from the command line in another admin's name, recorded as that admin.
      const web = await ask(operator, { ...body, case_number: "CASE-CLI-OK" })
      const approveCli = await alpr(["evidence", "approve", "--id", web.id, "--as", approver.username, "--note", "by phone"], env)
      expect(approveCli.code, describeRun(approveCli)).toBe(0)
      expect(lastJson(approveCli)).toMatchObject({ state: "approved", decided_by: approver.username, decided_via: "cli" })
      const [audited] = await auditRows(server, "evidence.approve", `evidence_request:${web.id}`)
      expect(audited).toMatchObject({ actor_username: null, outcome: "success", details: { via: "cli", as: approver.username } })
      // ... but never in the requester's own name; and its bundle is downloaded in the web app.
      const own = (await (await get(server, approver, "/api/v1/evidence/requests?state=pending")).json()) as { items: Array<any> }
      const ownId = own.items.find((r) => r.requested_by === requestingAdmin.username)!.id
      const self = await alpr(["evidence", "refuse", "--id", ownId, "--as", requestingAdmin.username, "--note", "withdrawn"], env)
      expect(self.code).not.toBe(0)
      expect(self.stderr).toMatch(/you asked for this export/)
      const otherFetch = await alpr(["evidence", "fetch", "--id", web.id, "--out", Path.join(dir, "web.zip")], env)
      expect(otherFetch.code).not.toBe(0)
      expect(otherFetch.stderr).toMatch(/asked for in the web app/)
      expect(await Fs.readdir(dir)).toEqual(["case.zip"])

      // A value that is neither off nor required stops the command, naming the setting.
      const bad = await alpr(["evidence", "fetch", "--id", web.id, "--out", out], { ...env, EXPORT_APPROVAL: "sometimes" })
      expect(bad.code).not.toBe(0)
      expect(bad.stderr).toMatch(/EXPORT_APPROVAL is off or required, not "sometimes"/)
    } finally {
      await Fs.rm(dir, { recursive: true, force: true })
    }
  })
})
