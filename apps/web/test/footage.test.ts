import type { FootageSettings } from "@chaverim/server/Config"
import * as Option from "effect/Option"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FakeRecogniser, startFakeCodeProject } from "../../../test-support/FakeRecognisers"
import { makeColourPhoto, makeColourVideo } from "../../../test-support/Footage"
import { drained } from "../../server/test/alertHarness"
import { type SignedIn, startServer, type TestServer, until } from "../../server/test/harness"
import { appErrors, DESKTOP, launch, openPage, PHONE, screenshot, unnamedControls } from "./browser"
import { watchlist } from "./fixtures"

/**
 * Footage from the web app (issue 20): an operator uploads a video from a phone, follows its job to the
 * reads it found, and reviews the read with the keyboard; only then does it alert. The server reads
 * footage with an HTTP recogniser: a local server speaking CodeProject.AI's protocol, for which a red
 * scene is a car with the plate WEB1234.
 */

let server: TestServer
let browser: Browser
let recogniser: FakeRecogniser
let operator: SignedIn
let dir: string
const ROOT = fileURLToPath(new URL("../../../", import.meta.url))

const footage: FootageSettings = {
  recogniser: "codeproject",
  recogniserUrl: Option.none(),
  recogniserToken: Option.none(),
  recogniserRegions: [],
  fps: 2,
  jobWorkers: 1,
  jobLeaseSeconds: 3
}

beforeAll(async () => {
  process.env.MAP_TILE_URL = "none"
  dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-web-footage-"))
  recogniser = await startFakeCodeProject({ red: { plate: "WEB1234", confidence: 0.9, box: [100, 120, 160, 40] } })
  ;[server, browser] = await Promise.all([
    startServer({ footage: { ...footage, recogniserUrl: Option.some(recogniser.url) } }),
    launch(),
    makeColourVideo(Path.join(dir, "clip.mp4"), [{ colour: "red", seconds: 2 }, { colour: "black", seconds: 1 }], {
      creationTime: new Date(Date.now() - 3_600_000).toISOString()
    }),
    makeColourPhoto(Path.join(dir, "parked.jpg"), "blue")
  ])
  operator = await server.signIn("operator")
  await watchlist(server, { name: "Stolen vehicles", category: "stolen", priority: 1, colour: "#b91c1c" },
    [{ kind: "exact", value: "WEB1234", note: "Grey hatchback" }])
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await server?.close()
  await recogniser?.close()
  if (dir !== undefined) await Fs.rm(dir, { recursive: true, force: true })
  delete process.env.MAP_TILE_URL
})

const alertsFor = async (plate: string) =>
  (await server.db.query<{ n: number }>("SELECT count(*)::int AS n FROM alerts WHERE plate = $1", [plate])).rows[0]!.n

