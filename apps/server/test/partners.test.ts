import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { type FakeRecogniser, startFakeCodeProject } from "../../../test-support/FakeRecognisers"
import { footageWith } from "./footageHarness"
import { makeColourPhoto } from "../../../test-support/Footage"
import { type SignedIn, startServer, type TestServer } from "./harness"
import { outcomeOf, rpcFor } from "./rpcClient"

/**
 * Partner organisations' API tokens (issue 20): issued by admins with scopes and quotas, used as
 * `Authorization: Bearer`, every call counted and audited, 403 outside the scopes, 429 past a quota
 * with when it resets, 401 once revoked; usage seen by admins.
 */

let server: TestServer
let recogniser: FakeRecogniser
let admin: SignedIn
let dir: string
const { rpc, rpcExit } = rpcFor(() => server)

beforeAll(async () => {
  dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-partners-"))
  recogniser = await startFakeCodeProject({ blue: { plate: "PTR123", confidence: 0.9, box: [100, 100, 120, 40] } })
  server = await startServer({
    dataDir: Path.join(dir, "data"),
    footage: footageWith(recogniser)
  })
  admin = await server.signIn("admin")
  await makeColourPhoto(Path.join(dir, "photo.jpg"), "blue")
}, 120_000)

afterAll(async () => {
  await server?.close()
  await recogniser?.close()
  if (dir !== undefined) await Fs.rm(dir, { recursive: true, force: true })
})

const call = (token: string, method: string, path: string, body?: string | Uint8Array, type = "application/json", extra: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": type }), ...extra },
    ...(body === undefined ? {} : { body })
  })

const json = (response: Response): Promise<any> => response.json()

