import type { Me } from "@chaverim/domain/Accounts"
import { DISPLAY_NAME_MAX, type DisplayCode } from "@chaverim/domain/rpc/Displays"
import * as Effect from "effect/Effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createEntry, createList, drained, latestRevision, LiveClient, matcherAt } from "./alertHarness"
import { detection, fakeJpeg, type SignedIn, startServer, type TestServer } from "./harness"
import { outcomeOf, rpcAs, rpcUrlOf } from "./rpcClient"

let server: TestServer
let admin: SignedIn

/** Every screen here pairs from 127.0.0.1: wrong codes of one test count for the next (see the throttle test). */
const pair = (code: string) =>
  fetch(`${server.url}/api/v1/auth/pair`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code })
  })

/** The session cookie a pairing answered with, as a Cookie header, and its Max-Age. */
const sessionOf = (response: Response) => {
  const header = response.headers.getSetCookie().find((c) => c.startsWith("alpr_session="))!
  return { cookie: header.split(";")[0]!, maxAge: Number(/Max-Age=(\d+)/i.exec(header)?.[1]) }
}

const rpc = <A, E>(cookie: string, f: Parameters<typeof rpcAs<A, E>>[2]) => rpcAs(rpcUrlOf(server), cookie, f)
const asAdmin = <A, E>(f: Parameters<typeof rpcAs<A, E>>[2]) => rpc(admin.cookie, f)

const create = (name: string): Promise<DisplayCode> => asAdmin((c) => c.displays.create({ name }))

const me = (cookie: string) => fetch(`${server.url}/api/v1/auth/me`, { headers: { cookie } })

const audited = async (action: string, target: string) =>
  (await server.db.query(
    "SELECT actor_username, outcome, details FROM audit_log WHERE action = $1 AND target = $2 ORDER BY id",
    [action, target]
  )).rows

beforeAll(async () => {
  server = await startServer()
  admin = await server.signIn("admin")
})
afterAll(() => server?.close())

