import * as Fs from "node:fs/promises"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type SignedIn, startServer, type TestServer } from "../../server/test/harness"
import { appErrors, launch, openPage, PHONE, screenshot, unnamedControls, WALL } from "./browser"
import { CAMERAS, drawPhotos, ingest, readAt, startTileServer } from "./fixtures"

let server: TestServer
let browser: Browser
let tiles: Awaited<ReturnType<typeof startTileServer>>
let operator: SignedIn
let apiKey: string

const PLATE = "TST-4242"

beforeAll(async () => {
  tiles = await startTileServer()
  process.env.MAP_TILE_URL = tiles.url
  process.env.MAP_TILE_ATTRIBUTION = "test tiles"
  ;[server, browser] = await Promise.all([startServer(), launch()])
  operator = await server.signIn("operator")
  apiKey = (await server.collector("Main St")).apiKey

  // Photos drawn by the browser; reads over three days at three cameras, and a companion car.
  const { page, context } = await openPage(browser, { url: server.url })
  const [photos, companionPhotos] = [await drawPhotos(page, PLATE), await drawPhotos(page, "FLW-777")]
  await context.close()
  await ingest(server, apiKey, [0, 1, 2].flatMap((day) => [
    readAt(PLATE, CAMERAS[0], day * 1440 + 30),
    readAt(PLATE, CAMERAS[1], day * 1440 + 22),
    readAt(PLATE, CAMERAS[2], day * 1440 + 10)
  ]), photos)
  await ingest(server, apiKey, [0, 1, 2].flatMap((day) => [
    readAt("FLW-777", CAMERAS[0], day * 1440 + 29.5),
    readAt("FLW-777", CAMERAS[1], day * 1440 + 21.5)
  ]), companionPhotos)
  // Enough older reads of the plate for a second page of results.
  await ingest(server, apiKey, Array.from({ length: 30 }, (_, i) => readAt(PLATE, CAMERAS[i % 3], 5 * 1440 + i * 60)))
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
  await tiles?.close()
  delete process.env.MAP_TILE_URL
  delete process.env.MAP_TILE_ATTRIBUTION
})

/** Why, as an operator says it: a reason code and a case number. */
const giveReason = async (page: import("playwright-core").Page) => {
  await page.getByLabel("Reason", { exact: true }).selectOption("investigation")
  await page.getByLabel("Case number (optional)").fill("e2e case 17")
}

const search = async (page: import("playwright-core").Page, plate: string, mode: string) => {
  await page.getByLabel("Plate", { exact: true }).fill(plate)
  await page.getByText(mode, { exact: true }).click()
  await giveReason(page)
  await page.getByRole("button", { name: "Search", exact: true }).click()
}

/** A reason already given in this tab, as the search form leaves it in sessionStorage. */
const REMEMBERED = JSON.stringify({ code: "investigation", text: "", caseNumber: "e2e case 17" })

