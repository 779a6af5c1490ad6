import type { FootageSettings } from "@chaverim/server/Config"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FakeRecogniser, startFakePlateRecognizer } from "../../../test-support/FakeRecognisers"
import { makeColourPhoto, makeColourVideo } from "../../../test-support/Footage"
import { drained } from "../../server/test/alertHarness"
import { type SignedIn, startServer, type TestServer, until } from "../../server/test/harness"
import { describeViolations, runAxe } from "./axe"
import { appErrors, DESKTOP, launch, openPage, PHONE, unnamedControls } from "./browser"
import { watchlist } from "./fixtures"

/**
 * The review queue by the keyboard (issue 20), beyond Enter: a candidate's number corrects the read to
 * that reading, E corrects it by typing, X and R reject it, J and K move between the waiting reads. Each
 * decision is a correction; the read leaves the queue; a corrected read alerts by its corrected plate,
 * a rejected one alerts no one. The reads come through the real footage pipeline: an uploaded video,
 * read by a local server speaking Plate Recognizer's protocol (which gives each reading's candidates),
 * where each colour is a vehicle.
 */

const TOKEN = "pr-review-token"

let server: TestServer
let browser: Browser
let recogniser: FakeRecogniser
let operator: SignedIn
let dir: string

beforeAll(async () => {
  process.env.MAP_TILE_URL = "none"
  dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-web-review-"))
  recogniser = await startFakePlateRecognizer({
    // the second candidate is the plate on the list (key 2)
    red: { plate: "HXR4821", confidence: 0.74, box: [100, 120, 160, 40], candidates: [{ plate: "HXR4871", confidence: 0.55 }, { plate: "HXR4827", confidence: 0.41 }] },
    // corrected by typing (E)
    green: { plate: "MPK3390", confidence: 0.7, box: [120, 140, 160, 40] },
    // on the list as read, rejected (X, then R)
    blue: { plate: "TWN5150", confidence: 0.68, box: [140, 160, 160, 40] },
    white: { plate: "YRV7070", confidence: 0.66, box: [160, 180, 160, 40] }
  }, TOKEN)
  ;[server, browser] = await Promise.all([
    startServer({ footage: footageSettings(1) }),
    launch(),
    makeColourVideo(Path.join(dir, "clip.mp4"), [
      { colour: "red", seconds: 2 },
      { colour: "black", seconds: 1 },
      { colour: "green", seconds: 2 },
      { colour: "black", seconds: 1 },
      { colour: "blue", seconds: 2 },
      { colour: "black", seconds: 1 },
      { colour: "white", seconds: 2 }
    ], { creationTime: new Date(Date.now() - 3_600_000).toISOString() })
  ])
  operator = await server.signIn("operator")
  await watchlist(server, { name: "Stolen vehicles", category: "stolen", priority: 1, colour: "#b91c1c" }, [
    { kind: "exact", value: "HXR4827", note: "Blue van" },
    { kind: "exact", value: "MPK3396", note: "Silver sedan" },
    { kind: "exact", value: "TWN5150", note: "Red pickup" },
    { kind: "exact", value: "YRV7070", note: "Black SUV" }
  ])
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await server?.close()
  await recogniser?.close()
  if (dir !== undefined) await Fs.rm(dir, { recursive: true, force: true })
  delete process.env.MAP_TILE_URL
})

/** Footage read by the fake Plate Recognizer (its candidates offered), with this many job workers. */
const footageSettings = (jobWorkers: number): FootageSettings => ({
  recogniser: "platerecognizer",
  recogniserUrl: Option.some(recogniser.url),
  recogniserToken: Option.some(Redacted.make(TOKEN)),
  recogniserRegions: [],
  fps: 2,
  jobWorkers,
  jobLeaseSeconds: 3
})

const alertsFor = async (plate: string) =>
  (await server.db.query<{ n: number }>("SELECT count(*)::int AS n FROM alerts WHERE plate = $1", [plate])).rows[0]!.n

/** The video uploaded over HTTP in one chunk, as the web app's uploader sends it; its job runs on the server. */
const upload = async (file: string) => {
  const bytes = new Uint8Array(await Fs.readFile(file))
  const headers = { cookie: operator.cookie, "x-csrf-token": operator.csrf }
  const begun = await fetch(`${server.url}/api/v1/footage/uploads`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify({ camera_name: "Depot gate", reason: "review keys, case 2026-130", file_name: "clip.mp4", size_bytes: bytes.length })
  })
  expect(begun.status).toBe(201)
  const { upload_id } = (await begun.json()) as { upload_id: string }
  const sent = await fetch(`${server.url}/api/v1/footage/uploads/${upload_id}`, {
    method: "PATCH",
    headers: { ...headers, "content-type": "application/offset+octet-stream", "upload-offset": "0" },
    body: bytes
  })
  expect(sent.status).toBe(200)
  return (await sent.json()) as { job_id: string; footage_id: string }
}

