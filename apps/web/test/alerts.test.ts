import { importChunks } from "@chaverim/domain/WatchlistCsv"
import { parseEntryValue } from "@chaverim/domain/Watchlist"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Fs from "node:fs/promises"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type SignedIn, startServer, type TestServer, until } from "../../server/test/harness"
import { appErrors, launch, openPage, PHONE, screenshot, unnamedControls, WALL } from "./browser"
import { CAMERAS, drawPhotos, ingest, readAt, watchlist } from "./fixtures"

let server: TestServer
let browser: Browser
let apiKey: string
let wallUser: SignedIn
let operator: SignedIn
let admin: SignedIn

/** A list and one entry, as the watchlist service would store them; waits until the matcher has them. */
const watch = (list: { name: string; category: string; priority: number; colour: string }, kind: string, value: string, note: string) =>
  watchlist(server, list, [{ kind, value, note }])

// Counts the tones the page plays: the Web Audio oscillators it starts.
const countTones = () => {
  const start = OscillatorNode.prototype.start
  Object.assign(window, { tones: 0 })
  OscillatorNode.prototype.start = function(...args: Parameters<typeof start>) {
    ;(window as unknown as { tones: number }).tones++
    return start.apply(this, args)
  }
}

beforeAll(async () => {
  process.env.MAP_TILE_URL = "none"
  // The bot's name is known (this server does not run the bot: another replica would).
  ;[server, browser] = await Promise.all([startServer({ telegramBotUsername: Option.some("chaverim_alpr_test_bot") }), launch()])
  // The wall is signed in with an account kept for the screen: a viewer's, which sees plate crops.
  ;[wallUser, operator, admin] = [await server.signIn("viewer"), await server.signIn("operator"), await server.signIn("admin")]
  apiKey = (await server.collector("Main St")).apiKey
  await ingest(server, apiKey, CAMERAS.map((camera, i) => readAt(`OLD-10${i}`, camera, 90)))
  for (const camera of CAMERAS) {
    await server.db.query("UPDATE cameras SET lat = $1, lon = $2, site = 'Monsey' WHERE external_id = $3",
      [camera.location.lat, camera.location.lon, camera.id])
  }
  await watch({ name: "Stolen vehicles", category: "stolen", priority: 1, colour: "#b91c1c" }, "exact", "HOT1234", "Blue Honda Civic, stolen 2 Dec")
  await watch({ name: "Be on the lookout", category: "bolo", priority: 2, colour: "#fbbf24" }, "wildcard", "BOL*", "Grey van")
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
  delete process.env.MAP_TILE_URL
})

const openWall = async () => {
  const wall = await openPage(browser, { url: server.url, cookie: wallUser.cookie, viewport: WALL })
  await wall.page.addInitScript(countTones)
  await wall.page.goto(`${server.url}/wall`)
  await wall.page.getByRole("status").filter({ hasText: "LIVE" }).waitFor()
  return wall
}

