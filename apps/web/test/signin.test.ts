import { Accounts } from "@chaverim/server"
import * as Effect from "effect/Effect"
import { generate } from "otplib"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startServer, type TestServer } from "../../server/test/harness"
import { appErrors, launch, openPage, screenshot, WALL } from "./browser"

let server: TestServer
let browser: Browser

beforeAll(async () => {
  process.env.MAP_TILE_URL = "none"
  ;[server, browser] = await Promise.all([startServer(), launch()])
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

/** A code for the time step `offset` seconds from now: each step is accepted once. */
const codeAt = (secret: string, offsetSeconds = 0) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + offsetSeconds })

describe("signing in", () => {
  it("enrols the authenticator from the QR code, sets a password, shows the recovery codes once, then signs in with a code", async () => {
    const { password: oneTime } = await server.run(Effect.flatMap(Accounts, (a) => a.create("dana", "operator")))
    const { page, errors, context } = await openPage(browser, { url: server.url })
    await page.goto(server.url)

    await page.getByRole("heading", { name: "Sign in" }).waitFor()
    await screenshot(page, "phone-signin")
    await page.getByLabel("Username").fill("dana")
    await page.getByLabel("Password").fill(oneTime)
    await page.getByRole("button", { name: "Continue" }).click()

    // First sign-in: the QR code and the key to type, and a password of her own.
    const qr = page.getByRole("img", { name: "QR code for your authenticator app" })
    await qr.waitFor()
    expect(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true)
    const secret = (await page.getByTestId("totp-secret").textContent())!.replace(/\s/g, "")
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/)
    await screenshot(page, "phone-signin-enrolment", { fullPage: true })

    await page.getByLabel("Code shown by the app").fill(await codeAt(secret))
    await page.getByLabel("New password", { exact: true }).fill("a long enough password")
    await page.getByLabel("New password again").fill("a long enough password")
    await page.getByRole("button", { name: "Sign in" }).click()

    await page.getByRole("heading", { name: "Save your recovery codes" }).waitFor()
    const codes = await page.getByRole("list", { name: "Recovery codes" }).getByRole("listitem").allTextContents()
    expect(codes).toHaveLength(10)
    await screenshot(page, "phone-signin-recovery-codes", { fullPage: true })
    const next = page.getByRole("button", { name: "Continue" })
    expect(await next.isDisabled()).toBe(true)
    await page.getByLabel("I have stored these codes somewhere safe").check()
    await next.click()
    await page.getByRole("heading", { name: "Search a plate" }).waitFor()

    // Signed out and in again: password, then the next code of the authenticator.
    await page.getByRole("button", { name: "Sign out" }).click()
    await page.getByLabel("Username").fill("dana")
    await page.getByLabel("Password").fill("a long enough password")
    await page.getByRole("button", { name: "Continue" }).click()
    const code = page.getByLabel("Code from your authenticator app")
    await code.fill("000000")
    await page.getByRole("button", { name: "Sign in" }).click()
    await expect(page.getByRole("alert").textContent()).resolves.toMatch(/code/i)
    await code.fill(await codeAt(secret, 30))
    await page.getByRole("button", { name: "Sign in" }).click()
    await page.getByRole("heading", { name: "Search a plate" }).waitFor()
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("says which step failed: a wrong password keeps the form, with the server's message", async () => {
    const { page, context } = await openPage(browser, { url: server.url, viewport: WALL })
    await page.goto(`${server.url}/wall`)
    await page.getByLabel("Username").fill("nobody")
    await page.getByLabel("Password").fill("not the password")
    await page.getByRole("button", { name: "Continue" }).click()
    await expect(page.getByRole("alert").textContent()).resolves.toMatch(/username or password/i)
    await screenshot(page, "wall-signin-failed")
    await context.close()
  })
})
