import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type SignedIn, startServer, type TestServer } from "../../server/test/harness"
import { appErrors, launch, openPage, PHONE, screenshot, unnamedControls, WALL } from "./browser"
import { CAMERAS, ingest, readAt } from "./fixtures"

/** Legal holds in the web app: an operator holds a plate from its page, an admin releases it and reads the retention periods. */

let server: TestServer
let browser: Browser
let operator: SignedIn
let admin: SignedIn

beforeAll(async () => {
  process.env.MAP_TILE_URL = "none"
  ;[server, browser] = await Promise.all([startServer(), launch()])
  operator = await server.signIn("operator")
  admin = await server.signIn("admin")
  const { apiKey } = await server.collector("Main St")
  await ingest(server, apiKey, [readAt("HLD-0001", CAMERAS[0], 30), readAt("HLD-0001", CAMERAS[1], 20)])
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
  delete process.env.MAP_TILE_URL
})

describe("legal holds", () => {
  it("an operator holds a plate from the plate page; an admin releases it", async () => {
    const { page, errors, context } = await openPage(browser, { url: server.url, cookie: operator.cookie, viewport: PHONE })
    await page.goto(`${server.url}/plate/HLD0001`)
    await page.getByRole("link", { name: "Put this plate's reads on legal hold" }).click()
    await page.getByRole("heading", { name: "Legal holds" }).waitFor()
    expect(await page.getByLabel("Plate").inputValue()).toBe("HLD0001")
    await page.getByLabel("Case number").fill("2026-CR-0042")
    await page.getByLabel("Reason").fill("Subpoena of the district court")
    await page.getByRole("button", { name: "Put on hold" }).click()
    await page.getByText("it covers 2 reads now").waitFor()
    const held = page.getByRole("list", { name: "Holds" }).getByRole("listitem").filter({ hasText: "Case 2026-CR-0042" })
    await held.waitFor()
    expect(await held.textContent()).toMatch(/2 reads held/)
    // Operators make holds; releasing is for admins, and the button is not theirs.
    expect(await held.getByRole("button", { name: "Release" }).count()).toBe(0)
    await screenshot(page, "phone-holds", { fullPage: true })
    expect(await unnamedControls(page)).toEqual([])
    expect(appErrors(errors)).toEqual([])
    await context.close()

    const { rows: [hold] } = await server.db.query("SELECT id, created_by_name FROM legal_holds WHERE case_number = '2026-CR-0042'")
    expect(hold.created_by_name).toBe(operator.username)

    const asAdmin = await openPage(browser, { url: server.url, cookie: admin.cookie, viewport: WALL })
    asAdmin.page.on("dialog", (dialog) => void dialog.accept())
    await asAdmin.page.goto(`${server.url}/holds`)
    const item = asAdmin.page.getByRole("list", { name: "Holds" }).getByRole("listitem").filter({ hasText: "Case 2026-CR-0042" })
    await item.getByLabel("Release note").fill("Case closed")
    await item.getByRole("button", { name: "Release" }).click()
    await asAdmin.page.getByText("No holds.").waitFor()
    await asAdmin.page.getByLabel("Show").selectOption("released")
    await asAdmin.page.getByText(`Released by ${admin.username}`).waitFor()
    expect(appErrors(asAdmin.errors)).toEqual([])
    await asAdmin.context.close()
    const { rows: [released] } = await server.db.query("SELECT released_by_name, release_note FROM legal_holds WHERE id = $1", [hold.id])
    expect(released).toEqual({ released_by_name: admin.username, release_note: "Case closed" })
  })

  it("shows admins the retention periods and the floors the database enforces", async () => {
    const { page, errors, context } = await openPage(browser, { url: server.url, cookie: admin.cookie, viewport: PHONE })
    await page.goto(`${server.url}/admin/retention`)
    await page.getByRole("heading", { name: "Admin: Retention" }).waitFor()
    const periods = page.getByRole("table").first()
    await periods.getByText("Scene photos").waitFor()
    expect(await periods.textContent()).toMatch(/7 years \(2557 days\)/)
    expect(await periods.textContent()).toMatch(/RETENTION_NONHIT_MINUTES/)
    await screenshot(page, "phone-admin-retention", { fullPage: true })
    expect(await unnamedControls(page)).toEqual([])
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })
})
