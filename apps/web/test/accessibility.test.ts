import { Accounts } from "@chaverim/server"
import * as Effect from "effect/Effect"
import { generate } from "otplib"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startServer, type TestServer } from "../../server/test/harness"
import { describeViolations, runAxe } from "./axe"
import { appErrors, launch, openPage, PHONE, screenshot, WALL } from "./browser"
import { CAMERAS, drawPhotos, ingest, readAt, startTileServer, watchlist } from "./fixtures"

/**
 * The quality bar's "accessible" part, checked on every view at a phone's width (360 px) and at the
 * wall's (1920 px): axe-core's WCAG 2.0/2.1 A and AA rules (and its best practices for headings and
 * landmarks), no sideways scrolling on the phone, one main landmark, and keyboard use (sign-in and a
 * search without the mouse, a visible focus ring at every Tab stop, the skip link).
 *
 * axe is put into the page with `page.evaluate(source)`: Playwright runs that through the devtools
 * protocol (Runtime.evaluate), which the page's Content-Security-Policy does not govern, so the app
 * is checked under its real policy (script-src 'self', no inline scripts). A context with bypassCSP
 * would also work, but would check a page that is not the one people get.
 */

let server: TestServer
let browser: Browser
let tiles: Awaited<ReturnType<typeof startTileServer>>

const PLATE = "TST4242"

/** A list and one entry, as the watchlist service would store them; waits until the matcher has them. */
const watch = (name: string, category: string, priority: number, colour: string, kind: string, value: string, note: string) =>
  watchlist(server, { name, category, priority, colour }, [{ kind, value, note }])

beforeAll(async () => {
  tiles = await startTileServer()
  process.env.MAP_TILE_URL = tiles.url
  process.env.MAP_TILE_ATTRIBUTION = "test tiles"
  ;[server, browser] = await Promise.all([startServer(), launch()])
  const { apiKey } = await server.collector("Main St")
  await server.collector("Route 59 depot")

  // A plate read over three days at three cameras with photos, and a car that drives with it (a convoy).
  const { page, context } = await openPage(browser, { url: server.url })
  const [photos, companion, doubtful] = [await drawPhotos(page, "TST-4242"), await drawPhotos(page, "FLW-777"), await drawPhotos(page, "RVW-0042")]
  await context.close()
  await ingest(server, apiKey, [0, 1, 2].flatMap((day) => [
    readAt("TST-4242", CAMERAS[0], day * 1440 + 30),
    readAt("TST-4242", CAMERAS[1], day * 1440 + 22),
    readAt("TST-4242", CAMERAS[2], day * 1440 + 10)
  ]), photos)
  await ingest(server, apiKey, [0, 1, 2].flatMap((day) => [
    readAt("FLW-777", CAMERAS[0], day * 1440 + 29.5),
    readAt("FLW-777", CAMERAS[1], day * 1440 + 21.5)
  ]), companion)
  for (const camera of CAMERAS) {
    await server.db.query("UPDATE cameras SET lat = $1, lon = $2, site = 'Monsey' WHERE external_id = $3",
      [camera.location.lat, camera.location.lon, camera.id])
  }
  const heartbeat = await fetch(`${server.url}/api/v1/collectors/heartbeat`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ uptime_seconds: 3600, queue_depth: 12, cameras_online: 3, config_version: "1", edge_version: "0.1.0" })
  })
  if (heartbeat.status !== 200) throw new Error(`heartbeat: ${heartbeat.status} ${await heartbeat.text()}`)

  // Open alerts in three lists' colours: a dark red, a light amber, and the grey where the banner's
  // text turns from white to dark (the colour with the least contrast either way).
  await watch("Stolen vehicles", "stolen", 1, "#b91c1c", "exact", "HOT1234", "Blue Honda Civic, stolen 2 Dec")
  await watch("Be on the lookout", "bolo", 2, "#fbbf24", "wildcard", "BOL*", "Grey van")
  await watch("Of interest", "of_interest", 3, "#767676", "exact", "GRY555", "Seen at the depot at night")
  await ingest(server, apiKey, [readAt("HOT-1234", CAMERAS[0], 3), readAt("BOL-777", CAMERAS[1], 2), readAt("GRY-555", CAMERAS[2], 1)])
  for (let i = 0; ; i++) {
    const { rows } = await server.db.query<{ n: number }>("SELECT count(*)::int AS n FROM alerts")
    if (rows[0]!.n >= 3) break
    if (i > 100) throw new Error("the alerts were not raised")
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  // A volunteer on the way to the first (a viewer's On my way leaves it new, so it stays on the wall).
  await server.db.query("UPDATE alerts SET en_route_by_name = 'volunteer-e2e', en_route_at = now() WHERE plate = 'HOT1234'")
  // A Telegram message that could not be delivered, for the admin's deliveries page.
  const { rows: [alert] } = await server.db.query<{ id: string }>("SELECT id::text FROM alerts ORDER BY id LIMIT 1")
  const { rows: [someone] } = await server.db.query<{ id: string }>(
    "INSERT INTO users (username, role) VALUES ('volunteer', 'viewer') RETURNING id"
  )
  await server.db.query(
    `INSERT INTO telegram_deliveries (alert_id, user_id, chat_id, status, attempts, last_error)
     VALUES ($1, $2, 424242, 'failed', 10, 'Forbidden: bot was blocked by the user')`,
    [alert!.id, someone!.id]
  )

  // A read below its camera's confidence threshold, waiting for review (the last read of the setup: the
  // threshold stays).
  await server.db.query("UPDATE cameras SET min_confidence = 0.95 WHERE external_id = $1", [CAMERAS[2].id])
  await ingest(server, apiKey, [readAt("RVW-0042", CAMERAS[2], 5)], doubtful)
  for (let i = 0; ; i++) {
    const { rows } = await server.db.query<{ n: number }>("SELECT count(*)::int AS n FROM pending_reviews")
    if (rows[0]!.n >= 1) break
    if (i > 100) throw new Error("the read did not reach the review queue")
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
  await tiles?.close()
  delete process.env.MAP_TILE_URL
  delete process.env.MAP_TILE_ATTRIBUTION
})

