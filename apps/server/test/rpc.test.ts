import { roleAtLeast } from "@chaverim/domain/Auth"
import { AdminRpcs, AlprRpcs, RPC_PATH } from "@chaverim/domain/Rpc"
import { RequiredRole, requiredRole, RpcSession } from "@chaverim/domain/rpc/Common"
import { CONNECTION_HEADER, RpcConnections } from "@chaverim/server/rpc/Protocol"
import { RpcSessionLayer } from "@chaverim/server/rpc/Session"
import * as Headers from "@effect/platform/Headers"
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcClient from "@effect/rpc/RpcClient"
import type { RpcClientError } from "@effect/rpc/RpcClientError"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { randomBytes, randomUUID } from "node:crypto"
import WebSocket from "ws"
import { detection, postBatch, type SignedIn, startServer, type TestServer } from "./harness"
import { rpcSocket } from "./rpcClient"

const PUBLIC_URL = "https://alpr.example.org"

let server: TestServer
let rpcUrl: string

// ---------------------------------------------------------------------------------------------------
// A real RpcClient over a real WebSocket whose upgrade request carries the given headers

type AdminClient = RpcClient.FromGroup<typeof AdminRpcs, RpcClientError>
/** A client addressed by tag; the payload is not known statically when going over every procedure. */
type FlatClient = (tag: string, payload: unknown) => Effect.Effect<unknown, unknown>

const socketLayer = (headers: Record<string, string>) => rpcSocket(rpcUrl, headers)

const withClient = <A, E>(headers: Record<string, string>, f: (client: AdminClient) => Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(RpcClient.make(AdminRpcs), f)).pipe(Effect.provide(socketLayer(headers))))

/** The same, addressing procedures by tag: for going over every one of them. */
const withFlatClient = <A, E>(headers: Record<string, string>, f: (client: FlatClient) => Effect.Effect<A, E>) =>
  Effect.runPromise(
    Effect.scoped(Effect.flatMap(RpcClient.make(AlprRpcs, { flatten: true }), (client) => f(client as unknown as FlatClient)))
      .pipe(Effect.provide(socketLayer(headers)))
  )

const cookieOf = (user: SignedIn) => ({ cookie: user.cookie })

/** Every admin procedure, from the contract itself: a new one is covered (or fails) without editing this file. */
const adminProcedures = [...AdminRpcs.requests.values()] as unknown as ReadonlyArray<Rpc.AnyWithProps>

/** Every procedure served at /rpc, whatever role it declares. */
const allProcedures = [...AlprRpcs.requests.values()] as unknown as ReadonlyArray<Rpc.AnyWithProps>

const declaredRole = (rpc: Rpc.AnyWithProps) => Option.getOrThrow(requiredRole(rpc))

/** A payload the procedure's schema accepts, so a refusal comes from the session check and not from decoding. */
const validPayload = (rpc: Rpc.AnyWithProps) =>
  FastCheck.sample(Arbitrary.make(rpc.payloadSchema as Schema.Schema<unknown>), { numRuns: 1, seed: 20250131 })[0]

/** The tag of the expected error an exit failed with, or what it was instead. */
const outcome = (exit: Exit.Exit<unknown, unknown>): string =>
  Exit.match(exit, {
    onSuccess: () => "success",
    onFailure: (cause) =>
      Option.match(Cause.failureOption(cause), {
        onSome: (error) => (error as { readonly _tag?: string })._tag ?? String(error),
        onNone: () => `defect: ${Cause.pretty(cause)}`
      })
  })

/** A call, whether the procedure answers once or streams (a stream is read to its end). */
const callOnce = (client: FlatClient, rpc: Rpc.AnyWithProps) => {
  const answer = client(rpc._tag, validPayload(rpc)) as unknown
  return Effect.isEffect(answer)
    ? answer as Effect.Effect<unknown, unknown>
    : Stream.runDrain(answer as Stream.Stream<unknown, unknown>)
}

