import { Collectors } from "@chaverim/server"
import type { CommandName } from "@chaverim/domain/Collector"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { createHash, randomBytes, randomUUID } from "node:crypto"
import { detection, postBatch, startServer, type TestServer } from "./harness"
import { rpcAs, rpcUrlOf } from "./rpcClient"

let server: TestServer

beforeAll(async () => {
  server = await startServer()
})

afterAll(async () => {
  await server?.close()
})

interface Answer {
  readonly status: number
  readonly body: any
  readonly headers: Headers
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex")

/** Every answer the server gives must tell collectors how loaded it is. */
const expectBackpressure = (headers: Headers) => {
  const raw = headers.get("x-backpressure")
  expect(raw, "x-backpressure header").not.toBeNull()
  const value = Number(raw)
  expect(Number.isFinite(value), `x-backpressure ${raw} is a number`).toBe(true)
  expect(value).toBeGreaterThanOrEqual(0)
  expect(value).toBeLessThanOrEqual(1)
}

const answer = async (response: Response): Promise<Answer> => {
  const text = await response.text()
  let body: unknown = text
  try {
    body = text === "" ? undefined : JSON.parse(text)
  } catch {
    // not JSON: keep the text
  }
  expectBackpressure(response.headers)
  return { status: response.status, body, headers: response.headers }
}

const post = async (path: string, body: unknown, apiKey?: string): Promise<Answer> =>
  answer(
    await fetch(`${server.url}${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` })
      },
      body: typeof body === "string" ? body : JSON.stringify(body)
    })
  )

const claim = (claimCode: string, hardwareId = `hw-${randomBytes(4).toString("hex")}`, extra: object = {}) =>
  post("/api/v1/collectors/claim", { claim_code: claimCode, hardware_id: hardwareId, ...extra })

const beat = {
  uptime_seconds: 3600,
  queue_depth: 17,
  cameras_online: 3,
  config_version: "cfg-42",
  edge_version: "0.3.1"
}

const heartbeat = (apiKey: string, body: object = beat) => post("/api/v1/collectors/heartbeat", body, apiKey)

const ack = (apiKey: string, commandId: string, body: object = { status: "done" }) =>
  post(`/api/v1/collectors/commands/${commandId}/ack`, body, apiKey)

const createCollector = (name: string) => server.run(Effect.flatMap(Collectors, (c) => c.create(name)))

const enqueue = (collectorId: string, cmd: CommandName, payload: unknown = {}) =>
  server.run(Effect.flatMap(Collectors, (c) => c.enqueueCommand(collectorId, cmd, payload, "test")))

/** Makes every delivered command of a collector due for redelivery. */
const makeDue = (collectorId: string) =>
  server.db.query(
    "UPDATE collector_commands SET delivered_at = now() - interval '1 hour' WHERE collector_id = $1 AND delivered_at IS NOT NULL",
    [collectorId]
  )

/** A claim code that was never issued, in the same shape as real ones. */
const unknownCode = () => {
  const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
  const chars = Array.from(randomBytes(12), (b) => alphabet[b % alphabet.length])
  return `${chars.slice(0, 4).join("")}-${chars.slice(4, 8).join("")}-${chars.slice(8).join("")}`
}

const CLAIM_CODE = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/

