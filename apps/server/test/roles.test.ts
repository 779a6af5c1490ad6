import { AlprApi } from "@chaverim/domain/Api"
import {
  AdminAuth,
  CollectorApiKeyAuth,
  CollectorAuth,
  displayAllowed,
  OperatorAuth,
  PreAuth,
  type Role,
  roleAtLeast,
  ViewerAuth
} from "@chaverim/domain/Auth"
import { AlprRpcs } from "@chaverim/domain/Rpc"
import { requiredRole } from "@chaverim/domain/rpc/Common"
import type * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import type * as Rpc from "@effect/rpc/Rpc"
import * as RpcClient from "@effect/rpc/RpcClient"
import * as Arbitrary from "effect/Arbitrary"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { createHash, randomBytes } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { detection, fakeJpeg, startServer, type TestServer } from "./harness"
import { concretePath as pathOf } from "./contract"
import { rpcSocket, rpcUrlOf } from "./rpcClient"

/**
 * Every endpoint of the HttpApi contract, read from the contract itself, is checked against every
 * role, a paired wall display and no session. An endpoint must carry one of the access middlewares or
 * be listed here as public: a new endpoint without a rule fails this test. A wall display is a viewer
 * that may call only what the contract marks DisplayAllowed; every other endpoint refuses it (403, audited).
 */
// evidence.key: the public half of the evidence key, which agencies pin before they have an account.
const PUBLIC = new Set(["system.health", "system.ready", "system.metrics", "collectors.claim", "auth.login", "auth.pair", "evidence.key", "transparency.report"])

type Access =
  | { readonly kind: "public" }
  | { readonly kind: "collector" }
  | { readonly kind: "preauth" }
  | { readonly kind: "role"; readonly role: Role }

const accessOf = (group: HttpApiGroup.HttpApiGroup.AnyWithProps, endpoint: HttpApiEndpoint.HttpApiEndpoint.AnyWithProps): Access | undefined => {
  const middlewares = new Set<unknown>([...group.middlewares, ...endpoint.middlewares])
  if (middlewares.has(AdminAuth)) return { kind: "role", role: "admin" }
  if (middlewares.has(OperatorAuth)) return { kind: "role", role: "operator" }
  if (middlewares.has(ViewerAuth)) return { kind: "role", role: "viewer" }
  if (middlewares.has(CollectorAuth) || middlewares.has(CollectorApiKeyAuth)) return { kind: "collector" }
  if (middlewares.has(PreAuth)) return { kind: "preauth" }
  return PUBLIC.has(`${group.identifier}.${endpoint.name}`) ? { kind: "public" } : undefined
}

const endpoints = Object.values(AlprApi.groups).flatMap((group) =>
  Object.values((group as unknown as HttpApiGroup.HttpApiGroup.AnyWithProps).endpoints).map((endpoint) => ({
    name: `${group.identifier}.${(endpoint as HttpApiEndpoint.HttpApiEndpoint.AnyWithProps).name}`,
    group: group as unknown as HttpApiGroup.HttpApiGroup.AnyWithProps,
    endpoint: endpoint as HttpApiEndpoint.HttpApiEndpoint.AnyWithProps
  }))
)

/**
 * Path parameters that decode, so that what answers is the access check, not the router. A numeric
 * id is the read stored before the tests (received just now, with a plate crop, so a wall may show it).
 */
const CANDIDATES: Record<string, Array<string>> = {
  id: ["1", "00000000-0000-4000-8000-000000000001"],
  kind: ["plate"],
  plate: ["ABC123"]
}
const concretePath = (endpoint: HttpApiEndpoint.HttpApiEndpoint.AnyWithProps) => pathOf(endpoint, CANDIDATES)

type Column = Role | "display"

let server: TestServer
const users: Partial<Record<Column, string>> = {}

/** A fresh session of the column's user for each call: logout and a password change end the one they use. */
const sessionOf = async (column: Column) => {
  const token = randomBytes(32).toString("base64url")
  const csrf = randomBytes(16).toString("base64url")
  await server.db.query(
    "INSERT INTO sessions (token_hash, user_id, expires_at, csrf_token) VALUES ($1, $2, now() + interval '1 hour', $3)",
    [createHash("sha256").update(token).digest("hex"), users[column], csrf]
  )
  return { cookie: `alpr_session=${token}`, csrf }
}

