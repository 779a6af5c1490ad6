import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type SignedIn, startServer, type TestServer } from "../../server/test/harness"
import { describeViolations, runAxe } from "./axe"
import { appErrors, DESKTOP, launch, openPage, PHONE_390, screenshot, unnamedControls } from "./browser"
import { CAMERAS, ingest, readAt, startTileServer } from "./fixtures"

let server: TestServer
let browser: Browser
let tiles: Awaited<ReturnType<typeof startTileServer>>
let operator: SignedIn
/** When the reads were made, in ms: the incidents' windows are minutes before it. */
let t0: number

/** Read at all three incidents; the other is at the first two, and at the third camera only hours before. */
const AT_ALL = "ALL3333"
const AT_TWO = "TWO2222"


beforeAll(async () => {
  tiles = await startTileServer()
  process.env.MAP_TILE_URL = tiles.url
  process.env.MAP_TILE_ATTRIBUTION = "test tiles"
  ;[server, browser] = await Promise.all([startServer(), launch()])
  operator = await server.signIn("operator")
  const { apiKey } = await server.collector("Main St box")
  t0 = Date.now()
  await ingest(server, apiKey, [
    readAt(AT_ALL, CAMERAS[0], 90),
    readAt(AT_ALL, CAMERAS[1], 60),
    readAt(AT_ALL, CAMERAS[2], 30),
    readAt(AT_TWO, CAMERAS[0], 89),
    readAt(AT_TWO, CAMERAS[1], 59),
    readAt(AT_TWO, CAMERAS[2], 300)
  ])
  // Route 59 east is the one camera of its site: the second incident is given by site.
  await server.db.query("UPDATE cameras SET site = 'Route 59' WHERE external_id = $1", [CAMERAS[1].id])
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
  await tiles?.close()
  delete process.env.MAP_TILE_URL
  delete process.env.MAP_TILE_ATTRIBUTION
})

