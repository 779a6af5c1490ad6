import { connect as connectMqtt } from "mqtt"
import * as QRCodeLib from "qrcode"
import * as Fs from "node:fs/promises"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type SignedIn, startServer, type TestServer } from "../../server/test/harness"
import { appErrors, launch, openPage, PHONE, screenshot, unnamedControls, WALL } from "./browser"
import { CAMERAS, ingest, readAt } from "./fixtures"

let server: TestServer
let browser: Browser
let admin: SignedIn

beforeAll(async () => {
  process.env.MAP_TILE_URL = "none"
  ;[server, browser] = await Promise.all([startServer(), launch()])
  admin = await server.signIn("admin")
  const { apiKey } = await server.collector("Main St")
  // Cameras exist once a collector has uploaded their reads; College Rd has no position yet.
  await ingest(server, apiKey, [
    readAt("ADM-0001", CAMERAS[0], 5),
    readAt("ADM-0002", CAMERAS[1], 4),
    { ...readAt("ADM-0003", CAMERAS[2], 3), location: undefined }
  ])
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
  delete process.env.MAP_TILE_URL
})

const adminPage = async (viewport: { width: number; height: number }, path: string) => {
  const opened = await openPage(browser, { url: server.url, cookie: admin.cookie, viewport })
  await opened.page.goto(`${server.url}${path}`)
  return opened
}

const bothSizes = async (name: string, path: string, ready: (page: Page) => Promise<unknown>) => {
  for (const [size, viewport] of [["phone", PHONE], ["wall", WALL]] as const) {
    const { page, context } = await adminPage(viewport, path)
    await ready(page)
    await screenshot(page, `${size}-admin-${name}`, { fullPage: true })
    expect(await unnamedControls(page)).toEqual([])
    await context.close()
  }
}