describe("the operator's phone view", () => {
  it("finds an ingested plate with its photo, in every mode, and pages with More", async () => {
    const { page, errors, scripts, context } = await openPage(browser, { url: server.url, cookie: operator.cookie })
    await page.goto(server.url)
    await page.getByRole("heading", { name: "Search a plate" }).waitFor()
    await screenshot(page, "phone-operator-search-empty")

    await search(page, "tst 4242", "Exact")
    await page.getByRole("status").filter({ hasText: /reads/ }).waitFor()
    const first = page.getByRole("article").first()
    await expect(first.textContent()).resolves.toContain(PLATE)
    const crop = first.getByRole("img", { name: `Plate crop of the read ${PLATE}` })
    await crop.waitFor()
    await page.waitForFunction((alt) => {
      const img = document.querySelector<HTMLImageElement>(`img[alt="${alt}"]`)
      return img !== null && img.complete && img.naturalWidth > 0
    }, `Plate crop of the read ${PLATE}`)
    await screenshot(page, "phone-operator-results")
    expect(await page.getByRole("article").count()).toBe(25)
    await page.getByRole("button", { name: "More" }).click()
    await page.waitForFunction(() => document.querySelectorAll("article").length === 39)
    expect(await page.getByRole("button", { name: "More" }).count()).toBe(0)

    // Look-alike characters (2/Z), part of the plate, and one character off.
    await search(page, "TST4Z4Z", "Look-alike")
    await expect(page.getByRole("article").first().textContent()).resolves.toContain(PLATE)
    await search(page, "ST4*2", "Partial")
    await expect(page.getByRole("article").first().textContent()).resolves.toContain(PLATE)
    await search(page, "TST4243", "Fuzzy")
    await page.getByRole("article").first().locator("mark").waitFor()
    await screenshot(page, "phone-operator-fuzzy")
    expect(page.url()).toContain("mode=fuzzy")

    // The first page carries neither Leaflet, the admin panel, the wall nor the plate page.
    expect(scripts.filter((s) => /CameraMap|Admin|Wall|PlatePage|usePolling/.test(s))).toEqual([])
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("searches with the keyboard alone, every control named", async () => {
    const { page, context } = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport: WALL })
    await page.goto(server.url)
    await page.getByRole("heading", { name: "Search a plate" }).waitFor()
    await page.getByLabel("Reason", { exact: true }).locator("option").nth(1).waitFor({ state: "attached" })
    // The plate field has the focus on arrival.
    await page.keyboard.type("tst4242")
    await page.keyboard.press("Tab") // to the match modes
    await page.keyboard.press("ArrowRight") // Exact -> Look-alike
    await page.keyboard.press("Tab") // Filters
    await page.keyboard.press("Tab") // Reason: a select, chosen by typing
    await page.keyboard.type("Inv")
    expect(await page.getByLabel("Reason", { exact: true }).inputValue()).toBe("investigation")
    await page.keyboard.press("Tab") // Case number
    await page.keyboard.type("e2e case 18")
    await page.keyboard.press("Enter")
    await page.getByRole("status").filter({ hasText: /reads/ }).waitFor()
    expect(page.url()).toContain("mode=ocr")
    expect(await page.evaluate(() => document.activeElement?.getAttribute("role"))).toBe("status")
    await screenshot(page, "wall-operator-results")
    expect(await unnamedControls(page)).toEqual([])
    await context.close()
  })

  it("asks why with the admins' reason codes, remembers it for the tab, and records it with searches, investigations and photos", async () => {
    const lastAudit = async (action: string, target: string) =>
      (await server.db.query(
        "SELECT reason, details FROM audit_log WHERE action = $1 AND target LIKE $2 AND actor_id = $3 ORDER BY id DESC LIMIT 1",
        [action, target, operator.userId]
      )).rows[0]
    const { page, errors, context } = await openPage(browser, { url: server.url, cookie: operator.cookie })
    await page.goto(server.url)
    const select = page.getByLabel("Reason", { exact: true })
    await select.locator("option").nth(1).waitFor({ state: "attached" })
    expect(await select.locator("option").allTextContents()).toEqual([
      "Choose a reason…", "AMBER alert", "Audit", "Investigation", "Missing person", "Stolen vehicle", "Training", "Wanted person"
    ])

    // Without a code the form does not go.
    await page.getByLabel("Plate", { exact: true }).fill("TST4242")
    await page.getByRole("button", { name: "Search", exact: true }).click()
    expect(await select.evaluate((s: HTMLSelectElement) => s.validity.valueMissing)).toBe(true)
    expect(page.url()).not.toContain("plate=")

    await select.selectOption({ label: "Stolen vehicle" })
    await page.getByLabel("Case number (optional)").fill("PD-26-0042")
    await page.getByLabel("Details (optional)").fill("blue van seen leaving")
    await screenshot(page, "phone-operator-reason", { fullPage: true })
    await page.getByRole("button", { name: "Search", exact: true }).click()
    await page.getByRole("status").filter({ hasText: /reads/ }).waitFor()
    expect(await lastAudit("search", "plate:TST4242")).toEqual({
      reason: "blue van seen leaving",
      details: expect.objectContaining({ reason_code: "stolen_vehicle", case_number: "PD-26-0042" })
    })

    // Opening a read's scene photo is a view on the record, for the same reason.
    const card = page.getByRole("article").first()
    await card.getByRole("button", { name: "Check this read" }).click()
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>("img[alt^='Scene photo of the read']")
      return img !== null && img.complete && img.naturalWidth > 0
    })
    expect(await lastAudit("image.view", "%/scene")).toEqual({
      reason: "blue van seen leaving",
      details: { reason_code: "stolen_vehicle", case_number: "PD-26-0042" }
    })

    // The tab remembers it: the form comes back filled in, and the plate page does not ask again.
    await page.goto(server.url)
    await select.locator("option").nth(1).waitFor({ state: "attached" })
    expect(await select.inputValue()).toBe("stolen_vehicle")
    expect(await page.getByLabel("Case number (optional)").inputValue()).toBe("PD-26-0042")
    expect(await page.getByLabel("Details (optional)").inputValue()).toBe("blue van seen leaving")
    await page.goto(`${server.url}/plate/TST4242`)
    await page.getByText("Reason: Stolen vehicle · case PD-26-0042 · blue van seen leaving").waitFor()
    await page.getByRole("img", { name: /Reads per day/ }).waitFor()
    expect(await lastAudit("investigate.timeline", "plate:TST4242")).toEqual({
      reason: "blue van seen leaving",
      details: expect.objectContaining({ reason_code: "stolen_vehicle", case_number: "PD-26-0042" })
    })

    // The reason changes from the plate page, and is what the tab remembers from then on.
    await page.getByRole("button", { name: "Change reason" }).click()
    await select.selectOption("wanted_person")
    await page.getByLabel("Case number (optional)").fill("PD-26-0043")
    await page.getByLabel("Details (optional)").fill("")
    await page.getByRole("button", { name: "Continue" }).click()
    await page.getByText("Reason: Wanted person · case PD-26-0043").waitFor()
    await expect.poll(() => lastAudit("investigate.timeline", "plate:TST4242")).toEqual({
      reason: null,
      details: expect.objectContaining({ reason_code: "wanted_person", case_number: "PD-26-0043" })
    })
    expect(JSON.parse((await page.evaluate(() => window.sessionStorage.getItem("alpr.reason")))!)).toEqual(
      { code: "wanted_person", text: "", caseNumber: "PD-26-0043" }
    )

    // Another tab has not been told: the plate page asks.
    const other = await context.newPage()
    await other.goto(`${server.url}/plate/TST4242`)
    const asked = other.getByRole("form", { name: "Why you look into this plate" })
    await asked.getByLabel("Reason", { exact: true }).locator("option").nth(1).waitFor({ state: "attached" })
    await asked.getByLabel("Reason", { exact: true }).selectOption("missing_person")
    await asked.getByRole("button", { name: "Continue" }).click()
    await other.getByRole("img", { name: /Reads per day/ }).waitFor()
    expect(await lastAudit("investigate.timeline", "plate:TST4242")).toEqual({
      reason: null,
      details: expect.objectContaining({ reason_code: "missing_person" })
    })
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("keeps the operator's first JavaScript within 250 KB gzipped", async () => {
    const report = JSON.parse(await Fs.readFile(new URL("../dist/bundle-report.json", import.meta.url), "utf8")) as {
      initial_js_gzip_bytes: number
      initial_files: ReadonlyArray<string>
    }
    expect(report.initial_js_gzip_bytes).toBeLessThanOrEqual(250 * 1024)
    expect(report.initial_files.some((f) => /CameraMap|Admin|Wall/.test(f))).toBe(false)
  })

  it("corrects a read: the card shows the correction", async () => {
    const { page, context } = await openPage(browser, { url: server.url, cookie: operator.cookie })
    await page.goto(`${server.url}/?plate=FLW777`)
    await giveReason(page)
    await page.getByRole("button", { name: "Search", exact: true }).click()
    const card = page.getByRole("article").first()
    await card.getByRole("button", { name: "Check this read" }).click()
    await card.getByText("The plate is different").click()
    await card.getByLabel("Correct plate").fill("FLW 771")
    await card.getByLabel("Note (optional)").fill("last character is a 1")
    await screenshot(page, "phone-operator-correction", { fullPage: true })
    await card.getByRole("button", { name: "Save" }).click()
    await card.getByText("corrected to FLW 771").waitFor()
    const { rows } = await server.db.query<{ action: string; plate: string }>("SELECT action, plate FROM corrections")
    expect(rows).toEqual([{ action: "correct", plate: "FLW771" }])
    await context.close()
  })

  it("shows a plate's timeline, map with tiles from the configured origin, route, convoy and photos", async () => {
    for (const [size, viewport] of [["phone", PHONE], ["wall", WALL]] as const) {
      const { page, errors, context } = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport })
      await page.goto(server.url)
      await page.evaluate((reason) => window.sessionStorage.setItem("alpr.reason", reason), REMEMBERED)
      await page.goto(`${server.url}/plate/TST4242`)
      await page.getByRole("img", { name: /Reads per day: 39 in all/ }).waitFor()
      await screenshot(page, `${size}-plate-timeline`, { fullPage: true })

      await page.getByRole("tab", { name: "Map" }).click()
      await page.locator(".leaflet-interactive").first().waitFor({ state: "visible" })
      expect(await page.locator("path.leaflet-interactive").count()).toBeGreaterThanOrEqual(4) // 3 cameras and a route
      await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLImageElement>(".leaflet-tile")).some((t) => t.complete && t.naturalWidth > 0))
      await screenshot(page, `${size}-plate-map`)

      await page.getByRole("tab", { name: "Route" }).click()
      await page.getByRole("heading", { name: /^Trip 33:/ }).waitFor()
      // a trip's first stop says no "after …" (that gap is between trips), and no leg says 0 m or 0 km/h
      const firstStops = await page.locator("ol > li > ol > li:first-child").allTextContents()
      expect(firstStops.length).toBeGreaterThan(0)
      for (const text of firstStops) expect(text).not.toContain("after")
      expect(await page.getByText(/(^|\D)0 m\b|(^|\D)0 km\/h/).count()).toBe(0)
      await screenshot(page, `${size}-plate-route`)

      await page.getByRole("tab", { name: "Convoy" }).click()
      await page.getByRole("link", { name: "FLW777" }).waitFor()
      await screenshot(page, `${size}-plate-convoy`, { fullPage: true })

      await page.getByRole("tab", { name: "Photos" }).click()
      await page.getByRole("img", { name: /^Scene of the read/ }).first().waitFor()
      await screenshot(page, `${size}-plate-photos`)
      expect(await unnamedControls(page)).toEqual([])
      expect(appErrors(errors)).toEqual([])
      await context.close()
    }
    expect(tiles.requests()).toBeGreaterThan(0)
  })
})