/** `minutesAgo` before the reads were made, as a `datetime-local` field takes it in the browser's zone. */
const local = (page: Page, minutesAgo: number) =>
  page.evaluate((ms) => {
    const d = new Date(ms)
    const pad = (n: number) => String(n).padStart(2, "0")
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`
  }, t0 - minutesAgo * 60_000)

const incident = (page: Page, n: number) => page.getByRole("region", { name: `Incident ${n}` })

const times = async (page: Page, n: number, fromAgo: number, toAgo: number) => {
  await incident(page, n).getByLabel("From").fill(await local(page, fromAgo))
  await incident(page, n).getByLabel("To").fill(await local(page, toAgo))
}

/** The three incidents: a camera ticked, a site, and a click on the map beside a camera. */
const describeIncidents = async (page: Page) => {
  await page.getByRole("heading", { name: "Which plates were at all of these places?" }).waitFor()
  await incident(page, 1).getByLabel("Main St northbound").check()
  await times(page, 1, 100, 80)

  await incident(page, 2).getByText("Site", { exact: true }).click()
  await incident(page, 2).getByRole("combobox", { name: "Site" }).selectOption("Route 59")
  await times(page, 2, 70, 50)

  await page.getByRole("button", { name: "Add an incident" }).click()
  const third = incident(page, 3)
  await third.getByText("Map point", { exact: true }).click()
  await third.getByLabel("Radius (m)").fill("1000")
  const map = third.getByRole("region", { name: "Map: click where incident 3 happened" })
  await map.scrollIntoViewIfNeeded()
  const markers = map.locator("path.leaflet-interactive")
  await expect.poll(() => markers.count()).toBe(3)
  // Which marker is College Rd: its label shows on hover. The click goes just beside it, on the map.
  let college: { x: number; y: number; width: number; height: number } | null = null
  for (let i = 0; i < 3 && college === null; i++) {
    await markers.nth(i).hover()
    const label = await map.locator(".leaflet-tooltip").last().textContent()
    if (label === "College Rd") college = await markers.nth(i).boundingBox()
  }
  expect(college).not.toBeNull()
  await page.mouse.click(college!.x + college!.width / 2 + 12, college!.y + college!.height / 2)
  await third.getByText("1 camera: College Rd").waitFor()
  expect(Number(await third.getByLabel("Latitude").inputValue())).toBeCloseTo(CAMERAS[2].location.lat, 2)
  await times(page, 3, 40, 20)

  await page.getByLabel("Reason", { exact: true }).selectOption("investigation")
  await page.getByLabel("Case number (optional)").fill("e2e places 5")
}

const run = (page: Page) => page.getByRole("button", { name: "Find the plates" }).click()

describe("which plates were at all of these places", () => {
  it("finds the one plate read at all three incidents, with the read at each, on a phone", async () => {
    const { page, errors, context } = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport: PHONE_390 })
    await page.goto(server.url)
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Places" }).click()
    expect(new URL(page.url()).pathname).toBe("/places")
    await describeIncidents(page)
    await run(page)

    await page.getByRole("status").filter({ hasText: "1 plate read at all 3 incidents" }).waitFor()
    const found = page.getByRole("article")
    expect(await found.count()).toBe(1)
    const card = page.getByRole("article", { name: `Plate ${AT_ALL}` })
    expect(await page.getByRole("article", { name: `Plate ${AT_TWO}` }).count()).toBe(0)

    // One read at each incident, in order, each linking to its read.
    const { rows } = await server.db.query<{ id: string }>(
      "SELECT id::text AS id FROM detections WHERE plate = $1 ORDER BY detected_at", [AT_ALL])
    const reads = card.getByRole("link", { name: /, read \d+ of / })
    expect(await reads.count()).toBe(3)
    expect(await reads.evaluateAll((links) => links.map((a) => a.getAttribute("href")))).toEqual(rows.map((r) => `/read/${r.id}`))
    const text = (await card.textContent()) ?? ""
    for (const [i, camera] of CAMERAS.entries()) {
      expect(text).toContain(`Incident ${i + 1} · 1 read`)
      expect(text).toContain(camera.name)
    }
    expect(text).toMatch(/\d{4}, \d{2}:\d{2}:\d{2} [AP]M [A-Z]{2,5}/)
    expect(await unnamedControls(page)).toEqual([])
    expect(describeViolations("places", await runAxe(page, [".leaflet-control-attribution"]))).toBe("")
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE_390.width)
    await page.waitForFunction(() => document.querySelector(".leaflet-zoom-anim, .leaflet-pan-anim") === null)
    await screenshot(page, "places-390", { fullPage: true })

    // The plate's page and the read's page.
    await card.getByRole("link", { name: AT_ALL, exact: true }).click()
    await page.waitForURL(`${server.url}/plate/${AT_ALL}`)
    await page.goBack()
    await page.waitForURL(`${server.url}/places`)
    await page.goto(`${server.url}/places`)
    await describeIncidents(page)
    await run(page)
    await page.getByRole("article", { name: `Plate ${AT_ALL}` }).getByRole("link", { name: new RegExp(`, read ${rows[1]!.id} of ${AT_ALL} at Route 59 east$`) }).click()
    await page.waitForURL(`${server.url}/read/${rows[1]!.id}`)
    expect(await page.getByRole("heading", { name: "Page not found" }).count()).toBe(0)

    // The search is audited with the places and the reason.
    const { rows: audit } = await server.db.query(
      "SELECT details FROM audit_log WHERE action = 'investigate.multi_place' ORDER BY id")
    expect(audit).toHaveLength(2)
    expect(audit[0].details).toMatchObject({ case_number: "e2e places 5", plates: [AT_ALL], results: 1 })
    expect(audit[0].details.places).toHaveLength(3)
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("lays out the incidents side by side on a desktop", async () => {
    const { page, errors, context } = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport: DESKTOP })
    await page.goto(`${server.url}/places`)
    await describeIncidents(page)
    await run(page)
    await page.getByRole("article", { name: `Plate ${AT_ALL}` }).waitFor()
    const [one, two] = [await incident(page, 1).boundingBox(), await incident(page, 2).boundingBox()]
    expect(two!.x).toBeGreaterThan(one!.x + one!.width)
    expect(Math.abs(two!.y - one!.y)).toBeLessThan(2)
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(DESKTOP.width)
    expect(describeViolations("places", await runAxe(page, [".leaflet-control-attribution"]))).toBe("")
    // The whole page in one window (a full-page capture would drop the scroll bar, resize the map and
    // catch it refitting), once the map has settled.
    await page.setViewportSize({ width: DESKTOP.width, height: await page.evaluate(() => document.documentElement.scrollHeight) })
    await page.waitForTimeout(600)
    await page.waitForFunction(() => document.querySelector(".leaflet-zoom-anim, .leaflet-pan-anim") === null)
    await screenshot(page, "places-1440")
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("says why it will not look: one incident only, an empty window, a place without a camera", async () => {
    const audited = () => server.db.query("SELECT count(*)::int AS n FROM audit_log WHERE action = 'investigate.multi_place'")
    const before = (await audited()).rows[0].n
    const { page, errors, context } = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport: PHONE_390 })
    await page.goto(`${server.url}/places`)
    await describeIncidents(page)

    // The window of incident 2 is empty: from is to (the server's 400).
    await incident(page, 2).getByLabel("To").fill(await local(page, 70))
    await run(page)
    await page.getByRole("alert").filter({ hasText: "Incident 2: from must be before to" }).waitFor()
    expect(await page.getByRole("article").count()).toBe(0)

    // A window longer than a day.
    await incident(page, 2).getByLabel("From").fill(await local(page, 26 * 60))
    await run(page)
    await page.getByRole("alert").filter({ hasText: "Incident 2 covers at most 24 hours" }).waitFor()
    await times(page, 2, 70, 50)

    // A point with no camera within its radius.
    await incident(page, 3).getByLabel("Radius (m)").fill("10")
    await incident(page, 3).getByText("No camera chosen yet.").waitFor()
    await run(page)
    await page.getByRole("alert").filter({ hasText: "Incident 3: a place needs at least one camera" }).waitFor()
    await screenshot(page, "phone-places-refused", { fullPage: true })

    // One incident only.
    await incident(page, 3).getByRole("button", { name: "Remove incident 3" }).click()
    await incident(page, 2).getByRole("button", { name: "Remove incident 2" }).click()
    expect(await incident(page, 1).getByRole("button", { name: /Remove/ }).count()).toBe(0)
    await run(page)
    await page.getByRole("alert").filter({ hasText: "places: 2 to 10" }).waitFor()
    expect(await page.getByRole("article").count()).toBe(0)

    // Refused searches looked at nothing: none is recorded as made.
    expect((await audited()).rows[0].n).toBe(before)
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("is not offered to volunteers (viewers)", async () => {
    const viewer = await server.signIn("viewer")
    const { page, context } = await openPage(browser, { url: server.url, cookie: viewer.cookie, viewport: PHONE_390 })
    await page.goto(`${server.url}/places`)
    await page.waitForURL(`${server.url}/alerts`)
    expect(await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Places" }).count()).toBe(0)
    const { rows } = await server.db.query<{ id: string }>("SELECT id::text AS id FROM cameras ORDER BY id LIMIT 1")
    const place = { camera_ids: [rows[0]!.id], from: new Date(t0 - 3_600_000).toISOString(), to: new Date(t0).toISOString() }
    const refused = await fetch(`${server.url}/api/v1/investigations/multi-place`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: viewer.cookie, "x-csrf-token": viewer.csrf },
      body: JSON.stringify({ places: [place, place], reason_code: "investigation" })
    })
    expect(refused.status).toBe(403)
    await context.close()
  })
})