/** A code for the time step `offset` seconds from now: each step is accepted once. */
const codeAt = (secret: string, offsetSeconds = 0) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + offsetSeconds })

/** A new account as an admin makes it: its one-time password, the authenticator not set up yet. */
const newAccount = async (username: string, role: "admin" | "operator") =>
  (await server.run(Effect.flatMap(Accounts, (a) => a.create(username, role)))).password

/**
 * What the keyboard's focus is on (tag, identifying attributes, text), and whether it shows: an
 * outline or a box shadow (ring) on it or its label. In a date or time field the last Tab stop is the
 * browser's own calendar button, inside the field, which draws its own ring.
 */
const focusState = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement
    if (el === null || el === document.body || el === document.documentElement) return null
    const shows = (e: Element) => {
      const s = getComputedStyle(e)
      const outline = s.outlineStyle !== "none" && Number.parseFloat(s.outlineWidth) > 0 &&
        !/^(transparent|rgba\(.*,\s*0\))$/.test(s.outlineColor)
      return outline || s.boxShadow !== "none"
    }
    const labels = el instanceof HTMLInputElement && el.labels ? Array.from(el.labels) : []
    const picker = el instanceof HTMLInputElement && /^(date|datetime-local|time|month|week)$/.test(el.type) && !el.matches(":focus")
    const attributes = ["name", "type", "role", "href", "aria-label"]
      .map((a) => (el.getAttribute(a) === null ? "" : ` ${a}="${el.getAttribute(a)!.slice(0, 60)}"`)).join("")
    const text = (el.textContent ?? "").replace(/\s+/g, " ").trim().slice(0, 40)
    return {
      html: `<${el.tagName.toLowerCase()}${attributes}>${text}`,
      name: el.getAttribute("aria-label") ?? text,
      visible: picker || shows(el) || labels.some(shows)
    }
  })

type Size = "phone" | "wall"

/** The photos on the screen have loaded (lazy ones further down load when scrolled to). */
const imagesLoaded = (page: Page) =>
  page.waitForFunction(() =>
    Array.from(document.images).every((img) => img.complete || img.getBoundingClientRect().top > window.innerHeight))

