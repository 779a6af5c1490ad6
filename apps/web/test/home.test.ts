import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type SignedIn, startServer, type TestServer } from "../../server/test/harness"
import { appErrors, DESKTOP, launch, openPage, PHONE_390, screenshot, unnamedControls } from "./browser"
import { CAMERAS, drawPhotos, ingest, readAt } from "./fixtures"

let server: TestServer
let browser: Browser
let operator: SignedIn
let apiKey: string

/** Screenshots for the lead to look at (the brief's place), beside the artifacts the suite keeps. */

/** A read at a camera, going the given way. */
const goingAt = (plate: string, camera: (typeof CAMERAS)[number], minutesAgo: number, direction: string) => {
  const read = readAt(plate, camera, minutesAgo)
  return { ...read, vehicle: { ...read.vehicle, direction } }
}

const idOf = async (detectionId: string) =>
  (await server.db.query<{ id: string }>("SELECT id::text AS id FROM detections WHERE detection_id = $1", [detectionId])).rows[0]!.id

/** The plates of the reads listed on the home, top to bottom. */
const listed = (page: Page) =>
  page.getByRole("region", { name: "Latest reads" }).getByRole("article").evaluateAll((articles) =>
    articles.map((a) => a.getAttribute("aria-label")!.replace(/^Read of /, "")))

beforeAll(async () => {
  process.env.MAP_TILE_URL = "none"
  ;[server, browser] = await Promise.all([startServer(), launch()])
  operator = await server.signIn("operator")
  apiKey = (await server.collector("Main St")).apiKey
  // The cameras exist once they have read something; then an admin names their sites.
  await ingest(server, apiKey, CAMERAS.map((camera, i) => readAt(`OLD-00${i}`, camera, 90)))
  await server.db.query("UPDATE cameras SET site = CASE WHEN external_id = 'cam-college' THEN 'College campus' ELSE 'Town centre' END")
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
  delete process.env.MAP_TILE_URL
})

