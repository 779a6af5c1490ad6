import * as Fs from "node:fs/promises"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type SignedIn, startServer, type TestServer } from "../../server/test/harness"
import { verifyAsRecipient } from "../../server/test/recipient"
import { appErrors, launch, openPage, PHONE, screenshot, unnamedControls, WALL } from "./browser"
import { CAMERAS, drawPhotos, ingest, readAt } from "./fixtures"

let server: TestServer
let browser: Browser
let operator: SignedIn
let admin: SignedIn
let fingerprint: string

const PLATE = "EVX-2026"

beforeAll(async () => {
  process.env.MAP_TILE_URL = "none"
  ;[server, browser] = await Promise.all([startServer(), launch()])
  operator = await server.signIn("operator")
  admin = await server.signIn("admin")
  const { apiKey } = await server.collector("Main St")
  const { page, context } = await openPage(browser, { url: server.url })
  const photos = await drawPhotos(page, PLATE)
  await context.close()
  await ingest(server, apiKey, [readAt(PLATE, CAMERAS[0], 40), readAt(PLATE, CAMERAS[1], 20)], photos)
  fingerprint = ((await (await fetch(`${server.url}/api/v1/evidence/key`)).json()) as { fingerprint: string }).fingerprint
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
  delete process.env.MAP_TILE_URL
})

describe("evidence exports in the web app", () => {
  it("exports a plate's reads from the plate page as a bundle that verifies with the pinned key", async () => {
    const { page, errors, context } = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport: PHONE })
    await page.goto(server.url)
    await page.evaluate(() =>
      window.sessionStorage.setItem("alpr.reason", JSON.stringify({ code: "stolen_vehicle", text: "blue van", caseNumber: "PD-26-0099" }))
    )
    await page.goto(`${server.url}/plate/EVX2026`)
    await page.getByRole("tab", { name: "Export" }).click()
    const caseField = page.getByLabel("Case number")
    expect(await caseField.inputValue()).toBe("PD-26-0099")
    await screenshot(page, "phone-plate-export", { fullPage: true })
    expect(await unnamedControls(page)).toEqual([])

    const downloaded = page.waitForEvent("download")
    await page.getByRole("button", { name: "Export evidence (zip)" }).click()
    const download = await downloaded
    expect(download.suggestedFilename()).toBe("evidence-EVX2026-PD-26-0099.zip")
    await page.getByRole("status").filter({ hasText: "Bundle made and recorded" }).waitFor()
    const run = await verifyAsRecipient(await Fs.readFile(await download.path()), fingerprint)
    expect(run.code, run.stdout).toBe(0)
    expect(run.stdout).toMatch(/^ok\n/)
    expect(run.stdout).toContain("case PD-26-0099; reason stolen_vehicle: blue van")
    expect(run.stdout).toContain("2 reads, 4 photos")
    const { rows } = await server.db.query(
      "SELECT username, case_number, reason_code, reason, selection FROM evidence_exports ORDER BY created_at DESC LIMIT 1"
    )
    expect(rows[0]).toEqual({
      username: operator.username,
      case_number: "PD-26-0099",
      reason_code: "stolen_vehicle",
      reason: "blue van",
      selection: { kind: "plate", plate: "EVX2026", with_corrections: true }
    })

    // Without a case number the form does not go.
    await caseField.fill("")
    await page.getByRole("button", { name: "Export evidence (zip)" }).click()
    expect(await caseField.evaluate((input: HTMLInputElement) => input.validity.valueMissing)).toBe(true)
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("shows admins the evidence key to pin and every export made", async () => {
    const { page, errors, context } = await openPage(browser, { url: server.url, cookie: admin.cookie, viewport: WALL })
    await page.goto(`${server.url}/admin/evidence`)
    await page.getByRole("heading", { name: "Admin: Evidence exports" }).waitFor()
    await page.getByText(fingerprint, { exact: true }).waitFor()
    const exports = page.getByRole("region", { name: "Evidence exports" })
    await exports.getByText("Case PD-26-0099").waitFor()
    await expect(exports.textContent()).resolves.toContain(`by ${operator.username}`)
    await expect(exports.textContent()).resolves.toContain("plate EVX2026 with its corrections · 2 reads, 4 photos")
    const { rows } = await server.db.query<{ sha256: string }>("SELECT sha256 FROM evidence_exports")
    await exports.getByText(`SHA-256 ${rows[0]!.sha256}`).waitFor()
    await screenshot(page, "wall-admin-evidence", { fullPage: true })
    expect(await unnamedControls(page)).toEqual([])
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })
})