/**
 * The checks every view gets: axe, no sideways scrolling on a phone, exactly one main landmark, and
 * no dialog or menu (there are none: confirmations are the browser's own; were one added, its focus
 * trap, Escape and returned focus would need a test here). Failures are collected with expect.soft,
 * so one run reports every view.
 */
const checkView = async (page: Page, size: Size, view: string, timings: Array<string>) => {
  const started = Date.now()
  // Map labels filled in (Leaflet makes a tooltip before React renders its text into it).
  await page.waitForFunction(() => document.querySelectorAll(".leaflet-tooltip:empty").length === 0)
  // Disclosures open, so that what they hold is checked too.
  await page.evaluate(() => document.querySelectorAll("details").forEach((d) => { d.open = true }))
  // Leaflet's flag in its attribution link is decorative (aria-hidden), but axe cannot measure the
  // link's contrast with an image in it: hidden while axe runs.
  await page.evaluate(() => document.querySelectorAll<HTMLElement>(".leaflet-attribution-flag").forEach((f) => { f.style.display = "none" }))
  const found = await runAxe(page)
  await page.evaluate(() => document.querySelectorAll<HTMLElement>(".leaflet-attribution-flag").forEach((f) => { f.style.display = "" }))
  expect.soft(describeViolations(`${size} ${view}`, found), `axe: ${size} ${view}`).toBe("")
  const layout = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    mains: document.querySelectorAll("main, [role=main]").length,
    dialogs: document.querySelectorAll("dialog, [role=dialog], [role=alertdialog], [role=menu]").length,
    lang: document.documentElement.lang
  }))
  if (size === "phone") expect.soft(layout.scrollWidth, `${view} scrolls sideways at 360 px`).toBeLessThanOrEqual(layout.innerWidth)
  expect.soft(layout.mains, `${view}: one main landmark`).toBe(1)
  expect.soft(layout.dialogs, `${view}: a dialog or menu appeared; test its focus handling`).toBe(0)
  expect.soft(layout.lang, `${view}: html lang`).toBe("en")
  await screenshot(page, `${size}-a11y-${view.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}`)
  timings.push(`${view} ${Date.now() - started} ms`)
}

/** Tabs through a view from the top, checking that every stop shows where the focus is; returns the stops. */
const tabThrough = async (page: Page, view: string, most = 80) => {
  // Tab starts from where the focus last was: a mark at the top of the page, not itself a stop, starts it there.
  await page.evaluate(() => {
    const mark = document.createElement("span")
    mark.id = "tab-start"
    mark.tabIndex = -1
    document.body.prepend(mark)
    mark.focus()
  })
  let first: string | undefined
  let stops = 0
  for (; stops < most; stops++) {
    await page.keyboard.press("Tab")
    const state = await focusState(page)
    if (state === null || state.html === first) break
    first ??= state.html
    expect.soft(state.visible, `${view}: no focus ring on ${state.html}`).toBe(true)
  }
  await page.evaluate(() => document.getElementById("tab-start")?.remove())
  return stops
}

