import { AlprRpcs } from "@chaverim/domain/Rpc"
import { Accounts } from "@chaverim/server"
import { appConfig } from "@chaverim/server/Config"
import {
  canonicalAddress,
  clientAddressOf,
  forwardedOverTls,
  parseProxyList,
  proxyList,
  throttleScope
} from "@chaverim/server/http/Proxies"
import * as RpcClient from "@effect/rpc/RpcClient"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { generate } from "otplib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startServer, type TestServer } from "./harness"
import { rpcSocket, rpcUrlOf } from "./rpcClient"

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) })

const preauthOf = (response: Response) =>
  response.headers.getSetCookie().map((line) => line.split(";")[0]!).find((pair) => pair.startsWith("alpr_preauth="))!

describe("TRUSTED_PROXIES and the X-Forwarded-For walk", () => {
  const proxies = proxyList("172.16.0.0/12, 10.0.0.7, ::1/128, fd00::/8")

  it("reads IPv4 and IPv6 ranges, IPv4-mapped addresses as IPv4, and refuses anything else with the entry named", () => {
    expect(proxies.ranges).toEqual(["172.16.0.0/12", "10.0.0.7/32", "::1/128", "fd00::/8"])
    expect(proxies.contains("172.31.255.1")).toBe(true)
    expect(proxies.contains("::ffff:172.20.0.3")).toBe(true)
    expect(proxies.contains("172.32.0.1")).toBe(false)
    expect(proxies.contains("10.0.0.8")).toBe(false)
    expect(proxies.contains("fd12:3456::1")).toBe(true)
    expect(proxies.contains("::2")).toBe(false)
    expect(proxyList("::ffff:10.0.0.0/104").contains("10.9.9.9")).toBe(true)
    expect(parseProxyList("").pipe(Either.map((list) => list.contains("127.0.0.1")))).toEqual(Either.right(false))

    for (const [bad, reason] of [
      ["10.0.0.0/8, 300.1.2.3", /"300\.1\.2\.3" is not an IP address/],
      ["10.0.0.1:8080", /not an IP address/],
      ["example.org", /not an IP address/],
      ["10.0.0.0/33", /1 to 32/],
      ["::/129", /1 to 128/],
      ["10.0.0.0/x", /must be a number/],
      ["0.0.0.0/0", /would trust every address/]
    ] as const) {
      const parsed = parseProxyList(bad)
      expect(Either.isLeft(parsed) && parsed.left, bad).toMatch(reason)
    }
  })

  it("believes X-Forwarded-For only from a trusted peer, taking the rightmost address no trusted proxy is", () => {
    // An untrusted peer: whatever it claims, it is the client.
    expect(clientAddressOf("203.0.113.9", "198.51.100.1", proxies)).toBe("203.0.113.9")
    // A trusted peer with no header is the client (a health check from the proxy itself).
    expect(clientAddressOf("172.18.0.2", undefined, proxies)).toBe("172.18.0.2")
    expect(clientAddressOf("172.18.0.2", "198.51.100.1", proxies)).toBe("198.51.100.1")
    // Entries left of the first untrusted one were written by the client: a forged prefix is ignored.
    expect(clientAddressOf("172.18.0.2", "1.1.1.1, 198.51.100.1", proxies)).toBe("198.51.100.1")
    // Two proxies of ours in a row, each appending the one before.
    expect(clientAddressOf("172.18.0.2", "1.1.1.1, 198.51.100.1, 10.0.0.7", proxies)).toBe("198.51.100.1")
    // IPv4-mapped IPv6 peers and entries are their IPv4 address; IPv6 entries are written canonically.
    expect(clientAddressOf("::ffff:172.18.0.2", "::ffff:198.51.100.1", proxies)).toBe("198.51.100.1")
    expect(clientAddressOf("::1", "2001:DB8:0:0::1", proxies)).toBe("2001:db8::1")
    expect(clientAddressOf("::1", "[2001:db8::1]:4711, 10.0.0.7", proxies)).toBe("2001:db8::1")
    // A malformed entry ends the walk at the trusted hop that wrote it.
    expect(clientAddressOf("172.18.0.2", "198.51.100.1, bogus", proxies)).toBe("172.18.0.2")
    expect(clientAddressOf("172.18.0.2", "198.51.100.1, bogus, 10.0.0.7", proxies)).toBe("10.0.0.7")
    expect(clientAddressOf("172.18.0.2", "", proxies)).toBe("172.18.0.2")
    // Only proxies of ours: the furthest one is the client.
    expect(clientAddressOf("172.18.0.2", "10.0.0.7", proxies)).toBe("10.0.0.7")
    // No trusted proxies at all (the default): the header means nothing.
    expect(clientAddressOf("127.0.0.1", "198.51.100.1", proxyList(""))).toBe("127.0.0.1")

    expect(forwardedOverTls("172.18.0.2", "https", proxies)).toBe(true)
    expect(forwardedOverTls("172.18.0.2", "https, http", proxies)).toBe(false)
    expect(forwardedOverTls("203.0.113.9", "https", proxies)).toBe(false)
  })

  it("counts an IPv6 client by its /64 and an IPv4 one by its address", () => {
    expect(throttleScope("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64")
    expect(throttleScope("2001:db8:1:2:bbbb:cccc:dddd:eeee")).toBe("2001:db8:1:2::/64")
    expect(throttleScope("::1")).toBe("0:0:0:0::/64")
    expect(throttleScope("::ffff:198.51.100.1")).toBe("198.51.100.1")
    expect(canonicalAddress("198.51.100.1:443")).toBe("198.51.100.1")
    expect(canonicalAddress("01.2.3.4")).toBeUndefined()
  })

  it("stops the server at start when TRUSTED_PROXIES has a bad entry, naming it", async () => {
    const read = (value: string) =>
      Effect.runPromise(Effect.either(Effect.withConfigProvider(appConfig, ConfigProvider.fromMap(new Map([["TRUSTED_PROXIES", value]])))))
    const bad = await read("172.16.0.0/12, 10.0.0.300")
    expect(Either.isLeft(bad)).toBe(true)
    expect(String(Either.isLeft(bad) && bad.left)).toMatch(/TRUSTED_PROXIES.*"10\.0\.0\.300" is not an IP address/)
    const good = await read("172.16.0.0/12, ::1")
    expect(Either.isRight(good) && good.right.trustedProxies.ranges).toEqual(["172.16.0.0/12", "::1/128"])
  })
})

describe("sign-in behind a trusted reverse proxy (127.0.0.1 plays nginx)", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ trustedProxies: proxyList("127.0.0.1/32") })
  })
  afterAll(() => server?.close())
  const login = (username: string, password: string, client: string) =>
    post(`${server.url}/api/v1/auth/login`, { username, password }, { "x-forwarded-for": client })
  const create = (username: string) => server.run(Effect.flatMap(Accounts, (a) => a.create(username, "viewer")))

  it("locks out one client address without locking out another, and audits each at its own address", async () => {
    const attacker = "198.51.100.66"
    const owner = "203.0.113.10"
    const { password } = await create("carol")
    const other = await create("dave")
    for (let i = 0; i < 5; i++) expect((await login("carol", `wrong ${i}`, attacker)).status).toBe(401)
    // The attacker's address is now locked out of carol, even with her password...
    expect((await login("carol", password, attacker)).status).toBe(429)
    // ...but carol herself, and anyone else, sign in from elsewhere.
    expect((await login("carol", password, owner)).status).toBe(200)
    expect((await login("dave", other.password, owner)).status).toBe(200)
    // A nginx that overwrites the header per request: one more client, the same proxy.
    expect((await login("dave", other.password, "192.0.2.44")).status).toBe(200)

    const { rows } = await server.db.query<{ address: string; actor_username: string | null; outcome: string }>(
      "SELECT address, actor_username, outcome FROM audit_log WHERE action = 'auth.login' ORDER BY id"
    )
    expect(rows.filter((r) => r.outcome === "failure").map((r) => r.address)).toEqual(Array(5).fill(attacker))
    expect(rows.filter((r) => r.outcome === "success").map((r) => r.address)).toEqual([owner, owner, "192.0.2.44"])
    expect(rows.some((r) => r.address === "127.0.0.1")).toBe(false)
  }, 60_000)

  it("lets an address that signed in to the account lately in while guessing from many addresses has spent the account's budget", async () => {
    const { password } = await create("erin")
    // erin's usual address: a full sign-in (password, then TOTP enrolment) records a session there.
    const home = "203.0.113.20"
    const first = await login("erin", password, home)
    const { secret } = await first.json() as { secret: string }
    const enrolled = await post(`${server.url}/api/v1/auth/totp`, {
      code: await generate({ secret }),
      new_password: "a long new passphrase of hers"
    }, { cookie: preauthOf(first), "x-forwarded-for": home })
    expect(enrolled.status).toBe(200)
    const { rows: sessions } = await server.db.query("SELECT address FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = 'erin'")
    expect(sessions.map((r) => r.address)).toEqual([home])

    // Guessing from many addresses: five each, so no one address is locked for long, until the shared budget is spent.
    const guessers = Array.from({ length: 10 }, (_, i) => `198.51.100.${100 + i}`)
    const answers = await Promise.all(
      guessers.flatMap((address) => Array.from({ length: 5 }, (_, i) => login("erin", `guess ${i}`, address).then((r) => r.status)))
    )
    expect(answers.filter((s) => s === 401)).toHaveLength(50)
    expect((await login("erin", "guess 99", "198.51.100.200")).status).toBe(429)
    // A new address is held off, the right password notwithstanding; her usual one is not.
    expect((await login("erin", "a long new passphrase of hers", "192.0.2.200")).status).toBe(429)
    expect((await login("erin", "a long new passphrase of hers", home)).status).toBe(200)
  }, 60_000)

  it("records the forwarded address for a collector's claim and heartbeats", async () => {
    const { apiKey, collectorId } = await server.collector("proxied")
    const beat = { uptime_seconds: 60, queue_depth: 0, cameras_online: 1, config_version: "c1", edge_version: "0.3.1" }
    const response = await post(`${server.url}/api/v1/collectors/heartbeat`, beat, {
      authorization: `Bearer ${apiKey}`,
      "x-forwarded-for": "192.0.2.77"
    })
    expect(response.status).toBeLessThan(300)
    const { rows } = await server.db.query("SELECT last_address FROM collectors WHERE id = $1", [collectorId])
    expect(rows[0].last_address).toBe("192.0.2.77")
  })

  it("audits an admin RPC call at the address the proxy gave for the WebSocket upgrade", async () => {
    const admin = await server.signIn("admin")
    await Effect.runPromise(Effect.scoped(Effect.flatMap(RpcClient.make(AlprRpcs), (c) => c.displays.create({ name: "Proxied hall" }))).pipe(
      Effect.provide(rpcSocket(rpcUrlOf(server), { cookie: admin.cookie, "x-forwarded-for": "192.0.2.88" }))
    ))
    const { rows } = await server.db.query("SELECT address FROM audit_log WHERE action = 'display.create'")
    expect(rows.map((r) => r.address)).toEqual(["192.0.2.88"])
  })

  it("marks cookies Secure when the trusted proxy says the client came over https", async () => {
    const { password } = await create("tls-proxied")
    const response = await post(`${server.url}/api/v1/auth/login`, { username: "tls-proxied", password }, {
      "x-forwarded-for": "192.0.2.9",
      "x-forwarded-proto": "https"
    })
    expect(response.headers.getSetCookie()[0]).toMatch(/;\s*Secure/i)
  })
})

