import * as Http from "node:http"
import { Accounts } from "@chaverim/server"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startServer, type TestServer } from "./harness"

/** Bad input at the sign-in endpoints: every answer a clear 4xx, the server serving throughout. */
describe("hardening", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer()
  })
  afterAll(() => server?.close())

  const send = (path: string, body: string | undefined, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      ...(body === undefined ? {} : { body })
    })

  it("puts security headers on every answer, errors included", async () => {
    // An unknown page is the web app's to route (200, index.html); an unknown API path is a 404.
    for (const [path, status] of [["/health", 200], ["/api/v1/auth/me", 401], ["/api/v1/no/such/thing", 404], ["/no/such/page", 200]] as const) {
      const response = await fetch(`${server.url}${path}`)
      expect(response.status).toBe(status)
      expect(response.headers.get("content-security-policy")).toMatch(/frame-ancestors 'none'/)
      expect(response.headers.get("content-security-policy")).toMatch(/default-src 'self'/)
      expect(response.headers.get("x-content-type-options")).toBe("nosniff")
      expect(response.headers.get("referrer-policy")).toBe("no-referrer")
      expect(response.headers.get("x-frame-options")).toBe("DENY")
    }
    expect((await fetch(`${server.url}/api/v1/auth/me`)).headers.get("cache-control")).toBe("no-store")
  })

  const bad: ReadonlyArray<readonly [string, string | undefined, number]> = [
    ["malformed JSON", "{\"username\": ", 400],
    ["no body", undefined, 400],
    ["null", "null", 400],
    ["an array", "[1,2,3]", 400],
    ["missing password", JSON.stringify({ username: "alice" }), 400],
    ["missing username", JSON.stringify({ password: "x" }), 400],
    ["wrong types", JSON.stringify({ username: 42, password: ["x"] }), 400],
    ["nested object", JSON.stringify({ username: { $ne: null }, password: { $ne: null } }), 400],
    ["a 2,000-character password", JSON.stringify({ username: "alice", password: "x".repeat(2_000) }), 400],
    ["unicode username", JSON.stringify({ username: "ålîçé\u202e\u0000👮", password: "password" }), 401],
    ["SQL in the username", JSON.stringify({ username: "' OR 1=1 --", password: "' OR 1=1 --" }), 401],
    ["a 100 KiB body", JSON.stringify({ username: "a".repeat(100 * 1024), password: "x" }), 413]
  ]
  for (const [what, body, status] of bad) {
    it(`answers a login with ${what} with ${status} and a message`, async () => {
      const response = await send("/api/v1/auth/login", body)
      expect(response.status).toBe(status)
      const text = await response.text()
      expect(text).not.toMatch(/\bat .+\.(ts|js):\d+/)
      expect(text).not.toMatch(/stack/i)
      if (text !== "") expect(typeof (JSON.parse(text) as { message?: unknown }).message).toBe("string")
    })
  }

  it("answers the TOTP step without a pre-auth cookie 401, and malformed codes 400", async () => {
    expect((await send("/api/v1/auth/totp", JSON.stringify({ code: "123456" }))).status).toBe(401)
    expect((await send("/api/v1/auth/totp", JSON.stringify({ code: "123456" }), { cookie: "alpr_preauth=forged" })).status).toBe(401)
    expect((await send("/api/v1/auth/totp", JSON.stringify({ code: "12345a" }), { cookie: "alpr_preauth=forged" })).status)
      .toBeGreaterThanOrEqual(400)
  })

  it("refuses a body declared larger than allowed before reading it", async () => {
    // A client that announces 10 MiB and sends a little: the answer must come without the rest.
    const status = await new Promise<number>((resolve, reject) => {
      const request = Http.request(`${server.url}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": String(10 * 1024 * 1024) }
      }, (response) => {
        response.resume()
        resolve(response.statusCode ?? 0)
      })
      request.on("error", reject)
      request.write("{\"username\": \"")
    })
    expect(status).toBe(413)
  })

  it("marks cookies Secure and sends HSTS only behind TLS", async () => {
    const { password } = await server.run(Effect.flatMap(Accounts, (a) => a.create("tls-check", "viewer")))
    const login = (url: string, headers: Record<string, string> = {}) =>
      fetch(`${url}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ username: "tls-check", password })
      })
    const plain = await login(server.url)
    expect(plain.status).toBe(200)
    expect(plain.headers.getSetCookie()[0]).not.toMatch(/;\s*Secure/i)
    expect(plain.headers.get("strict-transport-security")).toBeNull()
    // A client's own X-Forwarded-Proto is not believed (a trusted proxy's is: proxies.test.ts).
    expect((await login(server.url, { "x-forwarded-proto": "https" })).headers.getSetCookie()[0]).not.toMatch(/;\s*Secure/i)

    const tls = await startServer({ publicUrl: Option.some("https://alpr.example.org") })
    try {
      await tls.run(Effect.flatMap(Accounts, (a) => a.create("tls-check", "viewer"))).then(async ({ password: p }) => {
        const response = await fetch(`${tls.url}/api/v1/auth/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username: "tls-check", password: p })
        })
        expect(response.headers.getSetCookie()[0]).toMatch(/;\s*Secure/i)
        expect(response.headers.get("strict-transport-security")).toMatch(/max-age=31536000/)
      })
    } finally {
      await tls.close()
    }
  })

  it("keeps serving after all of it", async () => {
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => send("/api/v1/auth/login", i % 2 === 0 ? "{" : JSON.stringify({ username: i })))
    )
    expect(responses.every((r) => r.status === 400)).toBe(true)
    expect((await fetch(`${server.url}/health`)).status).toBe(200)
  })
})
