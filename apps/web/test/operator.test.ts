import * as Fs from "node:fs/promises"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type SignedIn, startServer, type TestServer } from "../../server/test/harness"
import { appErrors, DESKTOP, launch, openPage, PHONE, PHONE_390, screenshot, unnamedControls, WALL } from "./browser"
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
    // Partial and fuzzy searches list the plates they matched first; their reads are a click away.
    await search(page, "ST4*2", "Partial")
    await page.getByRole("list", { name: "Plates found" }).getByRole("link", { name: "TST4242" }).waitFor()
    await search(page, "TST4243", "Fuzzy")
    await page.getByRole("list", { name: "Plates found" }).getByText("1 off").waitFor()
    await page.getByRole("button", { name: "Reads" }).click()
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

  it("keeps the operator's first JavaScript within 160 KiB gzipped (158.9 measured; 250 KB promised)", async () => {
    const report = JSON.parse(await Fs.readFile(new URL("../dist/bundle-report.json", import.meta.url), "utf8")) as {
      initial_js_gzip_bytes: number
      initial_files: ReadonlyArray<string>
    }
    expect(report.initial_js_gzip_bytes).toBeLessThanOrEqual(160 * 1024)
    // The map, the admin panel, the wall and the search results (fetched when the form is first used) come later.
    expect(report.initial_files.some((f) => /CameraMap|Admin|Wall|Results/.test(f))).toBe(false)
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

describe("search results people can work with", () => {
  const auditRows = async (action: string, target: string) =>
    (await server.db.query(
      "SELECT details FROM audit_log WHERE action = $1 AND target LIKE $2 AND actor_id = $3 ORDER BY id",
      [action, target, operator.userId]
    )).rows as Array<{ details: Record<string, unknown> }>

  beforeAll(async () => {
    // Three plates a partial search finds, read at the three cameras; two cameras placed at sites.
    await ingest(server, apiKey, ["GRP-101", "GRP-102", "GRP-103"].flatMap((plate, p) =>
      Array.from({ length: p + 1 }, (_, i) => readAt(plate, CAMERAS[i % 3], 100 + p * 10 + i))))
    await server.db.query("UPDATE cameras SET site = 'Main St corner' WHERE external_id = 'cam-main'")
    await server.db.query("UPDATE cameras SET site = 'Route 59' WHERE external_id = 'cam-route59'")
  })

  it("shows reads as a dense table on a wide screen, cards on request (remembered), and exports them, audited", async () => {
    const { page, errors, context } = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport: DESKTOP })
    await context.addInitScript((reason) => window.sessionStorage.setItem("alpr.reason", reason), REMEMBERED)
    await page.goto(`${server.url}/?plate=TST4242`)
    await page.getByRole("status").filter({ hasText: /reads/ }).waitFor()
    const rows = page.locator("table tbody tr")
    expect(await rows.count()).toBe(25)
    // At 1440x900 at least 15 reads are on screen at once, without scrolling.
    await page.waitForFunction(() => Array.from(document.images).every((img) => img.complete))
    await screenshot(page, "search-1440")
    const onScreen = await page.evaluate(() =>
      Array.from(document.querySelectorAll("table tbody tr")).filter((tr) => tr.getBoundingClientRect().bottom <= window.innerHeight).length)
    expect(onScreen).toBeGreaterThanOrEqual(15)
    expect(await page.evaluate(() => {
      const box = document.querySelector("table")!.parentElement!
      return [box.scrollWidth <= box.clientWidth, document.documentElement.scrollWidth <= window.innerWidth]
    })).toEqual([true, true])
    const first = rows.first()
    expect(await first.getByRole("link", { name: PLATE }).getAttribute("href")).toBe("/plate/TST4242")
    expect(await first.locator("a[href^='/read/']").count()).toBe(1)
    expect(await first.textContent()).toMatch(/Main St northbound|Route 59 east|College Rd/)

    // Cards on request, remembered in this browser.
    await page.getByRole("button", { name: "Cards" }).click()
    await page.getByRole("article").first().waitFor()
    expect(await page.locator("table").count()).toBe(0)
    expect(await page.evaluate(() => window.localStorage.getItem("alpr.results.layout"))).toBe("cards")
    const again = await context.newPage()
    await again.goto(`${server.url}/?plate=FLW777`)
    await again.getByRole("article").first().waitFor()
    expect(await again.getByRole("button", { name: "Cards" }).getAttribute("aria-pressed")).toBe("true")
    expect(await again.locator("table").count()).toBe(0)
    await again.close()
    await page.getByRole("button", { name: "Table" }).click()
    await page.locator("table tbody tr").first().waitFor()

    // The whole result as CSV: a download, on the record with its reason, format and count.
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export CSV" }).click()])
    expect(download.suggestedFilename()).toMatch(/^reads-TST4242-\d{8}-\d{4}\.csv$/)
    const csv = await Fs.readFile((await download.path())!, "utf8")
    const lines = csv.trim().split("\n")
    expect(lines[0]).toMatch(/^id,detected_at,plate_text,plate,/)
    expect(lines).toHaveLength(40) // the header and every one of the 39 reads, not just the page shown
    expect(lines.slice(1).every((line) => line.includes(",TST-4242,TST4242,"))).toBe(true)
    expect((await auditRows("search.export", "plate:TST4242")).at(-1)!.details).toMatchObject({
      format: "csv", results: 39, reason_code: "investigation", case_number: "e2e case 17"
    })
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("lists the distinct plates a partial search matched, each opening its plate page", async () => {
    for (const viewport of [PHONE_390, DESKTOP]) {
      const { page, errors, context } = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport })
      await page.addInitScript((reason) => window.sessionStorage.setItem("alpr.reason", reason), REMEMBERED)
      await page.goto(`${server.url}/?plate=GRP*&mode=partial`)
      await page.getByRole("status").filter({ hasText: "3 plates, last seen first" }).waitFor()
      const list = page.getByRole("list", { name: "Plates found" })
      expect(await list.getByRole("listitem").count()).toBe(3)
      // Last seen first: GRP-101 was read 100 minutes ago, GRP-103 110 minutes ago at the latest.
      expect(await list.getByRole("link").allTextContents()).toEqual(["GRP101", "GRP102", "GRP103"])
      const third = list.getByRole("listitem").nth(2)
      expect(await third.textContent()).toContain("3 reads")
      expect(await third.textContent()).toMatch(/Main St northbound \(Main St corner\): 1/)
      await screenshot(page, `search-grouped-${viewport.width}`, { fullPage: true })
      expect((await auditRows("search", "plate:GRP*")).at(-1)!.details).toMatchObject({ view: "plates", mode: "partial", results: 3 })

      // The reads themselves are a click away; on a phone as cards, in a table on request.
      await page.getByRole("button", { name: "Reads" }).click()
      await page.getByRole("status").filter({ hasText: "6 reads" }).waitFor()
      if (viewport.width === 390) {
        await page.getByRole("button", { name: "Table" }).click()
        await page.locator("table tbody tr").first().waitFor()
        await page.waitForFunction(() => Array.from(document.images).every((img) => img.complete))
        await screenshot(page, "search-390", { fullPage: true })
        await page.getByRole("button", { name: "Cards" }).click()
      }
      await page.getByRole("button", { name: "Plates" }).click()
      await list.getByRole("link", { name: "GRP102" }).click()
      await page.waitForURL(`${server.url}/plate/GRP102`)
      expect(appErrors(errors)).toEqual([])
      await context.close()
    }
  })

  it("asks why when opened with a plate and no reason yet, instead of failing, and then searches", async () => {
    const { page, errors, context } = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport: PHONE_390 })
    const before = (await auditRows("search", "plate:FLW777")).length
    await page.goto(`${server.url}/?plate=FLW777`)
    await page.getByText("Say why you are searching, then Search.").waitFor()
    expect(await page.getByLabel("Plate", { exact: true }).inputValue()).toBe("FLW777")
    // The reason is where the focus is, once the codes are in.
    await page.waitForFunction(() => document.activeElement?.getAttribute("name") === "reason_code")
    await screenshot(page, "phone-operator-reason-prompt", { fullPage: true })
    expect(await page.getByText(/reason.*required/i).count()).toBe(0)
    expect(await page.getByRole("alert").count()).toBe(0)
    expect((await auditRows("search", "plate:FLW777")).length).toBe(before)

    await page.getByLabel("Reason", { exact: true }).selectOption("investigation")
    await page.getByRole("button", { name: "Search", exact: true }).click()
    await page.getByRole("status").filter({ hasText: "6 reads, newest first" }).waitFor()
    expect(await page.getByText("Say why you are searching, then Search.").count()).toBe(0)
    expect((await auditRows("search", "plate:FLW777")).length).toBe(before + 1)
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("offers the sites and values that exist in the filters, and shows the whole date and time", async () => {
    for (const viewport of [PHONE_390, { width: 1024, height: 768 }, DESKTOP]) {
      const { page, context } = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport })
      await page.goto(server.url)
      await page.getByText("Filters", { exact: true }).click()
      const site = page.getByLabel("Site", { exact: true })
      const options = async (field: typeof site) => {
        const id = (await field.getAttribute("list"))!
        return page.locator(`datalist[id="${id}"] option`).evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))
      }
      await expect.poll(() => options(site)).toEqual(["Main St corner", "Route 59"])
      // Several values: the list goes on after a comma, without the one already chosen.
      await site.fill("Main St corner, ")
      await expect.poll(() => options(site)).toEqual(["Main St corner, Route 59"])
      expect(await options(page.getByLabel("Direction", { exact: true }))).toContain("in")
      expect(await options(page.getByLabel("Vehicle colour", { exact: true }))).toContain("blue")

      for (const label of ["From", "Until"]) {
        const field = page.getByLabel(label, { exact: true })
        await field.fill("2026-12-01T13:45")
        const fits = await field.evaluate((input: HTMLInputElement) => {
          const style = getComputedStyle(input)
          const context = document.createElement("canvas").getContext("2d")!
          context.font = `${style.fontSize} ${style.fontFamily}`
          // The value as the field shows it (date, time, AM/PM), and the calendar button beside it.
          const shown = new Date(input.value).toLocaleString(undefined, {
            year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"
          })
          const inner = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)
          return { scrolls: input.scrollWidth > input.clientWidth, room: inner - context.measureText(shown).width - 24 }
        })
        expect(fits.scrolls, `${label} at ${viewport.width}`).toBe(false)
        expect(fits.room, `${label} at ${viewport.width}`).toBeGreaterThanOrEqual(0)
      }
      await screenshot(page, `operator-filters-${viewport.width}`, { fullPage: true })
      await context.close()
    }
  })
})
