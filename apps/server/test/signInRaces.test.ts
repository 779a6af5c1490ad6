import { Accounts } from "@chaverim/server"
import { codeChecks } from "@chaverim/server/auth/Accounts"
import { passwordChecks } from "@chaverim/server/auth/Passwords"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import { generate } from "otplib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startServer, type TestServer } from "./harness"

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) })

const preauthOf = (response: Response) =>
  response.headers.getSetCookie().map((line) => line.split(";")[0]!).find((pair) => pair.startsWith("alpr_preauth="))!

/** How many answers were not refused outright (429): each of those had its password or code checked. */
const answered = (statuses: ReadonlyArray<number>) => statuses.filter((s) => s !== 429).length

describe("sign-in limits under parallel attempts", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer()
  })
  afterAll(() => server?.close())
  const api = (path: string) => `${server.url}/api/v1/auth/${path}`
  const checked = (metric: typeof passwordChecks) => server.run(Metric.value(metric)).then((state) => state.count)

  it("checks at most five of 40 parallel passwords for one account, the right one among them or not", async () => {
    const { password } = await server.run(Effect.flatMap(Accounts, (a) => a.create("ivan", "viewer")))
    const before = await checked(passwordChecks)
    const guesses = Array.from({ length: 40 }, (_, i) => (i === 23 ? password : `wrong guess ${i}`))
    const statuses = await Promise.all(guesses.map((guess) => post(api("login"), { username: "ivan", password: guess }).then((r) => r.status)))
    expect(await checked(passwordChecks) - before).toBeLessThanOrEqual(5)
    expect(answered(statuses)).toBeLessThanOrEqual(5)
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(35)
    // Whether or not the right password was among the five checked, the budget is spent now.
    expect((await post(api("login"), { username: "ivan", password })).status).toBe(429)
  }, 60_000)

  it("checks at most five of 40 parallel TOTP and recovery codes spread over eight pre-auth cookies", async () => {
    const { password: oneTime } = await server.run(Effect.flatMap(Accounts, (a) => a.create("judy", "viewer")))
    const first = await post(api("login"), { username: "judy", password: oneTime })
    const { secret } = await first.json() as { secret: string }
    const password = "her own long passphrase"
    const enrolled = await post(api("totp"), { code: await generate({ secret }), new_password: password }, { cookie: preauthOf(first) })
    expect(enrolled.status).toBe(200)

    // Nine pre-auth cookies (the password is known to whoever holds them): eight guess, one waits.
    const cookies: Array<string> = []
    for (let i = 0; i < 9; i++) {
      const login = await post(api("login"), { username: "judy", password })
      expect(login.status).toBe(200)
      cookies.push(preauthOf(login))
    }
    const now = Math.floor(Date.now() / 1000)
    const valid = await Promise.all([-30, 0, 30].map((offset) => generate({ secret, epoch: now + offset })))
    const wrong = await generate({ secret, epoch: now + 7200 })
    expect(valid).not.toContain(wrong)

    const before = await checked(codeChecks)
    const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) =>
      post(api("totp"), i % 2 === 0 ? { code: wrong } : { recovery_code: "AAAA-BBBB-CCCC-DDDD" }, { cookie: cookies[i % 8]! })
        .then((r) => r.status)
    ))
    expect(await checked(codeChecks) - before).toBeLessThanOrEqual(5)
    expect(answered(statuses)).toBeLessThanOrEqual(5)
    // The budget is the account's: the cookie that sent no code waits too, with the right code.
    expect((await post(api("totp"), { code: await generate({ secret }) }, { cookie: cookies[8]! })).status).toBe(429)
  }, 60_000)
})