describe("partner tokens", () => {
  it("upload and search within their scopes, metered, audited as the partner's account; not beyond them", async () => {
    const { partner, token } = await rpc(admin, (client) =>
      client.partners.create({ organisation: "Riverside Neighbourhood Watch", scopes: ["upload", "search"], daily_quota: 100 }))
    expect(token).toMatch(/^alpr_pt_[A-Za-z0-9_-]{43}$/)
    expect(partner).toMatchObject({ organisation: "Riverside Neighbourhood Watch", scopes: ["upload", "search"], daily_quota: 100, calls_today: 0 })
    // the token is stored as its hash only
    expect((await server.db.query("SELECT count(*)::int AS n FROM partner_tokens WHERE token_hash = $1", [token])).rows[0].n).toBe(0)

    // an upload, as the web app's: start, one chunk, the job
    const photo = new Uint8Array(await Fs.readFile(Path.join(dir, "photo.jpg")))
    const begun = await call(token, "POST", "/api/v1/footage/uploads", JSON.stringify({
      camera_name: "Partner camera 3", reason: "partner upload of a doorbell photo", file_name: "door.jpg", size_bytes: photo.length,
      at: "2026-12-05T21:10:00Z"
    }))
    expect(begun.status).toBe(201)
    const upload = await json(begun)
    const sent = await call(token, "PATCH", `/api/v1/footage/uploads/${upload.upload_id}`, photo, "application/offset+octet-stream", { "upload-offset": "0" })
    expect(sent.status).toBe(200)
    const done = await json(sent)
    const { rows: [footage] } = await server.db.query(
      "SELECT u.username, u.partner, f.uploaded_via FROM footage f JOIN users u ON u.id = f.uploaded_by WHERE f.id = $1", [done.footage_id])
    expect(footage).toEqual({ username: partner.username, partner: true, uploaded_via: "api" })
    let job: any
    for (let i = 0; i < 100 && job?.status !== "done"; i++) {
      job = await json(await call(token, "GET", `/api/v1/jobs/${done.job_id}`))
      if (job.status !== "done") await new Promise((r) => setTimeout(r, 200))
    }
    expect(job.result.reads.map((r: { plate: string }) => r.plate)).toEqual(["PTR123"])

    // search, with a reason as anyone's
    const { rows: [code] } = await server.db.query("SELECT code FROM reason_codes WHERE retired_at IS NULL ORDER BY code LIMIT 1")
    const found = await call(token, "GET", `/api/v1/detections?plate=PTR123&reason_code=${code.code}`)
    expect(found.status).toBe(200)
    expect((await json(found)).items.map((i: { plate: string }) => i.plate)).toEqual(["PTR123"])

    // outside its scopes: an export, an admin's route, the RPC; a token not known
    const exports = await call(token, "GET", "/api/v1/evidence/exports")
    expect(exports.status).toBe(403)
    expect((await json(exports)).message).toContain("scopes (upload, search) do not include GET /api/v1/evidence/exports")
    expect((await call(token, "GET", "/api/v1/evidence/requests")).status).toBe(403)
    expect((await call(`alpr_pt_${"x".repeat(43)}`, "GET", "/api/v1/detections?plate=PTR123")).status).toBe(401)
    // its account cannot sign in
    const login = await fetch(`${server.url}/api/v1/auth/login`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: partner.username, password: "anything at all" })
    })
    expect(login.status).toBe(401)

    // every call counted and audited, the refused ones as denied
    const { rows: calls } = await server.db.query<{ outcome: string; route: string }>(
      "SELECT outcome, details->>'route' AS route FROM audit_log WHERE action = 'partner.call' AND target = $1 ORDER BY id", [`partner:${partner.partner_id}`])
    expect(calls.filter((c) => c.outcome === "success").length).toBeGreaterThanOrEqual(4)
    expect(calls.filter((c) => c.outcome === "denied").map((c) => c.route)).toEqual(["GET /api/v1/evidence/exports", "GET /api/v1/evidence/requests"])
    const [listed] = (await rpc(admin, (client) => client.partners.list())).filter((p) => p.partner_id === partner.partner_id)
    expect(listed!.calls_today).toBe(calls.filter((c) => c.outcome === "success").length)
    expect(listed!.refused_this_month).toBe(2)
    expect(listed!.last_used_at).not.toBeNull()
  }, 60_000)

  it("refuses a call past a quota with 429 and when it resets, and every call once revoked", async () => {
    const { partner, token } = await rpc(admin, (client) =>
      client.partners.create({ organisation: "County Patrol", scopes: ["search"], daily_quota: 3, monthly_quota: 1000 }))
    const search = () => call(token, "GET", "/api/v1/detections/suggestions")
    for (let i = 0; i < 3; i++) expect((await search()).status).toBe(200)
    const over = await search()
    expect(over.status).toBe(429)
    const body = await json(over)
    const now = new Date()
    const midnight = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)).toISOString()
    expect(body).toMatchObject({ _tag: "QuotaExceeded", resets_at: midnight })
    expect(body.message).toContain("quota of 3 calls a day is used up")
    expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(0)
    expect(Number(over.headers.get("retry-after"))).toBeLessThanOrEqual(86_400)

    const revoked = await rpc(admin, (client) => client.partners.revoke({ partner_id: partner.partner_id }))
    expect(revoked.revoked_at).not.toBeNull()
    expect(revoked).toMatchObject({ calls_today: 3, refused_this_month: 1 })
    expect((await search()).status).toBe(401)
    const { rows } = await server.db.query("SELECT action FROM audit_log WHERE target = $1 AND action LIKE 'partner.%' AND action <> 'partner.call' ORDER BY id", [`partner:${partner.partner_id}`])
    expect(rows.map((r) => r.action)).toEqual(["partner.create", "partner.revoke"])
  }, 60_000)

  it("lets no more calls through than its quota when they come all at once", async () => {
    const { token } = await rpc(admin, (client) => client.partners.create({ organisation: "Parallel Org", scopes: ["search"], daily_quota: 5 }))
    const statuses = await Promise.all(Array.from({ length: 12 }, () => call(token, "GET", "/api/v1/detections/suggestions").then((r) => r.status)))
    expect(statuses.filter((s) => s === 200)).toHaveLength(5)
    expect(statuses.filter((s) => s === 429)).toHaveLength(7)
  }, 60_000)

  it("is an admin's to issue: operators are refused, and bad input says why", async () => {
    const operator = await server.signIn("operator")
    expect(outcomeOf(await rpcExit(operator, (client) => client.partners.create({ organisation: "x", scopes: ["search"] })))).toMatch(/^Forbidden/)
    expect(outcomeOf(await rpcExit(admin, (client) => client.partners.create({ organisation: "x", scopes: [] } as never)))).toContain("at least one of upload, search, export")
    expect(outcomeOf(await rpcExit(admin, (client) => client.partners.create({ organisation: "x", scopes: ["delete"] } as never)))).toMatch(/upload|search|export/)
  })
})