/** The refusals audited for the display's account, by target. */
const displayRefusals = async () =>
  (await server.db.query<{ target: string }>(
    "SELECT target FROM audit_log WHERE actor_id = $1 AND action = 'access.denied' AND outcome = 'denied' ORDER BY id",
    [users.display]
  )).rows.map((r) => r.target)

beforeAll(async () => {
  server = await startServer()
  for (const role of ["viewer", "operator", "admin"] as const) {
    const { rows } = await server.db.query<{ id: string }>(
      "INSERT INTO users (username, role, must_change_password) VALUES ($1, $2, false) RETURNING id",
      [`matrix-${role}`, role]
    )
    users[role] = rows[0]!.id
  }
  // A wall display's account, as pairing makes it: a viewer without a password.
  const { rows } = await server.db.query<{ id: string }>(
    "INSERT INTO users (username, role, must_change_password, display) VALUES ('display:matrix', 'viewer', false, true) RETURNING id"
  )
  users.display = rows[0]!.id

  const { apiKey } = await server.collector("Matrix site")
  const read = detection()
  const form = new FormData()
  form.append("batch", JSON.stringify({ events: [read] }))
  form.append(`plate:${read.detection_id}`, new Blob([fakeJpeg(2_000)], { type: "image/jpeg" }))
  const stored = await fetch(`${server.url}/api/v1/detections/batch`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}` },
    body: form
  })
  expect(stored.status).toBe(200)
  const { rows: [row] } = await server.db.query<{ id: string }>("SELECT id::text AS id FROM detections WHERE detection_id = $1",
    [read.detection_id])
  CANDIDATES["id"]!.unshift(row!.id)
})
afterAll(() => server?.close())

describe("every HTTP endpoint checks its access rule", () => {
  const call = (endpoint: HttpApiEndpoint.HttpApiEndpoint.AnyWithProps, headers: Record<string, string>) =>
    fetch(`${server.url}${concretePath(endpoint)}`, {
      method: endpoint.method,
      headers: { ...headers, ...(endpoint.method === "GET" ? {} : { "content-type": "application/json" }) },
      ...(endpoint.method === "GET" || endpoint.method === "HEAD" ? {} : { body: "{}" })
    })

  it("has a rule for every endpoint in the contract", () => {
    expect(endpoints.length).toBeGreaterThanOrEqual(13)
    const missing = endpoints.filter(({ endpoint, group }) => accessOf(group, endpoint) === undefined).map((e) => e.name)
    expect(missing, "endpoints without an access rule").toEqual([])
  })

  for (const { endpoint, group, name } of endpoints) {
    const access = accessOf(group, endpoint)
    if (access === undefined || access.kind === "public") continue
    const displays = access.kind === "role" && access.role === "viewer" && displayAllowed(endpoint.annotations)
    const rule = access.kind === "role" ? `${access.role} and above${displays ? ", and wall displays" : ""}` : access.kind
    it(`${name} (${endpoint.method} ${endpoint.path}): ${rule}`, async () => {
      const anonymous = await call(endpoint, {})
      expect(anonymous.status, "without credentials").toBe(401)
      for (const role of ["viewer", "operator", "admin"] as const) {
        const { cookie, csrf } = await sessionOf(role)
        const response = await call(endpoint, { cookie, "x-csrf-token": csrf })
        const body = await response.text()
        if (access.kind === "role" && roleAtLeast(role, access.role)) {
          expect([401, 403], `${role} is allowed: ${response.status} ${body}`).not.toContain(response.status)
        } else if (access.kind === "role") {
          expect(response.status, `${role} must be refused: ${body}`).toBe(403)
        } else {
          // Collector and pre-auth endpoints take no session at all.
          expect(response.status, `${role}: ${body}`).toBe(401)
        }
        expect(body).not.toMatch(/\bat .+\.(ts|js):\d+/)
      }
      if (access.kind === "role") {
        const expired = randomBytes(32).toString("base64url")
        expect((await call(endpoint, { cookie: `alpr_session=${expired}` })).status, "unknown session").toBe(401)
      }

      const { cookie, csrf } = await sessionOf("display")
      const refusedBefore = (await displayRefusals()).length
      const response = await call(endpoint, { cookie, "x-csrf-token": csrf })
      const body = await response.text()
      if (displays) {
        expect([401, 403], `a wall display is allowed: ${response.status} ${body}`).not.toContain(response.status)
        expect(await displayRefusals()).toHaveLength(refusedBefore)
      } else if (access.kind === "role") {
        expect(response.status, `a wall display must be refused: ${body}`).toBe(403)
        expect(JSON.parse(body)).toMatchObject({ _tag: "Forbidden", message: expect.stringMatching(/wall display/) })
        expect((await displayRefusals()).slice(refusedBefore)).toEqual([`${endpoint.method} ${concretePath(endpoint)}`])
      } else {
        expect(response.status, `display: ${body}`).toBe(401)
      }
    })
  }
})

// ---------------------------------------------------------------------------------------------------
// The same for every RPC procedure at /rpc: the display column (the role columns are rpc.test.ts's)

/** A client addressed by tag: the payload is not known statically when going over every procedure. */
type FlatClient = (tag: string, payload: unknown) => Effect.Effect<unknown, unknown> | Stream.Stream<unknown, unknown>

const procedures = [...AlprRpcs.requests.values()] as unknown as ReadonlyArray<Rpc.AnyWithProps>

/** A payload the procedure's schema accepts, so a refusal comes from the session check and not from decoding. */
const validPayload = (rpc: Rpc.AnyWithProps) =>
  FastCheck.sample(Arbitrary.make(rpc.payloadSchema as Schema.Schema<unknown>), { numRuns: 1, seed: 20250131 })[0]

/** The tag of the expected error a call failed with, "success", or the defect. */
const outcomeOf = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.match(exit, {
    onSuccess: () => "success",
    onFailure: (cause) =>
      Option.match(Cause.failureOption(cause), {
        onSome: (error) => (error as { readonly _tag?: string })._tag ?? String(error),
        onNone: () => `defect: ${Cause.pretty(cause)}`
      })
  })

describe("every RPC procedure checks wall displays", () => {
  it("lets a display call the procedures marked DisplayAllowed and refuses it (audited) every other, whatever its role allows", async () => {
    const { cookie } = await sessionOf("display")
    const refusedBefore = (await displayRefusals()).length
    const answers = await Effect.runPromise(
      Effect.scoped(Effect.flatMap(RpcClient.make(AlprRpcs, { flatten: true }), (client) =>
        Effect.forEach(procedures, (rpc) => {
          const answer = (client as unknown as FlatClient)(rpc._tag, validPayload(rpc))
          const done = Effect.isEffect(answer) ? answer : Stream.runDrain(answer)
          return Effect.map(Effect.exit(done), (exit) => [rpc._tag, outcomeOf(exit)] as const)
        }))).pipe(Effect.provide(rpcSocket(rpcUrlOf(server), { cookie })))
    )
    const allowed = procedures.filter((rpc) => displayAllowed(rpc.annotations))
    expect(allowed.map((rpc) => rpc._tag).sort()).toEqual(["wall.alerts", "wall.status"])
    // Open to displays only where a viewer may call it too.
    expect(allowed.map((rpc) => Option.getOrUndefined(requiredRole(rpc)))).toEqual(allowed.map(() => "viewer"))
    expect(Object.fromEntries(answers)).toEqual(Object.fromEntries(procedures.map((rpc) =>
      [rpc._tag, displayAllowed(rpc.annotations) ? "success" : "Forbidden"])))
    expect((await displayRefusals()).slice(refusedBefore).sort()).toEqual(
      procedures.filter((rpc) => !displayAllowed(rpc.annotations)).map((rpc) => `rpc:${rpc._tag}`).sort()
    )
  })
})
