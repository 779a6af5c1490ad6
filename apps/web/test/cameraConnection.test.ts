import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { postHeartbeat, type SignedIn, startServer, type TestServer } from "../../server/test/harness"
import { appErrors, launch, openPage, PHONE, screenshot, unnamedControls } from "./browser"

/**
 * Admin › Cameras, a camera's connection: made in the panel with the contract's checks before anything
 * is sent, pushed to its collector, and the device's side as its heartbeats report it (here a collector
 * speaking the real heartbeat and acknowledgement API; apps/server/test/cameraPush.test.ts runs a real one).
 */

let server: TestServer
let browser: Browser
let admin: SignedIn
let collector: { readonly collectorId: string; readonly apiKey: string }

beforeAll(async () => {
  process.env.MAP_TILE_URL = "none"
  ;[server, browser] = await Promise.all([startServer(), launch()])
  admin = await server.signIn("admin")
  collector = await server.collector("North site")
  // The device runs one camera of its own configuration.
  expect((await postHeartbeat(server, collector.apiKey, { cameras: [{ id: "gate", vendor: "generic", mode: "push", password_set: false }] })).status)
    .toBe(200)
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
  delete process.env.MAP_TILE_URL
})

describe("a camera's connection in the admin panel", () => {
  it("adds a camera with its connection, pushes it to its collector, and shows the device's side and any drift", async () => {
    const { page, errors, context } = await openPage(browser, { url: server.url, cookie: admin.cookie, viewport: PHONE })
    await page.goto(`${server.url}/admin/cameras`)
    await page.getByRole("button", { name: "Add a camera" }).click()
    const form = page.getByRole("form", { name: "Add a camera" })
    await form.getByLabel("Collector", { exact: true }).selectOption({ label: "North site" })
    await form.getByLabel("Camera id on the collector").fill("hik-north")
    await form.getByLabel("Camera name").fill("North gate")
    await form.getByLabel("Vendor").selectOption("hikvision")
    await form.getByLabel("Mode").selectOption("pull")
    // A pull camera without its URL: the contract's reason, and nothing to send.
    await form.getByRole("alert").getByText("a pull camera needs url").waitFor()
    expect(await form.getByRole("button", { name: "Add camera" }).isDisabled()).toBe(true)
    await form.getByLabel("Camera URL").fill("http://admin:pw@192.168.1.20")
    await form.getByRole("alert").getByText(/without credentials in it/).waitFor()
    await form.getByLabel("Camera URL").fill("http://192.168.1.20")
    await form.getByLabel("Username", { exact: true }).fill("admin")
    await form.getByRole("button", { name: "Add camera" }).click()

    // Made, selected, and not yet on the device.
    const device = page.getByRole("region", { name: "On the device" })
    await device.getByText("Its collector reports no camera hik-north.").waitFor()
    await device.getByText("not running on the device: push the cameras to its collector").waitFor()
    const { rows: [made] } = await server.db.query<{ connection: unknown; name: string }>(
      "SELECT connection, name FROM cameras WHERE external_id = 'hik-north'")
    expect(made).toEqual({ name: "North gate", connection: { vendor: "hikvision", mode: "pull", url: "http://192.168.1.20", username: "admin" } })

    const side = page.getByRole("region", { name: "Collector North site" })
    await side.getByText(/gate: generic push/).waitFor()
    await side.getByRole("button", { name: "Push cameras to North site" }).click()
    await side.getByText(/Sent 1 camera: the collector checks them/).waitFor()
    const { rows: [command] } = await server.db.query<{ id: string; payload: unknown }>(
      "SELECT id::text AS id, payload FROM collector_commands WHERE cmd = 'update_cameras' AND collector_id = $1", [collector.collectorId])
    expect(command!.payload).toEqual({
      cameras: [{ id: "hik-north", name: "North gate", vendor: "hikvision", mode: "pull", url: "http://192.168.1.20", username: "admin" }]
    })
    await side.getByText("pending", { exact: true }).waitFor()

    // The collector takes it, says how the login went, and reports running it.
    const ack = await fetch(`${server.url}/api/v1/collectors/commands/${command!.id}/ack`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${collector.apiKey}` },
      body: JSON.stringify({ status: "done", message: "2 cameras configured; hik-north: ok, logged in as admin" })
    })
    expect(ack.status).toBe(200)
    expect((await postHeartbeat(server, collector.apiKey, {
      cameras: [
        { id: "gate", vendor: "generic", mode: "push", password_set: false },
        { id: "hik-north", vendor: "hikvision", mode: "pull", url: "http://192.168.1.20", username: "admin", password_set: true, connection: { state: "connected" } }
      ]
    })).status).toBe(200)
    await side.getByRole("button", { name: "Refresh" }).click()
    await side.getByText("hik-north: ok, logged in as admin", { exact: false }).waitFor()
    await device.getByText("The device runs it as set here.").waitFor()
    await screenshot(page, "phone-admin-camera-connection", { fullPage: true })

    // A wrong URL on the device shows as drift.
    expect((await postHeartbeat(server, collector.apiKey, {
      cameras: [{ id: "hik-north", vendor: "hikvision", mode: "pull", url: "http://192.168.1.21", username: "admin", password_set: true }]
    })).status).toBe(200)
    await side.getByRole("button", { name: "Refresh" }).click()
    await device.getByText("url: http://192.168.1.20 here, http://192.168.1.21 on the device").waitFor()
    expect(await unnamedControls(page)).toEqual([])
    expect(appErrors(errors)).toEqual([])
    await context.close()
  })
})
