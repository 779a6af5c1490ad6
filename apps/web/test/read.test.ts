import { createHash } from "node:crypto"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { drained } from "../../server/test/alertHarness"
import { type SignedIn, startServer, type TestServer } from "../../server/test/harness"
import { appErrors, DESKTOP, launch, openPage, PHONE_390, screenshot, unnamedControls } from "./browser"
import { CAMERAS, drawPhotos, ingest, readAt, startTileServer, watchlist } from "./fixtures"

let server: TestServer
let browser: Browser
let tiles: Awaited<ReturnType<typeof startTileServer>>
let operator: SignedIn
/** the run of PLATE at Main St, oldest first */
let run: Array<string>
let cropSha: string

const PLATE = "RDP-4242"
const ZONE = "America/New_York"
/** A reason already given in this tab, as the search form leaves it in sessionStorage. */
const REMEMBERED = JSON.stringify({ code: "investigation", text: "", caseNumber: "e2e read 1" })

beforeAll(async () => {
  tiles = await startTileServer()
  process.env.MAP_TILE_URL = tiles.url
  process.env.MAP_TILE_ATTRIBUTION = "test tiles"
  ;[server, browser] = await Promise.all([startServer(), launch()])
  operator = await server.signIn("operator")
  const apiKey = (await server.collector("Main St collector")).apiKey

  // A shared list that alerts on the plate, and a list of the operator's own to add plates to.
  await server.db.query("INSERT INTO watchlists (name, category, owner_id, shared) VALUES ('My cars', 'of_interest', $1, false)", [operator.userId])
  await watchlist(server, { name: "Stolen cars", category: "stolen", priority: 1, colour: "#b91c1c" }, [{ kind: "exact", value: "RDP4242", note: "grey van" }])

  const { page, context } = await openPage(browser, { url: server.url })
  const photos = await drawPhotos(page, PLATE)
  await context.close()
  cropSha = createHash("sha256").update(photos.crop).digest("hex")
  // Three reads 10 s apart at one camera: one run.
  // The camera's clock runs 4.8 s ahead of the collector that received the reads.
  await ingest(server, apiKey, [40, 40 - 10 / 60, 40 - 20 / 60].map((minutes) => {
    const read = readAt(PLATE, CAMERAS[0], minutes)
    return { ...read, received_at: new Date(Date.parse(read.timestamp as string) - 4_800).toISOString() }
  }), photos)
  await drained(server.databaseUrl)
  run = (await server.db.query<{ id: string }>("SELECT id::text AS id FROM detections WHERE plate = 'RDP4242' ORDER BY detected_at")).rows.map((r) => r.id)
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
  await tiles?.close()
  delete process.env.MAP_TILE_URL
  delete process.env.MAP_TILE_ATTRIBUTION
})

/** A page in New York's time and English (PHONE_390 as a phone). */
const openAt = (viewport: { width: number; height: number }, who: SignedIn = operator) =>
  openPage(browser, { url: server.url, cookie: who.cookie, viewport, context: { timezoneId: ZONE, locale: "en-US" } })

const photoLoaded = (page: Page, altStart: string) =>
  page.waitForFunction((start) => {
    const img = Array.from(document.querySelectorAll<HTMLImageElement>("img")).find((i) => i.alt.startsWith(start))
    return img !== undefined && img.complete && img.naturalWidth > 0
  }, altStart)

/** The year and the zone's short name ("EST") of a moment in New York, as the page should show it. */
const inNewYork = (iso: string) => {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone: ZONE, year: "numeric", timeZoneName: "short" }).formatToParts(new Date(iso))
  return { year: parts.find((p) => p.type === "year")!.value, zone: parts.find((p) => p.type === "timeZoneName")!.value }
}