describe("claiming a collector", () => {
  it("issues a typable claim code valid for about 24 hours, exchanged once for an API key", async () => {
    const before = Date.now()
    const created = await createCollector("Main St")
    expect(created.claim_code).toMatch(CLAIM_CODE)
    expect(created.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/)
    const validFor = Date.parse(created.expires_at) - before
    expect(validFor).toBeGreaterThan(24 * 3600_000 - 120_000)
    expect(validFor).toBeLessThan(24 * 3600_000 + 120_000)

    const { rows: pending } = await server.db.query("SELECT name, status FROM collectors WHERE id = $1", [
      created.collector_id
    ])
    expect(pending).toEqual([{ name: "Main St", status: "pending" }])

    const claimed = await claim(created.claim_code, "pi-serial-0001", { hostname: "mainst-pi", edge_version: "0.3.0" })
    expect(claimed.status).toBe(201)
    expect(claimed.body).toEqual({ collector_id: created.collector_id, api_key: expect.any(String) })
    const apiKey: string = claimed.body.api_key
    expect(apiKey.length).toBeGreaterThanOrEqual(32)

    const { rows: collectors } = await server.db.query(
      "SELECT status, hardware_id, hostname, edge_version, claimed_at FROM collectors WHERE id = $1",
      [created.collector_id]
    )
    expect(collectors[0]).toMatchObject({
      status: "active",
      hardware_id: "pi-serial-0001",
      hostname: "mainst-pi",
      edge_version: "0.3.0"
    })
    expect(collectors[0].claimed_at).toBeInstanceOf(Date)

    // The key works at once.
    const batch = await answer(await postBatch(server, apiKey, [detection()]))
    expect(batch.status).toBe(200)
    expect(batch.body).toMatchObject({ accepted: 1, rejected: 0 })
  })

  it("keeps the API key only as a SHA-256 hash and a short prefix", async () => {
    const created = await createCollector("Hash check")
    const claimed = await claim(created.claim_code)
    expect(claimed.status).toBe(201)
    const apiKey: string = claimed.body.api_key

    const { rows } = await server.db.query("SELECT * FROM api_keys WHERE collector_id = $1", [created.collector_id])
    expect(rows).toHaveLength(1)
    const row = rows[0]
    expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/)
    expect(row.key_hash).toBe(sha256(apiKey))
    expect(typeof row.prefix).toBe("string")
    expect(row.prefix.length).toBeGreaterThan(0)
    expect(apiKey.startsWith(row.prefix)).toBe(true)
    expect(row.prefix.length).toBeLessThan(apiKey.length - 20) // the prefix does not give the secret away

    // Nowhere in the database (any column of any table) is the key, or its secret part, in plaintext.
    const secret = apiKey.slice(row.prefix.length)
    const { rows: tables } = await server.db.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
    )
    expect(tables.length).toBeGreaterThan(3)
    for (const { table_name } of tables) {
      const { rows: hits } = await server.db.query(
        `SELECT count(*)::int AS n FROM "${table_name}" t WHERE strpos(t::text, $1) > 0 OR strpos(t::text, $2) > 0`,
        [apiKey, secret]
      )
      expect(hits[0].n, `plaintext key in ${table_name}`).toBe(0)
    }

    // Nor the claim code.
    const { rows: codes } = await server.db.query("SELECT * FROM claim_codes WHERE collector_id = $1", [
      created.collector_id
    ])
    expect(codes).toHaveLength(1)
    expect(JSON.stringify(codes)).not.toContain(created.claim_code)
    expect(JSON.stringify(codes)).not.toContain(created.claim_code.replace(/-/g, ""))
  })

  it("accepts the code typed in lower case with spaces instead of dashes", async () => {
    const created = await createCollector("Typed code")
    const typed = created.claim_code.toLowerCase().replace(/-/g, " ")
    expect(typed).not.toBe(created.claim_code)
    const claimed = await claim(typed)
    expect(claimed.status).toBe(201)
    expect(claimed.body.collector_id).toBe(created.collector_id)
    const hb = await heartbeat(claimed.body.api_key)
    expect(hb.status).toBe(200)
  })

  it("tells an unknown code (404), a used code (409) and an expired code (410) apart", async () => {
    const unknown = await claim(unknownCode())
    expect(unknown.status).toBe(404)
    expect(unknown.body._tag).toBe("ClaimCodeUnknown")
    expect(unknown.body.message).toEqual(expect.stringMatching(/\S{3,}/))

    const created = await createCollector("Reused code")
    expect((await claim(created.claim_code)).status).toBe(201)
    const reused = await claim(created.claim_code)
    expect(reused.status).toBe(409)
    expect(reused.body._tag).toBe("ClaimCodeUsed")
    expect(reused.body.message).toEqual(expect.stringMatching(/\S{3,}/))
    expect(reused.body).not.toHaveProperty("api_key")

    const stale = await createCollector("Expired code")
    await server.db.query("UPDATE claim_codes SET expires_at = now() - interval '1 minute' WHERE collector_id = $1", [
      stale.collector_id
    ])
    const expired = await claim(stale.claim_code)
    expect(expired.status).toBe(410)
    expect(expired.body._tag).toBe("ClaimCodeExpired")
    expect(expired.body.message).toEqual(expect.stringMatching(/\S{3,}/))
    expect(expired.body).not.toHaveProperty("api_key")

    // The three messages are distinct so a volunteer knows what to do.
    expect(new Set([unknown.body.message, reused.body.message, expired.body.message]).size).toBe(3)

    // Refused claims hand out no key and leave the expired collector unclaimed.
    const { rows } = await server.db.query(
      "SELECT (SELECT count(*)::int FROM api_keys WHERE collector_id = $1) AS keys, status FROM collectors WHERE id = $1",
      [stale.collector_id]
    )
    expect(rows[0]).toEqual({ keys: 0, status: "pending" })
  })

  it("answers 400 to a malformed claim and does not spend the code", async () => {
    const created = await createCollector("Malformed claims")
    const path = "/api/v1/collectors/claim"
    const bad: Array<unknown> = [
      { claim_code: created.claim_code },
      { claim_code: created.claim_code, hardware_id: 12345 },
      { claim_code: 12345, hardware_id: "hw-1" },
      { claim_code: created.claim_code, hardware_id: "" },
      { claim_code: created.claim_code, hardware_id: "hw-1", hostname: 7 },
      {},
      "not json at all"
    ]
    for (const body of bad) {
      const result = await post(path, body)
      expect(result.status, `claim body ${JSON.stringify(body)}`).toBe(400)
    }
    const { rows } = await server.db.query("SELECT used_at FROM claim_codes WHERE collector_id = $1", [
      created.collector_id
    ])
    expect(rows).toEqual([{ used_at: null }])
    expect((await claim(created.claim_code)).status).toBe(201)
  })
})

