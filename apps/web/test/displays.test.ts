import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createEntry, createList, drained, latestRevision, matcherAt } from "../../server/test/alertHarness"
import { type SignedIn, startServer, type TestServer } from "../../server/test/harness"
import { appErrors, launch, openPage, PHONE, screenshot, unnamedControls, WALL } from "./browser"
import { CAMERAS, drawPhotos, ingest, readAt } from "./fixtures"

let server: TestServer
let browser: Browser
let admin: SignedIn
let apiKey: string

beforeAll(async () => {
  process.env.MAP_TILE_URL = "none"
  ;[server, browser] = await Promise.all([startServer(), launch()])
  admin = await server.signIn("admin")
  // A site with a read, so that the wall the display shows has something on it, and an alert still
  // new when the screen pairs.
  apiKey = (await server.collector("Main St")).apiKey
  const list = await createList(server, { name: "Stolen vehicles" })
  await createEntry(server, list.id, "exact", "DSPALRT")
  await matcherAt(server, await latestRevision(server.db))
  await ingest(server, apiKey, [readAt("DSP-0001", CAMERAS[0], 5), readAt("DSP-ALRT", CAMERAS[1], 4)])
  await drained(server.databaseUrl)
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
  delete process.env.MAP_TILE_URL
})

const adminPage = async (viewport: { width: number; height: number }) => {
  const opened = await openPage(browser, { url: server.url, cookie: admin.cookie, viewport })
  await opened.page.goto(`${server.url}/admin/displays`)
  await opened.page.getByRole("heading", { name: "Admin: Displays" }).waitFor()
  return opened
}

/** Names a display in the Displays tab and reads its pairing code off the page. */
const createDisplay = async (page: Page, name: string) => {
  await page.getByLabel("Display name").fill(name)
  await page.getByRole("button", { name: "Create pairing code" }).click()
  const shown = page.getByTestId("pairing-code")
  await shown.waitFor()
  return (await shown.locator("code").first().textContent())!
}

const rowOf = (page: Page, name: string) => page.getByRole("listitem", { name: `Display ${name}` })

