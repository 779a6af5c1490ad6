import type { LiveMessage } from "@chaverim/domain/Alerts"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { createHash, randomBytes } from "node:crypto"
import { useFreshDatabase } from "../../../test-support/Database"
import { alprAgainst, describeRun, INVOCATION_MS, lines, type Run } from "./alprCli"
import { LiveClient } from "./alertHarness"
import { detection, fakeJpeg, type SignedIn, startServer, type TestServer } from "./harness"
import { type AlprClient, outcomeOf, rpcAs, rpcUrlOf } from "./rpcClient"

const database = useFreshDatabase()
const alpr = alprAgainst(() => database.url)


const verify = () => alpr(["audit", "verify"])

const expectIntact = (run: Run, rows: number) => {
  expect(run.code, describeRun(run)).toBe(0)
  const out = lines(run.stdout)
  // The contract's word is the last line; the figures come before it.
  expect(out.at(-1), describeRun(run)).toBe("ok")
  expect(JSON.parse(out.at(-2)!)).toMatchObject({ rows })
}

const expectBrokenAt = (run: Run, id: string, reason: string) => {
  expect(run.signal, describeRun(run)).toBeNull()
  expect(run.code, describeRun(run)).not.toBe(0)
  expect(lines(run.stdout)).not.toContain("ok")
  const report = JSON.parse(lines(run.stdout).at(-1)!)
  expect(report).toMatchObject({ ok: false, first_broken: { id } })
  expect(report.first_broken.reason).toContain(reason)
  expect(run.stderr).toContain(`broken at row ${id}: ${reason}`)
}

/** Runs statements with audit_log's triggers off, as an attacker with superuser rights could. */
const aroundTheTriggers = async (...statements: Array<string>) => {
  await database.db.query("ALTER TABLE audit_log DISABLE TRIGGER USER")
  try {
    for (const statement of statements) await database.db.query(statement)
  } finally {
    await database.db.query("ALTER TABLE audit_log ENABLE TRIGGER USER")
  }
}

describe("alpr audit verify", () => {
  it("prints ok on an intact chain, with progress on stderr for a long one", async () => {
    // The command migrates the database it is pointed at, so an empty log is the first thing it sees.
    expectIntact(await verify(), 0)

    const insert = (n: number) =>
      database.db.query(
        `INSERT INTO audit_log (action, target, details, outcome)
         SELECT 'search', 'plate:P' || g, jsonb_build_object('n', g), 'success' FROM generate_series(1, $1) g`,
        [n]
      )
    await insert(100_000)
    await insert(1_500)
    const run = await verify()
    expectIntact(run, 101_500)
    expect(run.stderr).toContain("checked 100000 rows")
  }, INVOCATION_MS * 3 + 60_000)

  it("exits non-zero naming the first broken row: the row after a deleted one, then a changed row", async () => {
    await aroundTheTriggers("DELETE FROM audit_log WHERE id = 70000")
    expectBrokenAt(await verify(), "70001", "prev_hash does not match the previous row's hash")

    // An earlier change is now the first break.
    await aroundTheTriggers(`UPDATE audit_log SET details = '{"n": 1}' WHERE id = 50000`)
    expectBrokenAt(await verify(), "50000", "hash does not match the row's contents")
  }, INVOCATION_MS * 2 + 10_000)
})