/** What every given procedure (by default every admin one) answers on one connection, keyed by procedure. */
const answersOf = (headers: Record<string, string>, procedures: ReadonlyArray<Rpc.AnyWithProps> = adminProcedures) =>
  withFlatClient(headers, (client) =>
    Effect.forEach(procedures, (rpc) =>
      Effect.map(Effect.exit(callOnce(client, rpc)), (exit) => [rpc._tag, outcome(exit)] as const))
  ).then((entries) => Object.fromEntries(entries))

const everyProcedure = (answer: string, procedures: ReadonlyArray<Rpc.AnyWithProps> = adminProcedures) =>
  Object.fromEntries(procedures.map((rpc) => [rpc._tag, answer]))

const defectMessage = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "no failure"

// ---------------------------------------------------------------------------------------------------
// The protocol spoken by hand, for what a typed client would not send

interface RawResponse {
  readonly _tag: string
  readonly requestId?: string
  readonly exit?: { readonly _tag: string; readonly cause?: { readonly _tag: string; readonly defect?: unknown; readonly error?: unknown } }
}

/** Sends NDJSON requests on one connection and resolves with the `Exit` of each, in request order. */
const rawCalls = (headers: Record<string, string>, requests: ReadonlyArray<{ readonly tag: string; readonly payload: unknown }>) =>
  new Promise<ReadonlyArray<RawResponse>>((resolve, reject) => {
    const socket = new WebSocket(rpcUrl, undefined, { headers })
    const exits = new Map<string, RawResponse>()
    let buffer = ""
    socket.on("open", () => {
      requests.forEach(({ payload, tag }, i) =>
        socket.send(JSON.stringify({ _tag: "Request", id: String(i + 1), tag, payload, headers: [] }) + "\n"))
    })
    socket.on("message", (data) => {
      buffer += data.toString()
      const lines = buffer.split("\n")
      buffer = lines.pop()!
      for (const line of lines) {
        const message = JSON.parse(line) as RawResponse
        if (message._tag === "Exit") exits.set(message.requestId!, message)
      }
      if (exits.size === requests.length) {
        socket.close()
        resolve(requests.map((_, i) => exits.get(String(i + 1))!))
      }
    })
    socket.on("error", reject)
  })

/** How the server answers a WebSocket upgrade: "open", or the HTTP status it refused with. */
const upgradeAnswer = (headers: Record<string, string>) =>
  new Promise<string | number>((resolve, reject) => {
    const socket = new WebSocket(rpcUrl, undefined, { headers })
    socket.on("open", () => {
      socket.close()
      resolve("open")
    })
    socket.on("unexpected-response", (_request, response) => {
      resolve(response.statusCode ?? 0)
      socket.terminate()
    })
    socket.on("error", reject)
  })

const count = async (sql: string, params: ReadonlyArray<unknown> = []) =>
  Number((await server.db.query<{ n: string }>(sql, [...params])).rows[0]!.n)

/** One pg client answers one query at a time. */
const countRows = async (tables: ReadonlyArray<string>) => {
  const counts: Array<number> = []
  for (const table of tables) counts.push(await count(`SELECT count(*) AS n FROM ${table}`))
  return counts
}

// ---------------------------------------------------------------------------------------------------

describe("the RPC contract", () => {
  it("gives every procedure a role and the session middleware; every admin procedure needs admin", () => {
    expect(adminProcedures.length).toBeGreaterThan(0)
    for (const rpc of AlprRpcs.requests.values() as Iterable<Rpc.AnyWithProps>) {
      expect((rpc.middlewares as ReadonlySet<unknown>).has(RpcSession), `${rpc._tag} carries RpcSession`).toBe(true)
      expect(Option.isSome(requiredRole(rpc)), `${rpc._tag} declares a role`).toBe(true)
    }
    for (const rpc of adminProcedures) {
      expect(Option.getOrUndefined(requiredRole(rpc)), `${rpc._tag} needs admin`).toBe("admin")
      expect(AlprRpcs.requests.has(rpc._tag), `${rpc._tag} is served at /rpc`).toBe(true)
    }
  })
})