describe("heartbeats", () => {
  it("records the collector's health and answers with the server time and no commands", async () => {
    const { apiKey, collectorId } = await server.collector("Heartbeat site")
    const before = Date.now()
    const result = await heartbeat(apiKey)
    expect(result.status).toBe(200)
    expect(result.body).toEqual({ status: "ok", server_time: expect.any(String), pending_commands: [] })
    expect(Math.abs(Date.parse(result.body.server_time) - before)).toBeLessThan(60_000)

    const { rows } = await server.db.query(
      "SELECT last_seen_at, queue_depth, cameras_online, edge_version, config_version, uptime_seconds FROM collectors WHERE id = $1",
      [collectorId]
    )
    const row = rows[0]
    expect(row.last_seen_at).toBeInstanceOf(Date)
    expect(Math.abs(row.last_seen_at.getTime() - Date.now())).toBeLessThan(60_000)
    expect(row).toMatchObject({ queue_depth: 17, cameras_online: 3, edge_version: "0.3.1", config_version: "cfg-42" })
    expect(Number(row.uptime_seconds)).toBe(3600)

    // A later heartbeat overwrites the figures.
    const next = await heartbeat(apiKey, { ...beat, queue_depth: 0, cameras_online: 2, edge_version: "0.3.2" })
    expect(next.status).toBe(200)
    const { rows: after } = await server.db.query(
      "SELECT queue_depth, cameras_online, edge_version FROM collectors WHERE id = $1",
      [collectorId]
    )
    expect(after[0]).toEqual({ queue_depth: 0, cameras_online: 2, edge_version: "0.3.2" })
  })

  it("counts an upload of reads as a sign of life: the admins' list and the wall say which they saw", async () => {
    const { apiKey, collectorId } = await server.collector("Uploads only")
    const admin = await server.signIn("admin")
    const since = new Date(Date.now() - 3_600_000).toISOString()
    const mine = async () => {
      const [listed, wall] = await rpcAs(rpcUrlOf(server), admin.cookie, (client) =>
        Effect.all([client.collectors.list(), client.wall.status({ since })]))
      return { listed: listed.find((c) => c.collector_id === collectorId)!, onWall: wall.collectors.find((c) => c.collector_id === collectorId)! }
    }
    const before = await mine()
    expect(before.listed).toMatchObject({ last_seen_at: null, last_heartbeat_at: null, last_upload_at: null })
    expect(before.onWall).toMatchObject({ online: false, last_seen_at: null, seen_by: null, sites: [] })

    // reads arrive, no heartbeat (a proxy that blocks them, an old edge)
    expect((await postBatch(server, apiKey, [detection()])).status).toBe(200)
    const uploaded = await mine()
    expect(uploaded.listed.last_heartbeat_at).toBeNull()
    expect(uploaded.listed.last_upload_at).not.toBeNull()
    expect(uploaded.listed.last_seen_at).toBe(uploaded.listed.last_upload_at)
    expect(uploaded.onWall).toMatchObject({ online: true, seen_by: "upload", last_seen_at: uploaded.listed.last_upload_at })

    // a heartbeat afterwards is the newest sign
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect((await heartbeat(apiKey)).status).toBe(200)
    const beaten = await mine()
    expect(beaten.listed.last_heartbeat_at).not.toBeNull()
    expect(beaten.listed.last_seen_at).toBe(beaten.listed.last_heartbeat_at)
    expect(beaten.onWall).toMatchObject({ online: true, seen_by: "heartbeat", sites: [] })

    // the wall lists a collector with the sites of its cameras (a site is the cameras' place)
    await server.db.query("UPDATE cameras SET site = 'North gate' WHERE collector_id = $1", [collectorId])
    expect((await mine()).onWall.sites).toEqual(["North gate"])

    // a busy collector does not write its row for every batch: noted at most every few seconds
    const { rows: [noted] } = await server.db.query("SELECT last_upload_at FROM collectors WHERE id = $1", [collectorId])
    expect((await postBatch(server, apiKey, [detection()])).status).toBe(200)
    const { rows: [again] } = await server.db.query("SELECT last_upload_at FROM collectors WHERE id = $1", [collectorId])
    expect(again.last_upload_at).toEqual(noted.last_upload_at)
  })

  it("answers 401 without a key or with a wrong key, and records nothing", async () => {
    const { apiKey, collectorId } = await server.collector("Unauthorised heartbeat")
    const none = await post("/api/v1/collectors/heartbeat", beat)
    expect(none.status).toBe(401)
    for (const wrong of [`${apiKey.slice(0, -4)}AAAA`, "alpr_0000000000_nope", "not-a-key"]) {
      const result = await heartbeat(wrong)
      expect(result.status, `key ${wrong}`).toBe(401)
    }
    const { rows } = await server.db.query("SELECT last_seen_at FROM collectors WHERE id = $1", [collectorId])
    expect(rows[0].last_seen_at).toBeNull()
  })

  it("answers 400 to a malformed heartbeat", async () => {
    const { apiKey } = await server.collector("Malformed heartbeat")
    expect((await heartbeat(apiKey, { ...beat, queue_depth: -1 })).status).toBe(400)
    expect((await heartbeat(apiKey, { ...beat, cameras_online: "three" })).status).toBe(400)
    expect((await heartbeat(apiKey, { uptime_seconds: 1 })).status).toBe(400)
  })
})

