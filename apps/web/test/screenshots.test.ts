import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type SignedIn, startServer, type TestServer, until } from "../../server/test/harness"
import { appErrors, launch, openPage, screenshot } from "./browser"
import { CAMERAS, drawPhotos, ingest, readAt, startTileServer, watchlist } from "./fixtures"

/**
 * Every main page at the widths people use (a phone, a laptop, a control-room 1080p and 4K screen), with a
 * day's worth of reads and a dozen open alerts: nothing may run off the side of the screen, no page may log an
 * error, and each is photographed (artifacts/web/shot-<page>-<width>.png; with SCREENSHOTS_DIR set, there
 * too: `SCREENSHOTS_DIR=docs/screenshots npx vitest run apps/web/test/screenshots.test.ts` renews the README's).
 */

const WIDTHS = [
  { width: 390, height: 844 },
  { width: 1440, height: 900 },
  { width: 1920, height: 1080 },
  { width: 3840, height: 2160 }
] as const

let server: TestServer
let browser: Browser
let tiles: Awaited<ReturnType<typeof startTileServer>>
let operator: SignedIn
let admin: SignedIn
let viewer: SignedIn
let apiKey: string
let firstReadId: string

const HOT = ["HOT1234", "STL0N99", "BOL7721", "BOL7730", "VAN4410", "KEY9981", "RED5512", "GRY2277", "TRK6630", "BLU8814", "WHT3390", "SLV4471"]
const EVERYDAY = ["ABC1234", "XYZ9876", "JKL4455", "MNO7788", "PQR2211", "DEF6543", "GHI3210", "STU8080"]

const watch = (name: string, category: string, priority: number, colour: string, values: ReadonlyArray<string>) =>
  watchlist(server, { name, category, priority, colour }, values.map((value) => ({ kind: "exact", value, note: `Seen near the ${category} report` })))

beforeAll(async () => {
  tiles = await startTileServer()
  process.env.MAP_TILE_URL = tiles.url
  ;[server, browser] = await Promise.all([startServer(), launch()])
  ;[operator, admin, viewer] = [await server.signIn("operator"), await server.signIn("admin"), await server.signIn("viewer")]
  apiKey = (await server.collector("Main St box")).apiKey
  await server.collector("Route 59 box")
  await watch("Stolen vehicles", "stolen", 1, "#b91c1c", HOT.slice(0, 6))
  await watch("Be on the lookout", "bolo", 2, "#d97706", HOT.slice(6))

  // Photos drawn once by the browser and shared by the reads (each read still stores its own copy).
  const { page, context } = await openPage(browser, { url: server.url })
  await page.goto(`${server.url}/transparency`)
  const photos = await drawPhotos(page, "ABC 1234")
  await context.close()

  // Three days of everyday traffic at three cameras, then the twelve watched plates in the last hour.
  const everyday = EVERYDAY.flatMap((plate, p) =>
    CAMERAS.map((camera, c) => readAt(plate, camera, 30 + p * 97 + c * 13 + (p % 3) * 24 * 60)))
  await ingest(server, apiKey, everyday, photos)
  for (const camera of CAMERAS) {
    await server.db.query("UPDATE cameras SET site = $1 WHERE external_id = $2", [camera.id === "cam-college" ? "College" : "Monsey", camera.id])
  }
  await ingest(server, apiKey, HOT.map((plate, i) => readAt(plate, CAMERAS[i % CAMERAS.length]!, 50 - i * 4)), photos)
  await until(async () => Number((await server.db.query("SELECT count(*) FROM alerts")).rows[0].count) >= HOT.length ? true : undefined,
    "an alert for each watched plate")
  // One taken by an operator: the wall keeps it, saying who.
  const { rows } = await server.db.query<{ id: string }>("SELECT id FROM alerts ORDER BY id LIMIT 1")
  const taken = await fetch(`${server.url}/api/v1/alerts/${rows[0]!.id}/acknowledge`, {
    method: "POST", headers: { cookie: operator.cookie, "x-csrf-token": operator.csrf }
  })
  expect(taken.status).toBe(200)
  firstReadId = (await server.db.query<{ id: string }>("SELECT id::text FROM detections ORDER BY detected_at DESC LIMIT 1")).rows[0]!.id
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await server?.close()
  await tiles?.close()
  delete process.env.MAP_TILE_URL
})

