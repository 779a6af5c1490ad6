import { AlprApi } from "@chaverim/domain/Api"
import { AdminAuth, CollectorAuth, OperatorAuth, PreAuth, type Role, roleAtLeast, ViewerAuth } from "@chaverim/domain/Auth"
import type * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { createHash, randomBytes } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startServer, type TestServer } from "./harness"

/**
 * Every endpoint of the HttpApi contract, read from the contract itself, is checked against every
 * role and against no session. An endpoint must carry one of the access middlewares or be listed
 * here as public: a new endpoint without a rule fails this test.
 */
const PUBLIC = new Set(["system.health", "system.ready", "system.metrics", "collectors.claim", "auth.login", "auth.pair"])

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
  if (middlewares.has(CollectorAuth)) return { kind: "collector" }
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

/** Path parameters that decode, so that what answers is the access check, not the router. */
const CANDIDATES: Record<string, ReadonlyArray<string>> = {
  id: ["1", "00000000-0000-4000-8000-000000000001"],
  kind: ["plate"],
  plate: ["ABC123"]
}
const concretePath = (endpoint: HttpApiEndpoint.HttpApiEndpoint.AnyWithProps) => {
  const names = [...endpoint.path.matchAll(/:(\w+)/g)].map((m) => m[1]!)
  const choice: Record<string, string> = Object.fromEntries(names.map((n) => [n, CANDIDATES[n]?.[0] ?? "x"]))
  const decodes = (candidate: Record<string, string>) =>
    Option.match(endpoint.pathSchema, {
      onNone: () => true,
      onSome: (schema) => Either.isRight(Schema.decodeUnknownEither(schema as Schema.Schema<unknown>)(candidate))
    })
  for (const name of names) {
    const value = (CANDIDATES[name] ?? []).find((v) => decodes({ ...choice, [name]: v }))
    if (value !== undefined) choice[name] = value
  }
  return endpoint.path.replace(/:(\w+)/g, (_, name: string) => choice[name]!)
}

describe("every HTTP endpoint checks its access rule", () => {
  let server: TestServer
  const users: Partial<Record<Role, string>> = {}

  /** A fresh session of the role's user for each call: logout and a password change end the one they use. */
  const sessionOf = async (role: Role) => {
    const token = randomBytes(32).toString("base64url")
    const csrf = randomBytes(16).toString("base64url")
    await server.db.query(
      "INSERT INTO sessions (token_hash, user_id, expires_at, csrf_token) VALUES ($1, $2, now() + interval '1 hour', $3)",
      [createHash("sha256").update(token).digest("hex"), users[role], csrf]
    )
    return { cookie: `alpr_session=${token}`, csrf }
  }

  beforeAll(async () => {
    server = await startServer()
    for (const role of ["viewer", "operator", "admin"] as const) {
      const { rows } = await server.db.query<{ id: string }>(
        "INSERT INTO users (username, role, must_change_password) VALUES ($1, $2, false) RETURNING id",
        [`matrix-${role}`, role]
      )
      users[role] = rows[0]!.id
    }
  })
  afterAll(() => server?.close())

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
    it(`${name} (${endpoint.method} ${endpoint.path}): ${access.kind === "role" ? `${access.role} and above` : access.kind}`, async () => {
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
    })
  }
})