/** Every view at one size, signed in through the real sign-in (enrolling the authenticator) as an admin. */
const everyView = async (size: Size, viewport: typeof PHONE | typeof WALL) => {
  const username = `a11y-${size}`
  const oneTime = await newAccount(username, "admin")
  const timings: Array<string> = []
  const started = Date.now()
  const { page, context, errors } = await openPage(browser, { url: server.url, viewport })
  const check = (view: string) => checkView(page, size, view, timings)
  const stops: Array<string> = []
  const tabs = async (view: string) => {
    if (size === "wall") stops.push(`${view}: ${await tabThrough(page, view)}`)
  }

  // Signing in: the password, the authenticator's enrolment with its QR code, the recovery codes.
  await page.goto(server.url)
  await page.getByRole("heading", { name: "Sign in" }).waitFor()
  await check("sign-in")
  await page.getByLabel("Username").fill(username)
  await page.getByLabel("Password").fill(oneTime)
  await page.getByRole("button", { name: "Continue" }).click()
  await page.getByRole("img", { name: "QR code for your authenticator app" }).waitFor()
  await check("sign-in enrolment")
  const secret = (await page.getByTestId("totp-secret").textContent())!.replace(/\s/g, "")
  await page.getByLabel("Code shown by the app").fill(await codeAt(secret))
  await page.getByLabel("New password", { exact: true }).fill("a long enough password")
  await page.getByLabel("New password again").fill("a long enough password")
  await page.getByRole("button", { name: "Sign in" }).click()
  await page.getByRole("heading", { name: "Save your recovery codes" }).waitFor()
  await check("sign-in recovery codes")
  await page.getByLabel("I have stored these codes somewhere safe").check()
  await page.getByRole("button", { name: "Continue" }).click()

  // Search, empty and with results (one read opened for checking).
  await page.getByRole("heading", { name: "Search a plate" }).waitFor()
  await check("search")
  await tabs("search")
  await page.getByLabel("Plate", { exact: true }).fill(PLATE)
  await page.getByLabel("Reason", { exact: true }).selectOption("audit")
  await page.getByLabel("Case number (optional)").fill("a11y case 1")
  await page.getByRole("button", { name: "Search", exact: true }).click()
  await page.getByRole("status").filter({ hasText: /reads/ }).waitFor()
  // As the width shows them (a table on a wide screen, cards on a phone), then as cards with one opened for checking.
  await imagesLoaded(page)
  await check("search results")
  await tabs("search results")
  await page.getByRole("button", { name: "Cards" }).click()
  await page.getByRole("button", { name: "Check this read" }).first().click()
  await imagesLoaded(page)
  await check("search results as cards")
  await tabs("search results as cards")

  // The plate page's six tabs.
  await page.getByRole("link", { name: "Timeline and map" }).first().click()
  await page.getByRole("img", { name: /Reads per day/ }).waitFor()
  await check("plate timeline")
  await tabs("plate timeline")
  await page.getByRole("tab", { name: "Map" }).click()
  await page.locator(".leaflet-interactive").first().waitFor({ state: "visible" })
  await check("plate map")
  await tabs("plate map")
  await page.getByRole("tab", { name: "Route" }).click()
  await page.getByRole("heading", { name: /^Trip \d+:/ }).first().waitFor()
  await check("plate route")
  await page.getByRole("tab", { name: "Convoy" }).click()
  await page.getByRole("link", { name: "FLW777" }).waitFor()
  await check("plate convoy")
  await tabs("plate convoy")
  await page.getByRole("tab", { name: "Photos" }).click()
  await page.getByRole("img", { name: /^Scene of the read/ }).first().waitFor()
  await imagesLoaded(page)
  await check("plate photos")
  await page.getByRole("tab", { name: "Export" }).click()
  await page.getByRole("button", { name: "Export evidence (zip)" }).waitFor()
  await check("plate export")

  // Alerts, one being resolved.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Alerts" }).click()
  await page.getByRole("article", { name: "Alert HOT-1234, new" }).waitFor()
  await page.getByRole("article", { name: "Alert GRY-555, new" }).getByRole("button", { name: "Resolve…" }).click()
  await check("alerts")
  await tabs("alerts")

  // Watchlists: the new-list form, a list with its entries, a CSV import with a bad line.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Lists" }).click()
  await page.getByRole("heading", { name: "Watchlists" }).waitFor()
  await page.getByRole("button", { name: "New list" }).click()
  await page.getByRole("button", { name: /Stolen vehicles/ }).click()
  await page.getByRole("list", { name: "Entries" }).getByText("HOT1234").waitFor()
  await page.getByText("Import a CSV file").click()
  await page.getByLabel("CSV file").setInputFiles({
    name: "hot.csv", mimeType: "text/csv", buffer: Buffer.from("plate,kind,note\nCSV0001,exact,from the sheet\nabc,regex,upper case only\n")
  })
  await page.getByLabel("Reason for lines without one").fill("County hot sheet")
  await page.getByRole("button", { name: "Import", exact: true }).click()
  await page.getByText("Import finished.").waitFor()
  await check("watchlists")
  await tabs("watchlists")

  // Telegram, with a link code made.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Telegram" }).click()
  await page.getByRole("button", { name: "Make a link code" }).click()
  await page.getByTestId("link-code").waitFor()
  await check("telegram")
  await tabs("telegram")

  // Legal holds: the form and the list.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Holds" }).click()
  await page.getByRole("heading", { name: "Legal holds" }).waitFor()
  await page.getByText("No holds.").waitFor()
  await check("holds")
  await tabs("holds")

  // Footage: the upload form and the (empty) list of jobs; the review queue with a read waiting, its
  // scene photo shown with the reason the search gave.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Footage" }).click()
  await page.getByRole("heading", { name: "Footage", level: 1 }).waitFor()
  await page.getByText("No footage uploaded yet.").waitFor()
  await check("footage")
  await tabs("footage")
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Review (1 waiting)" }).click()
  await page.getByRole("heading", { name: /^Review/, level: 1 }).waitFor()
  await page.getByRole("img", { name: /^Scene photo of the read RVW0042/ }).waitFor()
  await imagesLoaded(page)
  await check("review")
  await tabs("review")

  // Every admin tab.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" }).click()
  await page.getByRole("heading", { name: "Admin: Users" }).waitFor()
  await page.getByLabel("Username").fill(`new-${size}`)
  await page.getByRole("button", { name: "Create" }).click()
  await page.getByText(/One-time password for new-/).waitFor()
  await check("admin users")
  await tabs("admin users")
  const section = (name: string) => page.getByRole("navigation", { name: "Admin sections" }).getByRole("link", { name }).click()
  await section("Collectors")
  await page.getByLabel("Collector name").fill(`North gate ${size}`)
  await page.getByRole("button", { name: "Create claim code" }).click()
  await page.getByRole("img", { name: /QR code of the claim code/ }).waitFor()
  await page.getByRole("button", { name: "Commands" }).first().click()
  await page.getByLabel("Command").selectOption("config_update")
  await check("admin collectors")
  await tabs("admin collectors")
  await section("Displays")
  await page.getByLabel("Display name").fill(`Control room ${size}`)
  await page.getByRole("button", { name: "Create pairing code" }).click()
  await page.getByTestId("pairing-code").waitFor()
  await page.getByRole("listitem", { name: `Display Control room ${size}` }).waitFor()
  await check("admin displays")
  await tabs("admin displays")
  await section("Cameras")
  await page.getByRole("button", { name: /Main St northbound/ }).click()
  await page.getByRole("button", { name: "Save camera" }).waitFor()
  await page.locator(".leaflet-interactive").first().waitFor({ state: "visible" })
  await check("admin cameras")
  await tabs("admin cameras")
  await section("Watchlists")
  await page.getByRole("button", { name: /Be on the lookout/ }).click()
  await page.getByRole("list", { name: "Entries" }).getByText("BOL*").waitFor()
  await check("admin watchlists")
  await section("Telegram")
  await page.getByText("Forbidden: bot was blocked by the user").waitFor()
  await check("admin telegram")
  await section("Reason codes")
  await page.getByRole("listitem", { name: "Reason code stolen_vehicle" }).waitFor()
  await check("admin reason codes")
  await section("Evidence exports")
  await page.getByRole("heading", { name: "Evidence key" }).waitFor()
  await page.getByText("No exports yet.").waitFor()
  await check("admin evidence exports")
  await section("Retention")
  await page.getByRole("heading", { name: "Periods" }).waitFor()
  await check("admin retention")
  await section("Audit log")
  await page.getByText("user.create").first().waitFor()
  await check("admin audit")
  await tabs("admin audit")

  // The wall, with the alerts' banners; the flash stops for people who asked for less motion.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Wall" }).click()
  await page.getByRole("status").filter({ hasText: "LIVE" }).waitFor()
  await page.getByRole("article", { name: "Alert HOT-1234" }).getByText("On the way: volunteer-e2e").waitFor()
  await page.getByRole("listitem", { name: "Alert GRY-555" }).waitFor()
  await page.getByRole("row", { name: /Main St/ }).waitFor()
  await page.locator(".leaflet-interactive").first().waitFor({ state: "visible" })
  await check("wall")
  await tabs("wall")
  if (size === "wall") {
    // Nothing to scroll on a wall: with three banners up, the sites' heading and rows still show on
    // the screen, below the map rather than under it.
    const map = await page.getByRole("region", { name: "Map of cameras" }).boundingBox()
    const heading = await page.getByRole("heading", { name: "Collectors" }).boundingBox()
    const row = await page.getByRole("row", { name: /Main St/ }).boundingBox()
    expect(heading!.y).toBeGreaterThanOrEqual(map!.y + map!.height)
    expect(row!.y + row!.height).toBeLessThanOrEqual(WALL.height)
  }
  await page.emulateMedia({ reducedMotion: "reduce" })
  const flash = await page.getByRole("article", { name: "Alert HOT-1234" }).evaluate((el) => getComputedStyle(el).animationDuration)
  expect(Number.parseFloat(flash)).toBeLessThan(0.01)
  await page.emulateMedia({ reducedMotion: null })

  // Signed out, and in again: the second step asks only for the authenticator's code.
  await page.getByRole("link", { name: "Menu" }).click()
  await page.getByRole("button", { name: "Sign out" }).click()
  // On the way: /wall signed out (a screen not paired yet) leads to pairing; the pairing page.
  await page.goto(`${server.url}/wall`)
  await page.getByRole("heading", { name: "Is this the control-room wall screen?" }).waitFor()
  await check("sign-in at the wall")
  await page.getByRole("link", { name: "Pair this screen" }).click()
  await page.getByRole("heading", { name: "Pair this screen" }).waitFor()
  await check("pair")
  await tabs("pair")
  // The public transparency page, signed out.
  await page.goto(`${server.url}/transparency`)
  await page.getByRole("heading", { name: "What this system does not do" }).waitFor()
  await check("transparency")
  await tabs("transparency")
  await page.goto(`${server.url}/pair`)
  await page.getByRole("heading", { name: "Pair this screen" }).waitFor()
  await page.getByRole("link", { name: "Sign in with your account" }).click()
  await page.getByRole("heading", { name: "Sign in" }).waitFor()
  await page.getByLabel("Username").fill(username)
  await page.getByLabel("Password").fill("a long enough password")
  await page.getByRole("button", { name: "Continue" }).click()
  await page.getByLabel("Code from your authenticator app").waitFor()
  await check("sign-in code")
  await page.getByLabel("Code from your authenticator app").fill(await codeAt(secret, 30))
  await page.getByRole("button", { name: "Sign in" }).click()
  await page.getByRole("heading", { name: "Search a plate" }).waitFor()

  expect(appErrors(errors)).toEqual([])
  await context.close()
  console.log(`${size}: every view in ${Date.now() - started} ms (${timings.join(", ")})` +
    (stops.length > 0 ? `; Tab stops ${stops.join(", ")}` : ""))
}