interface Shot {
  readonly name: string
  readonly path: () => string
  readonly who: () => SignedIn
  /** what shows that the page has what it is about */
  readonly ready: (page: Page) => Promise<unknown>
}

const REASON = { code: "investigation", text: "Screenshots of the product", caseNumber: "2026-118" }

const SHOTS: ReadonlyArray<Shot> = [
  { name: "home", path: () => "/", who: () => operator, ready: (page) => page.getByRole("heading", { level: 1 }).first().waitFor() },
  {
    name: "search", path: () => "/?plate=BOL77*&mode=partial", who: () => operator,
    ready: (page) => page.getByRole("status").filter({ hasText: /read|plate/ }).first().waitFor()
  },
  { name: "plate", path: () => "/plate/ABC1234", who: () => operator, ready: (page) => page.getByRole("heading", { name: /ABC/ }).first().waitFor() },
  { name: "read", path: () => `/read/${firstReadId}`, who: () => operator, ready: (page) => page.getByRole("heading", { level: 1 }).first().waitFor() },
  { name: "places", path: () => "/places", who: () => operator, ready: (page) => page.getByRole("heading", { level: 1 }).first().waitFor() },
  { name: "known", path: () => "/known", who: () => operator, ready: (page) => page.getByRole("heading", { level: 1 }).first().waitFor() },
  { name: "alerts", path: () => "/alerts", who: () => operator, ready: (page) => page.getByRole("article").first().waitFor() },
  { name: "alerts-viewer", path: () => "/alerts", who: () => viewer, ready: (page) => page.getByRole("article").first().waitFor() },
  {
    name: "wall", path: () => "/wall", who: () => admin,
    ready: (page) => page.getByRole("status").filter({ hasText: "LIVE" }).waitFor()
  },
  { name: "admin-collectors", path: () => "/admin/collectors", who: () => admin, ready: (page) => page.getByRole("heading", { level: 1 }).first().waitFor() }
]

const overflow = (page: Page) =>
  page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, viewport: window.innerWidth }))

describe("every main page at 390, 1440, 1920 and 3840 px", () => {
  for (const viewport of WIDTHS) {
    it(`fits ${viewport.width} px wide without an error`, async () => {
      const problems: Array<string> = []
      for (const shot of SHOTS) {
        const { page, errors, context } = await openPage(browser, { url: server.url, cookie: shot.who().cookie, viewport })
        await page.addInitScript((reason) => window.sessionStorage.setItem("alpr.reason", JSON.stringify(reason)), REASON)
        await page.goto(`${server.url}${shot.path()}`)
        const shown = await shot.ready(page).then(() => true, (error: unknown) => {
          problems.push(`${shot.name}: never ready (${String(error).split("\n")[0]})`)
          return false
        })
        if (!shown) {
          await screenshot(page, `shot-${shot.name}-${viewport.width}-not-ready`)
          await context.close()
          continue
        }
        // Photos (asked for after a moment on screen) and map tiles in, or given up on.
        await page.waitForTimeout(1_200)
        await page.waitForFunction(() => Array.from(document.images).every((img) => img.complete), undefined, { timeout: 10_000 }).catch(() => {})
        const { scroll, viewport: inner } = await overflow(page)
        if (scroll > inner + 1) problems.push(`${shot.name}: ${scroll} px wide in a ${inner} px window`)
        const logged = appErrors(errors)
        if (logged.length > 0) problems.push(`${shot.name}: ${logged.join("; ")}`)
        const file = await screenshot(page, `shot-${shot.name}-${viewport.width}`)
        if (process.env.SCREENSHOTS_DIR) {
          await Fs.mkdir(process.env.SCREENSHOTS_DIR, { recursive: true })
          await Fs.copyFile(file, Path.join(process.env.SCREENSHOTS_DIR, `${shot.name}-${viewport.width}.png`))
        }
        await context.close()
      }
      expect(problems).toEqual([])
    }, 180_000)
  }
})