describe("wall displays", () => {
  it("pairs a wall screen with the code an admin made; the screen shows the wall only, until it is revoked", async () => {
    const started = Date.now()
    const adminSide = await adminPage(PHONE)
    const code = await createDisplay(adminSide.page, "Control room left")
    expect(code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}$/)
    await adminSide.page.getByText(`open ${server.url}/pair and type this code`).waitFor()
    await rowOf(adminSide.page, "Control room left").getByText("not paired").waitFor()

    // The kiosk opens /wall: signed out, it is led to pairing rather than to a username.
    const wall = await openPage(browser, { url: server.url, viewport: WALL })
    await wall.page.goto(`${server.url}/wall`)
    await wall.page.getByRole("heading", { name: "Is this the control-room wall screen?" }).waitFor()
    await screenshot(wall.page, "wall-signed-out-wall")
    await wall.page.getByRole("link", { name: "Pair this screen" }).click()
    await wall.page.getByRole("heading", { name: "Pair this screen" }).waitFor()
    expect(new URL(wall.page.url()).pathname).toBe("/pair")
    // Typed as someone would on the screen's keyboard: small letters.
    await wall.page.getByLabel("Pairing code").fill(code.toLowerCase())
    await wall.page.getByRole("button", { name: "Pair this screen" }).click()
    await wall.page.getByRole("status").filter({ hasText: "LIVE" }).waitFor()
    expect(new URL(wall.page.url()).pathname).toBe("/wall")
    console.log(`paired and live ${Date.now() - started} ms after the admin opened the tab`)
    // Nothing but the wall: no menu link, and every other address is the wall.
    expect(await wall.page.getByRole("link", { name: "Menu" }).count()).toBe(0)
    for (const path of ["/", "/admin", "/plate/DSP0001"]) {
      await wall.page.goto(`${server.url}${path}`)
      await wall.page.getByRole("status").filter({ hasText: "LIVE" }).waitFor()
      expect(new URL(wall.page.url()).pathname, `${path} goes to the wall`).toBe("/wall")
    }
    await wall.page.getByRole("row", { name: /Main St/ }).waitFor()
    // The alert raised before it paired, and a read with its plate crop as it arrives.
    await wall.page.getByRole("article", { name: "Alert DSP-ALRT" }).waitFor()
    await ingest(server, apiKey, [readAt("DSP-0002", CAMERAS[0], 0)], await drawPhotos(wall.page, "DSP-0002"))
    await wall.page.getByRole("article", { name: "Latest read DSP-0002" }).getByRole("img", { name: "Plate DSP-0002" }).waitFor()
    await wall.page.waitForFunction(() =>
      Array.from(document.querySelectorAll<HTMLImageElement>("article img")).some((img) => img.complete && img.naturalWidth > 0))
    await screenshot(wall.page, "wall-display-paired")
    // The wall calls only what a display may: nothing refused.
    const { rows: refused } = await server.db.query(
      `SELECT a.target FROM audit_log a JOIN users u ON u.id = a.actor_id
        WHERE u.username = 'display:Control room left' AND a.outcome = 'denied'`)
    expect(refused).toEqual([])

    // The admin's page sees the code used and the screen showing the wall (its list refreshes every 15 s).
    await adminSide.page.getByText("Control room left is paired").waitFor({ timeout: 30_000 })
    const row = rowOf(adminSide.page, "Control room left")
    await row.getByText("showing the wall").waitFor()
    await row.getByText(/paired .* last seen (just now|\d+ s ago) · session ends/).waitFor()
    await screenshot(adminSide.page, "phone-admin-displays-paired", { fullPage: true })

    // Revoked: the screen's next call finds the session gone, and it goes back to pairing.
    adminSide.page.once("dialog", (dialog) => void dialog.accept())
    const revokedAt = Date.now()
    await row.getByRole("button", { name: "Revoke" }).click()
    await row.getByText("revoked", { exact: true }).waitFor()
    await wall.page.getByRole("heading", { name: "Pair this screen" }).waitFor({ timeout: 30_000 })
    expect(new URL(wall.page.url()).pathname).toBe("/pair")
    await wall.page.getByText("This screen is no longer paired").waitFor()
    console.log(`the wall went to pairing ${Date.now() - revokedAt} ms after the revocation`)
    await screenshot(wall.page, "wall-display-revoked")
    // The kiosk started again opens /wall, and this browser was a display: straight to pairing.
    await wall.page.goto(`${server.url}/wall`)
    await wall.page.getByRole("heading", { name: "Pair this screen" }).waitFor()
    expect(new URL(wall.page.url()).pathname).toBe("/pair")

    expect(appErrors(adminSide.errors)).toEqual([])
    expect(appErrors(wall.errors)).toEqual([])
    await Promise.all([adminSide.context.close(), wall.context.close()])
  })

  it("makes a new code for a display, and the screen pairs with it from ?code=", async () => {
    const adminSide = await adminPage(WALL)
    await createDisplay(adminSide.page, "Lobby")
    const row = rowOf(adminSide.page, "Lobby")
    await row.getByRole("button", { name: "New pairing code" }).click()
    const code = (await row.getByTestId("pairing-code").locator("code").first().textContent())!
    // The first code (under the form) is told apart as replaced once the list has the new one.
    await adminSide.page.getByText("This code was replaced by a newer one.").waitFor()

    const wall = await openPage(browser, { url: server.url, viewport: WALL })
    await wall.page.goto(`${server.url}/pair?code=${code}`)
    expect(await wall.page.getByLabel("Pairing code").inputValue()).toBe(code)
    await wall.page.getByRole("button", { name: "Pair this screen" }).click()
    await wall.page.getByRole("status").filter({ hasText: "LIVE" }).waitFor()
    expect(new URL(wall.page.url()).pathname).toBe("/wall")
    expect(new URL(wall.page.url()).search).toBe("")
    expect(appErrors(wall.errors)).toEqual([])

    // A person signed in may open /pair too (pairing would replace their session); a wrong code there
    // is no reason to sign them out.
    await adminSide.page.goto(`${server.url}/pair`)
    await adminSide.page.getByText(`This browser is signed in as ${admin.username}.`).waitFor()
    await adminSide.page.getByLabel("Pairing code").fill("NOPE-NOPE")
    await adminSide.page.getByRole("button", { name: "Pair this screen" }).click()
    await adminSide.page.getByRole("alert").filter({ hasText: "that pairing code is wrong" }).waitFor()
    await adminSide.page.getByRole("link", { name: "Back to the app" }).click()
    await adminSide.page.getByRole("heading", { name: "Search a plate" }).waitFor()
    expect(appErrors(adminSide.errors)).toEqual([])
    await Promise.all([adminSide.context.close(), wall.context.close()])
  })

  it("looks right at phone and wall sizes, every control named", async () => {
    for (const [size, viewport] of [["phone", PHONE], ["wall", WALL]] as const) {
      const { page, context } = await adminPage(viewport)
      await createDisplay(page, `Hall ${size}`)
      await rowOf(page, `Hall ${size}`).waitFor()
      await screenshot(page, `${size}-admin-displays`, { fullPage: true })
      expect(await unnamedControls(page)).toEqual([])
      await context.close()

      const screen = await openPage(browser, { url: server.url, viewport })
      await screen.page.goto(`${server.url}/pair`)
      await screen.page.getByRole("heading", { name: "Pair this screen" }).waitFor()
      await screenshot(screen.page, `${size}-pair`, { fullPage: true })
      expect(await unnamedControls(screen.page)).toEqual([])
      await screen.context.close()
    }
  })

  // Last: it locks pairing from this address (127.0.0.1) for the rest of the file.
  it("says why a wrong code is refused, and how long to wait after too many", async () => {
    const { page, context, errors } = await openPage(browser, { url: server.url, viewport: PHONE })
    await page.goto(server.url)
    await page.getByRole("heading", { name: "Sign in" }).waitFor()
    await page.getByRole("link", { name: "Pair a wall display" }).click()
    await page.getByRole("heading", { name: "Pair this screen" }).waitFor()
    await page.getByLabel("Pairing code").fill("WXYZ-2345")
    await page.getByRole("button", { name: "Pair this screen" }).click()
    await page.getByRole("alert").filter({ hasText: "that pairing code is wrong, used or expired: ask an admin for a new one" }).waitFor()
    expect(await page.getByLabel("Pairing code").getAttribute("aria-invalid")).toBe("true")
    await screenshot(page, "phone-pair-wrong-code", { fullPage: true })

    // Five wrong codes in 15 minutes from one address (one of them typed by the admin above): the next
    // try is refused, with the wait.
    const tryCode = async (code: string) => {
      await page.getByLabel("Pairing code").fill(code)
      const [answer] = await Promise.all([
        page.waitForResponse((response) => response.url().endsWith("/api/v1/auth/pair")),
        page.getByRole("button", { name: "Pair this screen" }).click()
      ])
      return answer.status()
    }
    for (let i = 0; i < 3; i++) expect(await tryCode(`WXYZ-234${i}`)).toBe(401)
    expect(await tryCode("WXYZ-2350")).toBe(429)
    await page.getByText(/Too many wrong codes from this screen: wait 1[45]:\d\d before the next try/).waitFor()
    await page.getByRole("alert").filter({ hasText: /too many failed attempts; try again in 15 minute/ }).waitFor()
    expect(await page.getByRole("button", { name: "Pair this screen" }).isDisabled()).toBe(true)
    await screenshot(page, "phone-pair-too-many", { fullPage: true })
    const { rows } = await server.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM audit_log WHERE action = 'display.pair' AND outcome = 'failure'")
    expect(rows[0]!.n).toBe(5)
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })
})