describe("the review queue by the keyboard", () => {
  it("corrects to a candidate by its number, corrects by typing, rejects with X and R, and moves with J and K", async () => {
    const { job_id } = await upload(Path.join(dir, "clip.mp4"))
    const job = await until(async () => {
      const { rows: [row] } = await server.db.query("SELECT status, result FROM jobs WHERE id = $1", [job_id])
      return row.status === "done" || row.status === "failed" ? row : undefined
    }, "the footage job ended", 60_000)
    expect(job.status).toBe("done")
    expect(job.result.reads.map((r: { plate: string }) => r.plate)).toEqual(["HXR4821", "MPK3390", "TWN5150", "YRV7070"])
    // the reads wait for review: no alert, not even on the plates that are on the list as read
    await drained(server.databaseUrl)
    expect((await server.db.query("SELECT count(*)::int AS n FROM pending_reviews WHERE reason = 'footage'")).rows[0].n).toBe(4)
    expect((await server.db.query("SELECT count(*)::int AS n FROM alerts")).rows[0].n).toBe(0)

    const { rows: reads } = await server.db.query<{ id: string; plate: string }>(
      "SELECT id::text AS id, plate FROM detections WHERE raw->'source'->>'kind' = 'footage'")
    const readId = (plate: string) => reads.find((r) => r.plate === plate)!.id
    const { page, errors, context } = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport: DESKTOP })
    await page.goto(`${server.url}/review`)
    await page.getByRole("heading", { name: "Review · 4 waiting", level: 1 }).waitFor()
    const waiting = page.getByRole("region", { name: "Waiting read" })
    /** The read shown: its plate, and where it stands among those waiting. */
    const shows = async (plate: string, position: string) => {
      await waiting.getByText(position, { exact: true }).waitFor()
      await waiting.getByText(plate, { exact: true }).first().waitFor()
      expect(await waiting.getByRole("link", { name: "Open the read's page" }).getAttribute("href")).toBe(`/read/${readId(plate)}`)
    }

    // oldest first, its other readings offered by number
    await shows("HXR4821", "1 of 4")
    const others = waiting.getByRole("list", { name: "Other readings" })
    expect(await others.getByRole("button").evaluateAll((buttons) => buttons.map((b) => b.textContent?.replace(/\s+/g, " ").trim())))
      .toEqual(["1 HXR4871 55%", "2 HXR4827 41%"])
    expect(await unnamedControls(page)).toEqual([])
    expect(describeViolations("review", await runAxe(page))).toBe("")

    // J and K move, within the queue's ends
    await page.keyboard.press("j")
    await shows("MPK3390", "2 of 4")
    expect(await waiting.getByRole("list", { name: "Other readings" }).count()).toBe(0)
    await page.keyboard.press("J")
    await shows("TWN5150", "3 of 4")
    await page.keyboard.press("k")
    await shows("MPK3390", "2 of 4")
    await page.keyboard.press("K")
    await shows("HXR4821", "1 of 4")
    await page.keyboard.press("k")
    await shows("HXR4821", "1 of 4")

    // 5: there is no fifth reading, so nothing; 2: the second reading is the correction
    await page.keyboard.press("5")
    await page.keyboard.press("2")
    await page.getByText(/^Corrected to HXR4827: the read HXR4821 of /).waitFor()
    await page.getByRole("heading", { name: "Review · 3 waiting", level: 1 }).waitFor()
    await shows("MPK3390", "1 of 3")

    // E: the plate to type, as read; Esc leaves it as it was
    await page.keyboard.press("e")
    const typed = page.getByRole("form", { name: "Correct the plate" }).getByLabel("Correct plate")
    await typed.waitFor()
    expect(await typed.inputValue()).toBe("MPK3390")
    expect(describeViolations("review-edit", await runAxe(page))).toBe("")
    await page.keyboard.press("Escape")
    await typed.waitFor({ state: "detached" })
    await shows("MPK3390", "1 of 3")
    // E again: typed over (the plate is selected), Enter saves it; the keys typed are the field's
    await page.keyboard.press("E")
    await typed.waitFor()
    await page.keyboard.type("mpk3396")
    expect(await typed.inputValue()).toBe("mpk3396")
    await page.keyboard.press("Enter")
    // the notice says the plate as stored, not as typed
    await page.getByText(/^Corrected to MPK3396: the read MPK3390 of /).waitFor()
    await shows("TWN5150", "1 of 2")

    // X rejects; so does R
    await page.keyboard.press("x")
    await page.getByText("Rejected TWN5150.", { exact: true }).waitFor()
    await shows("YRV7070", "1 of 1")
    await page.keyboard.press("R")
    await page.getByText("Rejected YRV7070.", { exact: true }).waitFor()
    await waiting.getByText("Nothing waits for review.").waitFor()
    expect(await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: /Review/ }).textContent()).toBe("Review")

    // each decision is a correction by the operator; none is left waiting
    const { rows: corrections } = await server.db.query(
      `SELECT d.plate AS read, c.action, c.plate, c.username AS by FROM corrections c JOIN detections d ON d.id = c.detection_id
        ORDER BY c.id`)
    expect(corrections).toEqual([
      { read: "HXR4821", action: "correct", plate: "HXR4827", by: operator.username },
      { read: "MPK3390", action: "correct", plate: "MPK3396", by: operator.username },
      { read: "TWN5150", action: "reject", plate: null, by: operator.username },
      { read: "YRV7070", action: "reject", plate: null, by: operator.username }
    ])
    expect((await server.db.query("SELECT count(*)::int AS n FROM pending_reviews")).rows[0].n).toBe(0)

    // the corrected reads alert by the plates as corrected; the rejected ones alert no one
    await until(async () => (await alertsFor("HXR4827")) === 1 && (await alertsFor("MPK3396")) === 1 || undefined, "the alerts on the corrected plates", 30_000)
    await drained(server.databaseUrl)
    const { rows: alerts } = await server.db.query("SELECT plate FROM alerts ORDER BY plate")
    expect(alerts.map((a) => a.plate)).toEqual(["HXR4827", "MPK3396"])
    expect(appErrors(errors)).toEqual([])
    await context.close()
  }, 120_000)
})