describe("commands", () => {
  it("are delivered with heartbeats in order, offered again only when due and unacknowledged", async () => {
    const { apiKey, collectorId } = await server.collector("Command site")
    const rebootId = await enqueue(collectorId, "reboot", {})
    const configPayload = { version: "cfg-43", cameras: [{ id: "cam-1", url: "rtsp://10.0.0.5/stream" }] }
    const configId = await enqueue(collectorId, "config_update", configPayload)
    expect(rebootId).not.toBe(configId)

    const first = await heartbeat(apiKey)
    expect(first.status).toBe(200)
    expect(first.body.pending_commands).toEqual([
      { id: rebootId, cmd: "reboot", payload: {}, created_at: expect.any(String) },
      { id: configId, cmd: "config_update", payload: configPayload, created_at: expect.any(String) }
    ])
    for (const command of first.body.pending_commands) {
      expect(Number.isNaN(Date.parse(command.created_at))).toBe(false)
      expect(command.created_at).toMatch(/(Z|[+-]\d\d:\d\d)$/)
    }
    expect(Date.parse(first.body.pending_commands[0].created_at)).toBeLessThanOrEqual(
      Date.parse(first.body.pending_commands[1].created_at)
    )

    // Not again while the collector may still be carrying them out.
    const second = await heartbeat(apiKey)
    expect(second.status).toBe(200)
    expect(second.body.pending_commands).toEqual([])

    // Unacknowledged and due: offered again, still in order.
    await makeDue(collectorId)
    const third = await heartbeat(apiKey)
    expect(third.body.pending_commands.map((c: { id: string }) => c.id)).toEqual([rebootId, configId])

    const acked = await ack(apiKey, rebootId, { status: "done" })
    expect(acked.status).toBe(200)
    expect(acked.body).toEqual({ id: rebootId, status: "done" })
    const { rows } = await server.db.query("SELECT status, acked_at FROM collector_commands WHERE id = $1", [rebootId])
    expect(rows[0].status).toBe("done")
    expect(rows[0].acked_at).toBeInstanceOf(Date)

    // The acknowledged one never comes back, even when due; the other one does.
    await makeDue(collectorId)
    const fourth = await heartbeat(apiKey)
    expect(fourth.body.pending_commands.map((c: { id: string }) => c.id)).toEqual([configId])

    const failed = await ack(apiKey, configId, { status: "failed", message: "camera 2 unreachable" })
    expect(failed.status).toBe(200)
    expect(failed.body).toEqual({ id: configId, status: "failed" })

    await makeDue(collectorId)
    const fifth = await heartbeat(apiKey)
    expect(fifth.body.pending_commands).toEqual([])
    const { rows: done } = await server.db.query(
      "SELECT id, status, message FROM collector_commands WHERE collector_id = $1 ORDER BY created_at",
      [collectorId]
    )
    expect(done).toEqual([
      { id: rebootId, status: "done", message: null },
      { id: configId, status: "failed", message: "camera 2 unreachable" }
    ])
  })

  it("answers a repeated acknowledgement with the status first recorded", async () => {
    const { apiKey, collectorId } = await server.collector("Double ack")
    const commandId = await enqueue(collectorId, "update_cameras", { cameras: [] })
    const firstAck = await ack(apiKey, commandId, { status: "done" })
    expect(firstAck.status).toBe(200)
    expect(firstAck.body).toEqual({ id: commandId, status: "done" })

    const again = await ack(apiKey, commandId, { status: "failed", message: "late" })
    expect(again.status).toBe(200)
    expect(again.body).toEqual({ id: commandId, status: "done" })
    const { rows } = await server.db.query("SELECT status, message FROM collector_commands WHERE id = $1", [commandId])
    expect(rows[0]).toEqual({ status: "done", message: null })
  })

  it("refuses to acknowledge another collector's command, an unknown command or a malformed id", async () => {
    const owner = await server.collector("Command owner")
    const other = await server.collector("Other collector")
    const commandId = await enqueue(owner.collectorId, "reboot")

    const foreign = await ack(other.apiKey, commandId, { status: "done" })
    expect(foreign.status).toBe(404)
    expect(foreign.body._tag).toBe("NotFound")
    expect(typeof foreign.body.message).toBe("string")
    const { rows } = await server.db.query("SELECT status FROM collector_commands WHERE id = $1", [commandId])
    expect(rows[0].status).toBe("pending")

    const random = await ack(owner.apiKey, randomUUID(), { status: "done" })
    expect(random.status).toBe(404)
    expect(random.body._tag).toBe("NotFound")

    const malformed = await ack(owner.apiKey, "not-a-uuid", { status: "done" })
    expect(malformed.status).toBe(400)

    const badStatus = await ack(owner.apiKey, commandId, { status: "maybe" })
    expect(badStatus.status).toBe(400)

    const anonymous = await post(`/api/v1/collectors/commands/${commandId}/ack`, { status: "done" })
    expect(anonymous.status).toBe(401)

    // Still pending and still delivered to its owner.
    const hb = await heartbeat(owner.apiKey)
    expect(hb.body.pending_commands.map((c: { id: string }) => c.id)).toEqual([commandId])
  })
})