describe("wall displays", () => {
  it("pairs a screen with the admin's code: a viewer's session for 90 days, with the wall and nothing more", async () => {
    const made = await create("Control room left")
    expect(made.code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}$/)
    expect(Date.parse(made.expires_at) - Date.now()).toBeGreaterThan(14 * 60_000)
    expect(await audited("display.create", `display:${made.display_id}`)).toEqual([
      { actor_username: admin.username, outcome: "success", details: { name: "Control room left", code_expires_at: made.expires_at } }
    ])

    // Typed loosely on the screen's keyboard, as every code may be.
    const response = await pair(made.code.replace("-", " ").toLowerCase())
    expect(response.status).toBe(200)
    const paired = await response.json() as Me
    expect(paired).toMatchObject({ username: "display:Control room left", role: "viewer", display: true })
    const { cookie, maxAge } = sessionOf(response)
    expect(maxAge).toBe(90 * 86_400)
    expect(Date.parse(paired.expires_at) - Date.now()).toBeGreaterThan(89 * 86_400_000)
    expect(await (await me(cookie)).json()).toMatchObject({ display: true, role: "viewer" })

    // What the wall needs works; what an operator does does not.
    const status = await rpc(cookie, (c) => c.wall.status({ since: new Date(Date.now() - 3_600_000).toISOString() }))
    expect(status.collectors).toEqual([])
    expect((await fetch(`${server.url}/api/v1/detections?plate=AB12CDE`, { headers: { cookie } })).status).toBe(403)
    const password = await fetch(`${server.url}/api/v1/auth/password`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json", "x-csrf-token": paired.csrf_token },
      body: JSON.stringify({ current_password: "x".repeat(12), new_password: "a much longer new password" })
    })
    expect(password.status).toBe(403)

    const [listed] = (await asAdmin((c) => c.displays.list())).filter((d) => d.display_id === made.display_id)
    expect(listed).toMatchObject({ name: "Control room left", created_by: admin.username, code_expires_at: null, revoked_at: null })
    expect(listed!.paired_at).not.toBeNull()
    expect(listed!.session_expires_at).toBe(paired.expires_at)
    // Seen when it asked for the wall's status.
    expect(Date.now() - Date.parse(listed!.last_seen_at!)).toBeLessThan(60_000)
    expect(await audited("display.pair", `display:${made.display_id}`)).toEqual([
      { actor_username: "display:Control room left", outcome: "success", details: { name: "Control room left", replaced_sessions: 0 } }
    ])
  })

  it("takes a code once, refuses wrong and expired codes (audited), and locks an address that keeps guessing", async () => {
    const made = await create("Lobby")
    expect((await pair(made.code)).status).toBe(200)
    const again = await pair(made.code)
    expect(again.status).toBe(401)
    expect(await again.json()).toMatchObject({ _tag: "Unauthorized", message: expect.stringMatching(/wrong, used or expired/) })

    const late = await asAdmin((c) => c.displays.newCode({ display_id: made.display_id }))
    await server.db.query("UPDATE displays SET code_expires_at = now() - interval '1 second' WHERE id = $1", [made.display_id])
    expect((await pair(late.code)).status).toBe(401)

    // The fifth wrong code in 15 minutes locks the address, even for a good code.
    for (let i = 0; i < 3; i++) expect((await pair("AAAA-AAAA")).status).toBe(401)
    const locked = await pair("AAAA-AAAA")
    expect(locked.status).toBe(429)
    expect(await locked.json()).toMatchObject({ _tag: "TooManyAttempts", retry_after_s: expect.any(Number) })
    const good = await asAdmin((c) => c.displays.newCode({ display_id: made.display_id }))
    expect((await pair(good.code)).status).toBe(429)
    const { rows } = await server.db.query(
      "SELECT count(*)::int AS n FROM audit_log WHERE action = 'display.pair' AND outcome = 'failure'")
    expect(rows[0].n).toBe(5)
    // Once the lockout is over (here: cleared), the good code works.
    await server.db.query("DELETE FROM auth_throttle")
    expect((await pair(good.code)).status).toBe(200)
  })

  it("pairing again moves the display to the new screen; revoking ends its session at once and for good", async () => {
    const made = await create("Dispatch desk")
    const first = sessionOf(await pair(made.code))
    const code = await asAdmin((c) => c.displays.newCode({ display_id: made.display_id }))
    // A new code alone changes nothing for the screen showing the wall.
    expect((await me(first.cookie)).status).toBe(200)
    const second = sessionOf(await pair(code.code))
    expect((await me(first.cookie)).status).toBe(401)
    expect((await me(second.cookie)).status).toBe(200)

    const unused = await asAdmin((c) => c.displays.newCode({ display_id: made.display_id }))
    const revoked = await asAdmin((c) => c.displays.revoke({ display_id: made.display_id }))
    expect(revoked).toMatchObject({ session_expires_at: null, code_expires_at: null })
    expect(revoked.revoked_at).not.toBeNull()
    expect((await me(second.cookie)).status).toBe(401)
    expect((await pair(unused.code)).status).toBe(401)
    const refused = await asAdmin((c) => Effect.exit(c.displays.newCode({ display_id: made.display_id })))
    expect(outcomeOf(refused)).toMatch(/^BadRequest: the display Dispatch desk is revoked/)
    expect(await audited("display.revoke", `display:${made.display_id}`)).toEqual([
      { actor_username: admin.username, outcome: "success", details: { name: "Dispatch desk", sessions_ended: 1 } }
    ])
  })

  it("keeps display accounts out of people's administration, and never lets one become more than a viewer", async () => {
    const made = await create("Server room")
    const { rows: [account] } = await server.db.query<{ id: string }>(
      "SELECT user_id AS id FROM displays WHERE id = $1", [made.display_id])
    const users = await asAdmin((c) => c.users.list())
    expect(users.map((u) => u.username)).not.toContain("display:Server room")
    const setRole = await asAdmin((c) => Effect.exit(c.users.setRole({ user_id: account!.id, role: "admin" })))
    expect(outcomeOf(setRole)).toMatch(/^NotFound/)
    const reset = await asAdmin((c) => Effect.exit(c.users.resetPassword({ user_id: account!.id })))
    expect(outcomeOf(reset)).toMatch(/^NotFound/)
    // Not even by hand in the database.
    await expect(server.db.query("UPDATE users SET role = 'admin' WHERE id = $1", [account!.id])).rejects.toThrow(/users_display_is_viewer/)
    // Nobody signs in as a display: it has no password (and its name is no username a person could type).
    const login = await fetch(`${server.url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "display:Server room", password: "whatever it might be" })
    })
    expect([400, 401]).toContain(login.status)
    // The longest name makes the longest username there may be; one more character is refused.
    const longest = await create("L".repeat(DISPLAY_NAME_MAX))
    const { rows: [named] } = await server.db.query("SELECT u.username FROM displays d JOIN users u ON u.id = d.user_id WHERE d.id = $1",
      [longest.display_id])
    expect(named.username).toHaveLength(64)
    const tooLong = await asAdmin((c) => Effect.exit(c.displays.create({ name: "L".repeat(DISPLAY_NAME_MAX + 1) })))
    expect(outcomeOf(tooLong)).toMatch(/name is at most 56 characters/)
    // A name is used once, revoked or not, so the audit log's display name means one screen.
    const taken = await asAdmin((c) => Effect.exit(c.displays.create({ name: "server ROOM" })))
    expect(outcomeOf(taken)).toMatch(/^BadRequest: a display named server ROOM exists/)
    // Two admins adding one name at the same moment: one display, and a clear answer for the other.
    const both = await Promise.all([1, 2].map(() => asAdmin((c) => Effect.exit(c.displays.create({ name: "Front desk" })))))
    expect(both.map(outcomeOf).sort()).toEqual(["BadRequest: a display named Front desk exists (or existed): choose another name", "success"])
  })

  it("lets a display call only what the wall shows; a viewer's other rights are 403 for it, each audited", async () => {
    const made = await create("Ops wall")
    const paired = await pair(made.code)
    const { cookie } = sessionOf(paired)
    const { csrf_token: csrf } = await paired.json() as Me
    const list = await createList(server)
    const { rows: [account] } = await server.db.query<{ id: string }>("SELECT user_id AS id FROM displays WHERE id = $1", [made.display_id])

    // What the wall uses.
    expect((await me(cookie)).status).toBe(200)
    expect(await rpc(cookie, (c) => c.wall.alerts())).toEqual([])
    const feed = await LiveClient.open(server, cookie)
    await feed.next((m) => m.type === "hello")
    await feed.close()

    // What a viewer may do and the wall does not: list or open alerts, say "On my way", Telegram, watchlists.
    const refused = [
      await fetch(`${server.url}/api/v1/alerts?status=new`, { headers: { cookie } }),
      await fetch(`${server.url}/api/v1/alerts/1`, { headers: { cookie } }),
      await fetch(`${server.url}/api/v1/alerts/1/en-route`, { method: "POST", headers: { cookie, "x-csrf-token": csrf } }),
      await fetch(`${server.url}/api/v1/telegram/subscriptions`, { headers: { cookie } })
    ]
    expect(refused.map((r) => r.status)).toEqual([403, 403, 403, 403])
    expect(await refused[0]!.json()).toMatchObject({ _tag: "Forbidden", message: expect.stringMatching(/wall display/) })
    const watchlists = await rpc(cookie, (c) => Effect.exit(c.watchlists.entries({ watchlist_id: list.id })))
    expect(outcomeOf(watchlists)).toMatch(/^Forbidden: a wall display may call only what the wall shows/)
    const { rows } = await server.db.query<{ target: string }>(
      "SELECT target FROM audit_log WHERE actor_id = $1 AND action = 'access.denied' AND outcome = 'denied' ORDER BY id",
      [account!.id]
    )
    expect(rows.map((r) => r.target)).toEqual([
      "GET /api/v1/alerts?status=new",
      "GET /api/v1/alerts/1",
      "POST /api/v1/alerts/1/en-route",
      "GET /api/v1/telegram/subscriptions",
      "rpc:watchlists.entries"
    ])
  })

  it("shows a display the plate crops of what the wall shows: reads of the last day and the reads of new alerts", async () => {
    const { apiKey } = await server.collector("Crop site")
    const owner = await server.signIn("operator")
    const viewer = await server.signIn("viewer")
    const shared = await createList(server)
    await createEntry(server, shared.id, "exact", "CRP100")
    const hidden = await createList(server, { shared: false, ownerId: owner.userId })
    await createEntry(server, hidden.id, "exact", "CRP200")
    await matcherAt(server, await latestRevision(server.db))

    const reads = ["CRP100", "CRP200", "CRP300", "CRP400"].map((text) => detection({ plate: { text, confidence: 0.9 } }))
    const form = new FormData()
    form.append("batch", JSON.stringify({ events: reads }))
    reads.forEach((r, i) => {
      form.append(`plate:${r.detection_id}`, new Blob([fakeJpeg(1_500, i)], { type: "image/jpeg" }))
      form.append(`scene:${r.detection_id}`, new Blob([fakeJpeg(3_000, i)], { type: "image/jpeg" }))
    })
    const stored = await fetch(`${server.url}/api/v1/detections/batch`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}` },
      body: form
    })
    expect(stored.status).toBe(200)
    await drained(server.databaseUrl)
    const { rows } = await server.db.query<{ plate: string; id: string }>(
      "SELECT plate, id::text AS id FROM detections WHERE plate LIKE 'CRP%'")
    const id = Object.fromEntries(rows.map((r) => [r.plate, r.id]))
    // Three of them arrived two days ago: older than anything the live feed still carries. Reads are
    // write-once, so only with the triggers off for this one transaction.
    await server.db.query("BEGIN")
    await server.db.query("SET LOCAL session_replication_role = replica")
    await server.db.query("UPDATE detections SET received_at = now() - interval '2 days' WHERE plate IN ('CRP100', 'CRP200', 'CRP300')")
    await server.db.query("COMMIT")

    const made = await create("Crop wall")
    const { cookie } = sessionOf(await pair(made.code))
    const photo = (plate: string, who: string, kind = "plate") =>
      fetch(`${server.url}/api/v1/detections/${id[plate]}/images/${kind}`, { headers: { cookie: who } }).then((r) => r.status)

    expect({
      "a read of the last day": await photo("CRP400", cookie),
      "its scene photo": await photo("CRP400", cookie, "scene"),
      "an older read": await photo("CRP300", cookie),
      "an older read of a new alert on a shared list": await photo("CRP100", cookie),
      "an older read of a new alert on someone's private list": await photo("CRP200", cookie)
    }).toEqual({
      "a read of the last day": 200,
      "its scene photo": 403,
      "an older read": 403,
      "an older read of a new alert on a shared list": 200,
      "an older read of a new alert on someone's private list": 403
    })
    // A person with the viewer role sees any plate crop.
    expect(await photo("CRP300", viewer.cookie)).toBe(200)
    // The wall opens with the new alerts it may see.
    const open = await rpc(cookie, (c) => c.wall.alerts())
    expect(open.map((a) => [a.plate, a.detection.id])).toEqual([["CRP100", id["CRP100"]]])

    // Acknowledged, the alert stays on the wall (who took it, and when), and so does its photo.
    const acknowledged = await fetch(`${server.url}/api/v1/alerts/${open[0]!.id}/acknowledge`, {
      method: "POST",
      headers: { cookie: owner.cookie, "x-csrf-token": owner.csrf }
    })
    expect(acknowledged.status).toBe(200)
    expect((await rpc(cookie, (c) => c.wall.alerts())).map((a) => [a.plate, a.status, a.acknowledged_by])).toEqual([
      ["CRP100", "acknowledged", owner.username]
    ])
    expect(await photo("CRP100", cookie)).toBe(200)
    // Two hours after its acknowledgement and its last sighting it ages out, and so does its photo.
    await server.db.query("BEGIN")
    await server.db.query("SET LOCAL session_replication_role = replica")
    await server.db.query("UPDATE alerts SET acknowledged_at = now() - interval '3 hours', last_seen_at = now() - interval '3 hours' WHERE id = $1", [open[0]!.id])
    await server.db.query("COMMIT")
    expect(await rpc(cookie, (c) => c.wall.alerts())).toEqual([])
    expect(await photo("CRP100", cookie)).toBe(403)
    const { rows: denied } = await server.db.query<{ target: string }>(
      `SELECT a.target FROM audit_log a JOIN displays d ON d.user_id = a.actor_id
        WHERE d.id = $1 AND a.action = 'access.denied' ORDER BY a.id`,
      [made.display_id]
    )
    expect(denied.map((r) => r.target)).toEqual([
      `GET /api/v1/detections/${id["CRP400"]}/images/scene`,
      `GET /api/v1/detections/${id["CRP300"]}/images/plate`,
      `GET /api/v1/detections/${id["CRP200"]}/images/plate`,
      `GET /api/v1/detections/${id["CRP100"]}/images/plate`
    ])
  })

  it("is for admins only", async () => {
    const operator = await server.signIn("operator")
    const exit = await rpc(operator.cookie, (c) => Effect.exit(c.displays.list()))
    expect(outcomeOf(exit)).toMatch(/^Forbidden/)
  })
})
