import type { Me } from "@chaverim/domain/Accounts"
import { DISPLAY_NAME_MAX, type DisplayCode } from "@chaverim/domain/Rpc"
import * as Effect from "effect/Effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type SignedIn, startServer, type TestServer } from "./harness"
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
    expect(status.sites).toEqual([])
    expect((await fetch(`${server.url}/api/v1/detections?plate=AB12CDE`, { headers: { cookie } })).status).toBe(403)
    const password = await fetch(`${server.url}/api/v1/auth/password`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json", "x-csrf-token": paired.csrf_token },
      body: JSON.stringify({ current_password: "x".repeat(12), new_password: "a much longer new password" })
    })
    expect(password.status).toBe(400)

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

  it("is for admins only", async () => {
    const operator = await server.signIn("operator")
    const exit = await rpc(operator.cookie, (c) => Effect.exit(c.displays.list()))
    expect(outcomeOf(exit)).toMatch(/^Forbidden/)
  })
})