describe("the admin panel", () => {
  it("creates an account and shows its one-time password once", async () => {
    const { page, errors, context } = await adminPage(PHONE, "/admin")
    await page.getByRole("heading", { name: "Admin: Users" }).waitFor()
    await page.getByLabel("Username").fill("erin")
    await page.getByLabel("Role", { exact: true }).selectOption("operator")
    await page.getByRole("button", { name: "Create" }).click()
    const password = await page.locator("code").filter({ hasText: /\S{12,}/ }).first().textContent()
    expect(password?.length).toBeGreaterThanOrEqual(12)
    await page.getByText("erin", { exact: true }).waitFor()
    await screenshot(page, "phone-admin-users", { fullPage: true })
    const { rows } = await server.db.query<{ role: string }>("SELECT role FROM users WHERE username = 'erin'")
    expect(rows).toEqual([{ role: "operator" }])
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("offers no Disable on the admin's own account, and does on others'", async () => {
    const { page, errors, context } = await adminPage(PHONE, "/admin")
    await page.getByRole("heading", { name: "Admin: Users" }).waitFor()
    const row = (name: string) => page.getByRole("listitem").filter({ has: page.getByText(name, { exact: true }) })
    await row("erin").getByRole("button", { name: "Disable" }).waitFor()
    await row(admin.username).getByRole("combobox", { name: `Role of ${admin.username}` }).waitFor()
    expect(await row(admin.username).getByRole("button", { name: "Disable" }).count()).toBe(0)
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("makes a Telegram link code for someone else, to hand over", async () => {
    const { page, errors, context } = await adminPage(PHONE, "/admin")
    await page.getByRole("button", { name: "Telegram link code for erin" }).click()
    const card = page.getByTestId("link-code")
    await card.getByText(/^Link code for erin/).waitFor()
    const code = (await card.locator("code").first().textContent())!.trim()
    expect(code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}$/)
    const { rows } = await server.db.query(
      `SELECT a.actor_username, a.details->>'via' AS via
         FROM audit_log a JOIN users u ON a.target = 'user:' || u.id
        WHERE a.action = 'telegram.link_code' AND u.username = 'erin'`)
    expect(rows).toEqual([{ actor_username: admin.username, via: "rpc" }])
    const { rows: open } = await server.db.query(
      `SELECT count(*)::int AS n FROM telegram_link_codes c JOIN users u ON u.id = c.user_id
        WHERE u.username = 'erin' AND c.used_at IS NULL AND c.expires_at > now()`)
    expect(open[0].n).toBe(1)
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("creates a claim code shown as a QR code, and a collector can claim with it", async () => {
    const { page, errors, context } = await adminPage(PHONE, "/admin/collectors")
    // The form names the device a collector; a site is the cameras' place, set in Admin › Cameras.
    await page.getByRole("heading", { name: "New collector" }).waitFor()
    expect(await page.getByLabel(/site/i).count()).toBe(0)
    await page.getByLabel("Collector name").fill("North gate")
    await page.getByRole("button", { name: "Create claim code" }).click()
    const qr = page.getByRole("img", { name: "QR code of the claim code for North gate" })
    await qr.waitFor()
    expect(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true)
    const code = (await page.getByTestId("claim-code").locator("code").first().textContent())!
    expect(code).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){2,}$/)
    // The QR holds this server's address and the code, for the collector's device page (edge setup.test.ts
    // reads this form from a photo): the same encoder with the same settings draws the same image only for it.
    const expected = await QRCodeLib.toString(`${server.url}/claim#code=${code}`, { type: "svg", margin: 2, errorCorrectionLevel: "M" })
    expect(decodeURIComponent((await qr.getAttribute("src"))!.replace(/^data:image\/svg\+xml;charset=utf-8,/, ""))).toBe(expected)
    await page.getByRole("list").getByText("North gate", { exact: true }).waitFor()
    await screenshot(page, "phone-admin-collectors", { fullPage: true })

    const claim = await fetch(`${server.url}/api/v1/collectors/claim`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ claim_code: code, hardware_id: "e2e-device" })
    })
    expect(claim.status).toBe(201)
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("places a camera by clicking the map (no tiles configured: a plain background)", async () => {
    const { page, errors, context } = await adminPage(WALL, "/admin/cameras")
    await page.getByRole("button", { name: /College Rd.*not placed/ }).click()
    const map = page.getByRole("region", { name: /click to place the selected camera/ })
    await map.locator(".leaflet-container").waitFor()
    expect(await page.locator(".leaflet-tile").count()).toBe(0)
    await map.click({ position: { x: 200, y: 150 } })
    const lat = Number(await page.getByLabel("Latitude").inputValue())
    expect(lat).toBeGreaterThan(40)
    await page.getByLabel("Name").fill("College Rd at the bridge")
    await page.getByRole("button", { name: "Save camera" }).click()
    await page.getByText("Saved.").waitFor()
    await screenshot(page, "wall-admin-cameras")
    const { rows } = await server.db.query<{ name: string; lat: number }>(
      "SELECT name, lat FROM cameras WHERE external_id = 'cam-college'"
    )
    expect(rows[0]!.name).toBe("College Rd at the bridge")
    expect(rows[0]!.lat).toBeCloseTo(lat, 5)
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("sets where a camera looks, its usual reads an hour, its zone and trust, and retires it", async () => {
    const { page, errors, context } = await adminPage(PHONE, "/admin/cameras")
    await page.getByRole("button", { name: /Route 59 east/ }).click()
    await page.getByLabel("Bearing (degrees from north)").fill("90")
    await page.getByLabel("Direction of travel").fill("eastbound")
    await page.getByLabel("Usual reads an hour").fill("120")
    await page.getByLabel("Lowest trusted confidence").fill("0.7")
    // Not JSON: said here, nothing sent.
    await page.getByLabel("Zone (GeoJSON Polygon)").fill("[[-74.02, 41.11]")
    await page.getByRole("alert").getByText(/The zone is not JSON/).waitFor()
    expect(await page.getByRole("button", { name: "Save camera" }).isDisabled()).toBe(true)
    // JSON, but an open ring: the contract's reason, before anything is sent.
    await page.getByLabel("Zone (GeoJSON Polygon)").fill(JSON.stringify({ type: "Polygon", coordinates: [[[-74.02, 41.11], [-74.01, 41.11], [-74.01, 41.12], [-74.02, 41.12]]] }))
    await page.getByRole("alert").getByText(/ring 1 is not closed/).waitFor()
    const zone = { type: "Polygon", coordinates: [[[-74.02, 41.11], [-74.01, 41.11], [-74.01, 41.12], [-74.02, 41.11]]] }
    await page.getByLabel("Zone (GeoJSON Polygon)").fill(JSON.stringify(zone))
    await page.getByRole("button", { name: "Save camera" }).click()
    await page.getByText("Saved.").waitFor()
    await expect.poll(async () => (await server.db.query(
      "SELECT bearing, travel_direction, expected_per_hour, min_confidence::float8 AS min_confidence, zone FROM cameras WHERE external_id = 'cam-route59'"
    )).rows[0]).toEqual({ bearing: 90, travel_direction: "eastbound", expected_per_hour: 120, min_confidence: expect.closeTo(0.7, 5), zone })
    await page.getByRole("button", { name: "Retire camera" }).click()
    await page.getByRole("button", { name: "Bring it back" }).waitFor()
    await page.getByRole("button", { name: /Route 59 east.*retired/ }).waitFor()
    await screenshot(page, "phone-admin-camera-settings", { fullPage: true })
    expect((await server.db.query("SELECT retired_at FROM cameras WHERE external_id = 'cam-route59'")).rows[0].retired_at).not.toBeNull()
    await page.getByRole("button", { name: "Bring it back" }).click()
    await page.getByRole("button", { name: "Retire camera" }).waitFor()
    expect(await unnamedControls(page)).toEqual([])
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("browses the audit log, newest first, filtered by action", async () => {
    const expected = async (where: string) =>
      (await server.db.query<{ id: string; action: string }>(
        `SELECT a.id::text AS id, a.action FROM audit_log a WHERE ${where} ORDER BY a.id DESC LIMIT 100`)).rows
    const { page, errors, context } = await adminPage(WALL, "/admin")
    // Three user.create rows with other actions between them, so that both the order and the filter show.
    for (const username of ["fay", "gil", "hal"]) {
      await page.getByRole("heading", { name: "Admin: Users" }).waitFor()
      await page.getByLabel("Username").fill(username)
      await page.getByRole("button", { name: "Create" }).click()
      await page.getByRole("button", { name: `Telegram link code for ${username}` }).click()
      await page.getByTestId("link-code").getByText(`Link code for ${username}`).waitFor()
    }
    // And a user.* action other than create, which the prefix must find too.
    page.once("dialog", (dialog) => void dialog.accept())
    const hal = page.getByRole("listitem").filter({ hasText: "hal" })
    await hal.getByRole("button", { name: "Disable" }).click()
    await hal.getByText("disabled", { exact: true }).waitFor()
    await page.goto(`${server.url}/admin/audit`)
    /** The rows shown, top to bottom: each one's row number (from its details) and action. */
    const shown = () =>
      page.locator("section[aria-label='Audit log'] ol > li").evaluateAll((items) =>
        items.map((item) => {
          const terms = Array.from(item.querySelectorAll("dt"))
          const row = terms.find((dt) => dt.textContent === "Row")?.nextElementSibling?.textContent ?? ""
          return { id: row, action: item.querySelector("summary code")?.textContent ?? "" }
        }))

    const everything = await expected("true")
    await expect.poll(shown, { timeout: 15_000 }).toEqual(everything)
    // Descending row numbers: the newest on top.
    expect(everything.map((r) => BigInt(r.id))).toEqual(everything.map((r) => BigInt(r.id)).sort((a, b) => (a < b ? 1 : -1)))

    await page.getByLabel("Action").fill("user.")
    await page.getByRole("button", { name: "Show" }).click()
    const users = await expected("action LIKE 'user.%'")
    // Only rows of that action, all of them and in the same order; the rest of the log is there but not shown.
    expect(users.filter((r) => r.action === "user.create").length).toBeGreaterThanOrEqual(3)
    expect(users.map((r) => r.action)).toContain("user.disable")
    expect(everything.some((r) => !r.action.startsWith("user."))).toBe(true)
    await expect.poll(shown, { timeout: 15_000 }).toEqual(users)

    const entry = page.locator("details").filter({ hasText: "user.create" }).first()
    await entry.locator("summary").click()
    await entry.getByText("Hash").waitFor()
    await screenshot(page, "wall-admin-audit")
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("searches the audit log for words anywhere in a row, exports what it shows, and verifies the chain", async () => {
    await server.db.query(
      `INSERT INTO audit_log (actor_username, action, target, details, outcome) VALUES
         ('ivy', 'test.note', 'case:zebra-7731', '{}', 'success'),
         ('jon', 'test.note', 'case:other', '{"note": "the ZEBRA-7731 van"}', 'success'),
         ('kim', 'test.note', 'case:other', '{"note": "nothing to see"}', 'success')`
    )
    const { page, errors, context } = await adminPage(WALL, "/admin/audit")
    const summaries = page.locator("section[aria-label='Audit log'] ol > li summary")
    await summaries.first().waitFor()
    await page.getByLabel("Search", { exact: true }).fill("zebra-7731")
    await page.getByRole("button", { name: "Show" }).click()
    await expect.poll(() => summaries.allTextContents(), { timeout: 15_000 }).toEqual([
      expect.stringContaining("jon"), expect.stringContaining("ivy")
    ])

    const downloaded = page.waitForEvent("download")
    await page.getByRole("button", { name: "Export CSV" }).click()
    const file = await downloaded
    expect(file.suggestedFilename()).toMatch(/^audit-.*\.csv$/)
    const csv = await Fs.readFile((await file.path())!, "utf8")
    const lines = csv.trimEnd().split("\n")
    expect(lines[0]).toBe("id,at,actor_id,actor_username,address,action,target,reason,outcome,details,prev_hash,hash")
    // The export's own row (its filter names the words) comes first: it is recorded before the rows leave.
    expect(lines.slice(1).map((line) => line.split(",")[5])).toEqual(["audit.export", "test.note", "test.note"])
    expect(csv).toContain("case:zebra-7731")
    expect(csv).not.toContain("nothing to see")
    await page.getByText("Exported 3 rows.").waitFor()
    const { rows: exports } = await server.db.query(
      "SELECT actor_username, details FROM audit_log WHERE action = 'audit.export' ORDER BY id DESC LIMIT 1")
    expect(exports).toEqual([{ actor_username: admin.username, details: { format: "csv", filter: { text: "zebra-7731" }, max_rows: 100_000 } }])

    await page.getByRole("button", { name: "Verify chain" }).click()
    await page.getByText(/^Chain intact: [\d,]+ rows checked, up to row \d+\.$/).waitFor({ timeout: 30_000 })
    const { rows: verified } = await server.db.query(
      "SELECT actor_username, details->>'ok' AS ok FROM audit_log WHERE action = 'audit.verify' ORDER BY id DESC LIMIT 1")
    expect(verified).toEqual([{ actor_username: admin.username, ok: "true" }])
    await screenshot(page, "wall-admin-audit-search")
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("keeps the reason codes: adds, relabels and retires one (audited); the operator's form offers it while it is active; the audit log shows codes and case numbers", async () => {
    const offered = async () => {
      const operator = await server.signIn("operator")
      const { page, context } = await openPage(browser, { url: server.url, cookie: operator.cookie })
      await page.goto(server.url)
      const select = page.getByLabel("Reason", { exact: true })
      await select.locator("option").nth(1).waitFor({ state: "attached" })
      const labels = await select.locator("option").allTextContents()
      await context.close()
      return labels
    }
    const { page, errors, context } = await adminPage(PHONE, "/admin/reasons")
    await page.getByRole("heading", { name: "Admin: Reason codes" }).waitFor()
    const codes = page.getByRole("list", { name: "Reason codes" })
    await codes.getByRole("listitem", { name: "Reason code stolen_vehicle" }).waitFor()
    expect(await codes.getByRole("listitem").count()).toBe(7)

    await page.getByLabel("Code", { exact: true }).fill("hit_and_run")
    await page.getByLabel("Label", { exact: true }).fill("Hit and run")
    await page.getByRole("button", { name: "Add reason code" }).click()
    const row = codes.getByRole("listitem", { name: "Reason code hit_and_run" })
    await row.getByText("active").waitFor()
    expect(await offered()).toContain("Hit and run")

    await row.getByLabel("Label of hit_and_run").fill("Hit-and-run collision")
    await row.getByRole("button", { name: "Save label" }).click()
    await expect.poll(async () =>
      (await server.db.query("SELECT label FROM reason_codes WHERE code = 'hit_and_run'")).rows[0].label
    ).toBe("Hit-and-run collision")
    await screenshot(page, "phone-admin-reasons", { fullPage: true })

    page.once("dialog", (dialog) => void dialog.accept())
    await codes.getByRole("listitem", { name: "Reason code hit_and_run" }).getByRole("button", { name: "Retire" }).click()
    await codes.getByRole("listitem", { name: "Reason code hit_and_run" }).getByText(/^retired /).waitFor()
    // Retired: listed for admins, no longer offered, and no way to delete it.
    expect(await codes.getByRole("listitem", { name: "Reason code hit_and_run" }).getByRole("button").count()).toBe(0)
    const labels = await offered()
    expect(labels).not.toContain("Hit-and-run collision")
    expect(labels).toContain("Stolen vehicle")

    const { rows } = await server.db.query(
      "SELECT actor_username, action, details FROM audit_log WHERE target = 'reason_code:hit_and_run' ORDER BY id")
    expect(rows).toEqual([
      { actor_username: admin.username, action: "reason_code.create", details: { via: "rpc", label: "Hit and run" } },
      { actor_username: admin.username, action: "reason_code.relabel", details: { via: "rpc", from: "Hit and run", to: "Hit-and-run collision" } },
      { actor_username: admin.username, action: "reason_code.retire", details: { via: "rpc", label: "Hit-and-run collision" } }
    ])

    // The audit log shows a row's reason code and case number.
    const searched = await fetch(`${server.url}/api/v1/detections?${new URLSearchParams({
      plate: "ADM0001", reason_code: "audit", case_number: "QA-2026-9", reason: "monthly check"
    })}`, { headers: { cookie: admin.cookie } })
    expect(searched.status).toBe(200)
    await page.goto(`${server.url}/admin/audit`)
    await page.getByLabel("Action").fill("search")
    await page.getByRole("button", { name: "Show" }).click()
    const logged = page.locator("section[aria-label='Audit log'] ol > li summary").filter({ hasText: "plate:ADM0001" })
    await logged.getByText("case QA-2026-9").waitFor()
    await logged.getByText("audit", { exact: true }).waitFor()
    await logged.getByText("“monthly check”").waitFor()
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("looks right at phone and wall sizes, every control named", async () => {
    await bothSizes("reasons", "/admin/reasons", (page) => page.getByRole("listitem", { name: "Reason code hit_and_run" }).waitFor())
    await bothSizes("users-list", "/admin/users", (page) => page.getByText("erin", { exact: true }).waitFor())
    await bothSizes("cameras-list", "/admin/cameras", (page) => page.getByRole("button", { name: /Main St northbound/ }).waitFor())
    await bothSizes("audit", "/admin/audit", (page) => page.getByText("collector.create").first().waitFor())
    await bothSizes("collectors-list", "/admin/collectors", (page) => page.getByRole("list").getByText("North gate", { exact: true }).waitFor())
  })

  it("adds a webhook, shows its secret once, and tests it from the panel", async () => {
    const { page, errors, context } = await adminPage(PHONE, "/admin/webhooks")
    await page.getByRole("heading", { name: "Admin: Webhooks" }).waitFor()
    await page.getByLabel("Name").fill("Dispatch")
    // nothing listens on port 9: the test button must say so
    await page.getByLabel("URL").fill("https://127.0.0.1:9/alpr")
    await page.getByLabel("Which alerts").selectOption({ label: "Shared bolo lists" })
    await page.getByLabel("Fleet health: raised").check()
    await page.getByRole("button", { name: "Add webhook" }).click()
    const secret = (await page.locator("code").filter({ hasText: /^[0-9a-f]{64}$/ }).first().textContent())!.trim()
    const { rows } = await server.db.query<{ secret: string; category: string; events: Array<string> }>(
      "SELECT secret, category, events FROM webhooks WHERE name = 'Dispatch'")
    expect(rows).toEqual([{ secret, category: "bolo", events: ["alert_raised", "health_raised"] }])
    const row = page.getByRole("listitem", { name: "Webhook Dispatch" })
    await row.getByText("shared bolo lists", { exact: false }).waitFor()
    await row.getByRole("button", { name: "Send a test" }).click()
    await row.getByText(/Not delivered: .*ECONNREFUSED/).waitFor()
    await screenshot(page, "phone-admin-webhooks", { fullPage: true })
    expect(await unnamedControls(page)).toEqual([])
    // after a reload the secret is gone from the page for good
    await page.reload()
    await page.getByRole("listitem", { name: "Webhook Dispatch" }).waitFor()
    expect(await page.content()).not.toContain(secret)
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("issues a partner token shown once, shows its use against its quota, and revokes it", async () => {
    const { page, errors, context } = await adminPage(PHONE, "/admin/partners")
    await page.getByRole("heading", { name: "Admin: Partners" }).waitFor()
    await page.getByLabel("Organisation").fill("Riverside Watch")
    await page.getByLabel("Calls a day").fill("50")
    await page.getByLabel("Search (with a reason)").check()
    await page.getByRole("button", { name: "Issue token" }).click()
    const token = (await page.locator("code").filter({ hasText: /^alpr_pt_/ }).first().textContent())!.trim()
    // the token works for its scopes, and its use shows in the panel
    const used = await fetch(`${server.url}/api/v1/detections/suggestions`, { headers: { authorization: `Bearer ${token}` } })
    expect(used.status).toBe(200)
    const outside = await fetch(`${server.url}/api/v1/evidence/exports`, { headers: { authorization: `Bearer ${token}` } })
    expect(outside.status).toBe(403)
    await page.reload()
    const row = page.getByRole("listitem", { name: "Partner Riverside Watch" })
    await row.getByText(/Calls today 1 of 50, this month 1, 1 refused this month/).waitFor()
    expect(await page.content()).not.toContain(token)
    await screenshot(page, "phone-admin-partners", { fullPage: true })
    expect(await unnamedControls(page)).toEqual([])
    page.once("dialog", (dialog) => void dialog.accept())
    await row.getByRole("button", { name: "Revoke" }).click()
    await row.getByText(/^revoked /).waitFor()
    expect((await fetch(`${server.url}/api/v1/detections/suggestions`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401)
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("lets a person set their e-mail address and choose what e-mails them", async () => {
    const { page, errors, context } = await adminPage(PHONE, "/email")
    await page.getByRole("heading", { name: "E-mail alerts" }).waitFor()
    await page.getByText("This server does not send e-mail yet").waitFor()
    await page.getByLabel("Your e-mail address").fill("control@example.org")
    await page.getByRole("button", { name: "Save address" }).click()
    // saved at the click: the box shows ticked once the server has the subscription
    const bolo = page.getByLabel("BOLO", { exact: true })
    await bolo.click()
    await expect.poll(() => bolo.isChecked()).toBe(true)
    await expect.poll(async () =>
      (await server.db.query<{ email: string | null; category: string | null }>(
        `SELECT u.email, s.category FROM users u LEFT JOIN email_subscriptions s ON s.user_id = u.id WHERE u.id = $1`,
        [admin.userId]
      )).rows
    ).toEqual([{ email: "control@example.org", category: "bolo" }])
    await screenshot(page, "phone-email", { fullPage: true })
    expect(await unnamedControls(page)).toEqual([])
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("sets the MQTT broker in the panel, and its test connects and publishes to the machine's broker", async () => {
    const prefix = `alprweb${Date.now().toString(36)}`
    // a subscriber on the broker the panel points at
    const received = new Promise<string>((resolve, reject) => {
      const client = connectMqtt("mqtt://127.0.0.1:1883", { reconnectPeriod: 0 })
      client.on("error", reject)
      client.on("connect", () => client.subscribe(`${prefix}/test`, { qos: 1 }, (error) => error && reject(error)))
      client.on("message", (_topic, payload) => {
        resolve(payload.toString())
        client.end()
      })
    })
    const { page, errors, context } = await adminPage(PHONE, "/admin/mqtt")
    await page.getByRole("heading", { name: "Admin: MQTT" }).waitFor()
    await page.getByLabel("Broker URL").fill("mqtt://127.0.0.1:1883")
    await page.getByLabel("Password").fill("mqtt-secret-1")
    await page.getByLabel("Topic prefix").fill(prefix)
    // a password alone is refused with the reason (a broker would close the connection)
    await page.getByRole("button", { name: "Save" }).click()
    await page.getByText("a password needs a user name: MQTT sends a password only with one").waitFor()
    expect((await server.db.query("SELECT url, password FROM mqtt_settings")).rows).toEqual([{ url: null, password: null }])
    // the machine's broker takes any account
    await page.getByLabel("User name").fill("alpr")
    await page.getByRole("button", { name: "Save" }).click()
    await page.getByText("Saved; the servers reconnect with these settings.").waitFor()
    await expect.poll(async () => (await server.db.query("SELECT url, username, topic_prefix, password FROM mqtt_settings")).rows)
      .toEqual([{ url: "mqtt://127.0.0.1:1883", username: "alpr", topic_prefix: prefix, password: "mqtt-secret-1" }])
    await page.getByRole("button", { name: "Test: connect and publish" }).click()
    await page.getByText(`connected to mqtt://127.0.0.1:1883 and published to ${prefix}/test; the broker acknowledged`).waitFor()
    expect(JSON.parse(await received)).toMatchObject({ test: true })
    // a broker that is not there: the test says so
    await page.getByLabel("Broker URL").fill("mqtt://127.0.0.1:9")
    await page.getByRole("button", { name: "Save" }).click()
    await expect.poll(async () => (await server.db.query("SELECT url FROM mqtt_settings")).rows[0].url).toBe("mqtt://127.0.0.1:9")
    await page.getByRole("button", { name: "Test: connect and publish" }).click()
    await page.getByText(/^could not connect to mqtt:\/\/127\.0\.0\.1:9: /).waitFor()
    await screenshot(page, "phone-admin-mqtt", { fullPage: true })
    expect(await page.content()).not.toContain("mqtt-secret-1")
    expect(await unnamedControls(page)).toEqual([])
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })

  it("sets the SMTP server in the panel and tells what a test message got", async () => {
    const { page, errors, context } = await adminPage(PHONE, "/admin/email")
    await page.getByRole("heading", { name: "Admin: E-mail" }).waitFor()
    // nothing listens on port 9: the test message must say so, not fail silently
    await page.getByLabel("SMTP server").fill("smtp://127.0.0.1:9")
    await page.getByLabel("Sender (From)").fill("ALPR <alerts@example.org>")
    await page.getByLabel("Password").fill("smtp-secret-1")
    await page.getByRole("button", { name: "Save settings" }).click()
    // saved, the panel shows the settings in force afresh
    await expect.poll(async () => (await server.db.query("SELECT smtp_url, smtp_from, smtp_password FROM email_settings")).rows)
      .toEqual([{ smtp_url: "smtp://127.0.0.1:9", smtp_from: "ALPR <alerts@example.org>", smtp_password: "smtp-secret-1" }])
    await page.getByText("smtp://127.0.0.1:9").first().waitFor()
    await page.getByLabel("To").fill("someone@example.org")
    await page.getByRole("button", { name: "Send test" }).click()
    await page.getByText(/Not sent after \d+ ms/).waitFor()
    await screenshot(page, "phone-admin-email", { fullPage: true })
    expect(await page.content()).not.toContain("smtp-secret-1")
    expect(await unnamedControls(page)).toEqual([])
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })
})
