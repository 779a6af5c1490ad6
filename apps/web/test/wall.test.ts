import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { checkHealth, postHeartbeat, type SignedIn, startServer, type TestServer } from "../../server/test/harness"
import { appErrors, launch, openPage, PHONE, screenshot, WALL } from "./browser"
import { CAMERAS, drawPhotos, ingest, readAt } from "./fixtures"

let server: TestServer
let browser: Browser
let admin: SignedIn
let apiKey: string

beforeAll(async () => {
  process.env.MAP_TILE_URL = "none"
  ;[server, browser] = await Promise.all([startServer(), launch()])
  admin = await server.signIn("admin")
  apiKey = (await server.collector("Main St")).apiKey
  await server.collector("Route 59 depot")
  // Cameras placed, as an admin would have done, so the wall's map has them.
  await ingest(server, apiKey, CAMERAS.map((camera, i) => readAt(`OLD-00${i}`, camera, 60)))
  for (const camera of CAMERAS) {
    await server.db.query("UPDATE cameras SET lat = $1, lon = $2 WHERE external_id = $3", [camera.location.lat, camera.location.lon, camera.id])
  }
  const heartbeat = await fetch(`${server.url}/api/v1/collectors/heartbeat`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ uptime_seconds: 3600, queue_depth: 12, cameras_online: 3, config_version: "1", edge_version: "0.1.0" })
  })
  if (heartbeat.status !== 200) throw new Error(`heartbeat: ${heartbeat.status} ${await heartbeat.text()}`)
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
  delete process.env.MAP_TILE_URL
})