describe("forwarded headers from a peer that is not a trusted proxy", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer()
  })
  afterAll(() => server?.close())

  it("ignores a forged X-Forwarded-For: the peer is audited and counted, whatever it claims", async () => {
    const { password } = await server.run(Effect.flatMap(Accounts, (a) => a.create("frank", "viewer")))
    const login = (pw: string, forged: string) =>
      post(`${server.url}/api/v1/auth/login`, { username: "frank", password: pw }, { "x-forwarded-for": forged })
    // A new claimed address each time would be a fresh budget each time if it were believed.
    for (let i = 0; i < 5; i++) expect((await login(`wrong ${i}`, `198.51.100.${i}`)).status).toBe(401)
    expect((await login(password, "198.51.100.250")).status).toBe(429)
    const { rows } = await server.db.query<{ address: string }>("SELECT address FROM audit_log WHERE action = 'auth.login'")
    expect(rows.map((r) => r.address)).toEqual(Array(5).fill("127.0.0.1"))
  }, 60_000)

  it("does not believe a client's own X-Forwarded-Proto", async () => {
    const { password } = await server.run(Effect.flatMap(Accounts, (a) => a.create("gina", "viewer")))
    const response = await post(`${server.url}/api/v1/auth/login`, { username: "gina", password }, { "x-forwarded-proto": "https" })
    expect(response.status).toBe(200)
    expect(response.headers.getSetCookie()[0]).not.toMatch(/;\s*Secure/i)
  })
})