describe("API keys", () => {
  it("revoked keys get 401 at once, for batches and heartbeats", async () => {
    const { apiKey, collectorId } = await server.collector("Revoked site")
    expect((await answer(await postBatch(server, apiKey, [detection()]))).status).toBe(200)
    expect((await heartbeat(apiKey)).status).toBe(200)

    const revoked = await server.run(Effect.flatMap(Collectors, (c) => c.revokeKeys(collectorId)))
    expect(revoked).toBe(1)

    const batch = await answer(await postBatch(server, apiKey, [detection()]))
    expect(batch.status).toBe(401)
    expect(batch.body._tag).toBe("Unauthorized")
    expect((await heartbeat(apiKey)).status).toBe(401)
    expect((await post("/api/v1/collectors/keys/rotate", {}, apiKey)).status).toBe(401)
    const { rows } = await server.db.query("SELECT count(*)::int AS n FROM detections WHERE collector_id = $1", [
      collectorId
    ])
    expect(rows[0].n).toBe(1)
  })

  it("rotation: the old key works until the new key is first used, then gets 401", async () => {
    const { apiKey: oldKey, collectorId } = await server.collector("Rotating site")
    const rotated = await post("/api/v1/collectors/keys/rotate", {}, oldKey)
    expect(rotated.status).toBe(200)
    const newKey: string = rotated.body.api_key
    expect(typeof newKey).toBe("string")
    expect(newKey).not.toBe(oldKey)

    // The answer might have been lost: the old key keeps working meanwhile, more than once.
    expect((await heartbeat(oldKey)).status).toBe(200)
    expect((await answer(await postBatch(server, oldKey, [detection()]))).status).toBe(200)
    expect((await heartbeat(oldKey)).status).toBe(200)

    // The new key's first successful request retires the old one.
    const firstUse = await answer(await postBatch(server, newKey, [detection()]))
    expect(firstUse.status).toBe(200)
    expect(firstUse.body).toMatchObject({ accepted: 1 })
    expect((await heartbeat(oldKey)).status).toBe(401)
    expect((await answer(await postBatch(server, oldKey, [detection()]))).status).toBe(401)
    expect((await heartbeat(newKey)).status).toBe(200)

    const { rows } = await server.db.query(
      "SELECT key_hash, revoked_at IS NOT NULL AS revoked FROM api_keys WHERE collector_id = $1 ORDER BY created_at",
      [collectorId]
    )
    expect(rows).toEqual([
      { key_hash: sha256(oldKey), revoked: true },
      { key_hash: sha256(newKey), revoked: false }
    ])
  })

  it("a new claim code for the same collector revokes the previous device's key", async () => {
    const { apiKey: oldKey, collectorId } = await server.collector("Replaced device")
    expect((await heartbeat(oldKey)).status).toBe(200)

    const code = await server.run(Effect.flatMap(Collectors, (c) => c.newCode(collectorId)))
    expect(code.collector_id).toBe(collectorId)
    expect(code.claim_code).toMatch(CLAIM_CODE)
    // Issuing the code alone does not cut the running device off.
    expect((await heartbeat(oldKey)).status).toBe(200)

    const claimed = await claim(code.claim_code, "replacement-pi")
    expect(claimed.status).toBe(201)
    expect(claimed.body.collector_id).toBe(collectorId)
    const newKey: string = claimed.body.api_key

    expect((await heartbeat(oldKey)).status).toBe(401)
    expect((await answer(await postBatch(server, oldKey, [detection()]))).status).toBe(401)
    expect((await heartbeat(newKey)).status).toBe(200)
    const { rows } = await server.db.query("SELECT hardware_id FROM collectors WHERE id = $1", [collectorId])
    expect(rows[0].hardware_id).toBe("replacement-pi")
  })
})