describe("a footage job cancelled from the web app", () => {
  // A server that runs no job workers: the job of what is uploaded to it waits until it is cancelled.
  let idle: TestServer
  beforeAll(async () => {
    ;[idle] = await Promise.all([
      startServer({ footage: footageSettings(0) }),
      makeColourPhoto(Path.join(dir, "parked.jpg"), "red")
    ])
  }, 120_000)
  afterAll(async () => {
    await idle?.close()
  })

  it("stops a job waiting to start with its Cancel button: the job is cancelled at once, and the list says so", async () => {
    const uploader = await idle.signIn("operator")
    const { page, errors, context } = await openPage(browser, { url: idle.url, cookie: uploader.cookie, viewport: PHONE })
    await page.goto(`${idle.url}/footage`)
    await page.getByRole("heading", { name: "Footage", level: 1 }).waitFor()
    await page.getByLabel("Photo or video").setInputFiles(Path.join(dir, "parked.jpg"))
    await page.getByLabel("Camera").fill("Front desk")
    await page.getByLabel("Why it is uploaded").fill("uploaded by mistake, case 2026-131")
    await page.getByLabel("When it starts (optional)").fill("2026-12-01T10:00:05")
    await page.getByRole("button", { name: "Upload" }).click()
    await page.getByText(/^Uploaded .* \(100%\)\.$/).waitFor({ timeout: 30_000 })

    const job = page.getByRole("region", { name: "Reading parked.jpg" })
    await job.getByText("waiting to start", { exact: true }).waitFor()
    const jobs = page.getByRole("list", { name: "Footage jobs" })
    await jobs.getByRole("listitem", { name: "parked.jpg, waiting to start" }).waitFor()
    await job.getByRole("button", { name: "Cancel the job" }).click()
    await job.getByText("cancelled", { exact: true }).waitFor()
    expect(await job.getByRole("button", { name: "Cancel the job" }).count()).toBe(0)
    expect(await job.getByRole("progressbar").count()).toBe(0)
    await jobs.getByRole("listitem", { name: "parked.jpg, cancelled" }).waitFor()

    const { rows } = await idle.db.query(
      "SELECT status, cancel_requested, attempts, created_by::text AS by FROM jobs")
    expect(rows).toEqual([{ status: "cancelled", cancel_requested: true, attempts: 0, by: uploader.userId }])
    expect(appErrors(errors)).toEqual([])
    await context.close()
  }, 90_000)
})