describe("accessibility", () => {
  it("passes axe's WCAG 2.1 A and AA rules on every view at 360 px, without sideways scrolling", () => everyView("phone", PHONE))

  it("passes axe's WCAG 2.1 A and AA rules on every view at 1920 px, a focus ring at every Tab stop", () => everyView("wall", WALL))

  it("signs in, enrolling the authenticator, and searches a plate with the keyboard alone", async () => {
    const oneTime = await newAccount("keyboard", "operator")
    const { page, context } = await openPage(browser, { url: server.url, viewport: WALL })
    const expectFocus = async (what: RegExp) => {
      const state = await focusState(page)
      expect(state, `focus should be on ${what}`).not.toBeNull()
      expect(state!.html, `focus on ${what}`).toMatch(what)
      expect(state!.visible, `a focus ring on ${state!.html}`).toBe(true)
    }
    const tabTo = async (what: RegExp, most = 8) => {
      for (let i = 0; i < most; i++) {
        await page.keyboard.press("Tab")
        const state = await focusState(page)
        if (state !== null) expect(state.visible, `a focus ring on ${state.html}`).toBe(true)
        if (state !== null && what.test(state.html)) return
      }
      throw new Error(`Tab did not reach ${what} in ${most} presses`)
    }
    await page.goto(server.url)
    await page.getByRole("heading", { name: "Sign in" }).waitFor()
    await expectFocus(/name="username"/)
    await page.keyboard.type("keyboard")
    await page.keyboard.press("Tab")
    await expectFocus(/name="password"/)
    await page.keyboard.type(oneTime)
    await page.keyboard.press("Enter")

    // The enrolment: the heading has the focus, the code field is the next stop after the QR code and the key.
    await page.getByRole("img", { name: "QR code for your authenticator app" }).waitFor()
    await expectFocus(/^<h1>Sign in$/)
    const secret = (await page.getByTestId("totp-secret").textContent())!.replace(/\s/g, "")
    await tabTo(/name="code"/, 1)
    await page.keyboard.type(await codeAt(secret))
    await tabTo(/name="new_password"/)
    await page.keyboard.type("a long enough password")
    await tabTo(/name="repeat_password"/)
    await page.keyboard.type("a long enough password")
    await page.keyboard.press("Enter")
    await page.getByRole("heading", { name: "Save your recovery codes" }).waitFor()
    await expectFocus(/^<h1>Save your recovery codes$/)
    await tabTo(/type="checkbox"/, 3)
    await page.keyboard.press("Space")
    await tabTo(/>Continue$/)
    await page.keyboard.press("Enter")

    // A search: the plate field has the focus on arrival.
    await page.getByRole("heading", { name: "Search a plate" }).waitFor()
    await expectFocus(/name="plate"/)
    await page.keyboard.type("tst 4242")
    await tabTo(/name="mode"/)
    await page.keyboard.press("ArrowRight") // Exact -> Look-alike
    // Why: a reason code chosen by typing its first letters, then the case number.
    await page.locator("select[name=reason_code] option").nth(1).waitFor({ state: "attached" })
    await tabTo(/name="reason_code"/)
    await page.keyboard.type("Inv")
    await tabTo(/name="case_number"/)
    await page.keyboard.type("a11y case 2")
    await page.keyboard.press("Enter")
    await page.getByRole("status").filter({ hasText: /reads/ }).waitFor()
    expect(page.url()).toContain("mode=ocr")
    // From the results, the keyboard reaches a read's plate page.
    // (past the views' switches and the export links, to the first row's plate: its timeline and map)
    await tabTo(/href="\/plate\//, 20)
    await page.keyboard.press("Enter")
    await page.getByRole("img", { name: /Reads per day/ }).waitFor()
    await context.close()

    // Signing in again: password, then the code field has the focus.
    const again = await openPage(browser, { url: server.url, viewport: WALL })
    await again.page.goto(server.url)
    await again.page.getByRole("heading", { name: "Sign in" }).waitFor()
    await again.page.keyboard.type("keyboard")
    await again.page.keyboard.press("Tab")
    await again.page.keyboard.type("a long enough password")
    await again.page.keyboard.press("Enter")
    await again.page.getByLabel("Code from your authenticator app").waitFor()
    expect(await again.page.evaluate(() => document.activeElement?.getAttribute("name"))).toBe("code")
    await again.page.keyboard.type(await codeAt(secret, 30))
    await again.page.keyboard.press("Enter")
    await again.page.getByRole("heading", { name: "Search a plate" }).waitFor()
    await again.context.close()
  })

  it("offers a skip link first, which takes the keyboard past the menu to the page", async () => {
    const operator = await server.signIn("operator")
    const { page, context } = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport: WALL })
    await page.goto(`${server.url}/lists`)
    await page.getByRole("heading", { name: "Watchlists" }).waitFor()
    expect(await page.getByRole("navigation", { name: "Main" }).count()).toBe(1)
    expect(await page.getByRole("banner").count()).toBe(1)
    await page.keyboard.press("Tab")
    const skip = await focusState(page)
    expect(skip?.name).toBe("Skip to content")
    expect(skip?.visible).toBe(true)
    // Shown while it has the focus, inside the screen.
    const box = await page.getByRole("link", { name: "Skip to content" }).boundingBox()
    expect(box!.width).toBeGreaterThan(20)
    expect(box!.y).toBeGreaterThanOrEqual(0)
    await screenshot(page, "wall-a11y-skip-link")
    await page.keyboard.press("Enter")
    await page.keyboard.press("Tab")
    expect(await page.evaluate(() => document.activeElement?.closest("main") !== null)).toBe(true)
    await context.close()
  })
})