describe("admin RPC over WebSocket at /rpc", () => {
  // The server refuses to start with a procedure that lacks the session middleware or a role.
  beforeAll(async () => {
    server = await startServer({ publicUrl: Option.some(PUBLIC_URL) })
    rpcUrl = `${server.url.replace(/^http/, "ws")}${RPC_PATH}`
  })

  afterAll(async () => {
    await server?.close()
  })

  it("lets an admin call every procedure, with real effects in PostgreSQL and the audit log", async () => {
    const admin = await server.signIn("admin")
    const called = new Set<string>()
    const call = <A, E>(tag: string, effect: Effect.Effect<A, E>) => {
      called.add(tag)
      return effect
    }
    const username = `alice-${randomBytes(3).toString("hex")}`

    const result = await withClient(cookieOf(admin), (client) =>
      Effect.gen(function*() {
        // users
        const created = yield* call("users.create", client.users.create({ username, role: "operator" }))
        const listed = yield* call("users.list", client.users.list())
        yield* call("users.setRole", client.users.setRole({ user_id: created.user_id, role: "viewer" }))
        yield* call("users.disable", client.users.disable({ user_id: created.user_id }))
        const whileDisabled = (yield* client.users.list()).find((u) => u.user_id === created.user_id)!
        yield* call("users.enable", client.users.enable({ user_id: created.user_id }))
        yield* call("users.resetTotp", client.users.resetTotp({ user_id: created.user_id }))
        const reset = yield* call("users.resetPassword", client.users.resetPassword({ user_id: created.user_id }))
        const linkCode = yield* call("users.telegramLinkCode", client.users.telegramLinkCode({ user_id: created.user_id }))
        const taken = yield* Effect.exit(client.users.create({ username: username.toUpperCase(), role: "viewer" }))

        // collectors: a new one and its code, claimed through the real endpoint
        const code = yield* call("collectors.createClaimCode", client.collectors.createClaimCode({ name: "North gate" }))
        const claimed = yield* Effect.promise(() =>
          fetch(`${server.url}/api/v1/collectors/claim`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ claim_code: code.claim_code, hardware_id: "hw-north-1" })
          }).then(async (r) => ({ status: r.status, body: (await r.json()) as { collector_id: string; api_key: string } }))
        )
        // a camera reported by the collector
        const batch = yield* Effect.promise(() => postBatch(server, claimed.body.api_key, [detection()]))
        const collectors = yield* call("collectors.list", client.collectors.list())
        const second = yield* client.collectors.createClaimCode({ collector_id: code.collector_id })
        const rotate = yield* call("collectors.rotateKey", client.collectors.rotateKey({ collector_id: code.collector_id }))
        const reboot = yield* call(
          "collectors.sendCommand",
          client.collectors.sendCommand({ collector_id: code.collector_id, cmd: "reboot" })
        )
        const config = yield* client.collectors.sendCommand({
          collector_id: code.collector_id,
          cmd: "config_update",
          payload: { upload: { window_seconds: 5 } }
        })
        const heartbeat = yield* Effect.promise(() =>
          fetch(`${server.url}/api/v1/collectors/heartbeat`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${claimed.body.api_key}` },
            body: JSON.stringify({
              uptime_seconds: 1,
              queue_depth: 0,
              cameras_online: 1,
              config_version: "c1",
              edge_version: "0.1.0"
            })
          }).then(async (r) => (await r.json()) as { pending_commands: Array<{ id: string; cmd: string; payload: unknown }> })
        )

        // cameras
        const cameras = yield* call("cameras.list", client.cameras.list({ collector_id: code.collector_id }))
        const updated = yield* call(
          "cameras.update",
          client.cameras.update({ camera_id: cameras[0]!.camera_id, name: "Main St north", site: "North gate", lat: 41.2, lon: -74.1 })
        )
        const unknownCamera = yield* Effect.exit(client.cameras.update({ camera_id: randomUUID(), site: "x" }))
        const madeCamera = yield* call(
          "cameras.create",
          client.cameras.create({
            collector_id: code.collector_id,
            external_id: "hik-gate",
            connection: { vendor: "hikvision", mode: "pull", url: "http://192.168.1.64", username: "admin" }
          })
        )
        const pushedCameras = yield* call("cameras.push", client.cameras.push({ collector_id: code.collector_id }))
        const collectorCameras = yield* call("cameras.collector", client.cameras.collector({ collector_id: code.collector_id }))

        // wall displays (pairing and sessions: displays.test.ts)
        const display = yield* call("displays.create", client.displays.create({ name: `Wall ${username}` }))
        const displayCode = yield* call("displays.newCode", client.displays.newCode({ display_id: display.display_id }))
        const displayRevoked = yield* call("displays.revoke", client.displays.revoke({ display_id: display.display_id }))
        const displays = yield* call("displays.list", client.displays.list())

        // revoking keys last: the collector is locked out
        const revoked = yield* call("collectors.revokeKeys", client.collectors.revokeKeys({ collector_id: code.collector_id }))
        const afterRevoke = yield* Effect.promise(() =>
          fetch(`${server.url}/api/v1/collectors/heartbeat`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${claimed.body.api_key}` },
            body: JSON.stringify({ uptime_seconds: 1, queue_depth: 0, cameras_online: 1, config_version: "c1", edge_version: "0.1.0" })
          }).then((r) => r.status)
        )
        const unknownCollector = yield* Effect.exit(client.collectors.revokeKeys({ collector_id: randomUUID() }))

        // the audit log, filtered and paged
        const mine = yield* call("audit.list", client.audit.list({ actor: admin.username, limit: 500 }))
        const firstPage = yield* client.audit.list({ actor: admin.username, action: "collector.", limit: 2 })
        const secondPage = yield* client.audit.list({
          actor: admin.username,
          action: "collector.",
          limit: 2,
          before: firstPage.next_cursor!
        })

        const future = yield* client.audit.list({ actor: admin.username, from: "2999-01-01T00:00:00Z" })
        const window = yield* client.audit.list({
          actor: admin.username,
          action: "user.",
          from: new Date(Date.now() - 3_600_000).toISOString(),
          to: new Date(Date.now() + 3_600_000).toISOString()
        })

        // the filtered log as a file, and the chain checked
        const exported = (yield* call("audit.export", Stream.runCollect(client.audit.export({ actor: admin.username, action: "user.", format: "jsonl" }))))
          .pipe((chunks) => [...chunks].join(""))
        const verified = yield* call("audit.verify", client.audit.verify())

        return {
          exported, verified, future, window, created, listed, whileDisabled, reset, taken, code, claimed, batch, collectors, second, rotate, reboot, config,
          heartbeat, cameras, updated, unknownCamera, madeCamera, pushedCameras, collectorCameras, revoked, afterRevoke, unknownCollector, mine, firstPage, secondPage,
          display, displayCode, displayRevoked, displays, linkCode
        }
      }))

    // users
    expect(result.created.username).toBe(username)
    expect(result.created.password.length).toBeGreaterThanOrEqual(12)
    expect(result.listed.map((u) => u.username)).toContain(username)
    expect(result.whileDisabled.disabled_at).not.toBeNull()
    expect(result.reset.password).not.toBe(result.created.password)
    expect(outcome(result.taken)).toBe("BadRequest")
    // A Telegram link code made for the user, not for the admin
    expect(result.linkCode).toMatchObject({ username, code: expect.stringMatching(/^[0-9A-Z]{4}-[0-9A-Z]{4}$/) })
    const { rows: [link] } = await server.db.query(
      "SELECT count(*)::int AS n FROM telegram_link_codes WHERE user_id = $1 AND used_at IS NULL AND expires_at > now()",
      [result.created.user_id])
    expect(link.n).toBe(1)
    const { rows: [user] } = await server.db.query(
      "SELECT role, disabled_at, must_change_password, password_hash FROM users WHERE id = $1",
      [result.created.user_id]
    )
    expect(user).toMatchObject({ role: "viewer", disabled_at: null, must_change_password: true })

    // displays
    expect(result.displayCode.code).not.toBe(result.display.code)
    expect(result.displayRevoked.revoked_at).not.toBeNull()
    expect(result.displays.find((d) => d.display_id === result.display.display_id)).toMatchObject({
      name: `Wall ${username}`, revoked_at: result.displayRevoked.revoked_at, code_expires_at: null
    })

    // collectors
    expect(result.claimed.status).toBe(201)
    expect(result.claimed.body.collector_id).toBe(result.code.collector_id)
    expect(result.batch.status).toBe(200)
    expect(result.collectors.find((c) => c.collector_id === result.code.collector_id)).toMatchObject({
      name: "North gate",
      status: "active",
      active_keys: 1
    })
    expect(result.second.collector_id).toBe(result.code.collector_id)
    expect(result.second.claim_code).not.toBe(result.code.claim_code)
    const { rows: commands } = await server.db.query<{ id: string; cmd: string; created_by: string; payload: unknown }>(
      "SELECT id, cmd, created_by, payload FROM collector_commands WHERE collector_id = $1 ORDER BY created_at",
      [result.code.collector_id]
    )
    expect(commands.map((c) => [c.id, c.cmd, c.created_by])).toEqual([
      [result.rotate.command_id, "rotate_key", admin.username],
      [result.reboot.command_id, "reboot", admin.username],
      [result.config.command_id, "config_update", admin.username],
      [result.pushedCameras.command_id, "update_cameras", admin.username]
    ])
    expect(commands[2]!.payload).toEqual({ upload: { window_seconds: 5 } })
    // queued commands reach the collector with its next heartbeat
    expect(result.heartbeat.pending_commands.map((c) => c.cmd)).toEqual(["rotate_key", "reboot", "config_update"])
    expect(result.revoked).toEqual({ collector_id: result.code.collector_id, revoked_keys: 1 })
    expect(result.afterRevoke).toBe(401)
    expect(outcome(result.unknownCollector)).toBe("NotFound")

    // cameras
    expect(result.cameras).toHaveLength(1)
    expect(result.cameras[0]).toMatchObject({ collector_id: result.code.collector_id, collector_name: "North gate", external_id: "cam-1" })
    expect(result.updated).toMatchObject({ name: "Main St north", site: "North gate", lat: 41.2, lon: -74.1 })
    const { rows: [camera] } = await server.db.query("SELECT name, site, lat, lon FROM cameras WHERE id = $1", [
      result.updated.camera_id
    ])
    expect(camera).toEqual({ name: "Main St north", site: "North gate", lat: 41.2, lon: -74.1 })
    expect(outcome(result.unknownCamera)).toBe("NotFound")

    // audit: every change, by this admin, from the client's address, on its target
    const { rows: audited } = await server.db.query<{ action: string; target: string; address: string; actor_username: string }>(
      "SELECT action, target, address, actor_username FROM audit_log WHERE actor_id = $1 AND outcome = 'success' ORDER BY id",
      [admin.userId]
    )
    const userTarget = `user:${result.created.user_id}`
    const collectorTarget = `collector:${result.code.collector_id}`
    expect(audited.map((a) => [a.action, a.target])).toEqual([
      ["user.create", userTarget],
      ["user.role", userTarget],
      ["user.disable", userTarget],
      ["user.enable", userTarget],
      ["user.reset_totp", userTarget],
      ["user.reset_password", userTarget],
      ["telegram.link_code", userTarget],
      ["collector.create", collectorTarget],
      ["collector.claim_code", collectorTarget],
      ["collector.rotate_key", collectorTarget],
      ["collector.command", collectorTarget],
      ["collector.command", collectorTarget],
      ["camera.update", `camera:${result.updated.camera_id}`],
      ["camera.create", `camera:${result.madeCamera.camera_id}`],
      ["camera.push", collectorTarget],
      ["display.create", `display:${result.display.display_id}`],
      ["display.pairing_code", `display:${result.display.display_id}`],
      ["display.revoke", `display:${result.display.display_id}`],
      ["collector.revoke_keys", collectorTarget],
      ["audit.export", "audit_log:jsonl"],
      ["audit.verify", "audit_log"]
    ])
    for (const row of audited) {
      expect(row.actor_username).toBe(admin.username)
      expect(row.address).toMatch(/127\.0\.0\.1/)
    }
    // a camera made with its connection, pushed as update_cameras, the push pending until the collector answers
    expect(result.madeCamera).toMatchObject({ external_id: "hik-gate", connection: { vendor: "hikvision", mode: "pull" }, device: null })
    expect(result.pushedCameras.cameras).toEqual(["hik-gate"])
    expect(result.collectorCameras.last_push).toMatchObject({ command_id: result.pushedCameras.command_id, status: "pending" })
    const { rows: [cameraAudit] } = await server.db.query("SELECT details FROM audit_log WHERE action = 'camera.update'")
    expect(cameraAudit.details).toEqual({
      from: { name: "Main St northbound", site: null, lat: 41.1, lon: -74.05 },
      to: { name: "Main St north", site: "North gate", lat: 41.2, lon: -74.1 }
    })
    // the same rows through audit.list, newest first, and paged with the cursor
    // (listed before the export and the check)
    expect(result.mine.items.map((e) => e.action)).toEqual(audited.slice(0, -2).map((a) => a.action).reverse())
    expect(result.firstPage.items.map((e) => e.action)).toEqual(["collector.revoke_keys", "collector.command"])
    expect(result.secondPage.items.map((e) => e.action)).toEqual(["collector.command", "collector.rotate_key"])
    expect(result.future.items).toEqual([])
    expect(result.window.items.map((e) => e.action)).toEqual(
      audited.map((a) => a.action).filter((action) => action.startsWith("user.")).reverse()
    )
    expect(result.mine.items[0]!.hash).toMatch(/^[0-9a-f]{64}$/)
    // the export holds what the list holds, one JSON line each; the chain checks out
    const lines = result.exported.trim().split("\n").map((line) => JSON.parse(line) as { action: string; hash: string })
    expect(lines.map((l) => l.action)).toEqual(result.window.items.map((e) => e.action))
    expect(lines.map((l) => l.hash)).toEqual(result.window.items.map((e) => e.hash))
    expect(result.verified.ok).toBe(true)

    // and nothing in the contract was left out of this test
    expect([...called].sort()).toEqual(adminProcedures.map((rpc) => rpc._tag).sort())
  })

  it("answers Forbidden to operators and viewers for every admin procedure, changes nothing and audits each refusal", async () => {
    const tables = ["users", "collectors", "collector_commands", "claim_codes", "cameras"]
    for (const role of ["operator", "viewer"] as const) {
      const user = await server.signIn(role)
      const before = await countRows(tables)
      expect(await answersOf(cookieOf(user))).toEqual(everyProcedure("Forbidden"))
      expect(await countRows(tables)).toEqual(before)
      const { rows } = await server.db.query<{ target: string }>(
        "SELECT target FROM audit_log WHERE actor_id = $1 AND action = 'access.denied' AND outcome = 'denied'",
        [user.userId]
      )
      expect(rows.map((r) => r.target).sort()).toEqual(adminProcedures.map((rpc) => `rpc:${rpc._tag}`).sort())
    }
  })

  it("answers Unauthorized to every procedure without a live session: none, unknown, expired, revoked, disabled", async () => {
    const expired = await server.signIn("admin", { expired: true })
    const revoked = await server.signIn("admin")
    await server.db.query("UPDATE sessions SET revoked_at = now() WHERE token_hash = $1", [revoked.sessionHash])
    const disabled = await server.signIn("admin")
    await server.db.query("UPDATE users SET disabled_at = now() WHERE id = $1", [disabled.userId])
    const cases: Record<string, Record<string, string>> = {
      "no cookie": {},
      "unknown token": { cookie: `alpr_session=${randomBytes(32).toString("base64url")}` },
      "expired session": cookieOf(expired),
      "revoked session": cookieOf(revoked),
      "disabled user": cookieOf(disabled)
    }
    for (const [name, headers] of Object.entries(cases)) {
      expect({ [name]: await answersOf(headers, allProcedures) }).toEqual({ [name]: everyProcedure("Unauthorized", allProcedures) })
    }
  })

  it("answers Forbidden to every role for every procedure, in any group, that needs a higher role; changes nothing", async () => {
    const tables = ["users", "collectors", "collector_commands", "cameras", "watchlists", "watchlist_entries", "alert_work"]
    for (const role of ["viewer", "operator"] as const) {
      const above = allProcedures.filter((rpc) => !roleAtLeast(role, declaredRole(rpc)))
      expect(above.length, `procedures above ${role}`).toBeGreaterThan(0)
      const user = await server.signIn(role)
      const before = await countRows(tables)
      expect(await answersOf(cookieOf(user), above)).toEqual(everyProcedure("Forbidden", above))
      expect(await countRows(tables)).toEqual(before)
      const { rows } = await server.db.query<{ target: string }>(
        "SELECT target FROM audit_log WHERE actor_id = $1 AND action = 'access.denied' AND outcome = 'denied'",
        [user.userId]
      )
      expect(rows.map((r) => r.target).sort()).toEqual(above.map((rpc) => `rpc:${rpc._tag}`).sort())
    }
  })

  it("checks the session at every call: a session revoked while the socket is open stops working", async () => {
    const admin = await server.signIn("admin")
    const [first, second] = await withClient(cookieOf(admin), (client) =>
      Effect.gen(function*() {
        const first = yield* Effect.exit(client.users.list())
        yield* Effect.promise(() =>
          server.db.query("UPDATE sessions SET revoked_at = now() WHERE token_hash = $1", [admin.sessionHash]))
        const second = yield* Effect.exit(client.users.list())
        return [first, second] as const
      }))
    expect(outcome(first)).toBe("success")
    expect(outcome(second)).toBe("Unauthorized")
  })

  it("takes the session from the upgrade request only: cookies or connection ids sent with a call are ignored", async () => {
    const admin = await server.signIn("admin")
    const operator = await server.signIn("operator")
    const asAdmin = { headers: { cookie: admin.cookie } }
    const forged = { headers: { [CONNECTION_HEADER]: randomBytes(32).toString("base64url"), cookie: admin.cookie } }
    const answers = await Promise.all([
      withClient(cookieOf(operator), (client) => Effect.exit(client.users.list(undefined, asAdmin))),
      withClient({}, (client) => Effect.exit(client.users.list(undefined, asAdmin))),
      withClient({}, (client) => Effect.exit(client.users.list(undefined, forged)))
    ])
    expect(answers.map(outcome)).toEqual(["Forbidden", "Unauthorized", "Unauthorized"])
  })

  it("refuses, fail closed, a procedure that declares no role, even to an admin", async () => {
    const admin = await server.signIn("admin")
    const token = admin.cookie.slice("alpr_session=".length)
    const unguarded = Rpc.make("test.unguarded").middleware(RpcSession)
    const guarded = unguarded.annotate(RequiredRole, "admin")
    const check = (rpc: Rpc.AnyWithProps) =>
      Effect.gen(function*() {
        const middleware = yield* RpcSession
        const connections = yield* RpcConnections
        return yield* connections.register({ sessionToken: token, address: "127.0.0.1" }, (id) =>
          middleware({ clientId: 0, rpc, payload: undefined, headers: Headers.fromInput({ [CONNECTION_HEADER]: id }) }))
      }).pipe(Effect.exit, Effect.provide(RpcSessionLayer), Effect.provide(RpcConnections.Default))
    const [refused, admitted] = await Promise.all([
      server.run(check(unguarded as unknown as Rpc.AnyWithProps)),
      server.run(check(guarded as unknown as Rpc.AnyWithProps))
    ])
    expect(outcome(refused)).toBe("Forbidden")
    expect(defectMessage(refused)).toContain("declares no role")
    expect(Exit.isSuccess(admitted) && (admitted.value as { readonly userId: string }).userId).toBe(admin.userId)
  })

  it("refuses a WebSocket upgrade from a foreign Origin; accepts its own origin, PUBLIC_URL and non-browser clients", async () => {
    const admin = await server.signIn("admin")
    expect(await upgradeAnswer({ ...cookieOf(admin), origin: "https://evil.example" })).toBe(403)
    expect(await upgradeAnswer({ ...cookieOf(admin), origin: "null" })).toBe(403)
    expect(await upgradeAnswer({ ...cookieOf(admin), origin: "https://alpr.example.org.evil.example" })).toBe(403)
    expect(await upgradeAnswer({ ...cookieOf(admin), origin: server.url })).toBe("open")
    expect(await upgradeAnswer({ ...cookieOf(admin), origin: PUBLIC_URL })).toBe("open")
    expect(await upgradeAnswer(cookieOf(admin))).toBe("open")
    // the typed client sees the refusal as a transport error, not as an answer
    const exit = await withClient({ ...cookieOf(admin), origin: "https://evil.example" }, (client) =>
      Effect.exit(client.users.list()))
    expect(outcome(exit)).toBe("RpcClientError")
    // a plain request is told to upgrade
    const plain = await fetch(`${server.url}${RPC_PATH}`, { headers: cookieOf(admin) })
    expect(plain.status).toBe(426)
  })

  it("rejects bad payloads with messages that say what was wrong", async () => {
    const admin = await server.signIn("admin")
    const collector = await server.collector("payload checks")
    const cameraId = (await server.db.query<{ id: string }>(
      "INSERT INTO cameras (collector_id, external_id, mac) VALUES ($1, 'cam-x', 'AA:BB:CC:DD:EE:FF') RETURNING id",
      [collector.collectorId]
    )).rows[0]!.id

    // the typed client checks the payload before sending it
    const typed = await withClient(cookieOf(admin), (client) =>
      Effect.exit(client.cameras.update({ camera_id: cameraId, lat: 200, lon: 0 })))
    expect(defectMessage(typed)).toContain("lat must be between -90 and 90")

    // and the server checks it again for clients that do not
    const answers = await rawCalls(cookieOf(admin), [
      { tag: "cameras.update", payload: { camera_id: cameraId, lat: 200, lon: 0 } },
      { tag: "cameras.update", payload: { camera_id: cameraId, lat: 10, lon: -181 } },
      { tag: "cameras.update", payload: { camera_id: cameraId, lat: 10 } },
      { tag: "cameras.update", payload: { camera_id: cameraId } },
      { tag: "collectors.sendCommand", payload: { collector_id: collector.collectorId, cmd: "self_destruct" } },
      { tag: "collectors.sendCommand", payload: { collector_id: collector.collectorId, cmd: "rotate_key" } },
      { tag: "collectors.sendCommand", payload: { collector_id: collector.collectorId, cmd: "update_cameras", payload: {} } },
      { tag: "collectors.createClaimCode", payload: {} },
      { tag: "users.create", payload: { username: "no spaces allowed", role: "admin" } },
      { tag: "users.setRole", payload: { user_id: "not-a-uuid", role: "admin" } },
      { tag: "users.setRole", payload: { user_id: admin.userId, role: "root" } },
      { tag: "audit.list", payload: { limit: 501 } },
      { tag: "audit.list", payload: { from: "yesterday" } }
    ])
    const messages = answers.map((a) => {
      expect(a.exit?._tag).toBe("Failure")
      return JSON.stringify(a.exit?.cause)
    })
    const expected = [
      "lat must be between -90 and 90",
      "lon must be between -180 and 180",
      "lat and lon are set together",
      "nothing to change",
      "cmd must be one of config_update, update_cameras, reboot",
      "cmd must be one of config_update, update_cameras, reboot",
      "update_cameras needs a payload",
      "send either name (a new collector) or collector_id",
      "a username is 1 to 64 letters, digits or . _ - @",
      "user_id must be a UUID",
      "\\\"admin\\\" | \\\"operator\\\" | \\\"viewer\\\"",
      "limit must be between 1 and 500",
      "from must be an ISO 8601 time"
    ]
    expected.forEach((text, i) => expect(messages[i], `answer ${i + 1}`).toContain(text))
    // nothing was changed by any of them
    const { rows: [camera] } = await server.db.query("SELECT lat, lon, name FROM cameras WHERE id = $1", [cameraId])
    expect(camera).toEqual({ lat: null, lon: null, name: null })
    expect(await count("SELECT count(*) AS n FROM collector_commands WHERE collector_id = $1", [collector.collectorId])).toBe(0)
  })
})