describe("a read's page", () => {
  it("opens from a search result's photo with every field, zooms the scene, lists the run and the alert, and acts on the read", async () => {
    const { page, context, errors } = await openAt(PHONE_390)
    await page.goto(`${server.url}/?plate=RDP4242`)
    await page.getByLabel("Reason", { exact: true }).selectOption("investigation")
    await page.getByLabel("Case number (optional)").fill("e2e read 1")
    await page.getByRole("button", { name: "Search", exact: true }).click()
    await page.getByRole("status").filter({ hasText: /reads/ }).waitFor()
    // The newest read first: its crop opens its page.
    await page.getByRole("article").first().getByRole("link", { name: /^Open the read of RDP-4242/ }).click()
    await page.waitForURL(`${server.url}/read/${run[2]}`)
    await page.getByRole("heading", { name: "Read of RDP-4242" }).waitFor()

    // Every field, the time with its year and zone.
    const fields = page.getByRole("region", { name: "The read", exact: true })
    await fields.waitFor()
    const text = (await fields.textContent())!
    const detectedAt = (await server.db.query<{ at: Date }>("SELECT detected_at AS at FROM detections WHERE id = $1", [run[2]])).rows[0]!.at
    const { year, zone } = inNewYork(detectedAt.toISOString())
    const readAtText = await fields.locator(`time[datetime="${detectedAt.toISOString()}"]`).textContent()
    expect(readAtText).toMatch(new RegExp(`\\b${year}\\b.*\\b${zone}$`))
    expect(text).toContain(ZONE)
    for (const value of ["RDP-4242", "91%", "Main St northbound", "Main St collector", "Toyota", "blue", cropSha, run[2]!, "4.8 s ahead when it arrived"]) {
      expect(text).toContain(value)
    }
    await photoLoaded(page, "Scene photo of the read RDP-4242")
    await photoLoaded(page, "Plate crop of the read RDP-4242")
    await page.locator(".leaflet-interactive").first().waitFor({ state: "visible" })

    // The run: three reads, this one marked, the others opening theirs; the alert it raised.
    const runPart = page.getByRole("region", { name: "Its run" })
    expect(await runPart.getByRole("listitem").count()).toBe(3)
    await runPart.getByText("this read").waitFor()
    expect(await runPart.getByRole("link").count()).toBe(2)
    const alertsPart = page.getByRole("region", { name: "Alerts it raised" })
    await alertsPart.getByText("Stolen cars").waitFor()
    await alertsPart.getByText("Entry RDP4242: grey van").waitFor()
    expect(await alertsPart.getByRole("link", { name: "Open the alerts" }).getAttribute("href")).toBe("/alerts")
    await screenshot(page, "read-390", { fullPage: true })

    // The scene photo opens large; + zooms it, dragging pans, Escape closes and gives the focus back.
    const opener = page.getByRole("button", { name: /^Scene photo of the read RDP-4242.*open large to zoom$/ })
    await opener.click()
    const dialog = page.getByRole("dialog", { name: /zoomed$/ })
    await dialog.waitFor()
    const zoomed = dialog.getByRole("img")
    expect(await zoomed.getAttribute("data-scale")).toBe("1")
    await dialog.getByRole("button", { name: "Zoom in" }).click()
    await dialog.getByRole("button", { name: "Zoom in" }).click()
    expect(Number(await zoomed.getAttribute("data-scale"))).toBeCloseTo(1.5625)
    // wider than the screen (the fitted photo is a little narrower than the window), once the zoom's
    // transition has run
    await expect.poll(async () => (await zoomed.boundingBox())!.width).toBeGreaterThan(PHONE_390.width * 1.4)
    await dialog.getByText("156%").waitFor()
    const before = await zoomed.evaluate((img) => getComputedStyle(img).transform)
    const frame = (await dialog.getByLabel(/drag or use the arrow keys/).boundingBox())!
    await page.mouse.move(frame.x + frame.width / 2, frame.y + frame.height / 2)
    await page.mouse.down()
    await page.mouse.move(frame.x + frame.width / 2 + 60, frame.y + frame.height / 2 + 20, { steps: 4 })
    await page.mouse.up()
    expect(await zoomed.evaluate((img) => getComputedStyle(img).transform)).not.toBe(before)
    await page.keyboard.press("-")
    expect(Number(await zoomed.getAttribute("data-scale"))).toBeCloseTo(1.25)
    await screenshot(page, "read-zoom-390")
    await page.keyboard.press("Escape")
    await dialog.waitFor({ state: "hidden" })
    expect(await opener.evaluate((el) => el === document.activeElement)).toBe(true)

    // Checking the read: nothing chosen until the operator says.
    await page.getByRole("button", { name: "Check this read" }).click()
    const check = page.getByRole("region", { name: "Check this read" })
    expect(await check.getByRole("radio").count()).toBe(3)
    for (const radio of await check.getByRole("radio").all()) expect(await radio.isChecked()).toBe(false)
    await check.getByRole("button", { name: "Save" }).click()
    expect(await check.getByRole("radio").first().evaluate((r: HTMLInputElement) => r.validity.valueMissing)).toBe(true)
    expect(await server.db.query("SELECT 1 FROM corrections").then((r) => r.rowCount)).toBe(0)
    await check.getByText("The read is right").click()
    await check.getByRole("button", { name: "Save" }).click()
    await page.getByRole("region", { name: "Checks and corrections" }).getByText(/confirmed: the read is right/).waitFor()

    // The plate onto the operator's own list.
    await page.getByRole("button", { name: "Add to a watchlist" }).click()
    const add = page.getByRole("form", { name: "Add the plate to a watchlist" })
    await add.getByLabel("Watchlist").selectOption({ label: "My cars (Of interest)" })
    await add.getByRole("button", { name: "Add to the list" }).click()
    await add.getByText("say why the plate is watched").waitFor()
    await add.getByLabel("Why it is watched").fill("seen at the school gate at night")
    await add.getByRole("button", { name: "Add to the list" }).click()
    await add.getByText("Added RDP4242 to My cars.").waitFor()
    const { rows } = await server.db.query<{ name: string; value: string; reason: string; added_by_name: string }>(
      "SELECT w.name, e.value, e.reason, e.added_by_name FROM watchlist_entries e JOIN watchlists w ON w.id = e.watchlist_id WHERE w.name = 'My cars'"
    )
    expect(rows).toEqual([{ name: "My cars", value: "RDP4242", reason: "seen at the school gate at night", added_by_name: operator.username }])
    expect(await unnamedControls(page)).toEqual([])

    // Another read of the run, from the run's list; then the plate's page.
    await page.getByRole("region", { name: "Its run" }).getByRole("link").first().click()
    await page.waitForURL(`${server.url}/read/${run[0]}`)
    await page.getByRole("region", { name: "Its run" }).getByText("this read").waitFor()
    await page.getByRole("link", { name: "Show this plate" }).click()
    await page.waitForURL(`${server.url}/plate/RDP4242`)
    await page.getByRole("img", { name: /Reads per day/ }).waitFor()
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("lays the page out on a wide screen, and photos elsewhere open their reads", async () => {
    const { page, context, errors } = await openAt(DESKTOP)
    await page.goto(server.url)
    await page.evaluate((reason) => window.sessionStorage.setItem("alpr.reason", reason), REMEMBERED)
    await page.goto(`${server.url}/read/${run[1]}`)
    await photoLoaded(page, "Scene photo of the read RDP-4242")
    await page.locator(".leaflet-interactive").first().waitFor({ state: "visible" })
    // The scene fits its column: side by side with the map's column, no wider than the page.
    const scene = (await page.getByRole("img", { name: /^Scene photo of the read/ }).boundingBox())!
    const map = (await page.getByRole("region", { name: "Where" }).boundingBox())!
    expect(scene.width).toBeGreaterThan(600)
    expect(scene.x + scene.width).toBeLessThan(map.x)
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true)
    await screenshot(page, "read-1440", { fullPage: true })

    // The keyboard opens the zoom too.
    await page.getByRole("button", { name: /^Scene photo of the read.*open large/ }).focus()
    await page.keyboard.press("Enter")
    const dialog = page.getByRole("dialog", { name: /zoomed$/ })
    await dialog.waitFor()
    await page.keyboard.press("+")
    await dialog.getByText("125%").waitFor()
    await screenshot(page, "read-zoom-1440")
    await page.keyboard.press("Escape")
    await dialog.waitFor({ state: "hidden" })

    // The plate page's photos and the alert card's crop open their reads.
    await page.goto(`${server.url}/plate/RDP4242`)
    await page.getByRole("tab", { name: "Photos" }).click()
    await page.getByRole("link", { name: /^Open the read of RDP-4242, / }).first().click()
    await page.waitForURL(/\/read\/\d+$/)
    // (The first test's entry on "My cars" raised an alert of its own on the earlier reads.)
    await page.goto(`${server.url}/alerts`)
    await page.getByRole("article").filter({ hasText: "Stolen cars" }).getByRole("link", { name: /^Open the read of RDP-4242/ }).click()
    await page.waitForURL(`${server.url}/read/${run[2]}`)
    await page.getByRole("heading", { name: "Read of RDP-4242" }).waitFor()
    expect(appErrors(errors)).toEqual([])
    await context.close()

    // A volunteer is sent to the alerts, and the API refuses them the page.
    const viewer = await server.signIn("viewer")
    const asViewer = await openAt(PHONE_390, viewer)
    await asViewer.page.goto(`${server.url}/read/${run[0]}`)
    await asViewer.page.waitForURL(`${server.url}/alerts`)
    await asViewer.context.close()
  })
})