describe("footage in the web app", () => {
  it("uploads a video from a phone, shows its job's reads, and a read alerts only once reviewed with the keyboard", async () => {
    const { page, errors, context } = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport: PHONE })
    await page.goto(server.url)
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Footage" }).click()
    await page.getByRole("heading", { name: "Footage", level: 1 }).waitFor()
    await page.getByText("No footage uploaded yet.").waitFor()
    await page.getByLabel("Photo or video").setInputFiles(Path.join(dir, "clip.mp4"))
    await page.getByLabel("Camera").fill("Elm St doorbell")
    await page.getByLabel("Why it is uploaded").fill("hit and run, case 2026-118")
    await page.getByRole("button", { name: "Upload" }).click()

    // the upload reaches its end, then its job runs to the read
    await page.getByText(/^Uploaded .* \(100%\)\.$/).waitFor()
    const job = page.getByRole("region", { name: "Reading clip.mp4" })
    await job.getByText("done", { exact: true }).waitFor({ timeout: 60_000 })
    const read = job.getByRole("list", { name: "Reads found" }).getByRole("link", { name: /WEB1234/ })
    await read.waitFor()
    expect(await read.getAttribute("href")).toMatch(/^\/read\/\d+$/)
    // and the footage list has it, done
    await page.getByRole("list", { name: "Footage jobs" }).getByRole("listitem", { name: "clip.mp4, done" }).waitFor()
    await screenshot(page, "phone-footage", { fullPage: true })
    expect(await unnamedControls(page)).toEqual([])

    const { rows: [stored] } = await server.db.query(
      "SELECT f.uploaded_via, f.reason, f.starts_from, c.name AS camera FROM footage f JOIN cameras c ON c.id = f.camera_id")
    expect(stored).toEqual({ uploaded_via: "web", reason: "hit and run, case 2026-118", starts_from: "container", camera: "Elm St doorbell" })
    // the read waits for review: no alert yet, once the engine has seen it
    await drained(server.databaseUrl)
    expect((await server.db.query("SELECT reason FROM pending_reviews")).rows).toEqual([{ reason: "footage" }])
    expect(await alertsFor("WEB1234")).toBe(0)
    expect(appErrors(errors)).toEqual([])
    await context.close()

    // At a desk: the review queue, by the keyboard.
    const desk = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport: DESKTOP })
    await desk.page.goto(`${server.url}/footage`)
    const menuLink = desk.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Review (1 waiting)" })
    await menuLink.click()
    await desk.page.getByRole("heading", { name: /^Review/, level: 1 }).waitFor()
    const waiting = desk.page.getByRole("region", { name: "Waiting read" })
    await waiting.getByText("WEB1234").first().waitFor()
    await waiting.getByText("from footage").waitFor()
    await waiting.getByText("Elm St doorbell").waitFor()
    await desk.page.getByRole("img", { name: "Plate crop of the read WEB1234" }).waitFor()
    // the scene photo asks for a reason first (its view is audited with it)
    await waiting.getByRole("button", { name: "Show the scene photo" }).click()
    await desk.page.getByLabel("Reason", { exact: true }).selectOption({ index: 1 })
    await desk.page.getByRole("button", { name: "Continue" }).click()
    const scene = desk.page.getByRole("img", { name: /^Scene photo of the read WEB1234/ })
    await scene.waitFor()
    await desk.page.waitForFunction(() => Array.from(document.images).every((img) => img.complete && img.naturalWidth > 0))
    await desk.page.getByText("confirm: the read is right").waitFor()
    await screenshot(desk.page, "desktop-review", { fullPage: true })
    expect(await unnamedControls(desk.page)).toEqual([])

    // Enter confirms; the queue is empty, and the read alerts now
    await desk.page.keyboard.press("Enter")
    await desk.page.getByText("Confirmed WEB1234.").waitFor()
    await waiting.getByText("Nothing waits for review.").waitFor()
    expect(await desk.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: /Review/ }).textContent()).toBe("Review")
    await until(async () => (await alertsFor("WEB1234")) === 1 || undefined, "the alert on WEB1234", 30_000)
    const { rows: [correction] } = await server.db.query(
      "SELECT c.action, c.username AS by FROM corrections c JOIN detections d ON d.id = c.detection_id WHERE d.plate = 'WEB1234'")
    expect(correction).toEqual({ action: "confirm", by: operator.username })
    expect((await server.db.query("SELECT count(*)::int AS n FROM pending_reviews")).rows[0].n).toBe(0)
    expect(appErrors(desk.errors)).toEqual([])
    await desk.context.close()
  }, 120_000)

  it("goes on after chunks lost on the way and an answer lost on the way back, sending nothing twice", async () => {
    const { page, errors, context } = await openPage(browser, {
      url: server.url,
      cookie: operator.cookie,
      viewport: PHONE,
      // no service worker, so that the page's requests pass the interception below; a zone of its own
      context: { serviceWorkers: "block", timezoneId: "America/New_York" }
    })
    const patches: Array<string> = []
    let statusAsked = 0
    await page.route(/\/api\/v1\/footage\/uploads\/[0-9a-f-]+$/, async (route) => {
      if (route.request().method() === "GET") statusAsked++
      if (route.request().method() !== "PATCH") return route.continue()
      patches.push(route.request().headers()["upload-offset"] ?? "")
      // the first chunk never arrives; the second does, but its answer is lost
      if (patches.length === 1) return route.abort("connectionreset")
      if (patches.length === 2) {
        await route.fetch()
        return route.abort("connectionreset")
      }
      return route.continue()
    })
    await page.goto(`${server.url}/footage`)
    await page.getByRole("heading", { name: "Footage", level: 1 }).waitFor()
    await page.getByLabel("Photo or video").setInputFiles(Path.join(dir, "parked.jpg"))
    await page.getByLabel("Camera").fill("Patrol phone")
    await page.getByLabel("Why it is uploaded").fill("a parked car, case 2026-119")
    // a photo says nothing of its time: it is given, in the browser's zone
    await page.getByLabel("When it starts (optional)").fill("2026-12-01T10:00:05")
    await page.getByLabel("Latitude").fill("41.1143")
    await page.getByLabel("Longitude").fill("-74.0435")
    await page.getByRole("button", { name: "Upload" }).click()
    await page.getByText(/^Uploaded .* \(100%\)\.$/).waitFor({ timeout: 30_000 })
    const job = page.getByRole("region", { name: "Reading parked.jpg" })
    await job.getByText("No plate found in 1 frame.").waitFor({ timeout: 60_000 })

    expect(patches).toEqual(["0", "0"])
    expect(statusAsked).toBeGreaterThanOrEqual(2)
    const { rows } = await server.db.query(
      `SELECT f.media, f.starts_at, f.starts_from, c.lat, c.lon FROM footage f JOIN cameras c ON c.id = f.camera_id
        WHERE c.name = 'Patrol phone'`)
    expect(rows).toEqual([{ media: "photo", starts_at: new Date("2026-12-01T15:00:05Z"), starts_from: "uploader", lat: 41.1143, lon: -74.0435 }])
    expect(appErrors(errors)).toEqual([])
    await context.close()
  }, 120_000)

  it("asks the server again to take the file in when its take-in was held up, and gets one footage", async () => {
    const { page, errors, context } = await openPage(browser, {
      url: server.url,
      cookie: operator.cookie,
      viewport: PHONE,
      context: { serviceWorkers: "block" }
    })
    let completeAsked = 0
    let held: string | undefined
    await page.route(/\/api\/v1\/footage\/uploads\/[0-9a-f-]+(\/complete)?$/, async (route) => {
      const url = new URL(route.request().url())
      if (url.pathname.endsWith("/complete")) completeAsked++
      if (route.request().method() === "PATCH") {
        // another server has claimed the take-in (or died at it): the last chunk's answer says so
        held = url.pathname.split("/").at(-1)!
        await server.db.query("UPDATE footage_uploads SET completing_until = now() + interval '1 minute' WHERE id = $1", [held])
      }
      return route.continue()
    })
    await page.goto(`${server.url}/footage`)
    // a phone's HEIC photo, its time in its EXIF
    await page.getByLabel("Photo or video").setInputFiles(Path.join(ROOT, "packages/server/test/fixtures/heic/car-plate-720x960.heic"))
    await page.getByLabel("Camera").fill("Patrol phone 2")
    await page.getByLabel("Why it is uploaded").fill("a take-in held up, case 2026-120")
    await page.getByRole("button", { name: "Upload" }).click()
    await until(async () => held, "the last chunk sent", 30_000)
    await page.getByText(/the server is taking the file in/).waitFor({ timeout: 30_000 })
    expect(await page.getByText(/Reconnecting/).count()).toBe(0)
    // the claim lapses: the page asks for the take-in itself
    await server.db.query("UPDATE footage_uploads SET completing_until = now() - interval '1 second' WHERE id = $1", [held])
    const job = page.getByRole("region", { name: "Reading car-plate-720x960.heic" })
    await job.getByText(/in 1 frame/).waitFor({ timeout: 60_000 })
    expect(completeAsked).toBe(1)
    const { rows } = await server.db.query(
      "SELECT f.content_type, f.starts_at FROM footage f JOIN cameras c ON c.id = f.camera_id WHERE c.name = 'Patrol phone 2'")
    expect(rows).toEqual([{ content_type: "image/heic", starts_at: new Date("2024-05-12T11:30:05Z") }])
    expect(appErrors(errors)).toEqual([])
    await context.close()
  }, 120_000)

  it("is not a viewer's: the pages lead a volunteer to the alerts, and the menu does not offer them", async () => {
    const viewer = await server.signIn("viewer")
    const { page, context } = await openPage(browser, { url: server.url, cookie: viewer.cookie, viewport: PHONE })
    for (const path of ["/footage", "/review"]) {
      await page.goto(`${server.url}${path}`)
      await page.getByRole("heading", { name: "Alerts", level: 1 }).waitFor()
      expect(new URL(page.url()).pathname).toBe("/alerts")
    }
    const menu = page.getByRole("navigation", { name: "Main" })
    expect(await menu.getByRole("link", { name: "Footage" }).count()).toBe(0)
    expect(await menu.getByRole("link", { name: /Review/ }).count()).toBe(0)
    await context.close()
  })
})