describe("photo views, the audit page's search, export and chain check", () => {
  let server: TestServer
  let operator: SignedIn
  let admin: SignedIn
  let readIds: Array<string>
  /** A read of another plate, with photos, on no page searched here. */
  let otherId: string
  const rpc = <A, E>(who: SignedIn, f: (client: AlprClient) => Effect.Effect<A, E>) => rpcAs(rpcUrlOf(server), who.cookie, f)
  const views = async () =>
    (await server.db.query("SELECT id::text AS id, actor_username, target, reason, details FROM audit_log WHERE action = 'image.view' ORDER BY audit_log.id")).rows
  const get = (path: string, who: SignedIn = operator) => fetch(`${server.url}${path}`, { headers: { cookie: who.cookie } })
  const searchPage = async (who: SignedIn = operator) => {
    const response = await get("/api/v1/detections?plate=AUD4711&reason_code=audit&case_number=A-17", who)
    expect(response.status).toBe(200)
    return ((await response.json()) as { items: Array<{ id: string; images: { plate?: string; scene?: string } }> }).items
  }
  /** Changes audit_log with its triggers off, in one transaction: writers wait for it, none is left unchained. */
  const aroundTheChain = async (statement: string, params: ReadonlyArray<unknown> = []) => {
    const client = server.db
    try {
      await client.query("BEGIN")
      await client.query("ALTER TABLE audit_log DISABLE TRIGGER USER")
      await client.query(statement, [...params])
      await client.query("ALTER TABLE audit_log ENABLE TRIGGER USER")
      await client.query("COMMIT")
    } catch (error) {
      await client.query("ROLLBACK")
      throw error
    }
  }

  beforeAll(async () => {
    server = await startServer({ liveViewAuditSeconds: 1 })
    operator = await server.signIn("operator")
    admin = await server.signIn("admin")
    const { apiKey } = await server.collector("Audit site")
    const events = [0, 1, 2].map((i) => detection({ plate: { text: "AUD 4711", confidence: 0.9 }, timestamp: new Date(Date.now() - i * 60_000).toISOString() }))
    const other = detection({ plate: { text: "OTH 0001", confidence: 0.9 } })
    const form = new FormData()
    form.append("batch", JSON.stringify({ events }))
    form.set("batch", JSON.stringify({ events: [...events, other] }))
    form.append(`plate:${other.detection_id}`, new Blob([fakeJpeg(2_000, 99)], { type: "image/jpeg" }))
    events.forEach((event, i) => {
      form.append(`plate:${event.detection_id}`, new Blob([fakeJpeg(2_000, i + 1)], { type: "image/jpeg" }))
      form.append(`scene:${event.detection_id}`, new Blob([fakeJpeg(6_000, i + 11)], { type: "image/jpeg" }))
    })
    const response = await fetch(`${server.url}/api/v1/detections/batch`, { method: "POST", headers: { authorization: `Bearer ${apiKey}` }, body: form })
    expect(response.status).toBe(200)
    readIds = (await server.db.query<{ id: string }>(
      "SELECT id::text AS id FROM detections WHERE detection_id = ANY($1) ORDER BY detected_at DESC",
      [events.map((e) => e.detection_id)]
    )).rows.map((r) => r.id)
    otherId = (await server.db.query<{ id: string }>("SELECT id::text AS id FROM detections WHERE detection_id = $1", [other.detection_id])).rows[0]!.id
  }, 60_000)
  afterAll(() => server?.close())

  it("writes one image.view row for a search page's crops, naming every read, and none per crop", async () => {
    const before = await views()
    const items = await searchPage()
    expect(items.map((i) => i.id)).toEqual(readIds)
    const after = await views()
    expect(after).toHaveLength(before.length + 1)
    const row = after.at(-1)!
    expect(row).toMatchObject({
      actor_username: operator.username,
      target: `detection:${readIds[0]}/plate +2`,
      details: { reason_code: "audit", case_number: "A-17", via: "search", kind: "plate", count: 3, reads: readIds }
    })
    expect(JSON.stringify(row.details)).not.toContain(items[0]!.images.plate!.split("view=")[1]!.split(".")[1]!)
    for (const [i, item] of items.entries()) {
      expect(item.images.plate).toMatch(new RegExp(`^/api/v1/detections/${item.id}/images/plate\\?view=${row.id}\\.[A-Za-z0-9_-]{43}$`))
      // As the web app asks for it: the session's reason appended.
      const crop = await get(`${item.images.plate}&reason_code=audit`)
      expect(crop.status).toBe(200)
      expect(new Uint8Array(await crop.arrayBuffer())).toEqual(fakeJpeg(2_000, i + 1))
      // The scene photo is opened on purpose: its link carries no token.
      expect(item.images.scene).toBe(`/api/v1/detections/${item.id}/images/scene`)
    }
    expect(await views()).toHaveLength(after.length)
  })

  it("writes one image.view row for a plate timeline's crops too (the plate page's Photos tab)", async () => {
    const before = await views()
    const response = await get(`/api/v1/plates/AUD4711/timeline?${new URLSearchParams({
      from: new Date(Date.now() - 86_400_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString(), reason_code: "audit"
    })}`)
    expect(response.status).toBe(200)
    const links = [...(await response.text()).matchAll(/\/api\/v1\/detections\/(\d+)\/images\/plate\?view=(\d+)\.[A-Za-z0-9_-]{43}/g)]
    const after = await views()
    expect(after).toHaveLength(before.length + 1)
    const row = after.at(-1)!
    expect(row).toMatchObject({ details: { via: "timeline", kind: "plate", count: 3 } })
    expect([...(row.details as { reads: Array<string> }).reads].sort()).toEqual([...readIds].sort())
    expect(new Set(links.map((l) => l[1]))).toEqual(new Set(readIds))
    expect(new Set(links.map((l) => l[2]))).toEqual(new Set([row.id]))
    const crop = await get(`${links[0]![0]}&reason_code=audit`)
    expect(crop.status).toBe(200)
    expect(await views()).toHaveLength(after.length)
  })

  it("refuses a token for another read, another kind, another session or after it expired; a single photo is still audited", async () => {
    const items = await searchPage()
    const token = items[0]!.images.plate!.split("view=")[1]!
    const viewId = token.split(".")[0]!
    const denied = async () =>
      (await server.db.query("SELECT count(*)::int AS n FROM audit_log WHERE action = 'access.denied' AND actor_id = $1", [operator.userId])).rows[0].n
    const deniedBefore = await denied()
    // Another read's crop: a read of another plate, not on the page.
    const other = await get(`/api/v1/detections/${otherId}/images/plate?view=${token}`)
    expect(other.status).toBe(403)
    expect(((await other.json()) as { message: string }).message).toMatch(/does not cover this photo/)
    const scene = await get(`/api/v1/detections/${items[0]!.id}/images/scene?view=${token}`)
    expect(scene.status).toBe(403)
    // The same user in another session, another operator and an admin: none can use it.
    const secondToken = randomBytes(32).toString("base64url")
    await server.db.query(
      "INSERT INTO sessions (token_hash, user_id, expires_at, csrf_token) VALUES ($1, $2, now() + interval '1 hour', 'x')",
      [createHash("sha256").update(secondToken).digest("hex"), operator.userId]
    )
    const sameUserElsewhere = { ...operator, cookie: `alpr_session=${secondToken}` }
    for (const who of [sameUserElsewhere, await server.signIn("operator"), admin]) {
      const elsewhere = await get(items[0]!.images.plate!, who)
      expect(elsewhere.status).toBe(403)
      expect(((await elsewhere.json()) as { message: string }).message).toMatch(/not given to this session/)
    }
    // A guessed secret for a real view.
    expect((await get(`/api/v1/detections/${items[0]!.id}/images/plate?view=${viewId}.${"A".repeat(43)}`)).status).toBe(403)
    expect(await denied()).toBe(deniedBefore + 4)
    const { rows: refusals } = await server.db.query("SELECT target FROM audit_log WHERE action = 'access.denied' ORDER BY id DESC LIMIT 5")
    expect(refusals.map((r) => r.target).join(" ")).not.toContain(token.split(".")[1]!)

    // Expired: the view's row made 31 minutes older, then put back as it was (its hash covers the time).
    await aroundTheChain("UPDATE audit_log SET at = at - interval '31 minutes' WHERE id = $1", [viewId])
    const expired = await get(items[0]!.images.plate!)
    await aroundTheChain("UPDATE audit_log SET at = at + interval '31 minutes' WHERE id = $1", [viewId])
    expect(expired.status).toBe(403)
    expect(((await expired.json()) as { message: string }).message).toMatch(/expired .*search again/)
    expect((await get(items[0]!.images.plate!)).status).toBe(200)

    // Without a token, a crop is one view, audited by itself.
    const before = (await views()).length
    expect((await get(`/api/v1/detections/${items[1]!.id}/images/plate`)).status).toBe(200)
    expect((await views()).slice(before)).toEqual([expect.objectContaining({ target: `detection:${items[1]!.id}/plate` })])
  })

  it("finds rows by words anywhere in them, exports what it finds as CSV and JSON lines, audited", async () => {
    await server.db.query(
      `INSERT INTO audit_log (actor_username, action, target, details, outcome)
       VALUES ('mallory', 'test.formula', '=HYPERLINK("http://x")', '{"note": "needle in the haystack"}', 'success')`
    )
    const found = await rpc(admin, (client) =>
      Effect.all({
        needle: client.audit.list({ text: "NEEDLE haystack" }),
        read: client.audit.list({ text: `${readIds[2]} plate`, action: "image.view" }),
        none: client.audit.list({ text: "needle nothing-like-this" }),
        // LIKE's own wildcards in the words match themselves: "needle_in" is not "needle in", "%haystack" nothing
        underscore: client.audit.list({ text: "needle_in" }),
        percent: client.audit.list({ text: "needle%haystack" })
      }))
    expect(found.needle.items.map((r) => r.action)).toEqual(["test.formula"])
    expect(found.read.items.length).toBeGreaterThanOrEqual(2)
    expect(found.read.items.every((r) => JSON.stringify(r).includes(readIds[2]!))).toBe(true)
    expect(found.none.items).toEqual([])
    expect(found.underscore.items).toEqual([])
    expect(found.percent.items).toEqual([])

    const exported = await rpc(admin, (client) =>
      Effect.all({
        csv: Stream.runCollect(client.audit.export({ format: "csv", text: "haystack" })),
        jsonl: Stream.runCollect(client.audit.export({ format: "jsonl", action: "image.view" }))
      }))
    const csv = Chunk.join(exported.csv, "")
    const lines = csv.trimEnd().split("\n")
    expect(lines[0]).toBe("id,at,actor_id,actor_username,address,action,target,reason,outcome,details,prev_hash,hash")
    // The export's own row (its filter says "haystack"), recorded before it ran, then the row found.
    expect(lines).toHaveLength(3)
    expect(lines[1]).toMatch(/,audit\.export,audit_log:csv,/)
    // A cell a spreadsheet would run is written as text.
    expect(lines[2]).toContain(`"'=HYPERLINK(""http://x"")"`)
    expect(lines[2]).toContain(`"{""note"":""needle in the haystack""}"`)
    const rows = Chunk.join(exported.jsonl, "").trimEnd().split("\n").map((line) => JSON.parse(line))
    expect(rows.length).toBe((await views()).length)
    expect(rows.every((r) => r.action === "image.view" && typeof r.hash === "string")).toBe(true)
    expect(Number(rows[0].id)).toBeGreaterThan(Number(rows.at(-1).id))

    const { rows: audited } = await server.db.query(
      "SELECT actor_username, target, details FROM audit_log WHERE action = 'audit.export' ORDER BY id")
    expect(audited).toEqual([
      { actor_username: admin.username, target: "audit_log:csv", details: { format: "csv", filter: { text: "haystack" }, max_rows: 100_000 } },
      { actor_username: admin.username, target: "audit_log:jsonl", details: { format: "jsonl", filter: { action: "image.view" }, max_rows: 100_000 } }
    ])
    // Admins only.
    const refused = await rpc(operator, (client) => Effect.exit(client.audit.list({ text: "needle" })))
    expect(outcomeOf(refused)).toMatch(/^Forbidden/)
  })

  it("covers only the reads' own crop links: a camera's text that looks like one is neither named nor given a token", async () => {
    const { apiKey } = await server.collector("Forging camera")
    const forged = `/api/v1/detections/${otherId}/images/plate`
    const event = detection({ plate: { text: "FRG 0001", confidence: 0.9 }, vehicle: { direction: "in", type: "car", color: "blue", make: forged } })
    const form = new FormData()
    form.append("batch", JSON.stringify({ events: [event] }))
    form.append(`plate:${event.detection_id}`, new Blob([fakeJpeg(2_000, 7)], { type: "image/jpeg" }))
    expect((await fetch(`${server.url}/api/v1/detections/batch`, { method: "POST", headers: { authorization: `Bearer ${apiKey}` }, body: form })).status).toBe(200)
    const response = await get("/api/v1/detections?plate=FRG0001&reason_code=audit")
    const [item] = ((await response.json()) as { items: Array<{ id: string; vehicle_make: string; images: { plate: string } }> }).items
    expect(item!.vehicle_make).toBe(forged)
    const row = (await views()).at(-1)!
    expect(row.details).toMatchObject({ reads: [item!.id], count: 1 })
    expect(item!.images.plate).toMatch(new RegExp(`^/api/v1/detections/${item!.id}/images/plate\\?view=${row.id}\\.`))
  })

  it("audits the live feed's crops as the connection's view: a row when it opens, then one per interval naming what it sent, none per crop", async () => {
    const viewer = await server.signIn("viewer")
    const liveRows = async () =>
      (await server.db.query(
        "SELECT id::text AS id, target, details FROM audit_log WHERE action = 'image.view' AND actor_id = $1 ORDER BY audit_log.id",
        [viewer.userId]
      )).rows as Array<{ id: string; target: string; details: { via?: string; reads: Array<string>; live_after?: string; token_sha256?: string } }>
    // One read replayed: the newest, of another plate; the older AUD reads are not on this connection.
    const client = await LiveClient.open(server, viewer.cookie, undefined, undefined, 1)
    const hello = await client.next((m): m is Extract<LiveMessage, { type: "hello" }> => m.type === "hello")
    const { token } = await client.next((m): m is Extract<LiveMessage, { type: "view" }> => m.type === "view")
    const [replayed] = client.messages.filter((m) => m.type === "detection")
    expect(replayed).toMatchObject({ replayed: true })
    const replayedRead = (replayed as Extract<LiveMessage, { type: "detection" }>)
    const [opening, ...more] = await liveRows()
    expect(more).toEqual([])
    expect(token.split(".")[0]).toBe(opening!.id)
    expect(opening!.details).toMatchObject({ via: "live", kind: "plate", count: 1, reads: [replayedRead.detection.id], live_after: String(hello.last_event_id) })
    expect(JSON.stringify(opening!.details)).not.toContain(token.split(".")[1]!)
    const withView = (read: Extract<LiveMessage, { type: "detection" }>, t = token) =>
      `${read.detection.images.plate}?view=${t}&event=${read.event_id}`
    expect((await get(withView(replayedRead), viewer)).status).toBe(200)

    // Reads arriving live: covered by the token from the start, named by the next row, no row per crop.
    const { apiKey } = await server.collector("Live view site")
    const events = [1, 2].map((i) => detection({ plate: { text: `LVW 000${i}`, confidence: 0.9 } }))
    const form = new FormData()
    form.append("batch", JSON.stringify({ events }))
    events.forEach((event, i) => form.append(`plate:${event.detection_id}`, new Blob([fakeJpeg(2_000, 40 + i)], { type: "image/jpeg" })))
    expect((await fetch(`${server.url}/api/v1/detections/batch`, { method: "POST", headers: { authorization: `Bearer ${apiKey}` }, body: form })).status).toBe(200)
    const live = await Promise.all([1, 2].map((i) =>
      client.next((m): m is Extract<LiveMessage, { type: "detection" }> =>
        m.type === "detection" && m.detection.plate_text === `LVW 000${i}`)
    ))
    for (const [i, read] of live.entries()) {
      const crop = await get(withView(read), viewer)
      expect(crop.status).toBe(200)
      expect(new Uint8Array(await crop.arrayBuffer())).toEqual(fakeJpeg(2_000, 40 + i))
    }
    const liveIds = live.map((read) => read.detection.id)
    const deadline = Date.now() + 10_000
    while (!(await liveRows()).some((row) => row.details.reads.includes(liveIds[0]!)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    const rows = await liveRows()
    expect(rows.every((row) => row.details.via === "live")).toBe(true)
    expect(rows.slice(1).flatMap((row) => row.details.reads)).toEqual(liveIds)
    // Only the opening row (and a renewal) carries a token.
    expect(rows.slice(1).some((row) => row.details.token_sha256 !== undefined)).toBe(false)

    // What the token does not cover: a read before the connection that it did not replay, a read's crop
    // under another read's event, the scene photo, or another session.
    const [older] = (await server.db.query<{ id: string }>(
      "SELECT id::text AS id FROM live_events WHERE detection_id = $1", [readIds[0]]
    )).rows
    const refused = [
      `/api/v1/detections/${readIds[0]}/images/plate?view=${token}&event=${older!.id}`,
      `/api/v1/detections/${readIds[0]}/images/plate?view=${token}&event=${live[0]!.event_id}`,
      `/api/v1/detections/${readIds[0]}/images/plate?view=${token}`
    ]
    for (const path of refused) {
      const response = await get(path, viewer)
      expect(response.status, path).toBe(403)
      expect(((await response.json()) as { message: string }).message).toMatch(/does not cover this photo/)
    }
    expect((await get(withView(live[0]!), operator)).status).toBe(403)
    expect((await get(`/api/v1/detections/x/images/plate?view=${token}&event=soon`, viewer)).status).toBe(400)

    // Closing lists what is left; every crop sent is named once, and no crop had a row of its own.
    await client.close()
    await new Promise((resolve) => setTimeout(resolve, 300))
    const all = await liveRows()
    expect(all.flatMap((row) => row.details.reads)).toEqual([replayedRead.detection.id, ...liveIds])
  })

  it("answers a view token or a read id past what the database holds with a 400, not a 500", async () => {
    const secret = "A".repeat(43)
    for (const path of [
      `/api/v1/detections/${readIds[0]}/images/plate?view=9999999999999999999.${secret}`,
      `/api/v1/detections/99999999999999999999/images/plate?reason_code=audit`
    ]) {
      expect((await get(path)).status, path).toBe(400)
    }
  })

  it("verifies the chain over RPC, for admins, audited with its result, and names the first broken row", async () => {
    const intact = await rpc(admin, (client) => client.audit.verify())
    expect(intact).toMatchObject({ ok: true })
    // Every row up to the head it reports (its own row comes after the check).
    if (!intact.ok) throw new Error("the chain was broken")
    const { rows: [{ n }] } = await server.db.query("SELECT count(*)::int AS n FROM audit_log WHERE id <= $1", [intact.head.id])
    expect(intact.rows).toBe(n)
    expect(n).toBeGreaterThan(10)

    const { rows: [victim] } = await server.db.query("SELECT id::text AS id, details FROM audit_log WHERE action = 'test.formula'")
    await aroundTheChain(`UPDATE audit_log SET details = '{"note": "rewritten"}' WHERE id = $1`, [victim.id])
    const broken = await rpc(admin, (client) => client.audit.verify())
    await aroundTheChain("UPDATE audit_log SET details = $2 WHERE id = $1", [victim.id, victim.details])
    expect(broken).toEqual({
      ok: false,
      rows: expect.any(Number),
      first_broken: { id: victim.id, reason: "hash does not match the row's contents" }
    })
    expect(await rpc(admin, (client) => client.audit.verify())).toMatchObject({ ok: true })

    const { rows: audited } = await server.db.query(
      "SELECT actor_username, target, details FROM audit_log WHERE action = 'audit.verify' ORDER BY id")
    expect(audited.map((r) => [r.actor_username, r.target, r.details.ok])).toEqual([
      [admin.username, "audit_log", true], [admin.username, "audit_log", false], [admin.username, "audit_log", true]
    ])
    expect(audited[1].details.first_broken).toEqual({ id: victim.id, reason: "hash does not match the row's contents" })
    expect(outcomeOf(await rpc(operator, (client) => Effect.exit(client.audit.verify())))).toMatch(/^Forbidden/)
  })
})

describe("a live connection's photo view token", () => {
  let server: TestServer
  let viewer: SignedIn
  let apiKey: string
  beforeAll(async () => {
    // A new token every second, as every 20 minutes in production.
    server = await startServer({ liveViewAuditSeconds: 1, liveViewTokenSeconds: 1 })
    viewer = await server.signIn("viewer")
    apiKey = (await server.collector("Renewal site")).apiKey
  }, 60_000)
  afterAll(() => server?.close())

  const sendRead = async (plate: string, seed: number) => {
    const event = detection({ plate: { text: plate, confidence: 0.9 } })
    const form = new FormData()
    form.append("batch", JSON.stringify({ events: [event] }))
    form.append(`plate:${event.detection_id}`, new Blob([fakeJpeg(2_000, seed)], { type: "image/jpeg" }))
    expect((await fetch(`${server.url}/api/v1/detections/batch`, { method: "POST", headers: { authorization: `Bearer ${apiKey}` }, body: form })).status)
      .toBe(200)
  }

  it("is replaced once its time is up, by a view message that comes before the read needing it, with a row of its own", async () => {
    const client = await LiveClient.open(server, viewer.cookie, undefined, undefined, 0)
    const first = await client.next((m): m is Extract<LiveMessage, { type: "view" }> => m.type === "view")
    const tokens = [first.token]
    for (const [i, plate] of ["RNW 0001", "RNW 0002"].entries()) {
      await new Promise((resolve) => setTimeout(resolve, 1_200))
      await sendRead(plate, 70 + i)
      const read = await client.next((m): m is Extract<LiveMessage, { type: "detection" }> =>
        m.type === "detection" && m.detection.plate_text === plate)
      // The newest view message before the read is a new token.
      const at = client.messages.indexOf(read)
      const view = client.messages.slice(0, at).findLast((m): m is Extract<LiveMessage, { type: "view" }> => m.type === "view")!
      expect(tokens).not.toContain(view.token)
      tokens.push(view.token)
      const crop = await fetch(`${server.url}${read.detection.images.plate}?view=${view.token}&event=${read.event_id}`, { headers: { cookie: viewer.cookie } })
      expect(crop.status).toBe(200)
      expect(new Uint8Array(await crop.arrayBuffer())).toEqual(fakeJpeg(2_000, 70 + i))
    }
    // Each token is its own audit row, holding a hash of the secret (bound to the session), never the secret.
    const { rows } = await server.db.query<{ id: string; details: { token_sha256?: string } }>(
      "SELECT id::text AS id, details FROM audit_log WHERE action = 'image.view' AND actor_id = $1 AND details ? 'token_sha256' ORDER BY id",
      [viewer.userId])
    expect(rows.map((r) => r.id)).toEqual(tokens.map((t) => t.split(".")[0]))
    for (const [i, row] of rows.entries()) {
      expect(row.details.token_sha256).toMatch(/^[0-9a-f]{64}$/)
      expect(JSON.stringify(row.details)).not.toContain(tokens[i]!.split(".")[1]!)
    }
    await client.close()
  })
})