describe("evidence exports that need a second person's approval (EXPORT_APPROVAL=required)", () => {
  let approving: TestServer

  beforeAll(async () => {
    approving = await startServer({ exportApproval: "required" })
    const { apiKey } = await approving.collector("Main St")
    await ingest(approving, apiKey, [readAt(PLATE, CAMERAS[0], 30)])
  })
  afterAll(() => approving?.close())

  it("the operator asks, an admin approves in the admin panel, then the operator downloads a bundle naming the approver", async () => {
    const asker = await approving.signIn("operator")
    const approver = await approving.signIn("admin")
    const key = ((await (await fetch(`${approving.url}/api/v1/evidence/key`)).json()) as { fingerprint: string }).fingerprint

    const { page, errors, context } = await openPage(browser, { url: approving.url, cookie: asker.cookie, viewport: PHONE })
    await page.goto(approving.url)
    await page.evaluate(() =>
      window.sessionStorage.setItem("alpr.reason", JSON.stringify({ code: "investigation", text: "", caseNumber: "PD-26-0100" }))
    )
    await page.goto(`${approving.url}/plate/EVX2026`)
    await page.getByRole("tab", { name: "Export" }).click()
    await page.getByRole("button", { name: "Export evidence (zip)" }).click()
    await page.getByRole("status").filter({ hasText: "requires a second person's approval" }).waitFor()
    const requests = page.getByRole("region", { name: "Exports asked for" })
    await requests.getByText("Awaiting approval").waitFor()
    expect(await page.getByRole("button", { name: "Download the bundle (zip)" }).count()).toBe(0)
    const { rows: none } = await approving.db.query("SELECT count(*)::int AS n FROM evidence_exports")
    expect(none[0].n).toBe(0)

    // The admin has asked for an export too: that one is for someone else to decide.
    const own = await fetch(`${approving.url}/api/v1/evidence/exports`, {
      method: "POST",
      headers: { cookie: approver.cookie, "x-csrf-token": approver.csrf, "content-type": "application/json" },
      body: JSON.stringify({ plate: "EVX2026", case_number: "PD-26-0200", reason_code: "audit" })
    })
    expect(own.status).toBe(202)

    // An admin who did not ask approves it in the admin panel.
    const admin = await openPage(browser, { url: approving.url, cookie: approver.cookie, viewport: WALL })
    await admin.page.goto(`${approving.url}/admin/evidence`)
    const pending = admin.page.getByRole("region", { name: "Exports awaiting approval" })
    const theirs = pending.getByRole("listitem").filter({ hasText: "Case PD-26-0100" })
    const mine = pending.getByRole("listitem").filter({ hasText: "Case PD-26-0200" })
    await theirs.waitFor()
    await expect(theirs.textContent()).resolves.toContain(`asked by ${asker.username}`)
    await mine.getByText("You asked for this export: another admin approves or refuses it.").waitFor()
    expect(await mine.getByRole("button").count()).toBe(0)
    expect(await unnamedControls(admin.page)).toEqual([])
    await theirs.getByLabel("Note (required to refuse)").fill("checked with the desk sergeant")
    await theirs.getByRole("button", { name: "Approve" }).click()
    await theirs.waitFor({ state: "detached" })
    await mine.waitFor()
    expect(appErrors(admin.errors)).toEqual([])
    await admin.context.close()

    // The operator sees it approved, and downloads it.
    await requests.getByRole("button", { name: "Refresh" }).click()
    await requests.getByText(`Approved by ${approver.username}`, { exact: false }).waitFor()
    const downloaded = page.waitForEvent("download")
    await page.getByRole("button", { name: "Download the bundle (zip)" }).click()
    const download = await downloaded
    const run = await verifyAsRecipient(await Fs.readFile(await download.path()), key)
    expect(run.code, run.stdout).toBe(0)
    expect(run.stdout).toContain(`approved by ${approver.username} at `)
    expect(run.stdout).toContain(`asked for by ${asker.username}`)
    const { rows } = await approving.db.query("SELECT username, request_id IS NOT NULL AS approved FROM evidence_exports")
    expect(rows).toEqual([{ username: asker.username, approved: true }])
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })
})