describe("the wall", () => {
  it("shows a read within moments of its ingest, with collector health and the cameras on the map", async () => {
    const { page, errors, context } = await openPage(browser, { url: server.url, cookie: admin.cookie, viewport: WALL })
    await page.goto(`${server.url}/wall`)
    await page.getByRole("status").filter({ hasText: "LIVE" }).waitFor()
    await page.getByRole("row", { name: /Main St/ }).waitFor()
    const photos = await drawPhotos(page, "WAL-1234")

    const reads = [readAt("WAL-1230", CAMERAS[1], 0.5), readAt("WAL-1231", CAMERAS[2], 0.3), readAt("WAL-1234", CAMERAS[0], 0)]
    const sent = Date.now()
    await ingest(server, apiKey, reads, photos)
    await page.getByRole("article", { name: "Latest read WAL-1234" }).waitFor()
    const latency = Date.now() - sent
    console.log(`read shown on the wall ${latency} ms after the upload began`)
    // About 250 ms here; the bound leaves room for a CI machine busy with the rest of the suite.
    expect(latency).toBeLessThan(3_000)
    await page.waitForFunction(() => document.querySelectorAll(".leaflet-interactive").length >= 3)
    await page.waitForFunction(() => Array.from(document.querySelectorAll("img")).every((img) => img.complete))
    await screenshot(page, "wall-wall")
    expect(await page.getByText("reads today").count() + await page.getByText(/reads since/).count()).toBe(1)
    // read from 5 m: at 1080p no label of the wall's figures, collectors table or map is under 24 px (polled:
    // a map label is drawn anew when its camera lights up, and a label between two draws has no style)
    const px = (locator: ReturnType<typeof page.locator>) => () =>
      locator.first().evaluate((el) => parseFloat(getComputedStyle(el).fontSize)).catch(() => Number.NaN)
    await expect.poll(px(page.getByText(/^reads (today|since)/))).toBeGreaterThanOrEqual(24)
    await expect.poll(px(page.getByText("collectors online"))).toBeGreaterThanOrEqual(24)
    await expect.poll(px(page.getByRole("columnheader", { name: "Last heard" }))).toBeGreaterThanOrEqual(24)
    await expect.poll(px(page.getByRole("row", { name: /Main St/ }).getByRole("cell").first())).toBeGreaterThanOrEqual(24)
    await expect.poll(px(page.locator(".leaflet-tooltip"))).toBeGreaterThanOrEqual(24)
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("opens on the latest reads that came before it, after a load and a reload alike", async () => {
    await ingest(server, apiKey, [readAt("PRE-0001", CAMERAS[0], 0.3), readAt("PRE-0002", CAMERAS[1], 0.2), readAt("PRE-0003", CAMERAS[2], 0.1)])
    const { page, errors, context } = await openPage(browser, { url: server.url, cookie: admin.cookie, viewport: WALL })
    const tiles = () => page.locator("section[aria-labelledby='live-title'] li").evaluateAll((items) =>
      items.map((li) => li.querySelector("p")?.textContent))
    for (const open of [() => page.goto(`${server.url}/wall`), () => page.reload()]) {
      await open()
      // Nothing is read after the load: what the wall shows came before it, newest first.
      await page.getByRole("article", { name: "Latest read PRE-0003" }).waitFor()
      expect((await tiles()).slice(0, 2)).toEqual(["PRE-0002", "PRE-0001"])
      expect(await page.getByText("Waiting for the next read…").count()).toBe(0)
    }
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("says the day of a time that is not today: a read from yesterday never reads as this morning", async () => {
    const { page, errors, context } = await openPage(browser, { url: server.url, cookie: admin.cookie, viewport: WALL })
    await page.goto(`${server.url}/wall`)
    await page.getByRole("status").filter({ hasText: "LIVE" }).waitFor()
    const late = readAt("WAL-0DAY", CAMERAS[0], 26 * 60)
    await ingest(server, apiKey, [late])
    const card = page.getByRole("article", { name: "Latest read WAL-0DAY" })
    await card.waitFor()
    const [day, time, today] = await page.evaluate((iso) => {
      const at = new Date(iso)
      return [
        new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" }).format(at),
        new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" }).format(at),
        new Intl.DateTimeFormat(undefined, { weekday: "short" }).format(new Date())
      ]
    }, late.timestamp)
    const text = (await card.textContent()) ?? ""
    // "Sat, Dec 5, 07:41 PM" (the browser's own words for the day), and not the time alone
    for (const part of day.split(/[ ,]+/).filter(Boolean)) expect(text).toContain(part)
    expect(text).toContain(time)
    expect(text.startsWith(today) && today !== day.split(/[ ,]+/)[0]).toBe(false)
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("lays out on a phone too", async () => {
    const { page, errors, context } = await openPage(browser, { url: server.url, cookie: admin.cookie, viewport: PHONE })
    await page.goto(`${server.url}/wall`)
    await page.getByRole("status").filter({ hasText: "LIVE" }).waitFor()
    await page.getByRole("row", { name: /Main St/ }).waitFor()
    await ingest(server, apiKey, [readAt("WAL-9999", CAMERAS[2], 0)])
    await page.getByRole("article", { name: "Latest read WAL-9999" }).waitFor()
    await screenshot(page, "phone-wall", { fullPage: true })

    const layout = await page.evaluate(() => {
      const box = (element: Element | null) => {
        if (element === null) return null
        const r = element.getBoundingClientRect()
        return { top: r.top + window.scrollY, bottom: r.bottom + window.scrollY, left: r.left, right: r.right, width: r.width, height: r.height }
      }
      const parts = {
        status: document.querySelector("header"),
        today: document.querySelector("section[aria-label='Today']"),
        live: document.querySelector("section[aria-labelledby='live-title']"),
        map: document.querySelector("section[aria-label='Map of cameras']"),
        sites: document.querySelector("section[aria-labelledby='health-title']")
      }
      // Parts that clip what does not fit (overflow: hidden) would hide a too-wide table or plate.
      const clipped = [...Object.values(parts), document.querySelector("article[aria-label='Latest read WAL-9999']")]
        .filter((e): e is Element => e !== null && e.scrollWidth > e.clientWidth + 1)
        .map((e) => e.getAttribute("aria-label") ?? e.getAttribute("aria-labelledby") ?? e.tagName)
      return {
        pageWidth: document.documentElement.scrollWidth,
        viewport: window.innerWidth,
        parts: Object.fromEntries(Object.entries(parts).map(([name, e]) => [name, box(e)])),
        plate: box(Array.from(document.querySelectorAll("article p")).find((p) => p.textContent === "WAL-9999") ?? null),
        live: box(document.querySelector("[role=status]")),
        clipped
      }
    })

    // Nothing scrolls sideways, and nothing is cut off inside its box.
    expect(layout.viewport).toBe(PHONE.width)
    expect(layout.pageWidth).toBeLessThanOrEqual(PHONE.width)
    expect(layout.clipped).toEqual([])
    // The LIVE badge and the newest plate are on screen whole, the plate at a size read at arm's length.
    for (const [name, box] of [["LIVE badge", layout.live], ["plate", layout.plate]] as const) {
      expect(box, name).not.toBeNull()
      expect(box!.left, name).toBeGreaterThanOrEqual(0)
      expect(box!.right, name).toBeLessThanOrEqual(PHONE.width)
      expect(box!.top, name).toBeGreaterThanOrEqual(0)
    }
    expect(layout.live!.bottom).toBeLessThanOrEqual(PHONE.height)
    const menu = await page.getByRole("link", { name: "Menu" }).boundingBox()
    expect(menu, "the way back to the menu").not.toBeNull()
    expect(menu!.x).toBeGreaterThanOrEqual(0)
    expect(menu!.x + menu!.width).toBeLessThanOrEqual(PHONE.width)
    expect(layout.plate!.height).toBeGreaterThanOrEqual(24)
    // One column: every part the full width of the screen less its margins, one under the other in
    // reading order, none overlapping the next.
    const order = ["status", "today", "live", "map", "sites"] as const
    const parts = order.map((name) => ({ name, box: layout.parts[name]! }))
    for (const { name, box } of parts) {
      expect(box, name).not.toBeNull()
      expect(box.left, name).toBeGreaterThanOrEqual(0)
      expect(box.right, name).toBeLessThanOrEqual(PHONE.width)
      expect(box.width, `${name} takes the width`).toBeGreaterThan(PHONE.width * 0.8)
      expect(box.height, `${name} has room`).toBeGreaterThan(20)
    }
    for (let i = 1; i < parts.length; i++) {
      expect(parts[i]!.box.top, `${parts[i]!.name} below ${parts[i - 1]!.name}`).toBeGreaterThanOrEqual(parts[i - 1]!.box.bottom)
    }
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("runs with a viewer's session: live reads with plate crops, collector health, and no refused (audited) calls", async () => {
    const viewer = await server.signIn("viewer")
    const { page, context } = await openPage(browser, { url: server.url, cookie: viewer.cookie, viewport: WALL })
    await page.goto(`${server.url}/wall`)
    await page.getByRole("status").filter({ hasText: "LIVE" }).waitFor()
    await page.getByRole("row", { name: /Main St/ }).waitFor()
    const read = readAt("VWR-0001", CAMERAS[0], 0)
    await ingest(server, apiKey, [read], await drawPhotos(page, "VWR-0001"))
    const latest = page.getByRole("article", { name: "Latest read VWR-0001" })
    // The crop is drawn (a viewer may see it); the scene photo is never asked for.
    await latest.getByRole("img", { name: "Plate VWR-0001" }).waitFor()
    await page.waitForFunction(() =>
      Array.from(document.querySelectorAll<HTMLImageElement>("article img")).some((img) => img.complete && img.naturalWidth > 0))
    const { rows } = await server.db.query("SELECT action FROM audit_log WHERE actor_id = $1 AND outcome = 'denied'", [viewer.userId])
    expect(rows).toEqual([])
    // The crop is asked for under the feed connection's view token, not audited by itself: the
    // connection's rows name it (the last one written as the page goes).
    const src = await latest.getByRole("img", { name: "Plate VWR-0001" }).getAttribute("src")
    expect(src).toMatch(/^\/api\/v1\/detections\/(\d+)\/images\/plate\?view=\d+\.[A-Za-z0-9_-]{43}&event=\d+$/)
    const readId = /detections\/(\d+)\//.exec(src!)![1]!
    await context.close()
    const viewsOf = async () => (await server.db.query(
      "SELECT target, details FROM audit_log WHERE actor_id = $1 AND action = 'image.view' AND outcome = 'success' ORDER BY id",
      [viewer.userId])).rows as Array<{ target: string; details: { via?: string; reads?: Array<string> } }>
    await expect.poll(async () => (await viewsOf()).flatMap((v) => v.details.reads ?? []), { timeout: 10_000 }).toContain(readId)
    const views = await viewsOf()
    expect(views.every((v) => v.details.via === "live"), JSON.stringify(views)).toBe(true)
    expect(views.map((v) => v.target)).not.toContainEqual(expect.stringMatching(/\/scene$/))
  })

  it("asks for a crop once more without its view token when the token is refused, and draws it, audited by itself", async () => {
    const viewer = await server.signIn("viewer")
    const { page, context, errors } = await openPage(browser, { url: server.url, cookie: viewer.cookie, viewport: WALL })
    // Every link under a view token is refused, as one whose view expired while the wall was away.
    const refusedTokens: Array<string> = []
    await page.route(/\/images\/plate\?view=/, (route) => {
      refusedTokens.push(route.request().url())
      return route.fulfill({ status: 403, contentType: "application/json", body: JSON.stringify({ message: "this photo link has expired (after 30 minutes): search again" }) })
    })
    await page.goto(`${server.url}/wall`)
    await page.getByRole("status").filter({ hasText: "LIVE" }).waitFor()
    const read = readAt("EXP-0001", CAMERAS[0], 0)
    await ingest(server, apiKey, [read], await drawPhotos(page, "EXP-0001"))
    const crop = page.getByRole("article", { name: "Latest read EXP-0001" }).getByRole("img", { name: "Plate EXP-0001" })
    await crop.waitFor()
    await page.waitForFunction(() =>
      Array.from(document.querySelectorAll<HTMLImageElement>("article img")).some((img) => img.complete && img.naturalWidth > 0 && !img.src.includes("view=")))
    expect(refusedTokens.some((url) => url.includes("/images/plate?view="))).toBe(true)
    const src = (await crop.getAttribute("src"))!
    expect(src).not.toContain("view=")
    const readId = /detections\/(\d+)\//.exec(src)![1]!
    // The photo asked for by itself is a row of its own.
    await expect.poll(async () => (await server.db.query(
      "SELECT count(*)::int AS n FROM audit_log WHERE actor_id = $1 AND action = 'image.view' AND target = $2 AND outcome = 'success'",
      [viewer.userId, `detection:${readId}/plate`])).rows[0].n, { timeout: 10_000 }).toBe(1)
    expect(appErrors(errors).filter((e) => !e.includes("403"))).toEqual([])
    await context.close()
  })

  it("keeps drawing frames while 50 reads a second arrive", async () => {
    const { page, context } = await openPage(browser, { url: server.url, cookie: admin.cookie, viewport: WALL })
    await page.goto(`${server.url}/wall`)
    await page.getByRole("status").filter({ hasText: "LIVE" }).waitFor()
    await page.evaluate(() => {
      const perf = { long: [] as Array<number>, frames: [] as Array<number>, stop: false }
      Object.assign(window, { perf })
      new PerformanceObserver((list) => list.getEntries().forEach((e) => perf.long.push(e.duration))).observe({ type: "longtask" })
      let last = performance.now()
      const tick = (now: number) => {
        perf.frames.push(now - last)
        last = now
        if (!perf.stop) requestAnimationFrame(tick)
      }
      requestAnimationFrame(tick)
    })
    // 5 seconds at 50 reads a second, in batches of 10 as collectors send them.
    const started = Date.now()
    for (let i = 0; i < 25; i++) {
      await ingest(server, apiKey, Array.from({ length: 10 }, (_, j) => readAt(`FPS-${i}${j}`, CAMERAS[j % 3], 0)))
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + (i + 1) * 200 - Date.now())))
    }
    await page.getByRole("article", { name: "Latest read FPS-249" }).waitFor()
    const { frames, long } = await page.evaluate(() => {
      const perf = (window as unknown as { perf: { long: Array<number>; frames: Array<number>; stop: boolean } }).perf
      perf.stop = true
      return perf
    })
    const sorted = [...frames].sort((a, b) => a - b)
    const p95 = sorted[Math.floor(sorted.length * 0.95)]!
    const fps = frames.length / (frames.reduce((a, b) => a + b, 0) / 1000)
    console.log(`wall at 50 reads/s: ${fps.toFixed(1)} fps, frame p95 ${p95.toFixed(1)} ms, ` +
      `longest frame ${sorted[sorted.length - 1]!.toFixed(1)} ms, ${long.length} long tasks (longest ${Math.max(0, ...long).toFixed(0)} ms)`)
    // A check that it works, not the measurement: the bounds are lenient because in CI the server,
    // PostgreSQL and the browser share two cores with the rest of the suite. The figures to report
    // come from `npm run bench -- wall` (README, Performance).
    expect(Math.max(0, ...long)).toBeLessThan(500)
    expect(fps).toBeGreaterThan(20)
    await context.close()
  })

  it("opens from the offline copy when the server is unreachable, and says so", async () => {
    const { page, context } = await openPage(browser, { url: server.url, cookie: admin.cookie, viewport: WALL })
    await page.goto(`${server.url}/wall`)
    await page.evaluate(() => navigator.serviceWorker.ready)
    await page.reload()
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null)
    await page.getByRole("status").filter({ hasText: "LIVE" }).waitFor()
    await context.setOffline(true)
    await page.reload()
    await page.getByRole("heading", { name: "The server is unreachable" }).waitFor()
    await screenshot(page, "wall-offline")
    // Back online, it recovers by itself (the browser's "online" event, else every 15 s).
    await context.setOffline(false)
    await page.getByRole("status").filter({ hasText: "LIVE" }).waitFor()
    await context.close()
  })

  it("lists the fleet's open health alerts on an admin's wall as they are raised, and drops them when cleared; the panel keeps them", async () => {
    const beat = (aheadMs: number) =>
      postHeartbeat(server, apiKey, {
        uptime_seconds: 3600, queue_depth: 12, cameras_online: 3, edge_version: "0.1.0",
        device_time: new Date(Date.now() + aheadMs).toISOString()
      })
    const check = () => checkHealth(server)
    const { page, context, errors } = await openPage(browser, { url: server.url, cookie: admin.cookie, viewport: WALL })
    await page.goto(`${server.url}/wall`)
    await page.getByRole("status").filter({ hasText: "LIVE" }).waitFor()
    const viewer = await server.signIn("viewer")
    const viewerWall = await openPage(browser, { url: server.url, cookie: viewer.cookie, viewport: WALL })
    await viewerWall.page.goto(`${server.url}/wall`)
    await viewerWall.page.getByRole("status").filter({ hasText: "LIVE" }).waitFor()

    expect((await beat(6_000)).status).toBe(200)
    const { raised } = await check()
    expect(raised.length).toBeGreaterThanOrEqual(1)
    const problems = page.getByRole("list", { name: "Health alerts" })
    const clock = problems.getByRole("listitem").filter({ hasText: "Collector clock off" })
    await clock.getByText(/^Main St: clock ahead by 6\.0 s$/).waitFor()
    await screenshot(page, "wall-health-alert")
    // A viewer's wall is not told.
    expect(await viewerWall.page.getByRole("list", { name: "Health alerts" }).count()).toBe(0)

    // The panel lists it, open, and after it clears, how long it lasted.
    const panel = await openPage(browser, { url: server.url, cookie: admin.cookie, viewport: PHONE })
    await panel.page.goto(`${server.url}/admin/health`)
    await panel.page.getByRole("listitem", { name: "Collector clock off: Main St: clock ahead by 6.0 s" }).getByText(/open for \d+ s/).waitFor()

    expect((await beat(0)).status).toBe(200)
    const { cleared } = await check()
    expect(cleared).toEqual(expect.arrayContaining([...raised]))
    await clock.waitFor({ state: "detached" })
    await panel.page.getByLabel("Show").selectOption("all")
    await panel.page.getByRole("listitem", { name: "Collector clock off: Main St: clock ahead by 6.0 s" }).getByText(/cleared .*, after \d+ s/).waitFor()
    await screenshot(panel.page, "phone-admin-health", { fullPage: true })
    expect(appErrors(errors)).toEqual([])
    await Promise.all([context.close(), viewerWall.context.close(), panel.context.close()])
  })

  it("says it is stale when the server goes away", async () => {
    const { page, context } = await openPage(browser, { url: server.url, cookie: admin.cookie, viewport: WALL })
    await page.goto(`${server.url}/wall`)
    await page.getByRole("status").filter({ hasText: "LIVE" }).waitFor()
    await server.stop()
    await page.getByRole("status").filter({ hasText: /STALE/ }).waitFor({ timeout: 20_000 })
    // impossible to miss: a band in large type, and what it showed dimmed
    const band = page.getByRole("alert").filter({ hasText: /FEED LOST · last data/ })
    await band.waitFor({ timeout: 20_000 })
    expect(await band.evaluate((el) => parseFloat(getComputedStyle(el).fontSize))).toBeGreaterThanOrEqual(30)
    expect(await page.locator("[data-stale=true]").count()).toBe(1)
    expect(await page.locator("#main").evaluate((el) => getComputedStyle(el).opacity)).toBe("0.5")
    await screenshot(page, "wall-stale")
    await context.close()
  })
})