describe("the operator's home", () => {
  it("opens on the reads stored before it, puts new ones on top live, filters in place and links each read", async () => {
    const { page, errors, context } = await openPage(browser, { url: server.url, cookie: operator.cookie })
    const photos = await drawPhotos(page, "HOM-0003")
    // Stored before the page is opened: one batch, listed newest (last stored) first.
    const before = [
      goingAt("HOM-0001", CAMERAS[0], 3, "in"),
      goingAt("HOM-0002", CAMERAS[1], 2, "out"),
      goingAt("HOM-0003", CAMERAS[2], 1, "in")
    ]
    await ingest(server, apiKey, before, photos)

    await page.goto(server.url)
    await page.getByRole("heading", { name: "Search a plate" }).waitFor()
    const home = page.getByRole("region", { name: "Latest reads" })
    await home.getByRole("article", { name: "Read of HOM-0003" }).waitFor()
    await home.getByRole("status").filter({ hasText: "Live" }).waitFor()
    expect(await listed(page)).toEqual(["HOM-0003", "HOM-0002", "HOM-0001", "OLD-002", "OLD-001", "OLD-000"])

    // Each read: its crop, camera and site, time; its plate opens the read's own page, and its history.
    const newest = home.getByRole("article", { name: "Read of HOM-0003" })
    await newest.getByRole("img", { name: "Plate crop of the read HOM-0003" }).waitFor()
    expect(await newest.textContent()).toContain("College Rd · College campus · in")
    expect(await newest.getByRole("link", { name: "HOM-0003" }).getAttribute("href")).toBe(`/read/${await idOf(before[2]!.detection_id)}`)
    expect(await newest.getByRole("link", { name: "Plate history" }).getAttribute("href")).toBe("/plate/HOM0003")

    // A read stored now goes on top, while the page is open.
    await ingest(server, apiKey, [goingAt("HOM-0004", CAMERAS[0], 0, "out")])
    await expect.poll(async () => (await listed(page))[0]).toBe("HOM-0004")

    // The filter narrows the list in place: plate text as people type it, site, camera, direction.
    await page.getByLabel("Plate contains").fill("hom 000")
    await expect.poll(() => listed(page)).toEqual(["HOM-0004", "HOM-0003", "HOM-0002", "HOM-0001"])
    await page.getByLabel("Site is").selectOption("Town centre")
    await expect.poll(() => listed(page)).toEqual(["HOM-0004", "HOM-0002", "HOM-0001"])
    await page.getByLabel("Direction is").selectOption("out")
    await expect.poll(() => listed(page)).toEqual(["HOM-0004", "HOM-0002"])
    await page.getByLabel("Camera is").selectOption({ label: "Route 59 east" })
    await expect.poll(() => listed(page)).toEqual(["HOM-0002"])
    await page.getByLabel("Plate contains").fill("XYZ")
    await home.getByText("No read in the list matches the filter.").waitFor()
    await page.getByRole("button", { name: "Clear the filter" }).click()
    await expect.poll(async () => (await listed(page)).length).toBe(7)

    // Paused, the list holds still and says how many came meanwhile; resumed, they are there.
    await page.getByRole("button", { name: "Pause" }).click()
    await ingest(server, apiKey, [goingAt("HOM-0005", CAMERAS[1], 0, "in")])
    await home.getByRole("status").filter({ hasText: "Paused · 1 new" }).waitFor()
    expect((await listed(page))[0]).toBe("HOM-0004")
    await page.getByRole("button", { name: "Resume" }).click()
    await expect.poll(async () => (await listed(page))[0]).toBe("HOM-0005")
    await home.getByRole("status").filter({ hasText: "Live" }).waitFor()

    expect(await unnamedControls(page)).toEqual([])
    expect(appErrors(errors)).toEqual([])
    // A read's plate opens the read's page.
    await home.getByRole("link", { name: "HOM-0003" }).click()
    await page.waitForURL(`${server.url}/read/${await idOf(before[2]!.detection_id)}`)
    await context.close()
  })

  it("lays out on a phone and on a desktop", async () => {
    const photos = await (async () => {
      const { page, context } = await openPage(browser, { url: server.url })
      const drawn = await drawPhotos(page, "LAY-0001")
      await context.close()
      return drawn
    })()
    await ingest(server, apiKey, Array.from({ length: 8 }, (_, i) => goingAt(`LAY-000${i}`, CAMERAS[i % 3], 8 - i, i % 2 ? "out" : "in")), photos)
    for (const viewport of [PHONE_390, DESKTOP]) {
      const { page, errors, context } = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport })
      await page.goto(server.url)
      const home = page.getByRole("region", { name: "Latest reads" })
      await home.getByRole("article", { name: "Read of LAY-0007" }).waitFor()
      await home.getByRole("status").filter({ hasText: "Live" }).waitFor()
      await page.waitForFunction(() =>
        Array.from(document.querySelectorAll<HTMLImageElement>("article img")).slice(0, 3).every((img) => img.complete && img.naturalWidth > 0))
      // The phone's whole page: the list is below the form there.
      await screenshot(page, `home-${viewport.width}`, { fullPage: viewport.width < 1024 })
      const layout = await page.evaluate(() => {
        const box = (el: Element | null) => el?.getBoundingClientRect()
        return {
          pageWidth: document.documentElement.scrollWidth,
          form: box(document.querySelector("#search-title")?.closest("section") ?? null),
          latest: box(document.querySelector("section[aria-labelledby='latest-title']")),
          clipped: Array.from(document.querySelectorAll("section[aria-labelledby='latest-title'] article"))
            .filter((a) => a.scrollWidth > a.clientWidth + 1).length
        }
      })
      expect(layout.pageWidth).toBeLessThanOrEqual(viewport.width)
      expect(layout.clipped).toBe(0)
      if (viewport.width < 1024) {
        // One column: the latest reads below the search form.
        expect(layout.latest!.top).toBeGreaterThanOrEqual(layout.form!.bottom)
      } else {
        // Side by side: the latest reads beside the form, from the top.
        expect(layout.latest!.left).toBeGreaterThanOrEqual(layout.form!.right)
        expect(layout.latest!.top).toBeLessThan(layout.form!.bottom)
      }
      expect(appErrors(errors)).toEqual([])
      await context.close()
    }
  })

  it("is not a viewer's: they go to the alerts", async () => {
    const viewer = await server.signIn("viewer")
    const { page, context } = await openPage(browser, { url: server.url, cookie: viewer.cookie })
    await page.goto(server.url)
    await page.waitForURL(`${server.url}/alerts`)
    expect(await page.getByRole("region", { name: "Latest reads" }).count()).toBe(0)
    await context.close()
  })
})