describe("alerts", () => {
  it("shows a new alert on the wall within a second of ingest, with sound; acknowledged, it leaves the banner for the queue until resolved", async () => {
    const wall = await openWall()
    const tones = () => wall.page.evaluate(() => (window as unknown as { tones: number }).tones)
    // A browser without the kiosk's autoplay flag may need one touch for sound: the wall then offers it.
    const suspended = await wall.page.evaluate(() => new AudioContext().state !== "running")
    const enable = wall.page.getByRole("button", { name: /enable alert sound/ })
    expect(await enable.count()).toBe(suspended ? 1 : 0)
    if (suspended) {
      await enable.click()
      await enable.waitFor({ state: "detached" })
    }
    const beforeAlert = await tones()

    const photos = await drawPhotos(wall.page, "HOT-1234")
    const started = Date.now()
    await ingest(server, apiKey, [readAt("HOT-1234", CAMERAS[0], 0)], photos)
    const answered = Date.now()
    const banner = wall.page.getByRole("article", { name: "Alert HOT-1234" })
    await banner.waitFor()
    const latency = Date.now() - answered
    console.log(`alert banner on the wall ${latency} ms after the ingest answered (${Date.now() - started} ms after the upload began)`)
    expect(latency).toBeLessThan(1_000)
    await expect(banner.textContent()).resolves.toMatch(/Stolen vehicles · Stolen · priority 1.*Entry HOT1234 · Blue Honda Civic.*Main St northbound · Monsey/)
    await wall.page.waitForFunction(() => (window as unknown as { tones: number }).tones > 0)
    expect(await tones()).toBeGreaterThan(beforeAlert)

    // A less urgent list's alert stacks below the most urgent one.
    await ingest(server, apiKey, [readAt("BOL-777", CAMERAS[1], 0)], await drawPhotos(wall.page, "BOL-777"))
    await wall.page.getByRole("listitem", { name: "Alert BOL-777" }).waitFor()
    // which entry matched, and how
    await expect(wall.page.getByRole("listitem", { name: "Alert BOL-777" }).textContent()).resolves.toContain("Wildcard BOL* matched")
    expect(await wall.page.locator("#wall-alerts [aria-label^='Alert']").evaluateAll((els) => els.map((e) => e.getAttribute("aria-label"))))
      .toEqual(["Alert HOT-1234", "Alert BOL-777"])
    await wall.page.waitForFunction(() => Array.from(document.querySelectorAll("img")).every((img) => img.complete))
    await screenshot(wall.page, "wall-wall-alerts")
    const small = await openPage(browser, { url: server.url, cookie: wallUser.cookie, viewport: PHONE })
    await small.page.goto(`${server.url}/wall`)
    await small.page.getByRole("article", { name: "Alert HOT-1234" }).waitFor()
    await small.page.getByRole("listitem", { name: "Alert BOL-777" }).waitFor()
    await screenshot(small.page, "phone-wall-alerts", { fullPage: true })
    await small.context.close()

    // The operator's phone: the alert, acknowledged, then the wall.
    const phone = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport: PHONE })
    await phone.page.goto(`${server.url}/alerts`)
    const card = phone.page.getByRole("article", { name: "Alert HOT-1234, new" })
    await card.waitFor()
    await screenshot(phone.page, "phone-alerts")
    const acknowledged = phone.page.waitForResponse((r) => r.url().endsWith("/acknowledge"))
    await card.getByRole("button", { name: "Acknowledge" }).click()
    await acknowledged
    const clicked = Date.now()
    await banner.waitFor({ state: "detached" })
    const cleared = Date.now() - clicked
    console.log(`wall cleared ${cleared} ms after the phone's acknowledgement was answered`)
    expect(cleared).toBeLessThan(1_000)
    // The other alert takes the banner's place; the acknowledged one stays on the wall, saying who took
    // it and when, until it is resolved (the car may still be out there).
    await wall.page.getByRole("article", { name: "Alert BOL-777" }).waitFor()
    const taken = wall.page.getByRole("listitem", { name: "Alert HOT-1234, acknowledged" })
    await taken.waitFor()
    await expect(taken.textContent()).resolves.toContain(`✓ ${operator.username}`)
    await phone.page.getByText(`Acknowledged by ${operator.username}`).waitFor()

    // Resolved with a note, from the same card.
    const ackCard = phone.page.getByRole("article", { name: "Alert HOT-1234, acknowledged" })
    await ackCard.getByRole("button", { name: "Resolve…" }).click()
    await ackCard.getByLabel("What happened (optional)").fill("Stopped by police on Route 59")
    await ackCard.getByRole("button", { name: "Resolve alert" }).click()
    await phone.page.getByText(/Resolved by .*Stopped by police on Route 59/).waitFor()
    // resolved: gone from the wall
    await taken.waitFor({ state: "detached" })
    await screenshot(phone.page, "phone-alerts-resolved", { fullPage: true })
    expect(await unnamedControls(phone.page)).toEqual([])
    expect(appErrors([...wall.errors, ...phone.errors])).toEqual([])
    await phone.context.close()
    await wall.context.close()
  })

  it("lets a volunteer (a viewer) say they are on the way: the alert stays new, saying who is going", async () => {
    const volunteer = await server.signIn("viewer")
    const { page, errors, context } = await openPage(browser, { url: server.url, cookie: volunteer.cookie, viewport: PHONE })
    // a volunteer lands on the alerts, and no screen offers what the role cannot do
    await page.goto(server.url)
    await page.waitForURL(/\/alerts$/)
    expect(await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Search" }).count()).toBe(0)
    await page.goto(`${server.url}/plate/BOL777`)
    await page.waitForURL(/\/alerts$/)
    const card = page.getByRole("article", { name: "Alert BOL-777, new" })
    await card.waitFor()
    // where it was and the way there, instead of the operator's timeline
    expect(await card.getByRole("link", { name: "Timeline and map" }).count()).toBe(0)
    const [lat, lon] = [CAMERAS[1].location.lat, CAMERAS[1].location.lon]
    expect(await card.getByRole("link", { name: "Directions" }).getAttribute("href"))
      .toBe(`https://www.openstreetmap.org/directions?route=%3B${lat}%2C${lon}`)
    expect(await card.getByRole("link", { name: "Map" }).getAttribute("href")).toContain(`mlat=${lat}&mlon=${lon}`)
    expect(await card.getByRole("button", { name: "Acknowledge" }).count()).toBe(0)
    await card.getByRole("button", { name: "On my way" }).click()
    await card.getByText(`On the way: ${volunteer.username}`).waitFor()
    expect(await card.getByRole("button", { name: "On my way" }).count()).toBe(0)
    const { rows } = await server.db.query("SELECT status, en_route_by_name FROM alerts WHERE plate = 'BOL777'")
    expect(rows).toEqual([{ status: "new", en_route_by_name: volunteer.username }])
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("lists alerts on a wide screen too, filtered by status, and acknowledges with the keyboard", async () => {
    const { page, context } = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport: WALL })
    await page.goto(`${server.url}/alerts`)
    await page.getByRole("article", { name: "Alert BOL-777, new" }).waitFor()
    expect(await page.getByRole("article", { name: /HOT-1234/ }).count()).toBe(0)
    await page.getByLabel("Show").selectOption("resolved")
    await page.getByRole("article", { name: "Alert HOT-1234, resolved" }).waitFor()
    await page.getByLabel("Show").selectOption("all")
    await page.getByRole("article", { name: "Alert BOL-777, new" }).waitFor()
    await screenshot(page, "wall-alerts", { fullPage: true })
    expect(await unnamedControls(page)).toEqual([])

    // From the filter, Tab reaches the newest alert's photo (its read's page), then, in a few steps, its
    // Acknowledge button.
    await page.getByLabel("Show").focus()
    await page.keyboard.press("Tab")
    expect(await page.evaluate(() => document.activeElement?.getAttribute("href"))).toMatch(/^\/read\/\d+$/)
    for (let i = 0; i < 4 && await page.evaluate(() => document.activeElement?.textContent) !== "Acknowledge"; i++) {
      await page.keyboard.press("Tab")
    }
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Acknowledge")
    await page.keyboard.press("Enter")
    await page.getByRole("article", { name: "Alert BOL-777, acknowledged" }).waitFor()
    await context.close()
  })

  it("manages a list from the phone: create, add with the server's checks, CSV import with progress and bad lines, export", async () => {
    const { page, errors, context } = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport: PHONE })
    await page.goto(`${server.url}/lists`)
    await page.getByRole("button", { name: "New list" }).click()
    await page.getByLabel("Name").fill("Hot sheet e2e")
    await page.getByLabel("Priority").selectOption("2")
    await page.getByRole("button", { name: "Create list" }).click()
    await page.getByRole("heading", { name: "Hot sheet e2e" }).waitFor()

    // The value is checked as the server would, with the same words.
    await page.getByLabel("Kind").selectOption("regex")
    await page.getByLabel("Plate or pattern").fill("/AB\\d{3}/")
    await page.getByLabel("Reason", { exact: true }).fill("RPD case 2026-118")
    const expected = Either.match(parseEntryValue("regex", "/AB\\d{3}/"), { onLeft: (problem) => problem, onRight: () => "" })
    expect(expected).not.toBe("")
    await page.getByText(expected).waitFor()
    await screenshot(page, "phone-lists-entry-error", { fullPage: true })
    await page.getByLabel("Plate or pattern").fill("AB\\d{3}")
    await page.getByRole("button", { name: "Add entry" }).click()
    await page.getByText("Added AB\\d{3}.").waitFor()

    // A file big enough to go in several chunks, with one bad line.
    const lines = ["plate,kind,note"]
    for (let i = 0; i < 24_000; i++) lines.push(`IMP${String(i).padStart(5, "0")},exact,imported from the county's daily hot sheet ${i}`)
    lines[5] = "abc,regex,plates are upper case"
    const csv = lines.join("\n") + "\n"
    expect(importChunks(csv).length).toBeGreaterThan(1)
    await page.getByText("Import a CSV file").click()
    await page.evaluate(() => {
      const seen: Array<number> = []
      Object.assign(window, { progress: seen })
      new MutationObserver(() => {
        const bar = document.querySelector<HTMLProgressElement>("#csv-progress")
        if (bar) seen.push(bar.value / bar.max)
      }).observe(document.body, { subtree: true, attributes: true, childList: true })
    })
    await page.getByLabel("CSV file").setInputFiles({ name: "hot.csv", mimeType: "text/csv", buffer: Buffer.from(csv) })
    await page.getByLabel("Reason for lines without one").fill("County hot sheet 3 Dec")
    await page.getByRole("button", { name: "Import", exact: true }).click()
    await page.getByText("Import finished.").waitFor({ timeout: 60_000 })
    await page.getByText("23999 new, 0 updated, 0 unchanged, 1 bad line").waitFor()
    await page.getByRole("list", { name: "Bad lines" }).getByText(/^line 6: /).waitFor()
    const progress = await page.evaluate(() => (window as unknown as { progress: Array<number> }).progress)
    expect(progress.some((p) => p > 0.05 && p < 1), "the bar moved between chunks").toBe(true)
    expect(progress[progress.length - 1]).toBe(1)
    await page.getByRole("list", { name: "Bad lines" }).scrollIntoViewIfNeeded()
    await screenshot(page, "phone-lists-import")
    const { rows } = await server.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM watchlist_entries e JOIN watchlists w ON w.id = e.watchlist_id WHERE w.name = 'Hot sheet e2e'"
    )
    expect(rows[0]!.n).toBe(24_000)

    await page.locator("summary", { hasText: "Export" }).click()
    const download = page.waitForEvent("download")
    await page.getByRole("button", { name: "Download as CSV" }).click()
    const exported = await Fs.readFile(await (await download).path(), "utf8")
    expect(exported.split("\n")[0]).toBe("plate,kind,note,reason,expires_at,added_by,created_at")
    expect(exported).toContain("IMP23999")
    expect(exported.trim().split("\n").length).toBe(24_001)

    // Changing an entry's note, then removing another.
    await page.getByLabel("Find an entry").fill("IMP00041")
    await page.getByRole("button", { name: "Find" }).click()
    await page.getByRole("button", { name: "Edit IMP00041" }).click()
    await page.getByLabel("Note", { exact: true }).fill("seen near the mall")
    await page.getByRole("button", { name: "Save entry" }).click()
    await page.getByText("seen near the mall").waitFor()
    await page.getByLabel("Find an entry").fill("IMP00042")
    await page.getByRole("button", { name: "Find" }).click()
    page.once("dialog", (dialog) => void dialog.accept("recovered"))
    await page.getByRole("button", { name: "Remove IMP00042" }).click()
    await page.getByText("No entry matches.").waitFor()
    expect(await unnamedControls(page)).toEqual([])
    expect(appErrors(errors)).toEqual([])
    await context.close()

    const wide = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport: WALL })
    await wide.page.goto(`${server.url}/lists`)
    await wide.page.getByRole("button", { name: /Hot sheet e2e/ }).click()
    const entries = wide.page.getByRole("list", { name: "Entries" })
    await entries.getByText("IMP23999").waitFor()
    await screenshot(wide.page, "wall-lists")
    // A page at a time, newest first: "More entries" adds the next page below, nothing twice.
    const shown = () => entries.getByRole("listitem").evaluateAll((items) => items.map((item) => item.textContent ?? ""))
    const firstPage = await shown()
    expect(firstPage).toHaveLength(50)
    await wide.page.getByRole("button", { name: "More entries" }).click()
    await wide.page.waitForFunction(() => document.querySelectorAll("[aria-label='Entries'] > li").length === 100)
    const twoPages = await shown()
    expect(twoPages.slice(0, 50)).toEqual(firstPage)
    expect(new Set(twoPages).size).toBe(100)
    await wide.context.close()
  })

  it("makes a Telegram link code and shows how to use it; saves subscriptions", async () => {
    for (const [size, viewport] of [["phone", PHONE], ["wall", WALL]] as const) {
      const { page, errors, context } = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport })
      await page.goto(`${server.url}/telegram`)
      await page.getByText("No chat is linked").waitFor()
      await page.getByRole("button", { name: "Make a link code" }).click()
      const code = await page.getByTestId("link-code").locator("code").first().textContent()
      expect(code?.trim()).toMatch(/^\S{6,}$/)
      await page.getByText(`/start ${code!.trim()}`).waitFor()
      // One tap opens the chat with the bot and the code (scanned as a QR code from a desk).
      const open = page.getByRole("link", { name: "Open @chaverim_alpr_test_bot in Telegram" })
      expect(await open.getAttribute("href")).toBe(`https://t.me/chaverim_alpr_test_bot?start=${code!.trim()}`)
      await page.getByRole("img", { name: `QR code of the link to @chaverim_alpr_test_bot with ${operator.username}'s code` }).waitFor()
      await page.getByLabel("Stolen", { exact: true }).check()
      await page.getByRole("button", { name: "Save subscriptions" }).click()
      await page.getByText("Saved.").waitFor()
      await screenshot(page, `${size}-telegram`, { fullPage: true })
      expect(await unnamedControls(page)).toEqual([])
      expect(appErrors(errors)).toEqual([])
      await context.close()
    }
    const { rows } = await server.db.query("SELECT category FROM telegram_subscriptions WHERE user_id = $1", [operator.userId])
    expect(rows).toEqual([{ category: "stolen" }])
  })

  it("shows the chat once the bot links it with the code, and unlinks it", async () => {
    const volunteer = await server.signIn("viewer")
    const { page, errors, context } = await openPage(browser, { url: server.url, cookie: volunteer.cookie, viewport: PHONE })
    await page.goto(`${server.url}/telegram`)
    await page.getByRole("button", { name: "Make a link code" }).click()
    await page.getByTestId("link-code").waitFor()
    // What the bot does when the volunteer sends the code: the page notices without a reload.
    await server.db.query("INSERT INTO telegram_links (user_id, chat_id, telegram_username) VALUES ($1, 777001, 'volunteer_e2e')",
      [volunteer.userId])
    await page.getByText("Linked to @volunteer_e2e").waitFor({ timeout: 10_000 })
    page.once("dialog", (dialog) => void dialog.accept())
    await page.getByRole("button", { name: "Unlink" }).click()
    await page.getByText("No chat is linked").waitFor()
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("lets an admin manage everyone's lists and see failed Telegram messages", async () => {
    const { rows } = await server.db.query<{ id: string }>("SELECT id::text FROM alerts ORDER BY id LIMIT 1")
    await server.db.query(
      `INSERT INTO telegram_deliveries (alert_id, user_id, chat_id, status, attempts, last_error)
       VALUES ($1, $2, 424242, 'failed', 10, 'Forbidden: bot was blocked by the user')`,
      [rows[0]!.id, operator.userId]
    )
    // An allow list's gate: the admin picks its cameras.
    const gate = await openPage(browser, { url: server.url, cookie: admin.cookie, viewport: WALL })
    await gate.page.goto(`${server.url}/admin/watchlists`)
    await gate.page.getByRole("button", { name: "New list" }).click()
    await gate.page.getByLabel("Name").fill("Depot gate")
    await gate.page.getByLabel("Category").selectOption("allow")
    await gate.page.getByLabel("Main St northbound · Monsey").check()
    await screenshot(gate.page, "wall-admin-watchlists-gate")
    await gate.page.getByRole("button", { name: "Create list" }).click()
    await gate.page.getByRole("heading", { name: "Depot gate" }).waitFor()
    const { rows: gates } = await server.db.query<{ n: number }>("SELECT cardinality(camera_ids) AS n FROM watchlists WHERE name = 'Depot gate'")
    expect(gates).toEqual([{ n: 1 }])
    await gate.context.close()

    for (const [size, viewport] of [["phone", PHONE], ["wall", WALL]] as const) {
      const { page, errors, context } = await openPage(browser, { url: server.url, cookie: admin.cookie, viewport })
      await page.goto(`${server.url}/admin/watchlists`)
      await page.getByRole("button", { name: /Hot sheet e2e/ }).click()
      await page.getByText(`owned by ${operator.username}`).waitFor()
      await page.getByRole("button", { name: "Add entry" }).waitFor()
      await screenshot(page, `${size}-admin-watchlists`)
      await page.goto(`${server.url}/admin/telegram`)
      await page.getByText("Forbidden: bot was blocked by the user").waitFor()
      await screenshot(page, `${size}-admin-telegram`, { fullPage: true })
      expect(await unnamedControls(page)).toEqual([])
      expect(appErrors(errors)).toEqual([])
      await context.close()
    }
  })
  // Last: it leaves twelve alerts open.
  it("holds twelve open alerts at 1080p and 4K: one banner, a queue of two rows, the count, and the reads and map keep their space", async () => {
    const listId = await watch({ name: "Fleet check", category: "of_interest", priority: 3, colour: "#7c3aed" }, "wildcard", "QQ*", "rental fleet")
    const plates = Array.from({ length: 12 }, (_, i) => `QQ-${String(100 + i)}`)
    await ingest(server, apiKey, plates.map((plate, i) => readAt(plate, CAMERAS[i % CAMERAS.length]!, 0)))
    await until(async () => {
      const { rows } = await server.db.query("SELECT count(*)::int AS n FROM alerts WHERE watchlist_id = $1", [listId])
      return rows[0].n === 12 ? true : undefined
    }, "the twelve alerts")
    // three of them taken by the operator
    const { rows: some } = await server.db.query<{ id: string }>(
      "SELECT id::text AS id FROM alerts WHERE watchlist_id = $1 ORDER BY id LIMIT 3", [listId])
    for (const { id } of some) {
      const response = await fetch(`${server.url}/api/v1/alerts/${id}/acknowledge`, {
        method: "POST", headers: { cookie: operator.cookie, "x-csrf-token": operator.csrf }
      })
      expect(response.status).toBe(200)
    }
    for (const [name, viewport] of [["1080p", WALL], ["4k", { width: 3840, height: 2160 }]] as const) {
      const wall = await openPage(browser, { url: server.url, cookie: wallUser.cookie, viewport })
      await wall.page.goto(`${server.url}/wall`)
      await wall.page.getByRole("status").filter({ hasText: "LIVE" }).waitFor()
      const queue = wall.page.locator("#wall-alerts li[aria-label^='Alert']")
      await wall.page.getByText(/^and \d+ more open alerts?$/).waitFor()
      await wall.page.waitForFunction(() => Array.from(document.querySelectorAll("img")).every((img) => img.complete))
      await screenshot(wall.page, `wall-${name}-twelve-alerts`)
      expect(await wall.page.locator("#wall-alerts article").count()).toBe(1)
      expect(await queue.count()).toBe(5)
      // new ones first, then the acknowledged, each saying who took it
      const labels = await queue.evaluateAll((els) => els.map((e) => e.getAttribute("aria-label") ?? ""))
      const firstTaken = labels.findIndex((l) => l.endsWith(", acknowledged"))
      if (firstTaken >= 0) expect(labels.slice(firstTaken).every((l) => l.endsWith(", acknowledged"))).toBe(true)
      // the queue takes three columns on a wall screen, two rows with the count; the map and the live reads keep their space
      const boxes = await queue.evaluateAll((els) => els.map((e) => e.getBoundingClientRect().left))
      expect(new Set(boxes.map((x) => Math.round(x))).size).toBe(3)
      const map = await wall.page.locator(".leaflet-container").boundingBox()
      expect(map!.height, `${name}: map height`).toBeGreaterThan(viewport.height * 0.25)
      const reads = await wall.page.getByRole("heading", { name: "Live reads" }).boundingBox()
      expect(reads!.y + reads!.height, `${name}: live reads on the screen`).toBeLessThan(viewport.height * 0.6)
      const more = await wall.page.getByText(/^and \d+ more open alerts?$/).evaluate((el) => parseFloat(getComputedStyle(el).fontSize))
      expect(more, `${name}: the count is read from across the room`).toBeGreaterThanOrEqual(name === "4k" ? 40 : 24)
      expect(appErrors(wall.errors)).toEqual([])
      await wall.context.close()
    }
  })
})