describe("backpressure header", () => {
  it("is on every answer, including errors", async () => {
    const created = await createCollector("Header check")
    const { apiKey } = await server.collector("Header check 2")
    const checks: Array<[string, Promise<Response>]> = [
      ["health", fetch(`${server.url}/health`)],
      ["claim unknown", fetch(`${server.url}/api/v1/collectors/claim`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ claim_code: unknownCode(), hardware_id: "hw" })
      })],
      ["claim malformed", fetch(`${server.url}/api/v1/collectors/claim`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{"
      })],
      ["heartbeat without key", fetch(`${server.url}/api/v1/collectors/heartbeat`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(beat)
      })],
      ["heartbeat wrong key", fetch(`${server.url}/api/v1/collectors/heartbeat`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer alpr_nope_nope" },
        body: JSON.stringify(beat)
      })],
      ["batch without key", fetch(`${server.url}/api/v1/detections/batch`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ events: [detection()] })
      })],
      ["ack unknown", fetch(`${server.url}/api/v1/collectors/commands/${randomUUID()}/ack`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
        body: JSON.stringify({ status: "done" })
      })],
      ["unknown route", fetch(`${server.url}/api/v1/no-such-thing`)]
    ]
    const expected: Record<string, number> = {
      "health": 200,
      "claim unknown": 404,
      "claim malformed": 400,
      "heartbeat without key": 401,
      "heartbeat wrong key": 401,
      "batch without key": 401,
      "ack unknown": 404,
      "unknown route": 404
    }
    for (const [label, pending] of checks) {
      const response = await pending
      await response.arrayBuffer()
      expect(response.status, label).toBe(expected[label])
      const raw = response.headers.get("x-backpressure")
      expect(raw, `x-backpressure on ${label}`).not.toBeNull()
      expect(Number(raw), label).toBeGreaterThanOrEqual(0)
      expect(Number(raw), label).toBeLessThanOrEqual(1)
    }
    const claimed = await claim(created.claim_code)
    expect(claimed.status).toBe(201)
    expectBackpressure(claimed.headers)
  })
})
